// Sharing a case file ('#/share/ID'), for DSLs and deputies:
//   #/share/ID                 who has access, the decisions recorded, and
//                              the ways to share or not
//   #/share/ID/grant           share the file with an organisation from the
//                              LA directory (then check your answers)
//   #/share/ID/extract         share chosen entries only (then check)
//   #/share/ID/decline         record a decision not to share, with reasons
//   #/share/ID/revoke/GRANT    end a grant: the reason, then a confirmation
// Every share needs a lawful basis: consent recorded in full (by whom, how,
// when), or another basis with the reason in words (domain.md "Sharing").
'use strict';
(function () {
  const B = window.Baton;
  const { h } = B;
  const ROLES = ['dsl', 'deputy'];
  const ID_RE = /^[0-9a-f]{64}$/i;

  const PURPOSES = [
    ['referral', 'A referral', 'To children’s social care, the police or another agency.'],
    ['strategy_meeting', 'A strategy meeting or child protection conference', null],
    ['information_request', 'A request for information from another agency', null],
  ];
  const BASES = [
    ['significant_harm', 'The child is suffering, or is likely to suffer, significant harm', 'Consent is not needed, and should not be sought if asking would put the child at risk.'],
    ['police_investigation', 'A police investigation', null],
    ['public_interest', 'Public task or substantial public interest', 'For example, a statutory duty of the school or the local authority.'],
    ['consent', 'Consent', 'Only when consent is the right basis: it must never be assumed.'],
  ];
  const word = (list, k) => (list.find(([v]) => v === k) || [k, B.label(k)])[1];
  const RIGHTS = [['read', 'Read only'], ['read_write', 'Read and add to the file']];
  const HISTORY = [['all', 'The whole file, including what is already recorded'], ['from_now', 'Only what is recorded from now on']];
  const SHAREABLE = new Set(['concern', 'review', 'chronology', 'body_map', 'injury_reflection', 'action', 'action_done', 'correction']);

  const today = () => new Date().toISOString().slice(0, 10);
  const text = (v) => (v ? h('span', { class: 'text-block' }, v) : null);

  // ---- the lawful basis, with consent or reason fields shown by the choice ----
  function basisFields(p, d) {
    const radios = B.radios({ id: `${p}-basis`, name: 'basis', legend: 'Lawful basis for sharing', value: d.basis || '',
      hint: 'Protecting a child from harm comes before privacy. Record the basis you rely on.',
      items: BASES.map(([value, t, hint]) => ({ value, text: t, hint })) });
    const consent = h('div', { class: 'conditional', id: `${p}-consent-group` },
      B.field({ id: `${p}-consent-by`, name: 'consent_by', label: 'Who gave consent', value: d.consent_by, hint: 'Their name and their relationship to the child.' }),
      B.field({ id: `${p}-consent-how`, name: 'consent_how', label: 'How consent was given', value: d.consent_how, hint: 'For example, in writing, or by phone to the DSL.' }),
      B.field({ id: `${p}-consent-on`, name: 'consent_on', label: 'Date consent was given', type: 'date', value: d.consent_on }));
    const reason = h('div', { class: 'conditional', id: `${p}-reason-group` },
      B.field({ id: `${p}-reason`, name: 'reason', label: 'Why sharing is lawful and necessary', type: 'textarea', rows: 4, value: d.reason,
        hint: 'Say what the risk is and why this organisation needs to know. Share only what is relevant.' }));
    const update = () => {
      const v = (radios.querySelector('input:checked') || {}).value;
      setShown(consent, v === 'consent');
      setShown(reason, !!v && v !== 'consent');
    };
    radios.addEventListener('change', update);
    update();
    return [radios, consent, reason];
  }
  function setShown(group, on) {
    group.hidden = !on;
    for (const i of group.querySelectorAll('input, textarea, select')) i.disabled = !on;
  }
  function checkBasis(p, d, errs) {
    if (!d.basis) errs.push({ id: `${p}-basis`, text: 'Select the lawful basis for sharing' });
    else if (d.basis === 'consent') {
      if (!d.consent_by) errs.push({ id: `${p}-consent-by`, text: 'Enter who gave consent' });
      if (!d.consent_how) errs.push({ id: `${p}-consent-how`, text: 'Enter how consent was given' });
      if (!d.consent_on) errs.push({ id: `${p}-consent-on`, text: 'Enter the date consent was given' });
      else if (d.consent_on > today()) errs.push({ id: `${p}-consent-on`, text: 'The date consent was given must be today or in the past' });
    } else if (!d.reason) errs.push({ id: `${p}-reason`, text: 'Enter why sharing is lawful and necessary' });
  }
  function basisBody(d) {
    return d.basis === 'consent' ? { basis: 'consent', consent_by: d.consent_by, consent_how: d.consent_how, consent_on: d.consent_on }
      : { basis: d.basis, reason: d.reason };
  }
  function basisRows(d) {
    return [['Lawful basis', word(BASES, d.basis)],
      d.basis === 'consent' ? ['Consent', `Given by ${d.consent_by}, ${d.consent_how}, on ${B.fmtDate(d.consent_on)}`] : ['Why sharing is lawful', text(d.reason)]];
  }

  function orgRadios(p, orgs, value) {
    return B.radios({ id: `${p}-org`, name: 'to', legend: 'Which organisation', value: value || '',
      hint: 'From the LA directory this node trusts. Check the fingerprint with the organisation if you are not sure it is the right one.',
      items: orgs.map((o) => ({ value: o.id, text: o.name,
        hint: `${B.label(o.kind)}${o.la ? `, ${o.la}` : ''}. Fingerprint: ${o.fingerprint}` })) });
  }
  const orgOf = (orgs, id) => orgs.find((o) => o.id === id);

  // ---- loading what every page needs ----
  async function loadAll(el, id, withDirectory) {
    const calls = [B.caseFile.load(id), B.api('GET', `/api/files/${id}/grants`)];
    if (withDirectory) calls.push(B.api('GET', '/api/directory'));
    const [rf, rg, rd] = await Promise.all(calls);
    if (!B.current(el)) return null;
    const bad = [rf, rg, rd].find((r) => r && r.status !== 200);
    if (bad || !rf.json.front) {
      B.add(el, B.back(`#/file/${id}`, 'Back to the case file'),
        h('h1', null, bad && bad.status === 404 ? 'Case file not found' : 'Sharing cannot be shown'),
        h('p', null, bad ? (bad.json.error ? `The server said: ${bad.json.error}.` : `Error ${bad.status}.`) : 'Your role does not allow sharing.'),
        h('p', null, h('a', { href: '#/' }, 'Go to your desk')));
      return null;
    }
    return { file: rf.json, grants: rg.json.grants || [], decisions: rg.json.decisions || [],
      orgs: rd ? rd.json.orgs || [] : [] };
  }
  const header = (el, id, file, heading, backTo) => B.add(el, 
    B.back(backTo || `#/share/${id}`, backTo ? 'Back to the case file' : 'Back'),
    h('span', { class: 'caption' }, `${B.caseFile.name(file.front)}: sharing`), h('h1', null, heading));

  // A form then its check-your-answers page, on one route. fields(d) builds
  // the form's fields from the answers so far; check(d) the errors; rows(d)
  // the summary; send(d) the call.
  function twoStep(el, o) {
    let answers = {};
    function showForm(focusId) {
      B.put(el);
      o.header(o.heading);
      const form = h('form', { id: o.formId, novalidate: true }, ...o.fields(answers),
        h('div', { class: 'button-group' }, B.button('Continue', { id: `${o.formId}-continue` }), h('a', { href: o.cancel }, 'Cancel')));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const d = B.formData(form);
        for (const k of Object.keys(d)) if (typeof d[k] === 'string') d[k] = d[k].trim();
        const errs = o.check(d);
        B.errors(form, errs);
        if (errs.length) return;
        answers = d;
        showCheck();
      });
      B.add(el, form);
      const target = focusId && document.getElementById(focusId);
      if (target) target.focus(); else focusH1();
    }
    function focusH1() { const h1 = el.querySelector('h1'); h1.setAttribute('tabindex', '-1'); h1.focus(); window.scrollTo(0, 0); }
    function showCheck() {
      B.put(el);
      o.header(o.checkHeading || 'Check your answers before sharing');
      const rows = o.rows(answers).map(([k, v, fid]) => [k, v, fid ? h('button', { type: 'button', class: 'link-button', on: { click: () => showForm(fid) } },
        'Change', h('span', { class: 'visually-hidden' }, ` ${k.toLowerCase()}`)) : null]);
      const err = h('div');
      const send = B.button(o.confirm, { type: 'button', id: `${o.formId}-send`, warning: !!o.warning });
      send.addEventListener('click', async () => {
        send.disabled = true;
        const r = await o.send(answers);
        if (!B.current(el)) return;
        send.disabled = false;
        if (r.status === 201 || r.status === 200) { B.flash(o.done, o.cancel); B.go(o.cancel); return; }
        B.put(err, h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', id: `${o.formId}-fail` },
          h('h2', null, 'There is a problem'), h('p', null, `Nothing was shared: ${r.json.error || `error ${r.status}`}`)));
        err.firstChild.focus();
      });
      B.add(el, err, B.summary(rows, { id: `${o.formId}-check` }), o.warning ? h('p', { class: 'warning-text' }, o.warning) : null,
        h('div', { class: 'button-group' }, send, h('a', { href: o.cancel }, 'Cancel')));
      focusH1();
    }
    showForm();
  }

  // ---- the overview ----
  async function overview(el, id) {
    const all = await loadAll(el, id, false);
    if (!all) return;
    const { file, grants, decisions } = all;
    const msg = B.takeFlash();
    header(el, id, file, 'Sharing this file', `#/file/${id}`);
    if (msg) B.add(el, h('div', { class: 'notice notice--success', role: 'status', id: 'share-flash' }, msg));
    B.add(el, h('p', null, 'Share only what is relevant, accurate and necessary, with those who need it. Record every decision, including a decision not to share.'),
      h('h2', null, 'Who can read this file'),
      grants.length ? B.table({ id: 'grants', caption: 'Organisations given access to this file',
        head: ['Organisation', 'Purpose', 'Lawful basis', 'Rights', 'Until', 'State', h('span', { class: 'visually-hidden' }, 'Action')],
        rows: grants.map((g) => {
          const live = g.state ? g.state === 'live' : !g.revoked;
          return [g.org_name || g.org.slice(0, 8), B.label(g.purpose), word(BASES, g.basis), word(RIGHTS, g.rights),
            g.expires_at ? B.fmtDate(g.expires_at) : 'No end date',
            B.tag(g.revoked ? 'Revoked' : live ? 'Active' : 'Expired', g.revoked ? 'grey' : live ? 'green' : 'grey'),
            live && !g.revoked ? h('a', { href: `#/share/${id}/revoke/${g.id}` }, 'Revoke', h('span', { class: 'visually-hidden' }, ` access for ${g.org_name}`)) : ''];
        }) }) : h('p', { id: 'grants-none' }, 'No other organisation has access to this file.'),
      h('h2', null, 'Share or decide not to'),
      h('ul', { class: 'list' },
        h('li', null, h('a', { href: `#/share/${id}/grant`, id: 'to-grant' }, 'Share the file with an organisation')),
        h('li', null, h('a', { href: `#/share/${id}/extract`, id: 'to-extract' }, 'Share chosen entries only (an extract)')),
        h('li', null, h('a', { href: `#/share/${id}/decline`, id: 'to-decline' }, 'Record a decision not to share'))),
      h('h2', null, 'Decisions not to share'),
      decisions.length ? B.table({ id: 'decisions', caption: 'Decisions recorded', head: ['Date', 'With', 'Purpose', 'Reasons', 'By'],
        rows: decisions.map((d) => [B.fmtDate(d.decided_on), d.with_whom || '', d.purpose ? B.label(d.purpose) : 'Not given', text(d.reason) || '', d.decided_by || '']) })
        : h('p', null, 'None recorded.'));
    if (msg) { const f = el.querySelector('#share-flash'); f.setAttribute('tabindex', '-1'); f.focus(); }
  }

  // ---- share the whole file ----
  async function grantPage(el, id) {
    const all = await loadAll(el, id, true);
    if (!all) return;
    const { file, orgs } = all;
    twoStep(el, {
      formId: 'grant-form', heading: 'Share the file with an organisation', cancel: `#/share/${id}`,
      header: (t) => header(el, id, file, t),
      fields: (d) => [
        orgs.length ? orgRadios('gr', orgs, d.to) : h('p', { class: 'warning-text' }, 'The directory lists no organisation: ask the LA.'),
        B.radios({ id: 'gr-purpose', name: 'purpose', legend: 'Why are you sharing?', value: d.purpose || '',
          items: PURPOSES.map(([value, t, hint]) => ({ value, text: t, hint })) }),
        ...basisFields('gr', d),
        B.radios({ id: 'gr-rights', name: 'rights', legend: 'What can they do?', value: d.rights || 'read', items: RIGHTS.map(([value, t]) => ({ value, text: t })) }),
        B.radios({ id: 'gr-history', name: 'history', legend: 'What can they read?', value: d.history || 'all', items: HISTORY.map(([value, t]) => ({ value, text: t })) }),
        B.field({ id: 'gr-expires', name: 'expires', label: 'Access ends on (optional)', type: 'date', value: d.expires,
          hint: 'Access ends at the end of this day. Leave blank to keep it until you revoke it.' }),
      ],
      check(d) {
        const e = [];
        if (!d.to) e.push({ id: 'gr-org', text: 'Select the organisation to share with' });
        if (!d.purpose) e.push({ id: 'gr-purpose', text: 'Select why you are sharing' });
        checkBasis('gr', d, e);
        if (d.expires && d.expires <= today()) e.push({ id: 'gr-expires', text: 'The end date must be in the future' });
        return e;
      },
      rows: (d) => {
        const o = orgOf(orgs, d.to) || {};
        return [['Organisation', `${o.name} (${B.label(o.kind)})`, 'gr-org'], ['Fingerprint', o.fingerprint, null],
          ['Purpose', word(PURPOSES, d.purpose), 'gr-purpose'], ...basisRows(d).map((r) => [...r, 'gr-basis']),
          ['They can', word(RIGHTS, d.rights), 'gr-rights'], ['They can read', word(HISTORY, d.history), 'gr-history'],
          ['Access ends', d.expires ? B.fmtDate(d.expires) : 'When you revoke it', 'gr-expires']];
      },
      confirm: 'Share the file', done: 'The file is shared. The decision and its reasons are recorded in the file.',
      send: (d) => B.api('POST', `/api/files/${id}/grants`, drop({ to: d.to, purpose: d.purpose, ...basisBody(d), rights: d.rights, history: d.history, expires: d.expires })),
    });
  }
  function drop(o) { for (const k of Object.keys(o)) if (o[k] === '' || o[k] === undefined) delete o[k]; return o; }

  // ---- share an extract ----
  async function extractPage(el, id) {
    const all = await loadAll(el, id, true);
    if (!all) return;
    const { file, orgs } = all;
    const entries = file.entries.filter((e) => SHAREABLE.has(e.type));
    twoStep(el, {
      formId: 'extract-form', heading: 'Share chosen entries', cancel: `#/share/${id}`,
      header: (t) => header(el, id, file, t),
      fields: (d) => [
        h('p', null, 'The organisation receives a copy of the entries you tick, with the child’s name and date of birth, and nothing else from the file.'),
        entries.length ? B.checkboxes({ id: 'ex-entries', name: 'entries', legend: 'Which entries to share', values: d.entries || [],
          hint: `Up to 64. ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} in this file, newest first.`,
          items: entries.slice().sort((a, b) => String(b.event_at).localeCompare(String(a.event_at)))
            .map((e) => ({ value: e.id, text: B.caseFile.entryLabel(e) })) }) : h('p', { class: 'warning-text' }, 'This file has no entries to share.'),
        orgs.length ? orgRadios('ex', orgs, d.to) : h('p', { class: 'warning-text' }, 'The directory lists no organisation: ask the LA.'),
        B.radios({ id: 'ex-purpose', name: 'purpose', legend: 'Why are you sharing?', value: d.purpose || '',
          items: PURPOSES.map(([value, t, hint]) => ({ value, text: t, hint })) }),
        ...basisFields('ex', d),
        B.field({ id: 'ex-expires', name: 'expires', label: 'Access ends on (optional)', type: 'date', value: d.expires }),
      ],
      check(d) {
        const e = [];
        const n = Array.isArray(d.entries) ? d.entries.length : d.entries ? 1 : 0;
        if (!n) e.push({ id: 'ex-entries', text: 'Select at least one entry to share' });
        else if (n > 64) e.push({ id: 'ex-entries', text: 'Select 64 entries or fewer' });
        if (!d.to) e.push({ id: 'ex-org', text: 'Select the organisation to share with' });
        if (!d.purpose) e.push({ id: 'ex-purpose', text: 'Select why you are sharing' });
        checkBasis('ex', d, e);
        if (d.expires && d.expires <= today()) e.push({ id: 'ex-expires', text: 'The end date must be in the future' });
        return e;
      },
      rows: (d) => {
        const o = orgOf(orgs, d.to) || {};
        const ids = Array.isArray(d.entries) ? d.entries : [d.entries];
        return [['Entries', h('ul', { class: 'list' }, ids.map((x) => h('li', null, B.caseFile.entryLabel(file.entries.find((e) => e.id === x))))), 'ex-entries'],
          ['Organisation', `${o.name} (${B.label(o.kind)})`, 'ex-org'], ['Fingerprint', o.fingerprint, null],
          ['Purpose', word(PURPOSES, d.purpose), 'ex-purpose'], ...basisRows(d).map((r) => [...r, 'ex-basis']),
          ['Access ends', d.expires ? B.fmtDate(d.expires) : 'When you revoke it', 'ex-expires']];
      },
      confirm: 'Share these entries', done: 'The extract is shared. The decision and its reasons are recorded in the file.',
      send: (d) => B.api('POST', `/api/files/${id}/extracts`, drop({ to: d.to, entries: Array.isArray(d.entries) ? d.entries : [d.entries],
        purpose: d.purpose, ...basisBody(d), expires: d.expires })),
    });
  }

  // ---- a decision not to share ----
  async function declinePage(el, id) {
    const all = await loadAll(el, id, false);
    if (!all) return;
    header(el, id, all.file, 'Record a decision not to share');
    const form = h('form', { id: 'decline-form', novalidate: true },
      h('p', null, 'Record every sharing decision and its reasons, including a decision not to share.'),
      B.field({ id: 'dc-with', name: 'with', label: 'Who asked, or who you considered sharing with', hint: 'An organisation or a person and their role.' }),
      B.radios({ id: 'dc-purpose', name: 'purpose', legend: 'What was the sharing for? (optional)', value: '',
        items: PURPOSES.map(([value, t]) => ({ value, text: t })) }),
      B.field({ id: 'dc-reason', name: 'reason', label: 'Your reasons for not sharing', type: 'textarea', rows: 5 }),
      h('div', { class: 'button-group' }, B.button('Record the decision', { id: 'decline-submit' }), h('a', { href: `#/share/${id}` }, 'Cancel')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const d = B.formData(form);
      const e = [];
      if (!d.with.trim()) e.push({ id: 'dc-with', text: 'Enter who asked, or who you considered sharing with' });
      if (!d.reason.trim()) e.push({ id: 'dc-reason', text: 'Enter your reasons for not sharing' });
      B.errors(form, e);
      if (e.length) return;
      const r = await B.api('POST', `/api/files/${id}/decisions`, drop({ decision: 'not_share', with: d.with.trim(), reason: d.reason.trim(), purpose: d.purpose }));
      if (!B.current(el)) return;
      if (r.status === 201) { B.flash('The decision not to share is recorded.', `#/share/${id}`); B.go(`#/share/${id}`); return; }
      // On the field the server names (the inputs' names are the API's).
      B.serverErrors(form, r.json.error || `error ${r.status || 'no answer from the server'}`, null, { prefix: 'Not recorded: ' });
    });
    B.add(el, form);
  }

  // ---- revoking a grant: the reason, then a confirmation ----
  async function revokePage(el, id, gid) {
    const all = await loadAll(el, id, false);
    if (!all) return;
    const g = all.grants.find((x) => x.id === gid);
    if (!g || g.revoked) {
      header(el, id, all.file, 'There is no live grant to revoke');
      B.add(el, h('p', null, h('a', { href: `#/share/${id}` }, 'Back to sharing')));
      return;
    }
    twoStep(el, {
      formId: 'revoke-form', heading: `Revoke access for ${g.org_name || 'this organisation'}`, cancel: `#/share/${id}`,
      header: (t) => header(el, id, all.file, t), checkHeading: 'Are you sure you want to revoke access?',
      fields: (d) => [
        B.summary([['Organisation', g.org_name], ['Purpose', B.label(g.purpose)], ['Lawful basis', word(BASES, g.basis)]]),
        B.field({ id: 'rk-reason', name: 'reason', label: 'Why access ends', type: 'textarea', rows: 4, value: d.reason,
          hint: 'This is kept in the file with the revocation.' })],
      check: (d) => (d.reason ? [] : [{ id: 'rk-reason', text: 'Enter why access ends' }]),
      rows: (d) => [['Organisation', g.org_name, null], ['Reason', text(d.reason), 'rk-reason']],
      warning: `${g.org_name || 'The organisation'} will not be able to read anything recorded in this file from now on.`,
      confirm: 'Revoke access', done: 'Access revoked. The reason is recorded in the file.',
      send: (d) => B.api('POST', `/api/files/${id}/grants/${gid}/revoke`, { reason: d.reason }),
    });
  }

  B.page('share', {
    title: 'Sharing',
    roles: ROLES,
    render(el, params) {
      const [id, sub, arg] = params;
      const bad = () => { B.add(el, B.back('#/'), h('h1', null, 'Page not found'), h('p', null, h('a', { href: '#/' }, 'Go to your desk'))); };
      if (!id || !B.caseFile.FILE_RE.test(id)) return bad();
      const fid = id.toLowerCase();
      if (!sub) return overview(el, fid);
      if (sub === 'grant' && !arg) { document.title = 'Share a file – Baton'; return grantPage(el, fid); }
      if (sub === 'extract' && !arg) { document.title = 'Share an extract – Baton'; return extractPage(el, fid); }
      if (sub === 'decline' && !arg) { document.title = 'Decide not to share – Baton'; return declinePage(el, fid); }
      if (sub === 'revoke' && arg && ID_RE.test(arg)) { document.title = 'Revoke access – Baton'; return revokePage(el, fid, arg.toLowerCase()); }
      return bad();
    },
  });
}());
