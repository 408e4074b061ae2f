// The web UI's page core (web/assets): sign-in, sign-out, the hide-screen
// curtain, hash routes, and the helpers every page script uses. No inline
// script anywhere (the Content-Security-Policy forbids it), no third-party
// code, no case content in titles or notifications. Talks to the JSON API
// of web/app.c (docs/web.md).
//
// THE BATON CORE API (window.Baton). Page scripts (desk.js, file.js,
// share.js, audit.js, concern.js, transfer.js) are loaded by index.html
// with <script defer> after this file and register pages with Baton.page.
//
//   Baton.api(method, path, body?) -> Promise<{status, json}>
//       fetch, same-origin, JSON body; every non-GET call carries the
//       X-CSRF-Token header. A 401 from any call but /api/login signs the
//       page out (all page content leaves the DOM). json is {} (with error)
//       when the answer is not JSON; status 0 when the network failed.
//   Baton.me -> {user, role} or null (signed out).
//   Baton.page(name, {title, roles, render, nav?})
//       registers the page shown at '#/' + name, with params after it:
//       '#/file/ID' is page 'file' with params ['ID'] (the longest
//       registered name that prefixes the path wins; '' is the desk).
//       title: fixed words (never case content); roles: array of roles
//       allowed, or null for any signed-in user; render(el, params): fills
//       el (may return a Promise). The core clears the page area, sets
//       document.title to 'TITLE – Baton', renders, then moves the focus to
//       the page's h1. nav: optional label to list the page in the header
//       navigation (for the roles allowed).
//   Baton.go(hash)      navigate ('#/file/ID'); re-renders if already there.
//   Baton.reload()      re-render the current page.
//   Baton.current(el)   true while el is still the shown page (check after
//                       each await before touching the page again).
//   Baton.h(tag, attrs, ...children) -> Element. attrs: class, id, for,
//       type, href, name, value, checked, disabled, required, selected,
//       multiple, hidden, aria-*, data-*, role, tabindex, autocomplete,
//       min/max/rows/... (setAttribute); on: {event: fn} (addEventListener).
//       No on* attribute or style (CSP). Children: nodes, strings (as text),
//       numbers, arrays; null/undefined/false are skipped.
//   Baton.svg(tag, attrs, ...children)  the same, in the SVG namespace.
//   Baton.add(parent, ...children)  appends, as h does (arrays flattened,
//       null skipped, strings as text); Baton.put(parent, ...children)
//       replaces the children the same way.
//   Baton.errors(formEl, [{id, text}], {id}?) -> the summary element.
//       GOV.UK error summary at the top of the form (role=alert, takes
//       focus, links to each #id; {id}: the summary's own id) and the
//       inline error beside each field (aria-invalid, aria-describedby);
//       the title gets 'Error: '. Baton.errors(formEl, []) clears them.
//   Baton.serverErrors(formEl, message, fields?, {prefix, fallback}?)
//       -> the summary element. A server's refusal (400, 409, ...) shown
//       with Baton.errors on the field it is about: fields maps the API's
//       field names to input ids ({with_whom: 'ch-with'}); the form's own
//       inputs are in it too, by their name (a date input's 'dob-day' as
//       'dob'). The message names its field at its start or within it
//       ('with_whom must be ...', 'upn: the check letter ...',
//       'marks[1].x ...'); when it names none, the error goes on fallback,
//       else on the form's first input. prefix goes before the message
//       ('Not saved: '); the text starts with a capital.
//   One submission at a time (no per-page code): a form's 'submit' marks
//       the form busy (data-busy, aria-disabled on its submit buttons) and
//       any further submit of it is swallowed while busy. The mark is
//       cleared when the first non-GET Baton.api call its handler made in
//       that turn has finished and the handler has dealt with the answer
//       (kept if the handler went to another address: that page replaces
//       the form), when Baton.errors shows errors in the form, or at the
//       end of the turn when the handler made no such call.
//   Baton.flash(text, hash?) a one-time message for the next page shown
//       (at hash, when given: dropped if another page is shown first);
//       Baton.takeFlash() -> the text or null, and forgets it. Every
//       sign-out (the button, a 401, the idle timer) forgets it too.
//   A click on a link to the address already shown (the nav's, a 'Log
//       another concern') shows that page again, as Baton.go does.
//   Baton.fmtDate(x)    'YYYY-MM-DD' or a time -> '22 Nov 2026'.
//   Baton.fmtTime(x)    a time -> '22 Nov 2026, 14:05' (UTC shown as local).
//   Baton.nav()         rebuilds the header navigation for Baton.me's role
//                       and returns the <nav> element.
//   Form and layout helpers (GOV.UK patterns, all return elements):
//   Baton.field({id, label, hint, type, value, rows, options, autocomplete,
//       width, required}) a labelled input (type 'textarea' or 'select'
//       with options [{value, text}] too), inside div.field;
//   Baton.radios({id, name, legend, hint, items: [{value, text, hint}],
//       value, inline}) a fieldset of radios (first radio's id is id);
//   Baton.checkboxes({id, name, legend, hint, items, values}) likewise;
//   Baton.dateInput({id, name, legend, hint, value, autocomplete}) day,
//       month and year fields (errors go to id + '-day'), and
//       Baton.dateValue(form, id) -> 'YYYY-MM-DD', '' (empty) or null (not
//       a real date);
//   Baton.summary(rows: [[key, value(node|string)]]) dl.summary-list;
//   Baton.table({caption, hideCaption, head: [..], rows: [[cell..]] or
//       [<tr>..], rowHeads, id}) a table (hideCaption: for screen readers
//       only, when a heading just above says the same);
//   Baton.back(href, text?) a 'Back' link; Baton.tag(text, colour) a tag;
//   Baton.button(text, {secondary, warning, type, on}) a button;
//   Baton.notice(text, kind) a role=status banner ('success' or none);
//   Baton.formData(form) -> {name: value} of its named, enabled fields
//       (checkboxes with a value attribute as arrays of the ticked values,
//       one without a value as a boolean; radios '' when none is chosen).
//   Baton.label(type|field|enum word) -> words for people ('body_map' ->
//       'Body map').
'use strict';
(function () {
  let csrf = null;
  let me = null;
  let lastActive = Date.now(); // the last key, click, touch or scroll (idle sign-out)
  let lastServer = 0;          // the last answer from the server
  const pages = new Map();
  let shown = null; // the element of the page on screen
  const $ = (id) => document.getElementById(id);

  // ---- DOM building ----
  const BOOL = new Set(['checked', 'disabled', 'required', 'selected', 'multiple', 'readonly', 'hidden', 'open']);
  function fill(el, attrs, children) {
    let value;
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (/^on/i.test(k) && k !== 'on') throw new Error(`Baton.h: no ${k} attribute (CSP)`);
      if (k === 'style') throw new Error('Baton.h: no style attribute (CSP)');
      if (k === 'on') { for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn); continue; }
      if (k === 'value' && 'value' in el && el.namespaceURI !== 'http://www.w3.org/2000/svg') { value = v; continue; }
      if (k === 'class') { el.setAttribute('class', v); continue; }
      if (BOOL.has(k)) { if (v) el.setAttribute(k, ''); if (k in el && typeof el[k] === 'boolean') el[k] = true; continue; }
      el.setAttribute(k === 'htmlFor' ? 'for' : k, String(v));
    }
    const add = (c) => {
      if (c === null || c === undefined || c === false) return;
      if (Array.isArray(c)) { c.forEach(add); return; }
      el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    };
    children.forEach(add);
    if (value !== undefined) { el.value = String(value); if (el.tagName !== 'SELECT') el.setAttribute('value', String(value)); }
    return el;
  }
  const h = (tag, attrs, ...children) => fill(document.createElement(tag), attrs, children);
  const add = (parent, ...children) => fill(parent, null, children);
  const put = (parent, ...children) => { const keep = children; parent.textContent = ''; return fill(parent, null, keep); };
  const svg = (tag, attrs, ...children) =>
    fill(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, children);

  // ---- dates ----
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  function toDate(x) {
    if (x === null || x === undefined || x === '') return null;
    if (x instanceof Date) return x;
    if (typeof x === 'number') return new Date(x < 1e11 ? x * 1000 : x);
    const s = String(x);
    const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(s);
    if (m) return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], 12)); // a day, not a time
    const d = new Date(/T\d\d:\d\d(:\d\d)?$/.test(s) ? s + 'Z' : s);
    return isNaN(d) ? null : d;
  }
  function fmtDate(x) {
    if (Array.isArray(x)) return x.map(fmtDate).join(' or ');
    const d = toDate(x);
    if (!d) return x ? String(x) : '';
    const dayOnly = /^\d{4}-\d\d-\d\d$/.test(String(x));
    return dayOnly ? `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`
      : `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
  }
  function fmtTime(x) {
    const d = toDate(x);
    if (!d) return x ? String(x) : '';
    if (/^\d{4}-\d\d-\d\d$/.test(String(x))) return fmtDate(x);
    const p = (n) => String(n).padStart(2, '0');
    return `${fmtDate(d)}, ${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  // ---- words for people ----
  const WORDS = {
    body_map: 'Body map', injury_reflection: 'Injury reflection', action_done: 'Action done',
    transfer_start: 'Transfer started', transfer_delivered: 'Transfer delivered',
    transfer_ack: 'Transfer acknowledged', transfer_reject: 'Transfer rejected',
    transfer_close: 'Transfer closed', file_create: 'File opened', field_set: 'Front sheet changed',
    tag_add: 'Tag added', tag_remove: 'Tag removed', not_recorded: 'Not recorded',
    eh: 'Early help', cin: 'Child in need', cp: 'Child protection plan', lac: 'Looked after child',
    none: 'No plan', dob: 'Date of birth', upn: 'UPN', dsl: 'DSL', given_name: 'Given name',
    family_name: 'Family name', preferred_name: 'Preferred name', plan_status: 'Plan status',
    la: 'Local authority', read_write: 'Read and add', significant_harm: 'Significant harm',
    strategy_meeting: 'Strategy meeting', information_request: 'Information request',
  };
  function label(w) {
    if (w === null || w === undefined) return '';
    const s = String(w);
    if (WORDS[s]) return WORDS[s];
    const t = s.replace(/_/g, ' ');
    return t.charAt(0).toUpperCase() + t.slice(1);
  }

  // ---- the API ----
  async function api(method, path, body) {
    const claim = method !== 'GET' ? claimSubmit() : null;
    try { return await call(method, path, body); } finally { if (claim) claim(); }
  }
  async function call(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (csrf && method !== 'GET') headers['X-CSRF-Token'] = csrf;
    let res;
    try {
      res = await fetch(path, { method, headers, credentials: 'same-origin', cache: 'no-store',
                                body: body !== undefined ? JSON.stringify(body) : undefined });
    } catch (e) {
      return { status: 0, json: { error: 'the server cannot be reached' } };
    }
    let json = {};
    try { json = await res.json(); } catch (e) { json = { error: 'unreadable answer' }; }
    if (json === null || typeof json !== 'object') json = {};
    lastServer = Date.now();
    if (res.status === 401 && me && path !== '/api/login' && path !== '/api/logout') {
      signedOut(true);
      signinNote('Your session ended: sign in again.');
    }
    return { status: res.status, json };
  }

  // ---- errors (GOV.UK error summary and inline errors) ----
  function errors(form, list, opts) {
    const old = form.querySelector(':scope > .error-summary');
    if (old) old.remove();
    for (const p of form.querySelectorAll('.error-message')) {
      const f = p.id && form.querySelector(`[aria-describedby~="${p.id}"]`);
      if (f) {
        const rest = f.getAttribute('aria-describedby').split(/\s+/).filter((t) => t !== p.id);
        if (rest.length) f.setAttribute('aria-describedby', rest.join(' ')); else f.removeAttribute('aria-describedby');
        f.removeAttribute('aria-invalid');
      }
      p.remove();
    }
    for (const g of form.querySelectorAll('.field--error')) g.classList.remove('field--error');
    document.title = document.title.replace(/^Error: /, '');
    if (!list || !list.length) return null;
    release(form); // the answer is on screen: the form may be sent again
    const ul = h('ul', { class: 'error-summary__list' });
    for (const e of list) {
      const a = h('a', { href: `#${e.id}` }, e.text);
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        const f = document.getElementById(e.id);
        if (f) { f.scrollIntoView({ block: 'center' }); f.focus(); }
      });
      ul.appendChild(h('li', null, a));
      const f = document.getElementById(e.id);
      if (!f) continue;
      const group = f.closest('.field') || f.parentNode;
      group.classList.add('field--error');
      const pid = `${e.id}-error`;
      const p = h('p', { class: 'error-message', id: pid }, h('span', { class: 'visually-hidden' }, 'Error: '), e.text);
      (f.closest('.choices') || f).before(p);
      const ds = (f.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
      ds.push(pid);
      f.setAttribute('aria-describedby', ds.join(' '));
      f.setAttribute('aria-invalid', 'true');
    }
    const sum = h('div', { class: 'error-summary', id: (opts && opts.id) || null, role: 'alert', tabindex: '-1',
      'aria-labelledby': `${form.id || 'form'}-errh` },
    h('h2', { id: `${form.id || 'form'}-errh` }, 'There is a problem'), ul);
    form.prepend(sum);
    document.title = 'Error: ' + document.title;
    sum.focus();
    return sum;
  }

  // A server's refusal on the field its message names (see the top).
  function serverErrors(form, message, fields, opts) {
    opts = opts || {};
    const map = new Map();
    for (const el of form.elements) {
      if (!el.name || !el.id || el.type === 'hidden' || el.tagName === 'BUTTON') continue;
      if (!map.has(el.name)) map.set(el.name, el.id);
      const day = /^(.+)-day$/.exec(el.name);
      if (day && !map.has(day[1])) map.set(day[1], el.id);
    }
    for (const [k, v] of Object.entries(fields || {})) map.set(k, v);
    const msg = String(message || '');
    let id = null;
    // The message's subject: an API name at its start ('with_whom must',
    // 'upn:', 'marks[1].x', 'reason is required'). One not on this form
    // ('type must be one of: ..., action, ...') names no field here.
    const lead = /^([a-z][a-z0-9_]*)(\[|\.[a-z]|:|\s+must\b|\s+is\b|\s+are\b)/.exec(msg);
    const subject = lead && (map.has(lead[1]) || lead[1].includes('_') || !/^\s+(is|are)$/.test(lead[2]));
    if (subject) id = map.get(lead[1]) || null;
    else {
      let at = Infinity;
      for (const [n, fid] of map) {
        const re = new RegExp(`(^|[^A-Za-z0-9_])${n.replace(/[^A-Za-z0-9_]/g, '\\$&')}(?![A-Za-z0-9_])`);
        const m = re.exec(msg);
        if (m && m.index < at) { at = m.index; id = fid; }
      }
    }
    if (!id || !document.getElementById(id)) {
      const first = [...form.elements].find((e) => /^(INPUT|TEXTAREA|SELECT)$/.test(e.tagName) && e.type !== 'hidden' && !e.disabled && e.id);
      id = opts.fallback || (first ? first.id : null) || (form.querySelector('[id]') || {}).id;
    }
    const t = `${opts.prefix || ''}${msg}`;
    return errors(form, [{ id, text: t.charAt(0).toUpperCase() + t.slice(1) }]);
  }

  // ---- one submission at a time ----
  // A form's submit marks it busy until its handler has had the answer to
  // the call it made (see the top): a double click, or Enter pressed twice,
  // sends it once.
  const sending = new WeakMap(); // form -> {hash, calls, buttons}
  let submitting = null;         // the form whose submit handler runs in this turn
  function release(form, s) {
    const cur = sending.get(form);
    if (!cur || (s && cur !== s)) return;
    sending.delete(form);
    delete form.dataset.busy;
    for (const b of cur.buttons) b.removeAttribute('aria-disabled');
  }
  // Called by api() for a non-GET call: the function to call when it ends.
  function claimSubmit() {
    const form = submitting;
    const s = form && sending.get(form);
    if (!s) return null;
    s.calls++;
    submitting = null; // one call per submission
    return () => setTimeout(() => {
      // The handler went to another address: that page replaces the form.
      if (location.hash !== s.hash && $('page').contains(form)) return;
      release(form, s);
    }, 0);
  }
  document.addEventListener('submit', (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (sending.has(form)) { ev.preventDefault(); ev.stopImmediatePropagation(); return; }
    const buttons = [...form.querySelectorAll('button[type=submit], button:not([type]), input[type=submit]')]
      .filter((b) => !b.hasAttribute('aria-disabled'));
    const s = { hash: location.hash, calls: 0, buttons };
    sending.set(form, s);
    form.dataset.busy = 'true';
    for (const b of buttons) b.setAttribute('aria-disabled', 'true');
    submitting = form;
    setTimeout(() => {
      if (submitting === form) submitting = null;
      if (!s.calls) release(form, s);
    }, 0);
  }, true);

  // ---- one-time messages ----
  let flashed = null; // {text, hash}
  function flash(text, hash) { flashed = text ? { text: String(text), hash: hash || null } : null; }
  function takeFlash() {
    const f = flashed;
    flashed = null;
    return f && (!f.hash || f.hash === location.hash) ? f.text : null;
  }

  // ---- form and layout helpers ----
  function hintEl(id, hint) { return hint ? h('div', { class: 'hint', id: `${id}-hint` }, hint) : null; }
  function field(o) {
    const id = o.id;
    const attrs = { id, name: o.name || id, 'aria-describedby': o.hint ? `${id}-hint` : null,
                    autocomplete: o.autocomplete || null, required: o.required || null,
                    class: o.width ? `w-${o.width}` : null, spellcheck: o.spellcheck === undefined ? null : String(o.spellcheck) };
    let input;
    if (o.type === 'textarea') input = h('textarea', { ...attrs, rows: o.rows || 4, value: o.value });
    else if (o.type === 'select') {
      input = h('select', { ...attrs, value: o.value },
        (o.options || []).map((x) => h('option', { value: x.value }, x.text)));
    } else input = h('input', { ...attrs, type: o.type || 'text', value: o.value, min: o.min, max: o.max, step: o.step, inputmode: o.inputmode });
    return h('div', { class: 'field' }, h('label', { for: id }, o.label), hintEl(id, o.hint), input);
  }
  function choices(kind, o) {
    const id = o.id;
    const name = o.name || id;
    const values = kind === 'radio' ? [o.value] : (o.values || []);
    const items = o.items.map((it, i) => {
      const iid = i === 0 ? id : `${id}-${i + 1}`;
      return h('div', { class: `choice ${kind}` },
        h('input', { type: kind, id: iid, name, value: it.value, checked: values.includes(it.value),
                     'aria-describedby': it.hint ? `${iid}-hint` : null }),
        h('label', { for: iid }, it.text),
        it.hint ? h('div', { class: 'hint', id: `${iid}-hint` }, it.hint) : null);
    });
    return h('div', { class: 'field' }, h('fieldset', { 'aria-describedby': o.hint ? `${id}-hint` : null },
      h('legend', null, o.legend), hintEl(id, o.hint),
      h('div', { class: o.inline ? 'choices inline' : 'choices' }, items)));
  }
  // A GOV.UK date input (day, month, year), for dates people know, such as
  // a date of birth. Errors name id + '-day'; dateValue reads it back.
  function dateInput(o) {
    const id = o.id;
    const [y, m, d] = o.value ? String(o.value).split('-') : ['', '', ''];
    const part = (suffix, text, v, w) => h('div', { class: 'date-input__item' },
      h('label', { for: `${id}-${suffix}`, class: 'date-input__label' }, text),
      h('input', { id: `${id}-${suffix}`, name: `${o.name || id}-${suffix}`, class: `date-input__input w-${w}`,
                   inputmode: 'numeric', autocomplete: o.autocomplete ? `${o.autocomplete}-${suffix}` : 'off',
                   value: v ? String(Number(v)) : '' }));
    return h('div', { class: 'field' }, h('fieldset', { role: 'group', 'aria-describedby': o.hint ? `${id}-hint` : null },
      h('legend', null, o.legend), hintEl(id, o.hint),
      h('div', { class: 'date-input choices', id: `${id}-group` },
        part('day', 'Day', d, 2), part('month', 'Month', m, 2), part('year', 'Year', y, 4))));
  }
  // -> 'YYYY-MM-DD', '' when all three are empty, or null when not a real date.
  function dateValue(form, id) {
    const get = (s) => { const el = form.querySelector(`#${CSS.escape(id)}-${s}`); return el ? el.value.trim() : ''; };
    const [d, m, y] = [get('day'), get('month'), get('year')];
    if (!d && !m && !y) return '';
    if (!/^\d{1,2}$/.test(d) || !/^\d{1,2}$/.test(m) || !/^\d{4}$/.test(y)) return null;
    const t = new Date(Date.UTC(+y, +m - 1, +d));
    if (t.getUTCFullYear() !== +y || t.getUTCMonth() !== +m - 1 || t.getUTCDate() !== +d) return null;
    return `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`;
  }
  const radios = (o) => choices('radio', o);
  const checkboxes = (o) => choices('checkbox', o);
  function summary(rows, attrs) {
    return h('dl', { class: 'summary-list', ...(attrs || {}) }, rows.filter(Boolean).map(([k, v, act]) =>
      h('div', { class: 'summary-list__row' }, h('dt', null, k),
        h('dd', null, v === null || v === undefined || v === '' ? h('span', { class: 'muted' }, 'Not recorded') : v),
        act ? h('dd', { class: 'summary-list__actions' }, act) : null)));
  }
  function table(o) {
    return h('table', { id: o.id, class: o.class },
      o.caption ? h('caption', { class: o.hideCaption ? 'visually-hidden' : null }, o.caption) : null,
      h('thead', null, h('tr', null, o.head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, o.rows.map((r) => (r instanceof Node ? r : h('tr', null, r.map((c, i) =>
        i === 0 && o.rowHeads ? h('th', { scope: 'row' }, c) : h('td', null, c)))))));
  }
  function back(href, text) {
    return h('a', { class: 'back-link', href: href || '#/' }, text || 'Back');
  }
  function tag(text, colour) { return h('strong', { class: `tag${colour ? ` tag--${colour}` : ''}` }, text); }
  function button(text, o) {
    o = o || {};
    const cls = ['button', o.secondary ? 'button--secondary' : '', o.warning ? 'button--warning' : '', o.class || ''].filter(Boolean).join(' ');
    return h('button', { type: o.type || 'submit', class: cls, id: o.id, on: o.on }, text);
  }
  function notice(text, kind) {
    return h('div', { class: `notice${kind ? ` notice--${kind}` : ''}`, role: 'status' }, text);
  }
  function formData(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled) continue;
      if (el.type === 'radio') { if (el.checked) out[el.name] = el.value; else if (!(el.name in out)) out[el.name] = ''; continue; }
      if (el.type === 'checkbox') {
        // With a value of its own, one of a group (an array of the ticked
        // values); without one, a lone yes/no (a boolean).
        if (el.hasAttribute('value') && el.value !== 'on') {
          if (!Array.isArray(out[el.name])) out[el.name] = [];
          if (el.checked) out[el.name].push(el.value);
        } else out[el.name] = el.checked;
        continue;
      }
      if (el.tagName === 'BUTTON' || el.type === 'submit') continue;
      out[el.name] = el.value;
    }
    return out;
  }

  // ---- navigation ----
  // Known pages listed in this order when registered and allowed for the
  // role; pages registered with a nav label come after them.
  const NAV = [
    { name: '', text: 'Your desk' },
    { name: 'log', text: 'Log a concern' },
    { name: 'new-file', text: 'Open a case file' },
    { name: 'governor', text: 'Governor view' },
    { name: 'audit', text: 'Audit log' },
  ];
  function allowed(p) { return me && (!p.roles || p.roles.includes(me.role)); }
  function nav() {
    const el = $('nav');
    el.textContent = '';
    if (!me) { el.hidden = true; return el; }
    const items = [];
    const seen = new Set();
    for (const n of NAV) {
      const p = pages.get(n.name);
      if (p && allowed(p) && !p.noNav) { items.push({ href: `#/${n.name}`, text: p.nav || n.text, name: n.name }); seen.add(n.name); }
    }
    for (const [name, p] of pages)
      if (p.nav && !seen.has(name) && allowed(p)) items.push({ href: `#/${name}`, text: p.nav, name });
    const cur = route().name;
    el.appendChild(h('ul', null, items.map((it) =>
      h('li', null, h('a', { href: it.href, 'aria-current': it.name === cur ? 'page' : null }, it.text)))));
    el.hidden = items.length === 0;
    return el;
  }

  // ---- routes ----
  function route() {
    const raw = location.hash.startsWith('#/') ? location.hash.slice(2) : '';
    const parts = raw.split('/').filter((s) => s !== '').map((s) => { try { return decodeURIComponent(s); } catch (e) { return s; } });
    for (let i = parts.length; i >= 0; i--) {
      const name = parts.slice(0, i).join('/');
      if (pages.has(name)) return { name, params: parts.slice(i), found: true };
    }
    return { name: parts.join('/'), params: [], found: false };
  }

  // A page registered after the first render (a script loaded late) is
  // shown at once if the address was waiting for it.
  let missing = false; // the page on screen is "Page not found"
  function page(name, opts) {
    pages.set(name, opts);
    if (!me) return;
    nav();
    if (missing && route().found) render();
  }

  let generation = 0;
  async function render() {
    if (!me) return;
    const gen = ++generation;
    if (flashed && flashed.hash && flashed.hash !== location.hash) flashed = null;
    const area = $('page');
    area.textContent = '';
    const el = h('div', { class: 'page' });
    shown = el;
    area.appendChild(el);
    nav();
    const r = route();
    const p = r.found ? pages.get(r.name) : null;
    missing = !p;
    try {
      if (!p) {
        document.title = 'Page not found – Baton';
        el.append(h('h1', null, 'Page not found'), h('p', null, 'If you typed the address, check it is correct.'),
          h('p', null, h('a', { href: '#/' }, 'Go to your desk')));
      } else if (!allowed(p)) {
        document.title = 'Not allowed – Baton';
        el.append(h('h1', null, 'You cannot see this page'),
          h('p', null, `Your role (${label(me.role)}) does not give access to this page.`),
          h('p', null, h('a', { href: '#/' }, 'Go to your desk')));
      } else {
        document.title = `${p.title} – Baton`;
        const done = p.render(el, r.params);
        if (done && typeof done.then === 'function') {
          const h1 = el.querySelector('h1');
          if (h1) focusHeading(h1);
          el.setAttribute('aria-busy', 'true');
          await done;
          el.removeAttribute('aria-busy');
        }
      }
    } catch (e) {
      if (gen !== generation || !el.isConnected) return;
      el.textContent = '';
      el.append(h('h1', null, 'Sorry, there is a problem'),
        h('p', null, 'This page could not be shown. Try again, or go back to your desk.'),
        h('p', null, h('a', { href: '#/' }, 'Go to your desk')));
      console.warn('page failed', e && e.message);
    }
    if (gen !== generation || !el.isConnected) return;
    // The heading gets the focus unless the page gave it to something of
    // its own (a success message) or the user has moved into the page.
    const h1 = el.querySelector('h1');
    if (h1 && !el.contains(document.activeElement)) focusHeading(h1);
  }
  function focusHeading(h1) {
    if (!h1.id) h1.id = 'page-h';
    if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
    h1.focus();
    window.scrollTo(0, 0);
  }
  function go(hash) {
    if (location.hash === hash) render(); else location.hash = hash;
  }
  // A link to the address already shown: no hashchange comes, so show the
  // page again here (the nav's link, 'Log another concern').
  document.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    const a = ev.target instanceof Element ? ev.target.closest('a[href]') : null;
    if (!a || !me || a.getAttribute('href') !== location.hash || !location.hash.startsWith('#/')) return;
    ev.preventDefault();
    render();
  });
  window.addEventListener('hashchange', () => {
    if (!location.hash.startsWith('#/') && location.hash !== '') return; // an in-page link
    if (me) render();
  });

  // ---- sign-in and sign-out ----
  // Signing out (or a 401) empties the page area and the navigation: no case
  // data stays in the page, even hidden.
  function signedIn(who) {
    signinNote('');
    lastActive = Date.now();
    me = { user: who.user, role: who.role };
    csrf = who.csrf;
    $('signin').hidden = true;
    errors($('signin-form'), []);
    $('page').hidden = false;
    $('signout').hidden = false;
    $('who').textContent = `${me.user} (${label(me.role)})`;
    if (!location.hash.startsWith('#/')) history.replaceState(null, '', '#/');
    render(); // the focus goes to the page's heading
  }
  function signedOut(focus, resetRoute) {
    const was = me;
    me = null;
    csrf = null;
    flashed = null;
    generation++;
    shown = null;
    $('page').textContent = '';
    $('page').hidden = true;
    $('nav').textContent = '';
    $('nav').hidden = true;
    $('signin').hidden = false;
    $('signout').hidden = true;
    $('who').textContent = '';
    if (was) { // (not at start: what is typed while the page loads stays)
      $('user').value = ''; // the next person types their own
      $('passphrase').value = '';
      errors($('signin-form'), []);
    }
    document.title = 'Baton';
    if (resetRoute && location.hash) history.replaceState(null, '', location.pathname);
    if (focus) $('signin-h').focus();
  }

  // A quiet note above the sign-in form (why the page signed out).
  function signinNote(text) {
    $('signin-note').textContent = text;
    $('signin-note').hidden = !text;
  }

  // The sign-in form's errors, as every form's (Baton.errors): the summary
  // (#signin-error) takes the focus and links to the field.
  function signinError(list) {
    errors($('signin-form'), list.map((e) => ({ id: e.id, text: e.text.charAt(0).toUpperCase() + e.text.slice(1) })),
      { id: 'signin-error' });
  }

  async function start() {
    const r = await api('GET', '/api/me');
    if (r.status === 200) signedIn(r.json);
    else signedOut(false);
  }

  $('signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = $('user').value.trim();
    const pass = $('passphrase').value;
    $('passphrase').value = '';
    if (!user || !pass) {
      signinError([!user ? { id: 'user', text: 'Enter your user name' } : null,
        !pass ? { id: 'passphrase', text: 'Enter your passphrase' } : null].filter(Boolean));
      return;
    }
    const r = await api('POST', '/api/login', { user, passphrase: pass });
    if (r.status !== 200) {
      signinError([{ id: 'user', text: r.json.error || 'Cannot sign in.' }]);
      return;
    }
    signedIn(r.json);
  });

  // The page empties at once; the logout call carries the token it had.
  // Whatever it answers (a session already ended: 401), this is a sign-out
  // the person chose, not "Your session ended".
  $('signout').addEventListener('click', async () => {
    const bye = api('POST', '/api/logout');
    signedOut(true, true);
    signinNote('');
    await bye;
  });

  // ---- idle ----
  // A screen left alone must not keep showing case files: after IDLE_MS
  // without a key, click, touch or scroll, the page empties itself and ends
  // the session (the server ends an idle session after the same 15
  // minutes, web/session.h). While people work without calling the server
  // (reading a long file), their activity renews the session every few
  // minutes, so the two clocks agree.
  const IDLE_MS = 15 * 60 * 1000;
  const RENEW_MS = 4 * 60 * 1000;
  function active() {
    lastActive = Date.now();
    if (me && lastActive - lastServer > RENEW_MS) api('GET', '/api/me');
  }
  for (const t of ['keydown', 'pointerdown', 'wheel', 'touchstart'])
    document.addEventListener(t, active, { capture: true, passive: true });
  setInterval(() => {
    if (!me || Date.now() - lastActive < IDLE_MS) return;
    api('POST', '/api/logout');
    signedOut(true, true);
    signinNote('You were signed out after 15 minutes without activity.');
  }, 10 * 1000);

  // ---- hide screen ----
  // At once, by button or Esc. Esc only hides: pressed again, or held down
  // (its auto-repeat), the screen stays hidden. Any other key (a fresh
  // press, not a repeat) or a click brings it back, but not a click within
  // HIDE_CLICK_MS of hiding: the second click of a double click on "Hide
  // screen". While hidden, the page behind is inert (no focus, not read out
  // by a screen reader); the focus comes back to where it was.
  const HIDE_CLICK_MS = 600;
  let before = null;
  let hiddenAt = 0;
  function hide() {
    if (!$('curtain').hidden) return;
    hiddenAt = Date.now();
    before = document.activeElement;
    $('curtain').hidden = false;
    $('banner').inert = true;
    $('main').inert = true;
    $('curtain').focus();
  }
  function unhide() {
    $('curtain').hidden = true;
    $('banner').inert = false;
    $('main').inert = false;
    if (before && before !== document.body && before.isConnected) before.focus();
    before = null;
  }
  $('hide').addEventListener('click', hide);
  document.addEventListener('keydown', (ev) => {
    if (!$('curtain').hidden) {
      ev.preventDefault();
      if (ev.key !== 'Escape' && !ev.repeat) unhide();
      return;
    }
    if (ev.key === 'Escape') hide();
  }, true);
  $('curtain').addEventListener('click', () => {
    if (Date.now() - hiddenAt < HIDE_CLICK_MS) return;
    unhide();
  });

  window.Baton = {
    api, page, go, h, svg, add, put, errors, serverErrors, flash, takeFlash, fmtDate, fmtTime, nav, label,
    field, radios, checkboxes, dateInput, dateValue, summary, table, back, tag, button, notice, formData,
    reload: () => render(),
    current: (el) => el === shown && el.isConnected,
  };
  Object.defineProperty(window.Baton, 'me', { get: () => (me ? { ...me } : null), enumerable: true });

  // Page scripts (defer, after this one) register their pages before
  // DOMContentLoaded; only then is the first page shown. (A deferred script
  // runs while readyState is already 'interactive', so that is no sign the
  // others have run; 'load' is the fallback should this one be loaded late.)
  let started = false;
  const once = () => { if (!started) { started = true; start(); } };
  if (document.readyState === 'complete') once();
  else { document.addEventListener('DOMContentLoaded', once); window.addEventListener('load', once); }
}());
