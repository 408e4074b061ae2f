// The desk ('#/'), by role; the governor view ('#/governor'); opening a
// new case file ('#/new-file'). Uses the page core of app.js (window.Baton).
// Case content (names) appears only in the page body, never in a title.
'use strict';
(function () {
  const B = window.Baton;
  const { h } = B;

  // A front-sheet value: a string, null, or an array of every value when in
  // conflict ('A or B').
  const val = (v) => (Array.isArray(v) ? v.join(' or ') : v === null || v === undefined ? '' : String(v));
  const childName = (f) => {
    const n = [val(f.given_name), val(f.family_name)].filter(Boolean).join(' ');
    return n || 'Name not recorded';
  };
  const PLANS = ['cp', 'cin', 'lac', 'eh', 'none', 'not_recorded'];
  const STATUS_COLOUR = { overdue: 'red', pending: 'yellow', delivered: 'blue', acknowledged: 'green',
                          rejected: 'red', closed: 'grey', withdrawn: 'grey' };
  const unavailable = (what, r) => h('p', { class: 'muted' },
    r.status === 404 ? `${what} are not available on this node yet.` : `${what} cannot be shown (${r.json.error || `error ${r.status}`}).`);

  function daysText(x) {
    if (x.overdue) {
      const n = typeof x.days_left === 'number' && x.days_left < 0 ? -x.days_left : null;
      return n ? `Overdue by ${n} working day${n === 1 ? '' : 's'}` : 'Overdue';
    }
    if (['acknowledged', 'closed', 'withdrawn', 'rejected'].includes(x.status)) return 'Done';
    if (x.days_left === null || x.days_left === undefined) return 'Not known';
    if (x.days_left === 0) return 'Due today';
    return `${x.days_left} working day${x.days_left === 1 ? '' : 's'} left`;
  }

  // ---- the transfers panel (also used by the governor's counts) ----
  function transfersTable(xs, names) {
    const sorted = xs.slice().sort((a, b) => (Number(b.overdue) - Number(a.overdue)) ||
      String(a.deadline || '9999').localeCompare(String(b.deadline || '9999')));
    return B.table({
      id: 'transfers',
      hideCaption: true, caption: 'Transfers in and out, overdue first',
      head: ['Status', 'Direction', 'School', 'Deadline', 'Time left', 'Case file'],
      rows: sorted.map((x) => h('tr', { class: x.overdue ? 'is-overdue' : null },
        h('td', null, B.tag(B.label(x.status), STATUS_COLOUR[x.status] || 'grey')),
        h('td', null, x.direction === 'out' ? 'Out' : x.direction === 'in' ? 'In' : B.label(x.direction)),
        h('td', null, (x.direction === 'in' ? x.from : x.org) || ''),
        h('td', null, x.deadline ? h('time', { datetime: x.deadline }, B.fmtDate(x.deadline)) : 'Not set'),
        h('td', { class: x.overdue ? 'overdue' : null }, daysText(x)),
        h('td', null, h('a', { href: `#/file/${x.file}` },
          names && names.get(x.file) ? names.get(x.file) : `File ${x.file.slice(0, 8)}`)))),
    });
  }

  // ---- DSL and deputy ----
  async function dslDesk(el) {
    B.add(el, h('h1', null, 'Your desk'),
      h('div', { class: 'button-group' },
        h('a', { class: 'button', href: '#/log' }, 'Log a concern'),
        h('a', { class: 'button button--secondary', href: '#/new-file' }, 'Open a new case file')));
    const slots = {};
    for (const [k, title] of [['xfer', 'Transfers'], ['review', 'Concerns awaiting your review'],
      ['actions', 'My open actions'], ['conflicts', 'Unresolved conflicts'],
      ['plans', 'Files by plan status'], ['files', 'Case files']]) {
      slots[k] = h('section', { class: 'panel', id: `panel-${k}`, 'aria-labelledby': `panel-${k}-h` },
        h('h2', { id: `panel-${k}-h` }, title), h('p', { class: 'muted' }, 'Loading…'));
      B.add(el, slots[k]);
    }
    const fill = (k, ...nodes) => { const s = slots[k]; B.put(s, s.firstChild, ...nodes.filter(Boolean)); };

    const [rx, rd, rf] = await Promise.all([B.api('GET', '/api/transfers'), B.api('GET', '/api/desk'),
      B.api('GET', '/api/files')]);
    if (!B.current(el)) return;
    const files = rf.status === 200 && Array.isArray(rf.json.files) ? rf.json.files : null;
    const names = new Map((files || []).map((f) => [f.id, childName(f)]));

    // transfers
    if (rx.status !== 200) fill('xfer', unavailable('Transfers', rx));
    else if (!rx.json.transfers.length) fill('xfer', h('p', { id: 'transfers-none' }, 'No transfers in or out.'));
    else {
      const over = rx.json.transfers.filter((x) => x.overdue).length;
      fill('xfer', over ? h('p', { class: 'warning-text' }, `${over} transfer${over === 1 ? ' is' : 's are'} overdue.`) : null,
        transfersTable(rx.json.transfers, names));
    }

    // the desk itself
    if (rd.status !== 200) {
      for (const k of ['review', 'actions', 'conflicts']) fill(k, unavailable('These items', rd));
    } else {
      const d = rd.json;
      const aw = d.awaiting_review || [];
      fill('review', aw.length ? h('ul', { class: 'list', id: 'awaiting-review' }, aw.map((c) => h('li', null,
        h('a', { href: `#/file/${c.file}` }, c.child || `File ${c.file.slice(0, 8)}`),
        ` – concern written ${B.fmtTime(c.written_at)}`, c.author ? ` by ${c.author}` : '',
        c.incident_at ? `; incident ${B.fmtTime(c.incident_at)}` : '')))
        : h('p', null, 'No concerns are waiting for your review.'));

      const acts = (d.actions || []).slice().sort((a, b) => (Number(b.mine) - Number(a.mine)) ||
        (Number(b.overdue) - Number(a.overdue)) || String(a.due || '9999').localeCompare(String(b.due || '9999')));
      fill('actions', acts.length ? B.table({
        id: 'actions', hideCaption: true, caption: 'Open actions, yours first',
        head: ['Action', 'Child', 'Owner', 'Due'],
        rows: acts.map((a) => [
          h('span', null, a.what || 'Action', a.mine ? ' ' : null, a.mine ? B.tag('Yours', 'blue') : null),
          h('a', { href: `#/file/${a.file}` }, a.child || `File ${a.file.slice(0, 8)}`),
          a.owner || 'Not set',
          a.overdue ? h('span', { class: 'overdue' }, B.tag('Overdue', 'red'), ' ', B.fmtDate(a.due))
            : a.due ? B.fmtDate(a.due) : 'No date']),
      }) : h('p', null, 'No open actions.'));

      const cs = d.conflicts || [];
      fill('conflicts', cs.length ? h('ul', { class: 'list', id: 'conflicts' }, cs.map((c) => h('li', null,
        h('a', { href: `#/file/${c.file}` }, c.child || `File ${c.file.slice(0, 8)}`),
        ` – ${(c.fields || []).map(B.label).join(', ') || 'front sheet'} recorded differently on two devices`)))
        : h('p', null, 'No conflicts to resolve.'));
    }

    // plans: the desk's counts, else from the files list
    let plans = rd.status === 200 ? rd.json.plans : null;
    if (!plans && files) {
      plans = {};
      for (const f of files) { const p = Array.isArray(f.plan_status) ? 'not_recorded' : f.plan_status || 'not_recorded'; plans[p] = (plans[p] || 0) + 1; }
    }
    fill('plans', plans ? B.table({ id: 'plans', hideCaption: true, caption: 'Open case files by plan status', head: ['Plan status', 'Files'],
      rowHeads: true, rows: PLANS.map((p) => [B.label(p), String(plans[p] || 0)]) }) : unavailable('Plan counts', rd));

    // the case files
    if (!files) fill('files', unavailable('Case files', rf));
    else if (!files.length) fill('files', h('p', null, 'This node holds no case files yet. ',
      h('a', { href: '#/new-file' }, 'Open a new case file'), '.'));
    else {
      const sorted = files.slice().sort((a, b) => childName(a).localeCompare(childName(b)));
      fill('files', B.table({
        id: 'files', caption: `Case files held on this node (${files.length})`,
        head: ['Child', 'Date of birth', 'UPN', 'Plan status', 'Conflict'],
        rows: sorted.map((f) => [
          h('a', { href: `#/file/${f.id}` }, childName(f), val(f.preferred_name) ? ` (known as ${val(f.preferred_name)})` : ''),
          Array.isArray(f.dob) ? f.dob.map(B.fmtDate).join(' or ') : B.fmtDate(f.dob) || 'Not recorded',
          val(f.upn) || 'Not recorded',
          Array.isArray(f.plan_status) ? f.plan_status.map(B.label).join(' or ') : B.label(f.plan_status || 'not_recorded'),
          f.conflict ? B.tag('Conflict', 'orange') : 'None']),
      }));
    }
  }

  // ---- staff: a way to log a concern, and nothing else about children ----
  function staffDesk(el) {
    B.add(el, h('h1', null, 'Log a concern about a child'),
      h('p', { class: 'lede' }, 'If you are worried about a child, write down what you saw and heard now, and it goes straight to the designated safeguarding lead.'),
      h('p', { class: 'warning-text' }, 'If a child is in immediate danger, call 999, then tell the designated safeguarding lead in person.'),
      h('a', { class: 'button button--start', href: '#/log', id: 'start-log' }, 'Log a concern'),
      h('p', { class: 'muted' }, 'You will see your own concerns only. The designated safeguarding lead decides what happens next.'));
  }

  // ---- head, governor, auditor ----
  function headDesk(el) {
    const role = B.me.role;
    B.add(el, h('h1', null, 'Your desk'));
    if (role === 'head') {
      B.add(el, h('p', null, 'If you are worried about a child, log a concern: it goes to the designated safeguarding lead.'),
        h('a', { class: 'button', href: '#/log' }, 'Log a concern'));
    }
    B.add(el, h('h2', null, 'Safeguarding figures'),
      h('p', null, 'Numbers of case files, concerns and transfers, with no names: ',
        h('a', { href: '#/governor', id: 'to-governor' }, 'see the governor view'), '.'));
  }
  function auditorDesk(el) {
    B.add(el, h('h1', null, 'Your desk'),
      h('p', null, 'Every view, change, transfer and sign-in on this node is in its signed audit log.'),
      h('a', { class: 'button', href: '#/audit', id: 'to-audit' }, 'Open the audit log'));
  }

  B.page('', {
    title: 'Your desk',
    roles: null,
    render(el) {
      const role = B.me.role;
      if (role === 'dsl' || role === 'deputy') return dslDesk(el);
      if (role === 'head' || role === 'governor') return headDesk(el);
      if (role === 'auditor') return auditorDesk(el);
      return staffDesk(el);
    },
  });

  // ---- the governor view: counts only ----
  function barChart(months) {
    const W = 800, H = 280, L = 40, R = 10, T = 20, Bm = 50;
    const every = Math.ceil(months.length / 12); // at most 12 month labels
    const max = Math.max(1, ...months.map((m) => m.concerns));
    const step = (W - L - R) / months.length;
    const bw = Math.max(4, step * 0.6);
    const y = (v) => T + (H - T - Bm) * (1 - v / max);
    const ticks = [...new Set([0, Math.ceil(max / 2), max])];
    const monthName = (s) => { const [yy, mm] = s.split('-'); return `${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][+mm - 1]} ${yy.slice(2)}`; };
    return B.svg('svg', { class: 'chart', id: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
      'aria-labelledby': 'chart-title chart-desc', preserveAspectRatio: 'xMinYMin meet' },
    B.svg('title', { id: 'chart-title' }, 'Concerns logged by month'),
    B.svg('desc', { id: 'chart-desc' }, months.map((m) => `${monthName(m.month)}: ${m.concerns}`).join('; ')),
    ticks.map((t) => [
      B.svg('line', { class: 'axis', x1: L - 4, x2: W - R, y1: y(t), y2: y(t), 'stroke-dasharray': t ? '2 4' : null }),
      B.svg('text', { x: L - 8, y: y(t) + 4, 'text-anchor': 'end', 'aria-hidden': 'true' }, String(t))]),
    months.map((m, i) => {
      const x = L + i * step + (step - bw) / 2;
      return B.svg('g', { 'aria-hidden': 'true' },
        B.svg('rect', { class: 'bar-rect', x, y: y(m.concerns), width: bw, height: Math.max(0, y(0) - y(m.concerns)) }),
        m.concerns ? B.svg('text', { x: x + bw / 2, y: y(m.concerns) - 4, 'text-anchor': 'middle' }, String(m.concerns)) : null,
        (months.length - 1 - i) % every === 0
          ? B.svg('text', { x: x + bw / 2, y: H - Bm + 18, 'text-anchor': 'middle' }, monthName(m.month)) : null);
    }));
  }

  async function governor(el) {
    B.add(el, h('h1', null, 'Safeguarding overview'),
      h('p', { class: 'lede' }, 'Numbers only: no child is named on this page.'));
    const slot = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
    B.add(el, slot);
    const r = await B.api('GET', '/api/counts');
    if (!B.current(el)) return;
    if (r.status !== 200) { B.put(slot, unavailable('The figures', r)); return; }
    const c = r.json;
    const n = (k) => (typeof c[k] === 'number' ? c[k] : null);
    const card = (k, text) => (n(k) === null ? null : h('li', { id: `count-${k}` }, h('span', { class: 'n' }, String(n(k))), text));
    B.put(slot, 
      h('h2', null, 'Case files and concerns'),
      h('ul', { class: 'counts', id: 'counts' },
        card('files', 'case files held'), card('open', 'open'), card('closed', 'closed'),
        card('concerns', 'concerns logged'), card('conflicts', 'records to reconcile'), card('shared', 'files shared')),
      c.by_plan ? B.table({ id: 'by-plan', caption: 'Case files by plan status', head: ['Plan status', 'Files'], rowHeads: true,
        rows: PLANS.map((p) => [B.label(p), String(c.by_plan[p] || 0)]) }) : null,
      h('h2', null, 'Concerns by month'),
      Array.isArray(c.months) && c.months.length
        ? [barChart(c.months),
          h('details', { class: 'details', id: 'months-details' }, h('summary', null, 'Show the chart’s figures as a table'),
            h('div', null, B.table({ id: 'months', caption: 'Concerns logged by month', head: ['Month', 'Concerns'], rowHeads: true,
              rows: c.months.map((m) => [B.fmtDate(`${m.month}-01`).replace(/^\d+ /, ''), String(m.concerns)]) })))]
        : h('p', null, 'No monthly figures yet.'),
      h('h2', null, 'Transfers of files'),
      h('p', null, 'A child protection file must reach the new school within 5 working days of the child going on roll there.'),
      B.table({ id: 'xfer-counts', caption: 'Transfers and their timeliness', head: ['Transfers', 'Number'], rowHeads: true,
        rows: [['Sent out', n('transfers_out')], ['Received', n('transfers_in')], ['On time', n('transfers_on_time')],
          ['Late', n('transfers_late')], ['Overdue now', n('transfers_overdue')]]
          .filter(([, v]) => v !== null).map(([k, v]) => [k, String(v)]) }));
  }
  B.page('governor', { title: 'Governor view', roles: ['head', 'governor', 'dsl', 'deputy'], render: governor });

  // ---- opening a new case file ----
  const UPN_LETTERS = 'ABCDEFGHJKLMNPQRTUVWXYZ';
  function upnOk(s) {
    if (!/^[A-Z]\d{11}[0-9A-Z]$/.test(s)) return false;
    let sum = 0;
    for (let i = 1; i < 13; i++) {
      const ch = s[i];
      const v = /\d/.test(ch) ? Number(ch) : UPN_LETTERS.indexOf(ch);
      if (v < 0) return false;
      sum += v * (i + 1);
    }
    return UPN_LETTERS[sum % 23] === s[0];
  }

  function newFile(el) {
    const form = h('form', { id: 'new-file-form', novalidate: true },
      B.field({ id: 'nf-given', name: 'given_name', label: 'Given name', autocomplete: 'off', spellcheck: false }),
      B.field({ id: 'nf-family', name: 'family_name', label: 'Family name', autocomplete: 'off', spellcheck: false }),
      B.field({ id: 'nf-preferred', name: 'preferred_name', label: 'Preferred name (optional)', hint: 'The name the child likes to be called, if different.', autocomplete: 'off', spellcheck: false }),
      B.dateInput({ id: 'nf-dob', name: 'dob', legend: 'Date of birth', hint: 'For example, 4 3 2016.' }),
      B.field({ id: 'nf-upn', name: 'upn', label: 'Unique pupil number (UPN, optional)', hint: '13 characters: a letter then 12 more, for example B801200005001.', autocomplete: 'off', spellcheck: false }),
      B.radios({ id: 'nf-plan', name: 'plan_status', legend: 'Plan status', value: 'not_recorded',
        items: [{ value: 'not_recorded', text: 'Not known yet' }, { value: 'none', text: 'No plan' },
          { value: 'eh', text: 'Early help' }, { value: 'cin', text: 'Child in need' },
          { value: 'cp', text: 'Child protection plan' }, { value: 'lac', text: 'Looked after child' }] }),
      B.button('Open the case file'),
      h('p', null, h('a', { href: '#/' }, 'Cancel')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const d = B.formData(form);
      const errs = [];
      for (const k of ['given_name', 'family_name', 'preferred_name', 'upn']) d[k] = (d[k] || '').trim();
      d.upn = d.upn.toUpperCase();
      if (!d.given_name) errs.push({ id: 'nf-given', text: 'Enter the child’s given name' });
      if (!d.family_name) errs.push({ id: 'nf-family', text: 'Enter the child’s family name' });
      d.dob = B.dateValue(form, 'nf-dob');
      if (d.dob === '') errs.push({ id: 'nf-dob-day', text: 'Enter the child’s date of birth' });
      else if (d.dob === null) errs.push({ id: 'nf-dob-day', text: 'Date of birth must be a real date, like 4 3 2016' });
      else if (d.dob > new Date().toISOString().slice(0, 10)) errs.push({ id: 'nf-dob-day', text: 'Date of birth must be in the past' });
      if (d.upn && !upnOk(d.upn)) errs.push({ id: 'nf-upn', text: 'Enter a UPN in the correct format, like B801200005001, or leave it blank' });
      B.errors(form, errs);
      if (errs.length) return;
      const body = { given_name: d.given_name, family_name: d.family_name, dob: d.dob };
      if (d.preferred_name) body.preferred_name = d.preferred_name;
      if (d.upn) body.upn = d.upn;
      if (d.plan_status && d.plan_status !== 'not_recorded') body.plan_status = d.plan_status;
      const r = await B.api('POST', '/api/files', body);
      if (!B.current(el)) return;
      if (r.status === 201 && r.json.id) { B.go(`#/file/${r.json.id}`); return; }
      const msg = r.json.error || `error ${r.status || 'no answer from the server'}`;
      // 409 with file: a case file for this UPN is here already; offer it.
      const held = r.status === 409 && typeof r.json.file === 'string' && /^[0-9a-f]{32}$/i.test(r.json.file) ? r.json.file.toLowerCase() : null;
      const sum = B.serverErrors(form, msg, null, { prefix: 'The case file was not opened: ', fallback: held ? 'nf-upn' : null });
      if (held && sum) {
        B.add(sum, h('p', { class: 'error-summary__more' },
          h('a', { href: `#/file/${held}`, id: 'nf-held' }, 'Open the case file already held for this UPN')));
      }
    });
    B.add(el, B.back('#/'), h('h1', null, 'Open a new case file'),
      h('p', null, 'Check first that the child has no case file on this node: look in the case files list on your desk.'), form);
  }
  B.page('new-file', { title: 'Open a new case file', roles: ['dsl', 'deputy'], render: newFile });
}());
