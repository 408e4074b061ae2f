// Transfers (web/assets): sending a child's file to the new school within
// the five-day window (KCSiE Annex C; domain.md "Moving a CP file") and
// answering the transfers that come in.
//
//   #/transfer/FILEID          a DSL or deputy sends the file: the new
//                              school from the directory (its fingerprint
//                              shown, to check by phone), the on-roll and
//                              leaving dates, or "new school not known:
//                              send to the LA"; a check page with the
//                              computed deadline before anything is sent.
//   #/transfers                transfers in and out, with status, deadline
//                              and days left, and what to do next.
//   #/transfers/ack/TID        the receiving DSL confirms receipt.
//   #/transfers/reject/TID     ... or rejects a misdirected file.
//   #/transfers/close/TID      the sender closes with a retention choice.
//   #/transfers/receipt/TID    who acknowledged, when, where it is kept,
//                              on time or late.
//
// Titles are fixed words: no child is named in any title or notice.
'use strict';
(function () {
  const B = window.Baton;
  const h = B.h;
  const SENDERS = ['dsl', 'deputy'];
  const READERS = ['dsl', 'deputy', 'head', 'governor'];
  const FILE_RE = /^[0-9a-fA-F]{32}$/;
  const ID_RE = /^[0-9a-fA-F]{64}$/;
  const pad = (n) => String(n).padStart(2, '0');
  const todayStr = () => { const t = new Date(); return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`; };
  const localDay = (t) => { const d = new Date(/Z$/.test(t) ? t : `${t}Z`); return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`; };
  const one = (v) => (Array.isArray(v) ? v.join(' or ') : v);
  // Who sent a transfer: the sending school from the LA directory, and the
  // DSL who started it.
  const sender = (x) => (x.from ? (x.started_by ? `${x.from} (${x.started_by})` : x.from) : (x.started_by || null));
  const KIND = { school: 'School', la: 'Local authority', mash: 'MASH', police: 'Police', health: 'Health', academy: 'Academy' };
  const kindWord = (k) => KIND[k] || B.label(k);

  // ---- shared pieces ----

  // GOV.UK date inputs come from the core (Baton.dateInput); read back
  // as 'YYYY-MM-DD', null when all three fields are empty, false when not a
  // real date.
  const dateInput = (id, legend, hint, value) => B.dateInput({ id, legend, hint, value });
  function readDate(root, id) {
    const v = B.dateValue(root, id);
    return v === '' ? null : v === null ? false : v;
  }

  function statusTag(x) {
    const s = x.status;
    const colour = { overdue: 'red', rejected: 'red', acknowledged: 'green', delivered: '', pending: 'yellow',
                     closed: 'grey', withdrawn: 'grey' }[s];
    return B.tag(B.label(s), colour === undefined ? 'grey' : colour);
  }
  const waiting = (x) => x.status === 'pending' || x.status === 'delivered' || x.status === 'overdue';
  function daysLeft(x) {
    if (!waiting(x) || x.days_left === null || x.days_left === undefined) return '\u2014';
    const n = x.days_left;
    if (n < 0) return h('span', { class: 'overdue' }, `${-n} ${-n === 1 ? 'day' : 'days'} overdue`);
    if (n === 0) return h('span', { class: 'overdue' }, 'Due today');
    return `${n} ${n === 1 ? 'day' : 'days'}`;
  }
  // On time or late: the receipt's day (local) against the deadline.
  function timeliness(x) {
    if (!x.acked_at) return null;
    if (!x.deadline) return 'Acknowledged';
    return localDay(x.acked_at) <= x.deadline ? 'On time' : 'Late';
  }

  // The child's name for each file id, for the roles that read files.
  async function names() {
    const out = new Map();
    if (!B.me || !SENDERS.includes(B.me.role)) return out;
    const r = await B.api('GET', '/api/files');
    if (r.status !== 200 || !Array.isArray(r.json.files)) return out;
    for (const f of r.json.files) {
      const n = [one(f.preferred_name) || one(f.given_name), one(f.family_name)].filter(Boolean).join(' ');
      if (n) out.set(f.id, n);
    }
    return out;
  }
  const fileLabel = (x, nm) => nm.get(x.file) || `File ${x.file.slice(0, 8)}`;

  async function findTransfer(tid) {
    const r = await B.api('GET', '/api/transfers');
    if (r.status !== 200) return { error: r.json.error || 'The transfers cannot be shown.', status: r.status };
    const x = (r.json.transfers || []).find((t) => t.transfer === tid);
    return x ? { x } : { error: 'There is no such transfer here.', status: 404 };
  }

  function confirmPanel(el, title, body) {
    el.textContent = '';
    el.append(h('div', { class: 'panel-confirm' }, h('h1', { tabindex: '-1' }, title),
      body ? h('p', { class: 'panel-confirm__body' }, body) : null));
    document.title = `${title} – Baton`;
    return el.querySelector('h1');
  }
  function focus(el) { if (el) { if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1'); el.focus(); window.scrollTo(0, 0); } }
  // A refusal on the field it names (fields: the API's names to input
  // ids), else on id.
  function serverError(form, r, id, fields) {
    const msg = r.json.error || `nothing was recorded (${r.status || 'no answer from the server'})`;
    B.serverErrors(form, msg, fields || {}, { fallback: id });
  }

  // ---- #/transfer/FILEID: send a file ----

  async function sendPage(el, params) {
    const file = (params[0] || '').toLowerCase();
    if (params.length !== 1 || !FILE_RE.test(file)) {
      el.append(h('h1', null, 'Page not found'), h('p', null, 'This address names no case file.'),
        h('p', null, h('a', { href: '#/transfers' }, 'See your transfers')));
      return;
    }
    el.append(B.back(`#/file/${file}`, 'Back to the case file'), h('h1', null, 'Send this file to the child\u2019s new school'));
    const [fr, dr] = await Promise.all([B.api('GET', `/api/files/${file}`), B.api('GET', '/api/directory')]);
    if (!B.current(el)) return;
    if (fr.status !== 200) {
      el.append(B.notice(fr.status === 404 ? 'There is no such case file here.' : (fr.json.error || 'The case file cannot be shown.'), 'warning'));
      return;
    }
    if (dr.status !== 200) {
      el.append(B.notice(dr.json.error || 'The directory of schools cannot be shown.', 'warning'));
      return;
    }
    const front = fr.json.front || {};
    const child = {
      name: [one(front.given_name), one(front.family_name)].filter(Boolean).join(' ') || 'Not recorded',
      dob: front.dob ? B.fmtDate(one(front.dob)) : null,
    };
    const orgs = (dr.json.orgs || []).slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
    // What the DSL has chosen so far; kept across the steps.
    const st = { mode: 'school', to: '', on_roll: null, leaving: null, note: '' };
    const body = h('div');
    el.appendChild(body);
    showForm();

    function childSummary() {
      return B.summary([['Child', child.name], ['Date of birth', child.dob]]);
    }

    function orgItem(o) {
      return { value: o.id, text: o.name,
               hint: `${kindWord(o.kind)}${o.la ? ` \u00b7 ${o.la}` : ''} \u00b7 Fingerprint ${o.fingerprint}` };
    }

    function showForm(focusId) {
      body.textContent = '';
      const form = h('form', { id: 'xfer-form', novalidate: true, 'aria-label': 'Transfer' });
      const schools = orgs.filter((o) => o.kind !== 'la');
      const las = orgs.filter((o) => o.kind === 'la');
      const mode = B.radios({ id: 'x-mode', name: 'x-mode', legend: 'Where is the file going?', value: st.mode,
        items: [
          { value: 'school', text: 'To the child\u2019s new school', hint: 'Choose it from the LA directory below.' },
          { value: 'la', text: 'New school not known: send to the LA', hint: 'The LA holds the file until it knows the new school. No on-roll date is needed.' },
        ] });
      const filter = B.field({ id: 'x-filter', label: 'Find the school', hint: 'Type part of its name to shorten the list', type: 'search', autocomplete: 'off' });
      const schoolList = schools.length
        ? B.radios({ id: 'x-to', name: 'x-to', legend: 'New school', value: st.mode === 'school' ? st.to : '',
            items: schools.map(orgItem) })
        : h('p', { id: 'x-to', tabindex: '-1' }, 'No schools are listed in the LA directory this node holds. Sync with the LA, then try again.');
      const laList = las.length
        ? B.radios({ id: 'x-la', name: 'x-la', legend: 'Local authority', value: st.mode === 'la' && st.to ? st.to : (las.length === 1 ? las[0].id : ''),
            items: las.map(orgItem) })
        : h('p', { id: 'x-la', tabindex: '-1' }, 'No LA is listed in the LA directory this node holds.');
      // (The fingerprint note is a paragraph of its own: Baton.radios would
      // give a group hint the id of the first school's hint.)
      const schoolPart = h('div', { class: 'conditional', id: 'x-school-part' }, schools.length > 5 ? filter : null,
        schools.length ? h('p', { class: 'hint' }, 'Each school\u2019s fingerprint identifies its Baton. Check it with the new school\u2019s DSL by phone before you send.') : null,
        schoolList,
        dateInput('x-onroll', 'Date the child goes on roll at the new school', 'The deadline counts from this day. For example, 24 11 2026', st.on_roll));
      const laPart = h('div', { class: 'conditional', id: 'x-la-part' }, laList);
      form.append(
        mode, schoolPart, laPart,
        dateInput('x-leaving', 'Leaving date (optional)', 'The child\u2019s last day at this school', st.leaving),
        B.field({ id: 'x-note', label: 'Note for the receiving DSL (optional)', type: 'textarea', rows: 3,
                  hint: 'For example, what the file holds and who to call about it', value: st.note }),
        h('div', { class: 'button-group' }, B.button('Continue'), h('a', { href: `#/file/${file}` }, 'Cancel')));
      body.append(childSummary(), form);

      const sync = () => {
        const m = form.querySelector('input[name="x-mode"]:checked');
        st.mode = m ? m.value : 'school';
        schoolPart.hidden = st.mode !== 'school';
        laPart.hidden = st.mode !== 'la';
      };
      for (const r of form.querySelectorAll('input[name="x-mode"]')) r.addEventListener('change', sync);
      sync();
      const fi = form.querySelector('#x-filter');
      if (fi) fi.addEventListener('input', () => {
        const q = fi.value.trim().toLowerCase();
        for (const c of schoolPart.querySelectorAll('.choice')) {
          const t = c.textContent.toLowerCase();
          c.hidden = q !== '' && !t.includes(q) && !(c.querySelector('input') || {}).checked;
        }
      });

      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        sync();
        const errs = [];
        const picked = form.querySelector(`input[name="${st.mode === 'school' ? 'x-to' : 'x-la'}"]:checked`);
        st.to = picked ? picked.value : '';
        st.on_roll = st.mode === 'school' ? readDate(form, 'x-onroll') : null;
        st.leaving = readDate(form, 'x-leaving');
        st.note = form.querySelector('#x-note').value.trim();
        if (st.mode === 'school') {
          if (!st.to) errs.push({ id: 'x-to', text: 'Choose the new school' });
          if (st.on_roll === null) errs.push({ id: 'x-onroll-day', text: 'Enter the date the child goes on roll at the new school' });
          else if (st.on_roll === false) errs.push({ id: 'x-onroll-day', text: 'The on-roll date must be a real date, for example 24 11 2026' });
        } else if (!st.to && las.length !== 1) errs.push({ id: 'x-la', text: 'Choose the LA' });
        if (st.leaving === false) errs.push({ id: 'x-leaving-day', text: 'The leaving date must be a real date, for example 21 11 2026' });
        else if (st.leaving && st.on_roll && st.leaving > st.on_roll)
          errs.push({ id: 'x-leaving-day', text: 'The leaving date must be on or before the on-roll date' });
        if (errs.length) { B.errors(form, errs); return; }
        const req = request(false);
        const r = await B.api('POST', '/api/transfers/preview', req);
        if (!B.current(el)) return;
        if (r.status !== 200) {
          serverError(form, r, st.mode === 'school' ? 'x-to' : 'x-la', { to: st.mode === 'school' ? 'x-to' : 'x-la',
            via_la: 'x-mode', on_roll: 'x-onroll-day', leaving: 'x-leaving-day', note: 'x-note' });
          return;
        }
        showCheck(r.json);
      });
      if (focusId) { const f = document.getElementById(focusId); if (f) f.focus(); }
    }

    function request(withNote) {
      const req = { file };
      if (st.to) req.to = st.to;
      if (st.mode === 'la') req.via_la = true;
      if (st.on_roll) req.on_roll = st.on_roll;
      if (st.leaving) req.leaving = st.leaving;
      if (withNote && st.note) req.note = st.note;
      return req;
    }

    function showCheck(p) {
      body.textContent = '';
      el.querySelector('h1').textContent = 'Check the transfer before you send it';
      document.title = 'Check the transfer – Baton';
      const org = orgs.find((o) => o.id === st.to) || orgs.find((o) => o.fingerprint === p.fingerprint) || {};
      const goBack = (id) => {
        el.querySelector('h1').textContent = 'Send this file to the child\u2019s new school';
        document.title = 'Send a file – Baton';
        showForm(id);
      };
      const change = (what, id) => h('button', { type: 'button', class: 'link-button', on: { click: () => goBack(id) } },
        'Change', h('span', { class: 'visually-hidden' }, ` ${what}`));
      const rule = p.rule || 'working days';
      const form = h('form', { id: 'xfer-confirm', novalidate: true, 'aria-label': 'Send the file' },
        h('div', { class: 'button-group' }, B.button('Send the file', { id: 'x-send' }),
          h('button', { type: 'button', class: 'link-button', on: { click: () => goBack('x-mode') } }, 'Go back and change it')));
      body.append(
        B.summary([
          ['Child', child.name],
          ['Date of birth', child.dob],
          [st.mode === 'la' ? 'Sent to (the LA)' : 'New school', p.org || org.name, change('the destination', st.mode === 'la' ? 'x-la' : 'x-to')],
          ['Kind', org.kind ? kindWord(org.kind) : null],
          org.la && org.la !== org.name ? ['LA', org.la] : null,
          ['Fingerprint', h('code', { class: 'fingerprint' }, p.fingerprint || org.fingerprint || '')],
          ['On roll at the new school', st.on_roll ? B.fmtDate(st.on_roll) : (st.mode === 'la' ? 'Not known: the LA finds the new school' : null),
            st.mode === 'school' ? change('the on-roll date', 'x-onroll-day') : null],
          ['Leaving date', st.leaving ? B.fmtDate(st.leaving) : null, change('the leaving date', 'x-leaving-day')],
          ['Note for the receiving DSL', st.note ? h('span', { class: 'text-block' }, st.note) : null, change('the note', 'x-note')],
        ]),
        h('div', { class: 'inset deadline' },
          h('p', null, 'Receipt must be confirmed by ', h('strong', { id: 'x-deadline' }, B.fmtDate(p.deadline)), '.'),
          h('p', null, 'That is ', h('strong', { id: 'x-days' }, `${p.days} ${rule}`),
            st.on_roll ? ' after the child goes on roll at the new school.' : ' from today.')),
        h('p', { class: 'warning-text' },
          'Before you send: phone the ', st.mode === 'la' ? 'LA' : 'new school\u2019s DSL', ' and check that the fingerprint above is the one their Baton shows for ',
          st.mode === 'la' ? 'their organisation' : 'their school', '.'),
        h('p', null, 'The file goes encrypted to ', h('strong', null, p.org || org.name || 'the new school'),
          ' only. The LA relay that carries it cannot read it. You will see their receipt on the transfers page.'),
        form);
      let sending = false;
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        if (sending) return;
        sending = true;
        const r = await B.api('POST', '/api/transfers', request(true));
        sending = false;
        if (!B.current(el)) return;
        if (r.status !== 201) {
          const msg = r.json.error || `the file was not sent (${r.status || 'no answer from the server'})`;
          B.serverErrors(form, msg, {}, { fallback: 'x-send' });
          return;
        }
        const h1 = confirmPanel(el, 'File sent', `Receipt due by ${B.fmtDate(r.json.deadline)}`);
        el.append(
          h('h2', null, 'What happens next'),
          h('p', null, 'The file travels at the next sync. The new school\u2019s Baton signs for its delivery, then their DSL confirms receipt.'),
          h('p', null, 'If receipt is not confirmed by ', h('strong', null, B.fmtDate(r.json.deadline)),
            ', the transfer shows as overdue: phone the new school\u2019s DSL.'),
          h('p', null, 'The CP file travels separately from the pupil\u2019s Common Transfer File: send that as usual.'),
          h('ul', { class: 'list' },
            h('li', null, h('a', { href: '#/transfers' }, 'See your transfers')),
            h('li', null, h('a', { href: `#/file/${file}` }, 'Back to the case file'))));
        focus(h1);
      });
      focus(el.querySelector('h1'));
    }
  }

  // ---- #/transfers: the list ----

  async function listPage(el) {
    el.append(h('h1', null, 'Transfers'));
    const [r, nm] = await Promise.all([B.api('GET', '/api/transfers'), names()]);
    if (!B.current(el)) return;
    if (r.status !== 200) { el.append(B.notice(r.json.error || 'The transfers cannot be shown.', 'warning')); return; }
    const xs = (r.json.transfers || []).slice().sort((a, b) =>
      (Number(b.overdue) - Number(a.overdue)) || String(a.deadline || '').localeCompare(String(b.deadline || '')));
    const act = B.me && SENDERS.includes(B.me.role);
    const child = (x) => (act ? h('a', { href: `#/file/${x.file}` }, fileLabel(x, nm)) : `File ${x.file.slice(0, 8)}`);
    const ins = xs.filter((x) => x.direction === 'in');
    const outs = xs.filter((x) => x.direction === 'out');
    const receiptLink = (x) => h('a', { href: `#/transfers/receipt/${x.transfer}` }, 'View receipt',
      h('span', { class: 'visually-hidden' }, ` for ${fileLabel(x, nm)}`));
    const action = (href, text, x) => h('a', { href, class: 'action-link' }, text, h('span', { class: 'visually-hidden' }, ` for ${fileLabel(x, nm)}`));

    const inRows = ins.map((x) => {
      const todo = [];
      if (act && (x.status === 'delivered' || (x.status === 'overdue' && x.delivered_at))) {
        todo.push(action(`#/transfers/ack/${x.transfer}`, 'Confirm receipt', x));
        todo.push(action(`#/transfers/reject/${x.transfer}`, 'Reject (misdirected)', x));
      }
      if (x.acked_at) todo.push(receiptLink(x));
      return h('tr', { 'data-transfer': x.transfer, 'data-status': x.status },
        h('td', null, child(x)), h('td', null, x.from || '\u2014'), h('td', null, statusTag(x)),
        h('td', null, x.started_at ? B.fmtDate(x.started_at) : '\u2014'),
        h('td', null, x.deadline ? B.fmtDate(x.deadline) : '\u2014'), h('td', null, daysLeft(x)),
        h('td', null, todo.length ? h('ul', { class: 'plain actions' }, todo.map((a) => h('li', null, a))) : '\u2014'));
    });
    const outRows = outs.map((x) => {
      const todo = [];
      if (act && (x.status === 'acknowledged' || x.status === 'rejected')) todo.push(action(`#/transfers/close/${x.transfer}`, 'Close', x));
      if (x.acked_at) todo.push(receiptLink(x));
      return h('tr', { 'data-transfer': x.transfer, 'data-status': x.status },
        h('td', null, child(x)), h('td', null, x.org || '\u2014'), h('td', null, statusTag(x)),
        h('td', null, x.deadline ? B.fmtDate(x.deadline) : '\u2014'), h('td', null, daysLeft(x)),
        h('td', null, todo.length ? h('ul', { class: 'plain actions' }, todo.map((a) => h('li', null, a))) : '\u2014'));
    });
    el.append(
      h('p', { class: 'lede' }, 'A child protection file must reach the new school, and its receipt be confirmed, within 5 working days of the child going on roll there.'),
      ins.length
        ? B.table({ id: 'transfers-in', caption: 'Transfers in', head: ['Child', 'From', 'Status', 'Sent', 'Deadline', 'Working days left', 'Action'], rows: inRows })
        : h('p', { id: 'transfers-in' }, h('strong', null, 'Transfers in: '), 'none.'),
      outs.length
        ? B.table({ id: 'transfers-out', caption: 'Transfers out', head: ['Child', 'To', 'Status', 'Deadline', 'Working days left', 'Action'], rows: outRows })
        : h('p', { id: 'transfers-out' }, h('strong', null, 'Transfers out: '), 'none.'),
      act ? h('p', { class: 'hint' }, 'To send a file, open it and choose \u2018Transfer to a new school\u2019.') : null);
  }

  // ---- the answer pages ----

  // Common start: the transfer, a summary of it, and a Back link.
  async function answerStart(el, params, heading, dir) {
    const tid = (params[0] || '').toLowerCase();
    el.append(B.back('#/transfers', 'Back to transfers'), h('h1', null, heading));
    if (params.length !== 1 || !ID_RE.test(tid)) { el.append(B.notice('This address names no transfer.', 'warning')); return null; }
    const [f, nm] = await Promise.all([findTransfer(tid), names()]);
    if (!B.current(el)) return null;
    if (f.error) { el.append(B.notice(f.error, 'warning')); return null; }
    const x = f.x;
    if (dir && x.direction !== dir) {
      el.append(B.notice(dir === 'in' ? 'This transfer was not sent to this school.' : 'This transfer was not sent by this school.', 'warning'));
      return null;
    }
    el.append(B.summary([
      ['Child', SENDERS.includes(B.me.role) ? h('a', { href: `#/file/${x.file}` }, fileLabel(x, nm)) : fileLabel(x, nm)],
      x.direction === 'out' ? ['Sent to', x.org] : ['Sent by', sender(x)],
      ['Sent on', x.started_at ? B.fmtTime(x.started_at) : null],
      ['Delivered to this school\u2019s Baton', x.delivered_at ? B.fmtTime(x.delivered_at) : (x.direction === 'out' ? null : 'Not yet')],
      ['Deadline', x.deadline ? B.fmtDate(x.deadline) : null],
      ['Status', statusTag(x)],
    ]));
    return x;
  }

  async function ackPage(el, params) {
    const x = await answerStart(el, params, 'Confirm receipt of the file', 'in');
    if (!x) return;
    if (x.status !== 'delivered' && !(x.status === 'overdue' && x.delivered_at)) {
      el.append(B.notice(x.status === 'pending' ? 'The file has not arrived in full yet: wait for the next sync.'
        : `This transfer is ${B.label(x.status).toLowerCase()}: there is nothing to confirm.`, 'warning'));
      return;
    }
    const form = h('form', { id: 'ack-form', novalidate: true, 'aria-label': 'Confirm receipt' },
      h('p', null, 'Open the file first and check it is the right child and complete. Then confirm: the sending school sees your receipt after the next sync.'),
      B.field({ id: 'a-stored', label: 'Where is the file kept now?', hint: 'For example, CP cabinet, DSL office. The sending school sees this.', width: 'long' }),
      B.field({ id: 'a-note', label: 'Note (optional)', type: 'textarea', rows: 3, hint: 'For example, which key staff you have told' }),
      h('div', { class: 'button-group' }, B.button('Confirm receipt'), h('a', { href: '#/transfers' }, 'Cancel')));
    el.appendChild(form);
    let busy = false;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (busy) return;
      const stored = form.querySelector('#a-stored').value.trim();
      const note = form.querySelector('#a-note').value.trim();
      if (!stored) { B.errors(form, [{ id: 'a-stored', text: 'Enter where the file is kept now' }]); return; }
      busy = true;
      const r = await B.api('POST', `/api/transfers/${x.transfer}/ack`, { file: x.file, stored, ...(note ? { note } : {}) });
      busy = false;
      if (!B.current(el)) return;
      if (r.status !== 200 && r.status !== 201) { serverError(form, r, 'a-stored', { stored: 'a-stored', note: 'a-note' }); return; }
      const h1 = confirmPanel(el, 'Receipt confirmed', 'The sending school sees your receipt after the next sync.');
      el.append(h('h2', null, 'What happens next'),
        h('p', null, 'Tell the key staff who need to know (the SENCO, the class teacher) what they need to keep the child safe.'),
        h('ul', { class: 'list' }, h('li', null, h('a', { href: `#/file/${x.file}` }, 'Open the case file')),
          h('li', null, h('a', { href: `#/transfers/receipt/${x.transfer}` }, 'View the receipt')),
          h('li', null, h('a', { href: '#/transfers' }, 'Back to transfers'))));
      focus(h1);
    });
  }

  async function rejectPage(el, params) {
    const x = await answerStart(el, params, 'Reject a misdirected file', 'in');
    if (!x) return;
    if (x.status !== 'delivered' && x.status !== 'pending' && x.status !== 'overdue') {
      el.append(B.notice(`This transfer is ${B.label(x.status).toLowerCase()}: it cannot be rejected now.`, 'warning'));
      return;
    }
    const form = h('form', { id: 'reject-form', novalidate: true, 'aria-label': 'Reject the transfer' },
      h('p', { class: 'warning-text' }, 'Reject only a file sent to this school by mistake. The sending school is told, and its Baton withdraws this school\u2019s access at the next sync. What this node already holds stays here: delete nothing, and tell the sending DSL by phone.'),
      B.field({ id: 'r-reason', label: 'Why are you rejecting it?', type: 'textarea', rows: 3, hint: 'For example, the child has never been on roll here. The sending school sees this.' }),
      h('div', { class: 'button-group' }, B.button('Reject the transfer', { warning: true }), h('a', { href: '#/transfers' }, 'Cancel')));
    el.appendChild(form);
    let busy = false;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (busy) return;
      const reason = form.querySelector('#r-reason').value.trim();
      if (!reason) { B.errors(form, [{ id: 'r-reason', text: 'Enter why you are rejecting the file' }]); return; }
      busy = true;
      const r = await B.api('POST', `/api/transfers/${x.transfer}/reject`, { file: x.file, reason });
      busy = false;
      if (!B.current(el)) return;
      if (r.status !== 200 && r.status !== 201) { serverError(form, r, 'r-reason', { reason: 'r-reason' }); return; }
      const h1 = confirmPanel(el, 'Transfer rejected', 'The sending school sees it after the next sync.');
      el.append(h('p', null, h('a', { href: '#/transfers' }, 'Back to transfers')));
      focus(h1);
    });
  }

  async function closePage(el, params) {
    const x = await answerStart(el, params, 'Close the transfer', 'out');
    if (!x) return;
    if (x.status !== 'acknowledged' && x.status !== 'rejected') {
      el.append(B.notice(x.status === 'closed' ? 'This transfer is closed already.'
        : 'The new school has not confirmed receipt yet: chase them before you close the transfer.', 'warning'));
      return;
    }
    const form = h('form', { id: 'close-form', novalidate: true, 'aria-label': 'Close the transfer' },
      B.radios({ id: 'c-retain', name: 'c-retain', legend: 'What does this school keep of the file?',
        hint: 'Your school\u2019s policy decides. The record of the transfer is kept whatever you choose.',
        items: [
          { value: 'keep', text: 'Keep the whole file' },
          { value: 'chrono', text: 'Keep the chronology only, until a date', hint: 'After that date, only the transfer log is kept.' },
          { value: 'log', text: 'Keep only the transfer log' },
        ] }),
      h('div', { class: 'conditional', id: 'c-until-part', hidden: true },
        dateInput('c-until', 'Keep the chronology until', 'For example, 30 11 2027')),
      B.field({ id: 'c-note', label: 'Note (optional)', type: 'textarea', rows: 2 }),
      h('div', { class: 'button-group' }, B.button('Close the transfer'), h('a', { href: '#/transfers' }, 'Cancel')));
    el.appendChild(form);
    const part = form.querySelector('#c-until-part');
    const sync = () => { const c = form.querySelector('input[name="c-retain"]:checked'); part.hidden = !c || c.value !== 'chrono'; };
    for (const r of form.querySelectorAll('input[name="c-retain"]')) r.addEventListener('change', sync);
    let busy = false;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (busy) return;
      const c = form.querySelector('input[name="c-retain"]:checked');
      const errs = [];
      const req = { file: x.file };
      if (!c) errs.push({ id: 'c-retain', text: 'Choose what this school keeps of the file' });
      else req.retain = c.value;
      if (c && c.value === 'chrono') {
        const d = readDate(form, 'c-until');
        if (d === null) errs.push({ id: 'c-until-day', text: 'Enter the date until which the chronology is kept' });
        else if (d === false) errs.push({ id: 'c-until-day', text: 'The date must be a real date, for example 30 11 2027' });
        else if (d <= todayStr()) errs.push({ id: 'c-until-day', text: 'The date must be in the future' });
        else req.keep_until = d;
      }
      const note = form.querySelector('#c-note').value.trim();
      if (note) req.note = note;
      if (errs.length) { B.errors(form, errs); return; }
      busy = true;
      const r = await B.api('POST', `/api/transfers/${x.transfer}/close`, req);
      busy = false;
      if (!B.current(el)) return;
      if (r.status !== 200 && r.status !== 201) { serverError(form, r, 'c-retain', { retain: 'c-retain', keep_until: 'c-until-day', note: 'c-note' }); return; }
      const h1 = confirmPanel(el, 'Transfer closed', req.retain === 'keep' ? 'This school keeps the whole file.'
        : req.retain === 'log' ? 'This school keeps only the transfer log.'
          : `This school keeps the chronology until ${B.fmtDate(req.keep_until)}, then only the transfer log.`);
      el.append(h('p', null, h('a', { href: '#/transfers' }, 'Back to transfers')));
      focus(h1);
    });
  }

  async function receiptPage(el, params) {
    const tid = (params[0] || '').toLowerCase();
    el.append(B.back('#/transfers', 'Back to transfers'), h('h1', null, 'Receipt'));
    if (params.length !== 1 || !ID_RE.test(tid)) { el.append(B.notice('This address names no transfer.', 'warning')); return; }
    const [f, nm] = await Promise.all([findTransfer(tid), names()]);
    if (!B.current(el)) return;
    if (f.error) { el.append(B.notice(f.error, 'warning')); return; }
    const x = f.x;
    const when = timeliness(x);
    el.append(
      when ? h('p', { class: 'lede' }, B.tag(when, when === 'Late' ? 'red' : 'green')) : null,
      B.summary([
        ['Child', SENDERS.includes(B.me.role) ? h('a', { href: `#/file/${x.file}` }, fileLabel(x, nm)) : fileLabel(x, nm)],
        ['Direction', x.direction === 'out' ? 'Sent by this school' : x.direction === 'in' ? 'Received by this school' : 'Between two other schools'],
        ['Sent to', x.org || null],
        ['Sent by', sender(x)],
        ['Sent on', x.started_at ? B.fmtTime(x.started_at) : null],
        ['On roll at the new school', x.on_roll ? B.fmtDate(x.on_roll) : (x.via_la ? 'Not known: sent to the LA' : null)],
        ['Deadline', x.deadline ? B.fmtDate(x.deadline) : null],
        ['Delivered', x.delivered_at ? B.fmtTime(x.delivered_at) : null],
        ['Acknowledged by', x.acknowledged_by || null],
        ['Acknowledged on', x.acked_at ? B.fmtTime(x.acked_at) : null],
        ['Kept at', x.stored || null],
        ['On time or late', when ? `${when}${x.deadline ? ` (deadline ${B.fmtDate(x.deadline)})` : ''}` : null],
        x.rejected_at ? ['Rejected on', B.fmtTime(x.rejected_at)] : null,
        x.closed_at ? ['Closed on', B.fmtTime(x.closed_at)] : null,
        ['Status', statusTag(x)],
      ]));
  }

  B.page('transfer', { title: 'Send a file', roles: SENDERS, render: sendPage });
  B.page('transfers', { title: 'Transfers', roles: READERS, render: listPage, nav: 'Transfers' });
  B.page('transfers/ack', { title: 'Confirm receipt', roles: SENDERS, render: ackPage });
  B.page('transfers/reject', { title: 'Reject a transfer', roles: SENDERS, render: rejectPage });
  B.page('transfers/close', { title: 'Close a transfer', roles: SENDERS, render: closePage });
  B.page('transfers/receipt', { title: 'Receipt', roles: READERS, render: receiptPage });
}());
