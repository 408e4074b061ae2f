// The case file ('#/file/ID') and the forms that add to it, each a page of
// its own (GOV.UK: one thing per page):
//   #/file/ID                    front sheet, conflicts, concerns with their
//                                reviews, chronology (filterable), actions,
//                                body maps, sharing and transfers
//   #/file/ID/review/CONCERN     the DSL's review of a concern (Part 2)
//   #/file/ID/chronology         a chronology entry
//   #/file/ID/action             an action
//   #/file/ID/done/ACTION        marking an action done
//   #/file/ID/correct/ENTRY      a correction (shown beside the original)
//   #/file/ID/change/FIELD       changing one front-sheet field
// Case content goes into the page body only (textContent), never a title.
// Shared with share.js: Baton.caseFile (load, name, entryLabel).
'use strict';
(function () {
  const B = window.Baton;
  const { h } = B;
  const FILE_RE = /^[0-9a-f]{32}$/i;
  const ID_RE = /^[0-9a-f]{64}$/i;
  const WRITERS = ['dsl', 'deputy'];
  const canWrite = () => B.me && WRITERS.includes(B.me.role);

  // ---- the file's data ----
  const FRONT = ['given_name', 'family_name', 'preferred_name', 'other_names', 'dob', 'upn', 'gender',
    'plan_status', 'rating', 'social_worker', 'social_worker_contact', 'status', 'opened_on', 'closed_on',
    'address', 'carers', 'agencies', 'notes'];
  const FRONT_WORDS = { other_names: 'Other names', social_worker: 'Social worker',
    social_worker_contact: 'Social worker’s contact details', opened_on: 'Opened on', closed_on: 'Closed on',
    status: 'File status', rating: 'Vulnerability rating', carers: 'Parents and carers', agencies: 'Other agencies involved' };
  const ENUMS = {
    plan_status: [['none', 'No plan'], ['eh', 'Early help'], ['cin', 'Child in need'], ['cp', 'Child protection plan'], ['lac', 'Looked after child']],
    gender: [['female', 'Female'], ['male', 'Male'], ['other', 'Other'], ['unknown', 'Not known']],
    rating: [['none', 'None'], ['red', 'Red'], ['amber', 'Amber'], ['blue', 'Blue'], ['yellow', 'Yellow']],
    status: [['open', 'Open'], ['closed', 'Closed']],
  };
  const DATES = new Set(['dob', 'opened_on', 'closed_on']);
  const LONG = new Set(['address', 'carers', 'agencies', 'notes', 'social_worker_contact']);
  const fieldName = (f) => FRONT_WORDS[f] || B.label(f);
  const one = (f, v) => {
    if (v === null || v === undefined || v === '') return '';
    if (DATES.has(f)) return B.fmtDate(v);
    if (ENUMS[f]) { const e = ENUMS[f].find(([k]) => k === v); return e ? e[1] : String(v); }
    return String(v);
  };
  const frontText = (f, v) => (Array.isArray(v) ? v.map((x) => one(f, x)).join(' or ') : one(f, v));
  function name(front) {
    if (!front) return 'Case file';
    const n = [frontText('given_name', front.given_name), frontText('family_name', front.family_name)].filter(Boolean).join(' ');
    return n || 'Name not recorded';
  }

  const CATS = [['concern', 'Concern'], ['contact', 'Contact'], ['call', 'Call'], ['meeting', 'Meeting'],
    ['referral', 'Referral'], ['visit', 'Visit'], ['encompass', 'Operation Encompass'], ['transfer', 'Transfer'],
    ['other', 'Other']];
  const catWord = (c) => (CATS.find(([k]) => k === c) || [c, B.label(c)])[1];
  // The filter's category of any entry: chronology entries by their own
  // category, the rest by what they are.
  function category(e) {
    switch (e.type) {
      case 'chronology': return e.fields.category || 'other';
      case 'concern': case 'review': case 'body_map': case 'injury_reflection': return 'concern';
      case 'action': case 'action_done': return 'action';
      case 'grant': case 'revoke': case 'decision': return 'sharing';
      case 'file_create': case 'field_set': case 'tag_add': case 'tag_remove': return 'file';
      default: return e.type.startsWith('transfer') ? 'transfer' : 'other';
    }
  }
  const FILTER_CATS = [...CATS, ['action', 'Action'], ['sharing', 'Sharing'], ['file', 'Changes to the front sheet']];

  const TYPE_WORDS = { concern: 'Record of concern', review: 'DSL review', chronology: 'Chronology entry',
    body_map: 'Body map', injury_reflection: 'Injury reflection', action: 'Action', action_done: 'Action done',
    correction: 'Correction', decision: 'Sharing decision', grant: 'Access granted', revoke: 'Access revoked' };
  const typeWord = (t) => TYPE_WORDS[t] || B.label(t);
  const when = (e) => e.event_at || e.recorded_at;

  // A short label with no case content: what, when, by whom.
  function entryLabel(e) {
    const what = e.type === 'chronology' ? `${typeWord(e.type)} (${catWord(e.fields.category).toLowerCase()})` : typeWord(e.type);
    return `${what}, ${B.fmtDate(when(e))}${e.user ? `, by ${e.user}` : ''}`;
  }

  async function load(id) {
    const r = await B.api('GET', `/api/files/${id}`);
    return r;
  }
  B.caseFile = { load, name, entryLabel, typeWord, FILE_RE };

  // Indexes over the entries: reviews of a concern, corrections of any
  // entry, the done of an action (by the server's links and by the
  // referencing field, whichever is there).
  function index(file) {
    const byId = new Map(file.entries.map((e) => [e.id, e]));
    const refs = (type, field) => {
      const m = new Map();
      for (const e of file.entries) if (e.type === type && e.fields[field]) {
        if (!m.has(e.fields[field])) m.set(e.fields[field], []);
        m.get(e.fields[field]).push(e);
      }
      for (const e of file.entries) for (const l of e.links || []) {
        const x = byId.get(l);
        if (x && x.type === type) {
          if (!m.has(e.id)) m.set(e.id, []);
          if (!m.get(e.id).includes(x)) m.get(e.id).push(x);
        }
      }
      return m;
    };
    return { byId, reviews: refs('review', 'concern'), corrections: refs('correction', 'target'),
      done: refs('action_done', 'action'), maps: refs('body_map', 'concern') };
  }

  // ---- pieces of the page ----
  const yesNo = (v) => (v === true ? 'Yes' : v === false ? 'No' : null);
  const text = (v) => (v === null || v === undefined || v === '' ? null : h('span', { class: 'text-block' }, String(v)));
  function flagsNote(e) {
    const out = [];
    const f = e.flags || [];
    if (f.includes('equivocated')) out.push(h('p', { class: 'warning-text' }, 'Two different versions of this entry were signed by the same device: check with the author.'));
    if (f.includes('bad_reference')) out.push(h('p', { class: 'warning-text' }, 'This entry refers to something that is not in the file.'));
    if (f.includes('unseen_by_revoker')) out.push(h('p', { class: 'muted' }, 'Recorded by an organisation after its access was revoked, before it learnt of it.'));
    return out;
  }
  function meta(e, extra) {
    return h('p', { class: 'meta' }, `Recorded ${B.fmtTime(e.recorded_at)} by ${e.user || 'unknown'}`, extra ? `; ${extra}` : '');
  }
  function corrections(ix, e, fileId) {
    const cs = ix.corrections.get(e.id) || [];
    return [cs.map((c) => h('div', { class: 'correction', 'data-corrects': e.id },
      h('p', null, h('strong', null, 'Correction'), ` recorded ${B.fmtTime(c.recorded_at)} by ${c.user}`),
      B.summary([['Reason', text(c.fields.reason)], c.fields.text ? ['Corrected text', text(c.fields.text)] : null]))),
    canWrite() && fileId ? h('p', null, h('a', { href: `#/file/${fileId}/correct/${e.id}` }, 'Correct this entry',
      h('span', { class: 'visually-hidden' }, ` (${entryLabel(e)})`))) : null];
  }

  function concernRows(f) {
    return [
      ['Date and time of the incident', f.incident_at ? B.fmtTime(f.incident_at) : null],
      ['Written', `${B.fmtTime(f.written_at)} by ${f.author_name || ''}${f.author_role ? ` (${f.author_role})` : ''}`],
      ['Reason for recording', text(f.reason)],
      ['What happened (facts)', text(f.facts)],
      ['Where', text(f.where)],
      ['Who was involved', text(f.who)],
      ['Witnesses', text(f.witnesses)],
      ['The child’s own words', f.child_words ? h('q', { class: 'text-block' }, f.child_words) : null],
      ['Opinion (kept apart from the facts)', text(f.opinion)],
      ['Actions taken', text(f.actions_taken)],
      ['Passed to', text(f.passed_to)],
    ];
  }
  function reviewRows(f) {
    return [
      ['Received', [f.received_at ? B.fmtTime(f.received_at) : '', f.received_from ? ` from ${f.received_from}` : ''].join('') || null],
      ['Reviewed by', text(f.reviewer)],
      ['Advice sought', text(f.advice_sought)],
      ['Action taken', text(f.action)],
      ['Reasons', text(f.reasons)],
      ['Referred', yesNo(f.referred)],
      ['Parents or carers informed', yesNo(f.parents_informed)],
      ['Why (parents)', text(f.parents_why)],
      ['Outcome', text(f.outcome)],
      ['Where more information is held', text(f.info_held)],
      ['Open a child protection file', yesNo(f.open_cp_file)],
    ].filter(([k, v], i) => i < 4 || v !== null || k === 'Referred' || k === 'Parents or carers informed');
  }

  function concernBlock(file, ix, e, n) {
    const f = e.fields;
    const reviews = ix.reviews.get(e.id) || [];
    const maps = ix.maps.get(e.id) || [];
    return h('article', { class: 'entry concern', id: `entry-${e.id}`, 'aria-labelledby': `entry-${e.id}-h` },
      h('h3', { id: `entry-${e.id}-h` }, `Concern ${n}: ${f.incident_at ? `incident on ${B.fmtDate(f.incident_at)}` : `written ${B.fmtDate(f.written_at)}`}`),
      reviews.length ? B.tag('Reviewed', 'green') : B.tag('Awaiting review', 'yellow'),
      meta(e), flagsNote(e),
      B.summary(concernRows(f)),
      corrections(ix, e, file.id),
      maps.length ? h('p', null, `${maps.length} body map${maps.length === 1 ? '' : 's'} recorded with this concern: see `,
        h('a', { href: '#sec-maps', class: 'jump', on: { click: jump } }, 'Body maps'), '.') : null,
      h('section', { class: 'reviews', 'aria-label': `Reviews of concern ${n}` },
        reviews.map((r, i) => h('div', { class: 'linked review', id: `entry-${r.id}` },
          h('h4', null, `DSL review${reviews.length > 1 ? ` ${i + 1}` : ''}`),
          meta(r), flagsNote(r), B.summary(reviewRows(r.fields)), corrections(ix, r, file.id))),
        canWrite() ? h('p', null, h('a', { class: 'button button--secondary', href: `#/file/${file.id}/review/${e.id}`, id: `review-${e.id}` },
          reviews.length ? 'Add another review' : 'Review this concern',
          h('span', { class: 'visually-hidden' }, ` ${n}`))) : null));
  }

  function jump(ev) {
    ev.preventDefault();
    const id = ev.currentTarget.getAttribute('href').slice(1);
    const t = document.getElementById(id);
    if (!t) return;
    const hd = t.querySelector('h2') || t;
    if (!hd.hasAttribute('tabindex')) hd.setAttribute('tabindex', '-1');
    hd.focus();
    hd.scrollIntoView({ block: 'start' });
  }

  // One line for the timeline, with no more than the entry says.
  function timelineText(e, ix) {
    const f = e.fields || {};
    switch (e.type) {
      case 'chronology': return [text(f.summary), f.with_whom ? h('p', { class: 'muted' }, `With ${f.with_whom}`) : null];
      case 'concern': return [text(f.reason || f.facts), h('p', { class: 'muted' }, `Written by ${f.author_name || e.user}`)];
      case 'review': return text(f.action);
      case 'action': return [text(f.what), h('p', { class: 'muted' }, [f.owner ? `Owner: ${f.owner}` : '', f.due ? `Due ${B.fmtDate(f.due)}` : ''].filter(Boolean).join('. '))];
      case 'action_done': { const a = ix.byId.get(f.action); return [a ? text(`Done: ${a.fields.what}`) : 'An action was marked done.', f.note ? text(f.note) : null]; }
      case 'body_map': return `${(f.marks || []).length} mark${(f.marks || []).length === 1 ? '' : 's'} recorded${f.observer_name ? ` by ${f.observer_name}` : ''}.`;
      case 'injury_reflection': return `Risk: ${B.label(f.risk || 'not recorded')}.`;
      case 'transfer_start': return `Transfer to ${f.to_name || 'another school'} started; deadline ${B.fmtDate(f.deadline)}.`;
      case 'transfer_delivered': return 'Delivered to the receiving school.';
      case 'transfer_ack': return `Receipt confirmed by ${f.by || 'the receiving school'}${f.stored ? `; stored: ${f.stored}` : ''}.`;
      case 'transfer_reject': return [`Rejected by ${f.by || 'the receiving school'}.`, text(f.reason)];
      case 'transfer_close': return `Transfer closed; this school keeps ${f.retain === 'keep' ? 'the whole file' : f.retain === 'chronology' ? 'the chronology' : 'the transfer log only'}.`;
      case 'decision': return [`${f.decision === 'not_share' ? 'Decided not to share' : 'Decided to share'} with ${f.with_whom || 'another organisation'}.`, text(f.reason)];
      case 'grant': return `Access given to ${f.org_name || 'an organisation'}.`;
      case 'revoke': return ['Access revoked.', text(f.reason)];
      case 'file_create': return 'Case file opened.';
      case 'field_set': return 'Front sheet changed.';
      case 'tag_add': case 'tag_remove': return `${e.type === 'tag_add' ? 'Tag added' : 'Tag removed'}: ${f.tag || ''}`;
      default: return null;
    }
  }

  function chronologySection(file, ix, el) {
    const items = file.entries.filter((e) => e.type !== 'correction')
      .slice().sort((a, b) => String(when(b)).localeCompare(String(when(a))));
    const list = h('ol', { class: 'timeline', id: 'timeline' });
    const rows = items.map((e) => {
      const li = h('li', { 'data-category': category(e), 'data-day': String(when(e)).slice(0, 10), id: `tl-${e.id}` },
        h('h3', null, h('time', { datetime: String(when(e)) }, B.fmtTime(when(e))), ' – ',
          e.type === 'chronology' ? catWord(e.fields.category) : typeWord(e.type)),
        timelineText(e, ix), flagsNote(e),
        e.type === 'concern' ? h('p', null, h('a', { href: `#entry-${e.id}`, class: 'jump', on: { click: jumpEntry } }, 'Read the concern')) : null,
        e.type === 'chronology' ? corrections(ix, e, file.id) : (ix.corrections.get(e.id) || []).length ? corrections(ix, e, null) : null);
      list.appendChild(li);
      return li;
    });
    const status = h('p', { role: 'status', id: 'timeline-count', class: 'muted' }, `Showing all ${rows.length} entries, newest first.`);
    const cats = new Set(items.map(category));
    const form = h('form', { class: 'filter', id: 'chrono-filter', novalidate: true, 'aria-label': 'Filter the chronology' },
      h('h3', null, 'Filter the chronology'),
      h('div', { class: 'filter-row' },
        B.field({ id: 'chrono-cat', label: 'Category', type: 'select',
          options: [{ value: '', text: 'All categories' }, ...FILTER_CATS.filter(([k]) => cats.has(k)).map(([value, t]) => ({ value, text: t }))] }),
        B.field({ id: 'chrono-from', label: 'From', type: 'date' }),
        B.field({ id: 'chrono-to', label: 'To', type: 'date' })),
      h('div', { class: 'button-group' }, B.button('Apply filter', { secondary: true, id: 'chrono-apply' }),
        B.button('Clear filter', { type: 'button', secondary: true, id: 'chrono-clear', on: { click: () => { form.reset(); apply(); } } })));
    function apply() {
      const cat = form.elements['chrono-cat'].value;
      const from = form.elements['chrono-from'].value;
      const to = form.elements['chrono-to'].value;
      if (from && to && from > to) {
        B.errors(form, [{ id: 'chrono-to', text: 'The ‘to’ date must be the same as or after the ‘from’ date' }]);
        return;
      }
      B.errors(form, []);
      let shown = 0;
      for (const li of rows) {
        const d = li.dataset.day;
        const ok = (!cat || li.dataset.category === cat) && (!from || d >= from) && (!to || d <= to);
        li.hidden = !ok;
        if (ok) shown++;
      }
      const filtered = cat || from || to;
      status.textContent = filtered ? `Showing ${shown} of ${rows.length} entries${cat ? ` in ${(FILTER_CATS.find(([k]) => k === cat) || [cat, cat])[1].toLowerCase()}` : ''}${from ? ` from ${B.fmtDate(from)}` : ''}${to ? ` to ${B.fmtDate(to)}` : ''}.`
        : `Showing all ${rows.length} entries, newest first.`;
    }
    form.addEventListener('submit', (ev) => { ev.preventDefault(); apply(); });
    return [form, status, rows.length ? list : h('p', null, 'Nothing is recorded yet.')];
  }
  function jumpEntry(ev) {
    ev.preventDefault();
    const t = document.getElementById(ev.currentTarget.getAttribute('href').slice(1));
    if (!t) return;
    const hd = t.querySelector('h3') || t;
    if (!hd.hasAttribute('tabindex')) hd.setAttribute('tabindex', '-1');
    hd.focus();
    hd.scrollIntoView({ block: 'start' });
  }

  function actionsSection(file, ix) {
    const acts = file.entries.filter((e) => e.type === 'action');
    const today = new Date().toISOString().slice(0, 10);
    const isDone = (a) => (a.flags || []).includes('done') || (ix.done.get(a.id) || []).length > 0;
    const sorted = acts.slice().sort((a, b) => (Number(isDone(a)) - Number(isDone(b))) ||
      String(a.fields.due || '9999').localeCompare(String(b.fields.due || '9999')));
    return [
      sorted.length ? B.table({ id: 'file-actions', caption: 'Actions, open ones first', head: ['Action', 'Owner', 'Due', 'Status'],
        rows: sorted.map((a) => {
          const done = isDone(a);
          const late = !done && a.fields.due && a.fields.due < today;
          const d = (ix.done.get(a.id) || [])[0];
          return [
            [text(a.fields.what), corrections(ix, a, file.id)],
            a.fields.owner || 'Not set',
            a.fields.due ? h('span', { class: late ? 'overdue' : null }, B.fmtDate(a.fields.due), late ? ' ' : null, late ? B.tag('Overdue', 'red') : null) : 'No date',
            done ? [B.tag('Done', 'green'), d ? h('div', { class: 'muted' }, `${B.fmtDate(d.fields.done_at || d.recorded_at)} by ${d.user}`) : null, d && d.fields.note ? text(d.fields.note) : null]
              : [B.tag('Open', 'blue'), canWrite() ? h('div', null, h('a', { href: `#/file/${file.id}/done/${a.id}` }, 'Mark done',
                h('span', { class: 'visually-hidden' }, `: ${String(a.fields.what || '').slice(0, 60)}`))) : null],
          ];
        }) }) : h('p', null, 'No actions recorded.'),
      canWrite() ? h('p', null, h('a', { class: 'button button--secondary', href: `#/file/${file.id}/action`, id: 'add-action' }, 'Add an action')) : null];
  }

  // A simple outline when bodymap.js (Baton.bodyOutline) is not there.
  function fallbackOutline(view, marks) {
    const s = B.svg;
    const nums = [];
    return s('svg', { class: 'bodymap', viewBox: '0 0 500 1000', role: 'img',
      'aria-label': `${view === 'back' ? 'Back' : 'Front'} of the body${marks.length ? `, marks ${marks.map((m) => m.n).join(', ')}` : ', no marks'}` },
    s('circle', { class: 'outline', cx: 250, cy: 95, r: 65 }),
    s('path', { class: 'outline', d: 'M160 180 H340 L420 480 L380 490 L330 300 L330 560 L360 960 L270 960 L250 620 L230 960 L140 960 L170 560 L170 300 L120 490 L80 480 Z' }),
    marks.map((m) => { nums.push(m.n); return s('g', null, s('circle', { class: 'mark', cx: m.x / 2, cy: m.y, r: 22 }),
      s('text', { x: m.x / 2, y: m.y + 14, 'text-anchor': 'middle', class: 'mark-n' }, String(m.n))); }),
    s('text', { x: 250, y: 995, 'text-anchor': 'middle' }, view === 'back' ? 'Back' : 'Front'));
  }

  function bodyMapBlock(file, ix, e, n) {
    const f = e.fields;
    const marks = (f.marks || []).map((m, i) => ({ ...m, n: i + 1 }));
    const draw = (view) => {
      const ms = marks.filter((m) => m.view === view);
      if (typeof B.bodyOutline === 'function') {
        try { return B.bodyOutline(view, f.marks || []); } catch (err) { /* fall back to ours */ }
      }
      return fallbackOutline(view, ms);
    };
    const yes = (m) => ['skin_broken', 'swelling', 'scab', 'blistering', 'bleeding', 'heat', 'pain']
      .filter((k) => m[k] === true).map((k) => B.label(k).toLowerCase());
    const no = (m) => ['skin_broken', 'swelling', 'scab', 'blistering', 'bleeding', 'heat', 'pain']
      .filter((k) => m[k] === false).map((k) => B.label(k).toLowerCase());
    const about = f.concern && ix.byId.get(f.concern);
    return h('article', { class: 'entry', id: `entry-${e.id}`, 'aria-labelledby': `entry-${e.id}-h` },
      h('h3', { id: `entry-${e.id}-h` }, `Body map ${n}: observed ${B.fmtTime(f.observed_at)}`),
      meta(e, f.observer_name ? `observed by ${f.observer_name}${f.observer_role ? ` (${f.observer_role})` : ''}` : null),
      about ? h('p', null, 'Recorded with ', h('a', { href: `#entry-${about.id}`, on: { click: jumpEntry } }, `the concern of ${B.fmtDate(about.fields.incident_at || about.fields.written_at)}`), '.') : null,
      flagsNote(e),
      h('div', { class: 'bodymaps' }, draw('front'), draw('back')),
      B.table({ caption: `The marks of body map ${n}`, class: 'marks',
        head: ['No.', 'View and site', 'Size, shape, colour', 'Present', 'Not present', 'Clean or dirty', 'Mobility', 'Notes'],
        rows: marks.map((m) => [String(m.n), `${B.label(m.view)}: ${m.site || ''}`,
          [m.size, m.shape, m.colour].filter(Boolean).join(', ') || 'Not recorded',
          yes(m).join(', ') || 'None recorded', no(m).join(', ') || '–', m.clean ? B.label(m.clean) : 'Not recorded',
          m.mobility || '–', text(m.notes) || '–']) }),
      corrections(ix, e, file.id));
  }

  function reflectionBlock(file, ix, e) {
    const f = e.fields;
    return h('article', { class: 'entry', id: `entry-${e.id}` },
      h('h3', null, `Injury reflection, ${B.fmtDate(when(e))}`), meta(e), flagsNote(e),
      B.summary([['Prior concerns', text(f.prior_concerns)], ['Last injuries', text(f.last_injuries)],
        ['Pattern', text(f.pattern)], ['Explanation', f.explanation ? B.label(f.explanation) : null],
        ['What was said', text(f.explanation_text)], ['Risk', f.risk ? B.tag(B.label(f.risk), f.risk === 'high' ? 'red' : f.risk === 'medium' ? 'orange' : 'green') : null],
        ['Referral', yesNo(f.referral)], ['Reviewed by', text(f.reviewed_by)],
        ['Actions', (f.actions || []).length ? h('ul', { class: 'list' }, f.actions.map((a) => h('li', null, a.what, a.who ? ` – ${a.who}` : '', a.by ? `, by ${B.fmtDate(a.by)}` : ''))) : null]]),
      corrections(ix, e, file.id));
  }

  async function sharingSection(file, slot) {
    const [rg, rx] = await Promise.all([B.api('GET', `/api/files/${file.id}/grants`), B.api('GET', '/api/transfers')]);
    if (!slot.isConnected) return;
    const parts = [];
    parts.push(h('h3', null, 'Who else can read this file'));
    if (rg.status === 200) {
      const gs = rg.json.grants || [];
      parts.push(gs.length ? B.table({ id: 'file-grants', caption: 'Organisations given access', head: ['Organisation', 'Purpose', 'Lawful basis', 'Rights', 'Until', 'State'],
        rows: gs.map((g) => [g.org_name || g.org.slice(0, 8), B.label(g.purpose), B.label(g.basis), g.rights === 'read_write' ? 'Read and add' : 'Read',
          g.expires_at ? B.fmtDate(g.expires_at) : 'No end date', g.revoked ? B.tag('Revoked', 'grey') : g.transfer ? B.tag('Transfer', 'blue') : B.tag('Active', 'green')]) })
        : h('p', null, 'No other organisation has access.'));
      const ds = rg.json.decisions || [];
      if (ds.length) parts.push(B.table({ id: 'file-decisions', caption: 'Sharing decisions', head: ['Decision', 'With', 'Date', 'Reasons'],
        rows: ds.map((d) => [d.decision === 'not_share' ? 'Not to share' : 'To share', d.with_whom || '', B.fmtDate(d.decided_on), text(d.reason) || '']) }));
    } else parts.push(h('p', { class: 'muted' }, rg.status === 404 ? 'Sharing is not available on this node yet.' : `Access cannot be shown (${rg.json.error || rg.status}).`));
    parts.push(h('h3', null, 'Transfers of this file'));
    if (rx.status === 200) {
      const xs = (rx.json.transfers || []).filter((x) => x.file === file.id);
      parts.push(xs.length ? B.table({ id: 'file-transfers', caption: 'Transfers to and from other schools', head: ['Status', 'Direction', 'School', 'Deadline', 'Started'],
        rows: xs.map((x) => [B.tag(B.label(x.status), x.overdue ? 'red' : x.status === 'acknowledged' ? 'green' : 'blue'),
          x.direction === 'out' ? 'Out' : x.direction === 'in' ? 'In' : B.label(x.direction), (x.direction === 'in' ? x.from : x.org) || '',
          x.deadline ? B.fmtDate(x.deadline) : 'Not set', x.started_at ? `${B.fmtDate(x.started_at)}${x.started_by ? ` by ${x.started_by}` : ''}` : '']) })
        : h('p', null, 'This file has not been transferred.'));
    } else parts.push(h('p', { class: 'muted' }, 'Transfers cannot be shown.'));
    parts.push(h('div', { class: 'button-group' },
      h('a', { class: 'button button--secondary', href: `#/share/${file.id}`, id: 'to-share' }, 'Share this file'),
      h('a', { class: 'button button--secondary', href: `#/transfer/${file.id}`, id: 'to-transfer' }, 'Transfer this file')));
    B.put(slot, ...parts);
  }

  // ---- the file page ----
  // A success message (Baton.flash, set by the form that saved) is shown
  // once, on the file page it was for.

  async function fileView(el, id) {
    const r = await load(id);
    if (!B.current(el)) return;
    if (r.status !== 200) { notFound(el, r); return; }
    const file = r.json;
    const ix = index(file);
    const msg = B.takeFlash();
    if (!file.front) return staffView(el, file, ix, msg);

    const concerns = file.entries.filter((e) => e.type === 'concern');
    const maps = file.entries.filter((e) => e.type === 'body_map');
    const reflections = file.entries.filter((e) => e.type === 'injury_reflection');
    const sec = (key, title, ...body) => h('section', { id: `sec-${key}`, 'aria-labelledby': `sec-${key}-h` },
      h('h2', { id: `sec-${key}-h` }, title), ...body);
    const frontRows = FRONT.filter((f) => f in file.front || ['given_name', 'family_name', 'dob', 'upn', 'plan_status'].includes(f))
      .map((f) => {
        const v = file.front[f];
        const inConflict = Array.isArray(v);
        return [fieldName(f), inConflict ? [h('span', null, frontText(f, v)), ' ', B.tag('Values differ', 'orange')]
          : LONG.has(f) ? text(frontText(f, v)) : frontText(f, v),
        canWrite() && !inConflict ? h('a', { href: `#/file/${file.id}/change/${f}` }, 'Change', h('span', { class: 'visually-hidden' }, ` ${fieldName(f).toLowerCase()}`)) : null];
      });
    const contents = [['front', 'Front sheet'], file.conflicts.length ? ['conflicts', 'Conflicts to resolve'] : null,
      ['concerns', 'Concerns'], ['chronology', 'Chronology'], ['actions', 'Actions'], ['maps', 'Body maps'], ['sharing', 'Sharing and transfers']].filter(Boolean);

    B.add(el, B.back('#/', 'Back to your desk'),
      h('span', { class: 'caption' }, 'Case file'),
      h('h1', null, name(file.front)),
      msg ? h('div', { class: 'notice notice--success', role: 'status', id: 'flash', tabindex: '-1' }, msg) : null,
      file.retain ? h('p', { class: 'inset' }, `This file was transferred; this school keeps ${file.retain === 'keep' ? 'the whole file' : file.retain === 'chrono' || file.retain === 'chronology' ? 'the chronology only' : 'the transfer log only'}.`) : null,
      (file.tags || []).length ? h('p', null, 'Tags: ', (file.tags || []).map((t) => [B.tag(t, 'grey'), ' '])) : null,
      h('nav', { class: 'contents', 'aria-label': 'Parts of this file' }, h('h2', { class: 'visually-hidden' }, 'Contents'),
        h('ul', { class: 'plain contents-list' }, contents.map(([k, t]) => h('li', null, h('a', { href: `#sec-${k}`, on: { click: jump } }, t))))),
      canWrite() ? h('div', { class: 'button-group' },
        h('a', { class: 'button', href: `#/log/${file.id}` }, 'Log a concern'),
        h('a', { class: 'button button--secondary', href: `#/file/${file.id}/chronology`, id: 'add-chrono' }, 'Add a chronology entry')) : null,
      sec('front', 'Front sheet', B.summary(frontRows, { id: 'front-sheet' })),
      file.conflicts.length ? sec('conflicts', 'Conflicts to resolve',
        h('p', null, 'These details were recorded differently on two devices. Check which is right, then use that value: the others stay in the file’s history.'),
        file.conflicts.map((c) => conflictBlock(el, file, c))) : null,
      sec('concerns', `Concerns (${concerns.length})`, concerns.length
        ? concerns.slice().sort((a, b) => String(when(b)).localeCompare(String(when(a)))).map((e, i) => concernBlock(file, ix, e, concerns.length - i))
        : h('p', null, 'No concerns recorded.')),
      sec('chronology', 'Chronology', chronologySection(file, ix, el)),
      sec('actions', 'Actions', actionsSection(file, ix)),
      sec('maps', 'Body maps', maps.length ? maps.map((e, i) => bodyMapBlock(file, ix, e, i + 1)) : h('p', null, 'No body maps recorded.'),
        reflections.map((e) => reflectionBlock(file, ix, e))),
      sec('sharing', 'Sharing and transfers', h('div', { id: 'sharing-slot' }, h('p', { class: 'muted' }, 'Loading…'))));
    const slot = el.querySelector('#sharing-slot');
    if (msg) el.querySelector('#flash').focus();
    await sharingSection(file, slot);
  }

  function conflictBlock(el, file, c) {
    const box = h('div', { class: 'conflict', id: `conflict-${c.field}` },
      h('h3', null, `${fieldName(c.field)}: ${c.values.length} different values`),
      h('ul', { class: 'plain' }, c.values.map((v, i) => h('li', { class: 'conflict-value' },
        h('span', { class: 'value' }, one(c.field, v.value) || '(blank)'), ' ',
        canWrite() ? B.button('Use this value', { secondary: true, type: 'button', id: `use-${c.field}-${i}`, on: { click: () => resolve(v) } }) : null,
        h('span', { class: 'visually-hidden' }, '')))));
    for (const [i, v] of c.values.entries()) {
      const b = box.querySelector(`#use-${CSS.escape(c.field)}-${i}`);
      if (b) b.setAttribute('aria-label', `Use ${one(c.field, v.value) || 'blank'} as the ${fieldName(c.field).toLowerCase()}`);
    }
    // While the call runs the buttons are aria-disabled, not disabled, so
    // the focus stays on the one pressed; a failure replaces the message.
    let busy = false;
    async function resolve(v) {
      if (busy) return;
      busy = true;
      const pressed = document.activeElement;
      for (const b of box.querySelectorAll('button')) b.setAttribute('aria-disabled', 'true');
      // seen: the writes shown here; one written since makes the server
      // refuse (409), so nobody resolves a value they have not seen.
      const r = await B.api('POST', `/api/files/${file.id}/resolve`, { field: c.field, value: v.value, seen: c.values.map((x) => x.id) });
      busy = false;
      if (!B.current(el)) return;
      if (r.status === 201 || r.status === 200) { B.flash(`${fieldName(c.field)} resolved.`, location.hash); B.reload(); return; }
      for (const b of box.querySelectorAll('button')) b.removeAttribute('aria-disabled');
      const old = box.querySelector(':scope > .error-message');
      const err = h('p', { class: 'error-message', role: 'alert', id: `conflict-${c.field}-error` }, `Not resolved: ${r.json.error || `error ${r.status || 'no answer from the server'}`}`);
      if (old) old.replaceWith(err); else box.prepend(err);
      if (pressed && box.contains(pressed) && document.activeElement !== pressed) pressed.focus();
    }
    return box;
  }

  function staffView(el, file, ix, msg) {
    const concerns = file.entries.filter((e) => e.type === 'concern');
    B.add(el, B.back('#/', 'Back'),
      h('h1', null, 'Your concerns about this child'),
      msg ? h('div', { class: 'notice notice--success', role: 'status' }, msg) : null,
      h('p', null, 'You can see the concerns you logged yourself. The designated safeguarding lead holds the rest of the file.'),
      concerns.length ? concerns.map((e, i) => h('article', { class: 'entry', id: `entry-${e.id}` },
        h('h2', null, `Concern ${i + 1}: written ${B.fmtDate(e.fields.written_at)}`), meta(e), B.summary(concernRows(e.fields))))
        : h('p', null, 'You have not logged a concern about this child.'),
      h('p', null, h('a', { class: 'button', href: '#/log' }, 'Log another concern')));
  }

  function notFound(el, r) {
    B.add(el, B.back('#/'), h('h1', null, r.status === 403 ? 'You cannot see this file' : 'Case file not found'),
      h('p', null, r.status === 403 ? 'Your role does not give access to case files.' : r.status === 404 ? 'There is no case file at this address on this node.'
        : `The file cannot be shown (${r.json.error || `error ${r.status}`}).`),
      h('p', null, h('a', { href: '#/' }, 'Go to your desk')));
  }

  // ---- the forms ----
  const nowLocal = () => { const d = new Date(); d.setSeconds(0, 0); return new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16); };
  const toUtc = (local) => (local ? new Date(local).toISOString().slice(0, 19) + 'Z' : undefined);
  const trim = (d) => { for (const k of Object.keys(d)) if (typeof d[k] === 'string') d[k] = d[k].trim(); return d; };
  function drop(body) { for (const k of Object.keys(body)) if (body[k] === '' || body[k] === undefined || body[k] === null) delete body[k]; return body; }

  // Shared frame of the form pages: loads the file, shows the back link and
  // the heading, and posts the entry; on success back to the file with a
  // message (no case content in it).
  async function formPage(el, id, o) {
    const r = await load(id);
    if (!B.current(el)) return;
    if (r.status !== 200) { notFound(el, r); return; }
    const file = r.json;
    if (!file.front || !canWrite()) { notFound(el, { status: 403, json: {} }); return; }
    const ix = index(file);
    const form = h('form', { id: o.formId, novalidate: true });
    const ctx = { file, ix, form };
    const intro = o.intro ? o.intro(ctx) : null;
    if (intro === false) { notFound(el, { status: 404, json: {} }); return; }
    // Nothing left to do (a form reached again by Back): say so, no form.
    const stop = o.stop ? o.stop(ctx) : null;
    if (stop) {
      B.add(el, B.back(`#/file/${id}`, 'Back to the case file'), h('span', { class: 'caption' }, name(file.front)),
        h('h1', null, stop.heading), intro, stop.body,
        h('p', null, h('a', { href: `#/file/${id}`, id: `${o.formId}-back` }, 'Back to the case file')));
      return;
    }
    B.add(form, ...o.fields(ctx), h('div', { class: 'button-group' }, B.button(o.submit, { id: `${o.formId}-submit` }),
      h('a', { href: `#/file/${id}` }, 'Cancel')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const d = trim(B.formData(form));
      const errs = o.check(d, ctx);
      B.errors(form, errs);
      if (errs.length) return;
      // (The core keeps the form from being sent twice while this runs.)
      const body = o.body(d, ctx);
      const rr = await B.api('POST', o.path ? o.path(ctx) : `/api/files/${id}/entries`, o.raw ? body : drop(body));
      if (!B.current(el)) return;
      if (rr.status === 201 || rr.status === 200) { B.flash(o.done, `#/file/${id}`); B.go(`#/file/${id}`); return; }
      // On the field the server names (by its API name), else the first.
      B.serverErrors(form, rr.json.error || `error ${rr.status || 'no answer from the server'}`, o.apiFields || null, { prefix: 'Not saved: ' });
    });
    B.add(el, B.back(`#/file/${id}`, 'Back to the case file'), h('span', { class: 'caption' }, name(file.front)),
      h('h1', null, o.heading), intro, form);
  }

  const YN = [{ value: 'yes', text: 'Yes' }, { value: 'no', text: 'No' }];
  const yn = (v) => (v === 'yes' ? true : v === 'no' ? false : undefined);

  function reviewPage(el, id, cid) {
    return formPage(el, id, {
      formId: 'review-form', heading: 'Review this concern', submit: 'Save the review', done: 'Review saved.',
      intro({ ix }) {
        const c = ix.byId.get(cid);
        if (!c || c.type !== 'concern') return false;
        return h('details', { class: 'details', open: true }, h('summary', null, 'The concern'),
          h('div', null, B.summary(concernRows(c.fields))));
      },
      fields({ ix }) {
        const c = ix.byId.get(cid);
        return [
          B.field({ id: 'rv-received-at', name: 'received_at', label: 'When you received it', type: 'datetime-local', value: nowLocal() }),
          B.field({ id: 'rv-received-from', name: 'received_from', label: 'Received from', value: c.fields.author_name || c.user }),
          B.field({ id: 'rv-advice', name: 'advice_sought', label: 'Advice sought (optional)', type: 'textarea', rows: 3, hint: 'From whom, and what they said.' }),
          B.field({ id: 'rv-action', name: 'action', label: 'Action taken', type: 'textarea', rows: 4 }),
          B.radios({ id: 'rv-referred', name: 'referred', legend: 'Was the child referred to children’s social care or the police?', items: YN, inline: true }),
          B.field({ id: 'rv-reasons', name: 'reasons', label: 'Reasons for your decisions', type: 'textarea', rows: 4, hint: 'Say why, including any decision not to refer.' }),
          B.radios({ id: 'rv-parents', name: 'parents_informed', legend: 'Were the parents or carers informed?', items: YN, inline: true }),
          B.field({ id: 'rv-parents-why', name: 'parents_why', label: 'Why, or why not (optional when informed)', type: 'textarea', rows: 3 }),
          B.field({ id: 'rv-outcome', name: 'outcome', label: 'Outcome (optional)', type: 'textarea', rows: 3 }),
          B.field({ id: 'rv-info', name: 'info_held', label: 'Where more information is held (optional)' }),
        ];
      },
      check(d) {
        const e = [];
        if (!d.received_at) e.push({ id: 'rv-received-at', text: 'Enter when you received the concern' });
        if (!d.action) e.push({ id: 'rv-action', text: 'Enter the action taken' });
        if (!d.referred) e.push({ id: 'rv-referred', text: 'Select whether the child was referred' });
        if (d.referred === 'no' && !d.reasons) e.push({ id: 'rv-reasons', text: 'Enter the reasons for not referring' });
        if (!d.parents_informed) e.push({ id: 'rv-parents', text: 'Select whether the parents or carers were informed' });
        if (d.parents_informed === 'no' && !d.parents_why) e.push({ id: 'rv-parents-why', text: 'Enter why the parents or carers were not informed' });
        return e;
      },
      body: (d) => ({ type: 'review', concern: cid, received_at: toUtc(d.received_at), received_from: d.received_from,
        advice_sought: d.advice_sought, action: d.action, reasons: d.reasons, referred: yn(d.referred),
        parents_informed: yn(d.parents_informed), parents_why: d.parents_why, outcome: d.outcome, info_held: d.info_held }),
    });
  }

  function chronologyPage(el, id) {
    return formPage(el, id, {
      formId: 'chrono-form', heading: 'Add a chronology entry', submit: 'Add the entry', done: 'Chronology entry added.',
      intro: () => h('p', null, 'A brief, dated note of an event, call or contact. Keep to the facts.'),
      fields: () => [
        B.field({ id: 'ch-when', name: 'event_at', label: 'When it happened', type: 'datetime-local', value: nowLocal() }),
        B.field({ id: 'ch-category', name: 'category', label: 'Category', type: 'select',
          options: [{ value: '', text: 'Choose a category' }, ...CATS.map(([value, t]) => ({ value, text: t }))] }),
        B.field({ id: 'ch-summary', name: 'summary', label: 'What happened', type: 'textarea', rows: 4 }),
        B.field({ id: 'ch-with', name: 'with_whom', label: 'With whom (optional)', hint: 'A person or agency, for example the local authority front door.' }),
      ],
      check(d) {
        const e = [];
        if (!d.event_at) e.push({ id: 'ch-when', text: 'Enter when it happened' });
        else if (new Date(d.event_at) > new Date(Date.now() + 5 * 60000)) e.push({ id: 'ch-when', text: 'The date and time must be in the past' });
        if (!d.category) e.push({ id: 'ch-category', text: 'Select a category' });
        if (!d.summary) e.push({ id: 'ch-summary', text: 'Enter what happened' });
        return e;
      },
      body: (d) => ({ type: 'chronology', event_at: toUtc(d.event_at), category: d.category, summary: d.summary, with_whom: d.with_whom }),
    });
  }

  function actionPage(el, id) {
    return formPage(el, id, {
      formId: 'action-form', heading: 'Add an action', submit: 'Add the action', done: 'Action added.',
      fields: ({ file }) => {
        const cs = file.entries.filter((e) => e.type === 'concern');
        return [
          B.field({ id: 'ac-what', name: 'what', label: 'What needs doing', type: 'textarea', rows: 3 }),
          B.field({ id: 'ac-owner', name: 'owner', label: 'Who will do it', value: B.me.user, hint: 'A user name or a person’s name and role.' }),
          B.field({ id: 'ac-due', name: 'due', label: 'Due by (optional)', type: 'date' }),
          cs.length ? B.field({ id: 'ac-about', name: 'about', label: 'About a concern (optional)', type: 'select',
            options: [{ value: '', text: 'Not about one concern' }, ...cs.map((c) => ({ value: c.id, text: entryLabel(c) }))] }) : null,
        ].filter(Boolean);
      },
      check(d) {
        const e = [];
        if (!d.what) e.push({ id: 'ac-what', text: 'Enter what needs doing' });
        return e;
      },
      body: (d) => ({ type: 'action', what: d.what, owner: d.owner, due: d.due, about: d.about }),
    });
  }

  function donePage(el, id, aid) {
    return formPage(el, id, {
      formId: 'done-form', heading: 'Mark an action as done', submit: 'Mark as done', done: 'Action marked done.',
      intro({ ix }) {
        const a = ix.byId.get(aid);
        if (!a || a.type !== 'action') return false;
        return B.summary([['Action', text(a.fields.what)], ['Owner', a.fields.owner || null], ['Due', a.fields.due ? B.fmtDate(a.fields.due) : null]]);
      },
      // Done already (this page again, by Back): a second marker would
      // record it twice.
      stop({ ix }) {
        const a = ix.byId.get(aid);
        const dones = ix.done.get(aid) || [];
        if (!(a.flags || []).includes('done') && !dones.length) return null;
        const d = dones[0];
        return { heading: 'This action is already done',
          body: h('p', { id: 'done-already' }, d ? `It was marked done on ${B.fmtDate(d.fields.done_at || d.recorded_at)} by ${d.user}.`
            : 'It was marked done already.') };
      },
      fields: () => [B.field({ id: 'dn-note', name: 'note', label: 'Note (optional)', type: 'textarea', rows: 3, hint: 'What was done, if it helps the next person.' })],
      check: () => [],
      body: (d) => ({ type: 'action_done', action: aid, note: d.note }),
    });
  }

  function correctPage(el, id, eid) {
    return formPage(el, id, {
      formId: 'correct-form', heading: 'Correct an entry', submit: 'Add the correction', done: 'Correction added beside the original entry.',
      intro({ ix }) {
        const e = ix.byId.get(eid);
        if (!e) return false;
        return [h('p', null, 'Records are never changed: your correction is kept beside the original, which stays as it was.'),
          h('details', { class: 'details', open: true }, h('summary', null, `The original: ${entryLabel(e)}`),
            h('div', null, e.type === 'concern' ? B.summary(concernRows(e.fields)) : e.type === 'review' ? B.summary(reviewRows(e.fields))
              : B.summary(Object.entries(e.fields).filter(([, v]) => typeof v !== 'object').map(([k, v]) => [B.label(k), text(v)]))))];
      },
      fields: () => [
        B.field({ id: 'co-reason', name: 'reason', label: 'Why it needs correcting', type: 'textarea', rows: 3 }),
        B.field({ id: 'co-text', name: 'text', label: 'The correct information', type: 'textarea', rows: 4 }),
      ],
      check(d) {
        const e = [];
        if (!d.reason) e.push({ id: 'co-reason', text: 'Enter why the entry needs correcting' });
        if (!d.text) e.push({ id: 'co-text', text: 'Enter the correct information' });
        return e;
      },
      body: (d) => ({ type: 'correction', target: eid, reason: d.reason, text: d.text }),
    });
  }

  function changePage(el, id, field) {
    if (!FRONT.includes(field)) { notFound(el, { status: 404, json: {} }); return null; }
    return formPage(el, id, {
      formId: 'change-form', heading: `Change: ${fieldName(field).toLowerCase()}`, submit: 'Save the change', done: 'Front sheet changed.',
      path: () => `/api/files/${id}/front`,
      fields({ file }) {
        const v = file.front[field];
        const cur = Array.isArray(v) ? '' : v || '';
        if (ENUMS[field]) return [B.radios({ id: 'fs-value', name: 'value', legend: fieldName(field), value: cur, items: ENUMS[field].map(([value, t]) => ({ value, text: t })) })];
        if (DATES.has(field)) return [B.dateInput({ id: 'fs-value', name: 'value', legend: fieldName(field), value: cur, hint: 'For example, 4 3 2016.' })];
        return [B.field({ id: 'fs-value', name: 'value', label: fieldName(field), value: cur, type: LONG.has(field) ? 'textarea' : 'text',
          hint: field === 'upn' ? '13 characters, for example B801200005001.' : null })];
      },
      check(d, { form }) {
        const required = ['given_name', 'family_name', 'dob'].includes(field);
        if (DATES.has(field)) {
          d.value = B.dateValue(form, 'fs-value');
          if (d.value === null) return [{ id: 'fs-value-day', text: `The ${fieldName(field).toLowerCase()} must be a real date, like 4 3 2016` }];
          return required && !d.value ? [{ id: 'fs-value-day', text: `Enter the ${fieldName(field).toLowerCase()}` }] : [];
        }
        return required && !d.value ? [{ id: 'fs-value', text: `Enter the ${fieldName(field).toLowerCase()}` }] : [];
      },
      raw: true, // "" clears a field
      apiFields: { [field]: DATES.has(field) ? 'fs-value-day' : 'fs-value' },
      body: (d) => ({ [field]: field === 'upn' ? d.value.toUpperCase() : d.value }),
    });
  }

  B.page('file', {
    title: 'Case file',
    roles: ['dsl', 'deputy', 'staff', 'head'],
    render(el, params) {
      const [id, sub, arg] = params;
      if (!id || !FILE_RE.test(id) || params.length > 3) { notFound(el, { status: 404, json: {} }); return null; }
      const fid = id.toLowerCase();
      if (!sub) return fileView(el, fid);
      const needId = { review: 1, done: 1, correct: 1 };
      if (needId[sub] && !(arg && ID_RE.test(arg))) { notFound(el, { status: 404, json: {} }); return null; }
      switch (sub) {
        case 'review': document.title = 'Review a concern – Baton'; return reviewPage(el, fid, arg.toLowerCase());
        case 'chronology': document.title = 'Add a chronology entry – Baton'; return chronologyPage(el, fid);
        case 'action': document.title = 'Add an action – Baton'; return actionPage(el, fid);
        case 'done': document.title = 'Mark an action done – Baton'; return donePage(el, fid, arg.toLowerCase());
        case 'correct': document.title = 'Correct an entry – Baton'; return correctPage(el, fid, arg.toLowerCase());
        case 'change': document.title = 'Change the front sheet – Baton'; return changePage(el, fid, arg);
        default: notFound(el, { status: 404, json: {} }); return null;
      }
    },
  });
}());
