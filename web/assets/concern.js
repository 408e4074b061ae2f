// Logging a concern (web/assets): '#/log' for anyone whose role may log
// one (staff, heads, DSLs, deputies), '#/log/FILEID' from a case file (a
// DSL or deputy: the child is known). One page a member of staff can fill
// in within a minute: the child, Part 1 of the concern form (domain.md)
// with the child's own words kept apart from opinion, and a body map
// (bodymap.js). The confirmation says only that the concern is recorded
// and the DSL told: nothing about the child in any title or notice.
'use strict';
(function () {
  const B = window.Baton;
  const h = B.h;
  const LOGGERS = ['staff', 'dsl', 'deputy', 'head'];
  const FILE_RE = /^[0-9a-fA-F]{32}$/;

  const pad = (n) => String(n).padStart(2, '0');

  // GOV.UK date inputs come from the core (Baton.dateInput); read back
  // as 'YYYY-MM-DD', null when all three fields are empty, false when not a
  // real date.
  const dateInput = (id, legend, hint, value) => B.dateInput({ id, legend, hint, value });
  function readDate(root, id) {
    const v = B.dateValue(root, id);
    return v === '' ? null : v === null ? false : v;
  }

  // '10:40', '1040', '10.40', '9:05' -> [10, 40]; null empty; false bad.
  function readTime(s) {
    s = s.trim();
    if (!s) return null;
    const m = /^(\d{1,2})[:.]?(\d{2})$/.exec(s);
    if (!m || +m[1] > 23 || +m[2] > 59) return false;
    return [+m[1], +m[2]];
  }

  // A local date and time as the API's UTC 'YYYY-MM-DDTHH:MM:SSZ'.
  function utc(date, hm) {
    const [y, m, d] = date.split('-').map(Number);
    return new Date(y, m - 1, d, hm[0], hm[1]).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  const today = () => { const t = new Date(); return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`; };

  // The UPN's check letter (domain.md "Identifiers"): characters 2..13 by
  // their positions, sum mod 23, into the alphabet without I, O and S. A
  // temporary UPN ends in a letter, counted as its place in that alphabet.
  const UPN_ABC = 'ABCDEFGHJKLMNPQRTUVWXYZ';
  function upnOk(u) {
    if (!/^[A-Z]\d{11}[0-9A-Z]$/.test(u)) return false;
    let sum = 0;
    for (let i = 1; i < 13; i++) {
      const c = u[i];
      const v = /\d/.test(c) ? Number(c) : UPN_ABC.indexOf(c);
      if (v < 0) return false;
      sum += v * (i + 1);
    }
    return UPN_ABC[sum % 23] === u[0];
  }

  // The Part 1 fields of the form: [id, api field, label, hint, kind].
  const PART1 = {
    where: ['c-where', 'where', 'Where did it happen?', 'For example, KS2 playground, Year 4 classroom'],
    reason: ['c-reason', 'reason', 'Why are you recording this?', 'In a sentence: what made you concerned'],
    facts: ['c-facts', 'facts', 'What you saw and heard: the facts',
      'Who, what, where and when. Only what you saw and heard yourself.'],
    words: ['c-words', 'child_words', 'What the child said, in their words',
      'Write their exact words, including the words they used for parts of the body. Do not correct or explain them. Leave empty if the child said nothing.'],
    opinion: ['c-opinion', 'opinion', 'Your opinion, kept apart from fact',
      'Anything you think or feel about what you saw. It is recorded as opinion, not as fact.'],
    who: ['c-who', 'who', 'Who was involved?', 'Other children or adults, by name or role'],
    witnesses: ['c-witnesses', 'witnesses', 'Who else saw or heard it?', 'Names or roles of any witnesses'],
    actions: ['c-actions', 'actions_taken', 'What did you do?', 'For example, reassured the child and told them you must pass this on'],
    passed: ['c-passed', 'passed_to', 'Who have you passed it to?', 'For example, Mrs Jones, DSL'],
  };
  const FIELD_IDS = {
    given_name: 'c-given', family_name: 'c-family', dob: 'c-dob-day', upn: 'c-upn',
    incident_at: 'c-when-day', marks: 'bm-region', site: 'bm-region',
  };
  for (const [id, f] of Object.values(PART1)) FIELD_IDS[f] = id;


  function text(key, opts) {
    const [id, , label, hint] = PART1[key];
    return B.field({ id, label, hint, type: (opts && opts.type) || 'text', rows: opts && opts.rows, width: 'long',
                     spellcheck: true });
  }

  async function render(el, params) {
    const fileId = params[0];
    if (params.length > 1 || (fileId !== undefined && !FILE_RE.test(fileId))) {
      el.append(h('h1', null, 'Page not found'), h('p', null, 'This address names no case file.'),
        h('p', null, h('a', { href: '#/log' }, 'Log a concern about a child')));
      return;
    }
    const file = fileId ? fileId.toLowerCase() : null;
    el.append(
      file ? B.back(`#/file/${file}`, 'Back to the case file') : B.back('#/'),
      h('h1', null, 'Log a concern'),
      h('p', { class: 'lede' }, 'Write down what you saw and heard, as soon as you can. Your DSL is told at once.'),
      h('div', { class: 'warning-text' },
        'If you think a child is in immediate danger, tell your DSL in person now, or call 999.'));
    if (!B.me || !LOGGERS.includes(B.me.role)) return;

    // The child: known from the file, or given here.
    let childPart;
    if (file) {
      if (B.me.role !== 'dsl' && B.me.role !== 'deputy') {
        el.append(h('p', null, 'Only a DSL or deputy logs a concern from a case file. ',
          h('a', { href: '#/log' }, 'Log a concern about a child'), ' instead.'));
        return;
      }
      const r = await B.api('GET', `/api/files/${file}`);
      if (!B.current(el)) return;
      if (r.status !== 200) {
        el.append(B.notice(r.status === 404 ? 'There is no such case file here.' : (r.json.error || 'The case file cannot be shown.'), 'warning'));
        return;
      }
      const f = r.json.front || {};
      const one = (v) => (Array.isArray(v) ? v.join(' or ') : v);
      childPart = h('section', { 'aria-labelledby': 'c-child-h' },
        h('h2', { id: 'c-child-h' }, 'The child'),
        B.summary([
          ['Name', [one(f.given_name), one(f.family_name)].filter(Boolean).join(' ') || null],
          ['Date of birth', f.dob ? B.fmtDate(f.dob) : null],
          ['UPN', one(f.upn) || null],
        ]));
    } else {
      childPart = h('fieldset', { class: 'section', 'aria-describedby': 'c-child-hint' },
        h('legend', { class: 'legend--h2' }, h('h2', null, 'The child')),
        h('div', { class: 'hint', id: 'c-child-hint' }, 'As the school knows them. Your DSL matches the child to their file.'),
        B.field({ id: 'c-given', label: 'Given name', autocomplete: 'off', spellcheck: false }),
        B.field({ id: 'c-family', label: 'Family name', autocomplete: 'off', spellcheck: false }),
        dateInput('c-dob', 'Date of birth', 'For example, 27 3 2016'),
        B.field({ id: 'c-upn', label: 'UPN (optional)', hint: 'The Unique Pupil Number, 13 characters, if you know it', autocomplete: 'off', spellcheck: false }));
    }

    const bm = B.bodyMapEditor({ id: 'bm' });
    const form = h('form', { id: 'concern-form', novalidate: true, 'aria-label': 'Record of concern' },
      childPart,
      h('fieldset', { class: 'section' },
        h('legend', { class: 'legend--h2' }, h('h2', null, 'What happened')),
        dateInput('c-when', 'When did it happen?', 'The date, for example 20 11 2026, and the time.', today()),
        B.field({ id: 'c-when-time', label: 'Time', hint: '24-hour clock, for example 10:40', width: 'short', inputmode: 'numeric' }),
        text('where'),
        text('reason', { type: 'textarea', rows: 2 }),
        text('facts', { type: 'textarea', rows: 6 })),
      h('div', { class: 'words-box' }, text('words', { type: 'textarea', rows: 3 })),
      h('div', { class: 'opinion-box' }, text('opinion', { type: 'textarea', rows: 3 })),
      h('fieldset', { class: 'section' },
        h('legend', { class: 'legend--h2' }, h('h2', null, 'Who was there, and what you did')),
        text('who'), text('witnesses'),
        text('actions', { type: 'textarea', rows: 2 }),
        text('passed')),
      h('section', { class: 'section', 'aria-labelledby': 'bm-h' },
        h('h2', { id: 'bm-h' }, 'Body map (if you saw a mark or injury)'),
        h('p', { class: 'warning-text' }, 'No photographs. Never photograph an injury: mark it here and describe it.'),
        bm.el),
      h('div', { class: 'button-group' }, B.button('Send to the DSL'),
        h('a', { href: file ? `#/file/${file}` : '#/' }, 'Cancel')));
    el.appendChild(form);

    // The facts field is required: say so in its label.
    const factsLabel = form.querySelector('label[for="c-facts"]');
    if (factsLabel) factsLabel.append(h('span', { class: 'muted' }, ' (required)'));

    let sending = false;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (sending) return;
      const v = (id) => { const x = form.querySelector(`#${id}`); return x ? x.value.trim() : ''; };
      const errs = [];
      let child = null;
      if (!file) {
        child = { given_name: v('c-given'), family_name: v('c-family') };
        if (!child.given_name) errs.push({ id: 'c-given', text: 'Enter the child\u2019s given name' });
        if (!child.family_name) errs.push({ id: 'c-family', text: 'Enter the child\u2019s family name' });
        const dob = readDate(form, 'c-dob');
        if (dob === null) errs.push({ id: 'c-dob-day', text: 'Enter the child\u2019s date of birth' });
        else if (dob === false) errs.push({ id: 'c-dob-day', text: 'Date of birth must be a real date, for example 27 3 2016' });
        else if (dob > today()) errs.push({ id: 'c-dob-day', text: 'Date of birth must be in the past' });
        else child.dob = dob;
        const upn = v('c-upn').toUpperCase().replace(/\s+/g, '');
        if (upn && !upnOk(upn)) errs.push({ id: 'c-upn', text: 'Enter a UPN of 13 characters with its check letter first, or leave it empty' });
        else if (upn) child.upn = upn;
      }
      const concern = {};
      const when = readDate(form, 'c-when');
      const time = readTime(v('c-when-time'));
      if (when === false) errs.push({ id: 'c-when-day', text: 'The date it happened must be a real date, for example 20 11 2026' });
      if (time === false) errs.push({ id: 'c-when-time', text: 'Enter the time as hours and minutes on the 24-hour clock, for example 10:40' });
      if (when && time === null) errs.push({ id: 'c-when-time', text: 'Enter the time it happened, for example 10:40' });
      if (when === null) errs.push({ id: 'c-when-day', text: 'Enter the date it happened' });
      if (when && time) {
        concern.incident_at = utc(when, time);
        if (new Date(concern.incident_at) > new Date(Date.now() + 5 * 60000))
          errs.push({ id: 'c-when-day', text: 'The date and time it happened must not be in the future' });
      }
      for (const [id, f] of Object.values(PART1)) { const x = v(id); if (x) concern[f] = x; }
      if (!concern.facts) errs.push({ id: 'c-facts', text: 'Enter what you saw and heard (the facts)' });
      errs.push(...bm.validate());
      if (errs.length) { B.errors(form, errs); return; }

      sending = true;
      const marks = bm.toJSON();
      let r;
      if (file) {
        r = await B.api('POST', `/api/files/${file}/concerns`, concern);
        if (r.status === 201 && marks.length) {
          const b = await B.api('POST', `/api/files/${file}/entries`, { type: 'body_map', concern: r.json.id, marks });
          if (b.status !== 201) r = { status: 207, json: { error: b.json.error || 'the body map was not recorded' }, concern: r.json.id };
        }
      } else {
        const body = { child, concern };
        if (marks.length) body.body_map = { marks };
        r = await B.api('POST', '/api/concerns', body);
      }
      sending = false;
      if (!B.current(el)) return;
      if (r.status === 207) {
        // The concern is in; the body map is not: say so, keep the marks.
        B.errors(form, [{ id: 'bm-region', text: `The concern is recorded, but not its body map: ${r.json.error}. Record the body map from the case file.` }]);
        form.querySelector('button[type=submit]').disabled = true;
        return;
      }
      if (r.status !== 201) {
        // On the field the server names (messages name fields, never
        // values: FIELD_IDS has the API's names), else the first field.
        const msg = r.json.error || `the concern was not recorded (${r.status || 'no answer'})`;
        B.serverErrors(form, msg, FIELD_IDS);
        return;
      }
      confirmed(el, file, r.json);
    });
  }

  // The confirmation: the form (and everything typed) leaves the page.
  function confirmed(el, file, answer) {
    el.textContent = '';
    document.title = 'Concern recorded – Baton';
    const fileLink = file || (answer && answer.file);
    el.append(
      h('div', { class: 'panel-confirm' },
        h('h1', { tabindex: '-1' }, 'Concern recorded'),
        h('p', { class: 'panel-confirm__body' }, 'Your DSL has been told.')),
      h('h2', null, 'What happens next'),
      h('p', null, 'Your DSL reviews the concern and decides what to do. They may ask you about it.'),
      h('p', null, 'If anything else happens, or the child tells you more, log another concern.'),
      h('ul', { class: 'list' },
        h('li', null, h('a', { href: '#/log' }, 'Log another concern')),
        fileLink && B.me && (B.me.role === 'dsl' || B.me.role === 'deputy')
          ? h('li', null, h('a', { href: `#/file/${fileLink}` }, 'Open the case file')) : null,
        h('li', null, h('a', { href: '#/' }, 'Go to your desk'))));
    el.querySelector('h1').focus();
    window.scrollTo(0, 0);
  }

  B.page('log', { title: 'Log a concern', roles: LOGGERS, render });
}());
