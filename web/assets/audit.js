// The audit log ('#/audit'), for auditors and DSLs: the node's signed log
// of views, changes, shares, transfers and sign-ins, newest first, filtered
// by user, action or file, a page at a time ('Older records'), and 'Verify
// the log' (every record's signature and the hash chain between them).
'use strict';
(function () {
  const B = window.Baton;
  const { h } = B;
  const PAGE = 50;
  const ACTIONS = ['login', 'login_failed', 'view', 'export', 'grant', 'revoke', 'extract', 'share_decision',
    'transfer_start', 'transfer_ack', 'transfer_reject', 'transfer_close', 'package_export', 'package_import',
    'user_add', 'user_passwd', 'read_audit', 'file_create', 'intake'];
  const ACTION_WORDS = { login: 'Signed in', login_failed: 'Sign-in refused', view: 'Viewed a file', export: 'Exported',
    grant: 'Gave access', revoke: 'Revoked access', extract: 'Shared an extract', share_decision: 'Decided not to share',
    transfer_start: 'Started a transfer', transfer_ack: 'Confirmed a transfer', transfer_reject: 'Rejected a transfer',
    transfer_close: 'Closed a transfer', package_export: 'Exported a package', package_import: 'Imported a package',
    user_add: 'Added a user', user_passwd: 'Changed a passphrase', read_audit: 'Read the audit log',
    file_create: 'Opened a case file', intake: 'Logged a concern (staff)' };

  function render(el) {
    const filter = { user: '', action: '', file: '' };
    const stack = []; // the 'before' of each page shown, for 'Newer records'
    let before = null;

    const form = h('form', { class: 'filter', id: 'audit-filter', novalidate: true, 'aria-labelledby': 'audit-filter-h' },
      h('h2', { id: 'audit-filter-h' }, 'Filter the records'),
      h('div', { class: 'filter-row' },
        B.field({ id: 'au-user', name: 'user', label: 'User name', autocomplete: 'off', spellcheck: false }),
        B.field({ id: 'au-action', name: 'action', label: 'Action', type: 'select',
          options: [{ value: '', text: 'All actions' }, ...ACTIONS.map((a) => ({ value: a, text: ACTION_WORDS[a] || B.label(a) }))] }),
        B.field({ id: 'au-file', name: 'file', label: 'Case file id', hint: '32 letters and digits', autocomplete: 'off', spellcheck: false })),
      h('div', { class: 'button-group' }, B.button('Apply filter', { secondary: true, id: 'au-apply' }),
        B.button('Clear filter', { type: 'button', secondary: true, id: 'au-clear',
          on: { click: () => { form.reset(); B.errors(form, []); Object.assign(filter, { user: '', action: '', file: '' }); first(); } } })));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const d = B.formData(form);
      d.user = d.user.trim().toLowerCase();
      d.file = d.file.trim().toLowerCase();
      const e = [];
      if (d.user && !/^[a-z0-9._-]{1,64}$/.test(d.user)) e.push({ id: 'au-user', text: 'Enter a user name of letters, digits, dots, dashes or underscores' });
      if (d.file && !/^[0-9a-f]{32}$/.test(d.file)) e.push({ id: 'au-file', text: 'Enter a case file id of 32 letters (a to f) and digits' });
      B.errors(form, e);
      if (e.length) return;
      Object.assign(filter, d);
      first();
    });

    const status = h('p', { role: 'status', id: 'audit-status', class: 'muted' });
    const slot = h('div', { id: 'audit-records' });
    const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of records' });

    const verifyOut = h('div', { id: 'verify-result', role: 'status' });
    const verifyBtn = B.button('Verify the log', { type: 'button', id: 'verify', secondary: true });
    verifyBtn.addEventListener('click', async () => {
      if (verifyBtn.disabled) return;
      verifyBtn.disabled = true;
      B.put(verifyOut, h('p', { class: 'muted' }, 'Checking every record…'));
      const r = await B.api('GET', '/api/audit/verify');
      if (!B.current(el)) return;
      verifyBtn.disabled = false;
      if (r.status !== 200) {
        B.put(verifyOut, h('div', { class: 'notice notice--warning' }, `The log could not be checked: ${r.json.error || `error ${r.status}`}.`));
      } else if (r.json.ok) {
        B.put(verifyOut, h('div', { class: 'notice notice--success' },
          h('strong', null, 'The log is intact. '), `${r.json.records} record${r.json.records === 1 ? '' : 's'} checked: every signature verifies and the chain between them is unbroken.`));
      } else {
        B.put(verifyOut, h('div', { class: 'notice notice--warning' },
          h('strong', null, 'The log is damaged. '),
          `Record ${r.json.at}: ${r.json.message || B.label(r.json.fault)}. ${r.json.records} record${r.json.records === 1 ? '' : 's'} before it verified. Tell your data protection officer.`));
      }
      // Disabling the button dropped the focus: it goes to the answer.
      const res = verifyOut.querySelector('.notice');
      if (res) { res.setAttribute('tabindex', '-1'); res.id = 'verify-answer'; res.focus(); }
    });

    async function load() {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (before) q.set('before', String(before));
      for (const k of ['user', 'action', 'file']) if (filter[k]) q.set(k, filter[k]);
      slot.setAttribute('aria-busy', 'true');
      const r = await B.api('GET', `/api/audit?${q}`);
      if (!B.current(el)) return;
      slot.removeAttribute('aria-busy');
      if (r.status !== 200) {
        B.put(slot, h('p', { class: 'warning-text' }, `The records cannot be shown: ${r.json.error || `error ${r.status}`}.`));
        B.put(pager);
        status.textContent = '';
        return;
      }
      const recs = r.json.records || [];
      const filtered = filter.user || filter.action || filter.file;
      status.textContent = recs.length
        ? `Showing records ${recs[recs.length - 1].seq} to ${recs[0].seq}${filtered ? ' that match the filter' : ''}, newest first.`
        : filtered ? 'No records match the filter.' : 'No records.';
      const dsl = B.me && (B.me.role === 'dsl' || B.me.role === 'deputy');
      B.put(slot, recs.length ? B.table({ id: 'audit-table', caption: 'Audit records, newest first',
        head: ['No.', 'When', 'User', 'Action', 'Case file', 'Detail'],
        rows: recs.map((x) => [String(x.seq), B.fmtTime(x.at), x.user || '–', ACTION_WORDS[x.action] || B.label(x.action),
          x.file ? (dsl ? h('a', { href: `#/file/${x.file}`, class: 'mono' }, x.file.slice(0, 8)) : h('span', { class: 'mono', title: x.file }, x.file.slice(0, 8))) : '–',
          x.detail || '']) }) : null);
      const newer = stack.length ? B.button('Newer records', { type: 'button', secondary: true, id: 'au-newer',
        on: { click: () => { before = stack.pop(); load().then(() => focusTable()); } } }) : null;
      const older = r.json.next ? B.button('Older records', { type: 'button', secondary: true, id: 'au-older',
        on: { click: () => { stack.push(before); before = r.json.next; load().then(() => focusTable()); } } }) : null;
      B.put(pager, ...[newer, older].filter(Boolean));
    }
    function focusTable() {
      const c = slot.querySelector('caption') || status;
      const t = c.closest('table') || status;
      t.setAttribute('tabindex', '-1');
      t.focus();
    }
    function first() { before = null; stack.length = 0; return load(); }

    B.add(el, B.back('#/'), h('h1', null, 'Audit log'),
      h('p', { class: 'lede' }, 'Every view, change, share, transfer and sign-in on this node, signed as it happened. Reading this log is itself recorded.'),
      h('section', { 'aria-labelledby': 'verify-h' }, h('h2', { id: 'verify-h' }, 'Check the log has not been altered'), verifyBtn, verifyOut),
      h('h2', null, 'Records'), form, status, slot, pager);
    return first();
  }

  B.page('audit', { title: 'Audit log', roles: ['auditor', 'dsl'], render });
}());
