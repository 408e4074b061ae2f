// Body maps (web/assets): the front and back outlines of a child's body as
// inline SVG, and the editor the concern form uses to mark injuries on
// them. No images, no inline style (the Content-Security-Policy forbids
// it): shapes are built with createElementNS (Baton.svg) and styled by the
// classes under "concern.js" at the end of app.css.
//
//   Baton.bodyOutline(view, marks) -> <svg>: the outline of one view
//       ('front' or 'back') with the marks of that view drawn and numbered
//       by their place in marks (1, 2, ...); read-only (role img, named by
//       the view and the marks' numbers), for the case-file page.
//   Baton.bodyRegions -> [{key, view, site, x, y}]: the named places of
//       both views, with a point inside each (0..1000), in select order.
//   Baton.bodyMapEditor({id}) -> {el, marks(), count(), validate(),
//       toJSON(), clear()}: the outlines, 'Add a mark' by place (keyboard),
//       a click on the outline adding a mark where clicked, arrow keys
//       moving a focused mark, and each mark's fields (site required).
//
// Coordinates: x and y are 0..1000 of the view box (which is 500 x 1000),
// as the body_map record stores them.
'use strict';
(function () {
  const B = window.Baton;
  const MAX = 64;
  const W = 500, H = 1000; // the view box
  const S = 2.5;           // the shapes below are drawn on 200 x 400

  // The parts of the body, drawn on the viewer's left; 'mirror' parts are
  // drawn again on the viewer's right. On the front view the viewer's left
  // is the child's right; on the back view it is the child's left.
  const PARTS = [
    { key: 'head', ellipse: [100, 38, 26, 30], front: 'face and head', back: 'back of the head' },
    { key: 'neck', poly: [[90, 66], [110, 66], [110, 84], [90, 84]], front: 'neck', back: 'back of the neck' },
    { key: 'chest', poly: [[64, 84], [136, 84], [132, 150], [68, 150]], front: 'chest', back: 'upper back' },
    { key: 'abdomen', poly: [[68, 150], [132, 150], [131, 200], [69, 200]], front: 'abdomen', back: 'lower back' },
    { key: 'hips', poly: [[69, 200], [131, 200], [136, 232], [64, 232]], front: 'groin and hips', back: 'buttocks' },
    { key: 'upper-arm', mirror: true, poly: [[62, 86], [48, 90], [39, 150], [56, 152], [62, 116]],
      front: 'upper arm', back: 'back of the upper arm' },
    { key: 'forearm', mirror: true, poly: [[39, 150], [56, 152], [50, 212], [33, 210]], front: 'forearm', back: 'forearm' },
    { key: 'hand', mirror: true, ellipse: [41, 226, 10, 15], front: 'hand (palm)', back: 'back of the hand' },
    { key: 'thigh', mirror: true, poly: [[64, 232], [99, 232], [96, 300], [72, 300]], front: 'thigh', back: 'back of the thigh' },
    { key: 'knee', mirror: true, poly: [[72, 300], [96, 300], [95, 318], [73, 318]], front: 'knee', back: 'back of the knee' },
    { key: 'lower-leg', mirror: true, poly: [[73, 318], [95, 318], [92, 366], [76, 366]], front: 'shin', back: 'calf' },
    { key: 'foot', mirror: true, ellipse: [84, 379, 12, 13], front: 'foot', back: 'heel' },
  ];

  // The child's side of a shape drawn on the viewer's left ('vl') or
  // right ('vr') of a view.
  function side(view, at) {
    if (!at) return '';
    const childRight = (view === 'front') === (at === 'vl');
    return childRight ? 'right' : 'left';
  }
  function siteName(part, view, at) {
    const s = side(view, at);
    const words = part[view];
    if (!s) return words;
    // "back of the hand" -> "back of the left hand"; "forearm" -> "left forearm"
    const m = /^(back of the |front of the )(.*)$/.exec(words);
    if (m) return `${m[1]}${s} ${m[2]}`;
    const p = /^(.*?)( \(.*\))$/.exec(words);
    return p ? `${s} ${p[1]}${p[2]}` : `${s} ${words}`;
  }

  const mx = (x, at) => (at === 'vr' ? 200 - x : x);
  // The shapes of one view: [{part, at, site, el-attributes, cx, cy}].
  function shapes(view) {
    const out = [];
    for (const part of PARTS) {
      for (const at of part.mirror ? ['vl', 'vr'] : ['']) {
        const site = siteName(part, view, at);
        let attrs, cx, cy;
        if (part.ellipse) {
          const [x, y, rx, ry] = part.ellipse;
          cx = mx(x, at); cy = y;
          attrs = { tag: 'ellipse', cx: cx * S, cy: cy * S, rx: rx * S, ry: ry * S };
        } else {
          const pts = part.poly.map(([x, y]) => [mx(x, at), y]);
          cx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
          cy = pts.reduce((a, p) => a + p[1], 0) / pts.length;
          attrs = { tag: 'polygon', points: pts.map(([x, y]) => `${x * S},${y * S}`).join(' ') };
        }
        out.push({ key: `${view}:${part.key}${at ? `:${at}` : ''}`, view, site, attrs,
                   x: Math.round((cx * S / W) * 1000), y: Math.round((cy * S / H) * 1000) });
      }
    }
    return out;
  }
  const REGIONS = [...shapes('front'), ...shapes('back')];

  const VIEW_WORDS = { front: 'Front', back: 'Back' };
  const toBox = (m) => [(m.x / 1000) * W, (m.y / 1000) * H];
  const clamp = (v) => Math.max(0, Math.min(1000, Math.round(v)));

  // The outline of one view, with its marks; opts.interactive adds the
  // data-key of each part (for the editor's click) and focusable marks.
  function outline(view, marks, opts) {
    opts = opts || {};
    const parts = shapes(view).map((r) => {
      const { tag, ...a } = r.attrs;
      return B.svg(tag, { ...a, class: 'outline bm-part', 'data-key': r.key });
    });
    const dots = [];
    (marks || []).forEach((m, i) => {
      if (!m || m.view !== view) return;
      const [x, y] = toBox(m);
      const n = String(i + 1);
      const attrs = { class: 'bm-mark', 'data-index': String(i) };
      if (opts.interactive) {
        Object.assign(attrs, { tabindex: '0', role: 'button',
          'aria-label': `Mark ${n}, ${m.site || 'no site yet'}, ${VIEW_WORDS[view].toLowerCase()}`,
          'aria-describedby': opts.keysHint || null });
      }
      dots.push(B.svg('g', attrs,
        B.svg('circle', { class: 'mark', cx: x, cy: y, r: 26 }),
        B.svg('text', { class: 'bm-num', x, y: y + 1, 'text-anchor': 'middle', 'dominant-baseline': 'middle' }, n)));
    });
    const numbers = (marks || []).map((m, i) => (m && m.view === view ? i + 1 : 0)).filter(Boolean);
    const name = `Body map, ${VIEW_WORDS[view].toLowerCase()}: ${numbers.length === 0 ? 'no marks'
      : numbers.length === 1 ? `mark ${numbers[0]}` : `marks ${numbers.slice(0, -1).join(', ')} and ${numbers[numbers.length - 1]}`}`;
    // The read-only outline names its view under the feet (the editor has
    // a caption instead); the label sits below the 0..1000 area of marks.
    const label = opts.interactive ? null
      : B.svg('text', { class: 'bm-label', x: W / 2, y: H + 50, 'text-anchor': 'middle' }, VIEW_WORDS[view]);
    return B.svg('svg', {
      class: `bodymap bm-svg${opts.interactive ? ' bm-svg--edit' : ''}`, viewBox: `0 0 ${W} ${opts.interactive ? H : H + 70}`,
      role: opts.interactive ? 'group' : 'img', 'aria-label': name, focusable: 'false', 'data-view': view,
    }, B.svg('title', null, name), parts, dots, label);
  }

  // ---- the editor ----

  const TEXTS = [
    ['size', 'Size', 'For example, 3 cm by 1 cm'],
    ['shape', 'Shape', 'For example, round, a line, finger-tip marks'],
    ['colour', 'Colour', 'For example, red, purple, yellow-green'],
  ];
  const SEEN = [
    ['skin_broken', 'Skin broken'], ['swelling', 'Swelling'], ['scab', 'Scab'],
    ['blistering', 'Blistering'], ['bleeding', 'Bleeding'], ['heat', 'Heat'], ['pain', 'Pain'],
  ];
  const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

  function editor(o) {
    const id = (o && o.id) || 'bm';
    const marks = [];     // {uid, view, x, y, site, guess, open, ...fields}
    let uid = 0;
    const views = B.h('div', { class: 'bodymaps bm-views' });
    const status = B.h('p', { class: 'bm-status', role: 'status', 'aria-live': 'polite', id: `${id}-status` });
    const list = B.h('ol', { class: 'bm-marks plain', id: `${id}-marks`, 'aria-label': 'Marks' });
    const keysHint = B.h('p', { class: 'hint', id: `${id}-keys` },
      'On a mark: Enter opens its details; the arrow keys move it (with Shift, in bigger steps); Delete removes it.');
    const region = B.h('select', { id: `${id}-region`, name: `${id}-region`, 'aria-describedby': `${id}-region-hint` },
      ['front', 'back'].map((v) => B.h('optgroup', { label: VIEW_WORDS[v] },
        REGIONS.filter((r) => r.view === v).map((r) => B.h('option', { value: r.key }, `${VIEW_WORDS[v]}: ${r.site}`)))));
    const addBtn = B.button('Add a mark', { secondary: true, type: 'button', id: `${id}-add`,
      on: { click: () => addAt(REGIONS.find((r) => r.key === region.value), true) } });
    const el = B.h('div', { class: 'bm', id },
      B.h('p', { class: 'hint', id: `${id}-hint` },
        'Click the outline where you saw the mark: a numbered mark appears and its details open. ',
        'Or, without a mouse, choose the place below and press \u2018Add a mark\u2019.'),
      views,
      keysHint,
      B.h('div', { class: 'field bm-add' },
        B.h('label', { for: `${id}-region` }, 'Place on the body'),
        B.h('div', { class: 'hint', id: `${id}-region-hint` }, 'The child\u2019s left and right, as the child stands.'),
        B.h('div', { class: 'button-group' }, region, addBtn)),
      status,
      list);

    function say(text) { status.textContent = text; }

    function drawViews(focusIndex) {
      views.textContent = '';
      for (const v of ['front', 'back']) {
        const s = outline(v, marks, { interactive: true, keysHint: `${id}-keys` });
        s.addEventListener('click', (ev) => onClick(ev, s, v));
        s.addEventListener('keydown', (ev) => onKey(ev, v));
        views.appendChild(B.h('figure', { class: 'bm-figure' }, s,
          B.h('figcaption', { class: 'bm-caption' }, VIEW_WORDS[v])));
      }
      if (focusIndex !== undefined) {
        const g = views.querySelector(`.bm-mark[data-index="${focusIndex}"]`);
        if (g) g.focus();
      }
    }

    // The place of the body at a point of a view (0..1000), or null.
    function regionAt(view, x, y) {
      const s = views.querySelector(`svg[data-view="${view}"]`);
      if (!s) return null;
      const pt = new DOMPoint((x / 1000) * W, (y / 1000) * H);
      const parts = [...s.querySelectorAll('.bm-part')].reverse(); // the topmost first
      const hit = parts.find((p) => typeof p.isPointInFill === 'function' && p.isPointInFill(pt));
      return hit ? REGIONS.find((r) => r.key === hit.getAttribute('data-key')) : null;
    }

    function onClick(ev, s, view) {
      const g = ev.target.closest && ev.target.closest('.bm-mark');
      if (g) { openMark(Number(g.getAttribute('data-index')), true); return; }
      const part = ev.target.closest && ev.target.closest('.bm-part');
      if (!part) return; // outside the outline
      const ctm = s.getScreenCTM();
      if (!ctm) return;
      const p = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(ctm.inverse());
      const r = REGIONS.find((x) => x.key === part.getAttribute('data-key'));
      add({ view, x: clamp((p.x / W) * 1000), y: clamp((p.y / H) * 1000), guess: r ? r.site : '' }, true);
    }

    function onKey(ev, view) {
      const g = ev.target.closest && ev.target.closest('.bm-mark');
      if (!g) return;
      const i = Number(g.getAttribute('data-index'));
      const m = marks[i];
      if (!m) return;
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); openMark(i, true); return; }
      if (ev.key === 'Delete') { ev.preventDefault(); remove(i); return; }
      const d = ARROWS[ev.key];
      if (!d) return;
      ev.preventDefault();
      const step = ev.shiftKey ? 50 : 10;
      m.x = clamp(m.x + d[0] * step);
      m.y = clamp(m.y + d[1] * step);
      const r = regionAt(view, m.x, m.y);
      // The site follows the mark while it is still the guess.
      if (r && (m.site === m.guess || !m.site)) {
        m.site = r.site;
        m.guess = r.site;
        const f = document.getElementById(`${id}-m${m.uid}-site`);
        if (f) f.value = r.site;
      }
      drawViews(i);
      drawList();
      say(`Mark ${i + 1} moved${r ? `: ${r.site}` : ': outside the outline'}.`);
    }

    function addAt(r, fromKeyboard) {
      if (!r) return;
      add({ view: r.view, x: r.x, y: r.y, guess: r.site }, fromKeyboard);
    }

    function add(m, focusFields) {
      if (marks.length >= MAX) {
        say(`There are ${MAX} marks already: that is the most one body map holds.`);
        return;
      }
      for (const x of marks) x.open = false;
      const mark = { uid: ++uid, view: m.view, x: m.x, y: m.y, site: m.guess || '', guess: m.guess || '', open: true, clean: '' };
      marks.push(mark);
      drawViews();
      drawList();
      addBtn.disabled = marks.length >= MAX;
      say(`Mark ${marks.length} added: ${mark.site || 'no site'}, ${VIEW_WORDS[mark.view].toLowerCase()}. Its details are open below.`);
      if (focusFields) {
        const f = document.getElementById(`${id}-m${mark.uid}-site`);
        if (f) { f.focus(); f.select(); }
      }
    }

    function remove(i) {
      const m = marks[i];
      if (!m) return;
      marks.splice(i, 1);
      drawViews();
      drawList();
      addBtn.disabled = marks.length >= MAX;
      say(`Mark ${i + 1} removed${m.site ? ` (${m.site})` : ''}.${marks.length ? ' The marks after it are numbered again.' : ''}`);
      region.focus();
    }

    function openMark(i, focus) {
      const m = marks[i];
      if (!m) return;
      m.open = true;
      drawList();
      if (focus) {
        const f = document.getElementById(`${id}-m${m.uid}-site`);
        if (f) f.focus();
      }
    }

    // One mark: its heading line with Change/Remove, and its fields when open.
    function markItem(m, i) {
      const n = i + 1;
      const p = `${id}-m${m.uid}`;
      const bind = (input, key, how) => {
        input.addEventListener(how || 'input', () => {
          m[key] = input.type === 'checkbox' ? input.checked : input.value;
          if (key === 'site') {
            const t = document.getElementById(`${p}-title`);
            if (t) t.textContent = m.site || 'no site yet';
            const g = views.querySelector(`.bm-mark[data-index="${i}"]`);
            if (g) g.setAttribute('aria-label', `Mark ${n}, ${m.site || 'no site yet'}, ${VIEW_WORDS[m.view].toLowerCase()}`);
          }
        });
        return input;
      };
      const change = B.h('button', { type: 'button', class: 'link-button', 'aria-expanded': String(!!m.open), 'aria-controls': `${p}-fields`,
        on: { click: () => { m.open = !m.open; drawList(); const b = document.getElementById(`${p}-change`); if (b) b.focus(); } },
        id: `${p}-change` }, m.open ? 'Hide details' : 'Change', B.h('span', { class: 'visually-hidden' }, ` of mark ${n}`));
      const rm = B.h('button', { type: 'button', class: 'link-button', id: `${p}-remove`, on: { click: () => remove(i) } },
        'Remove', B.h('span', { class: 'visually-hidden' }, ` mark ${n}`));
      const head = B.h('div', { class: 'bm-mark-head' },
        B.h('h3', { class: 'bm-mark-title' }, `Mark ${n}: `, B.h('span', { id: `${p}-title` }, m.site || 'no site yet'),
          B.h('span', { class: 'muted' }, ` (${VIEW_WORDS[m.view].toLowerCase()})`)),
        B.h('div', { class: 'button-group' }, change, rm));
      const fields = B.h('div', { class: 'bm-fields', id: `${p}-fields`, hidden: !m.open });
      if (m.open) {
        const site = B.field({ id: `${p}-site`, label: `Where on the body (mark ${n})`,
          hint: 'Filled in from where the mark was placed: change it to be exact, for example \u2018outer left forearm, just below the elbow\u2019.',
          value: m.site, width: 'long' });
        bind(site.querySelector('input'), 'site');
        fields.appendChild(site);
        for (const [k, label, hint] of TEXTS) {
          const f = B.field({ id: `${p}-${k}`, label, hint, value: m[k] || '' });
          bind(f.querySelector('input'), k);
          fields.appendChild(f);
        }
        const seen = B.checkboxes({ id: `${p}-seen`, name: `${p}-seen`, legend: 'What you saw',
          hint: 'Tick each that applies. Leave the others: unticked means not seen.',
          items: SEEN.map(([k, t]) => ({ value: k, text: t })), values: SEEN.filter(([k]) => m[k]).map(([k]) => k) });
        for (const inp of seen.querySelectorAll('input[type=checkbox]')) bind(inp, inp.value, 'change');
        fields.appendChild(seen);
        const clean = B.radios({ id: `${p}-clean`, name: `${p}-clean`, legend: 'Was the mark clean or dirty?', inline: true,
          items: [{ value: 'clean', text: 'Clean' }, { value: 'dirty', text: 'Dirty' }, { value: '', text: 'Could not tell' }],
          value: m.clean || '' });
        for (const inp of clean.querySelectorAll('input[type=radio]')) bind(inp, 'clean', 'change');
        fields.appendChild(clean);
        const mob = B.field({ id: `${p}-mobility`, label: 'Mobility', hint: 'For example, cannot lift the arm above the shoulder', value: m.mobility || '' });
        bind(mob.querySelector('input'), 'mobility');
        fields.appendChild(mob);
        const notes = B.field({ id: `${p}-notes`, label: 'Anything else about this mark', type: 'textarea', rows: 2, value: m.notes || '' });
        bind(notes.querySelector('textarea'), 'notes');
        fields.appendChild(notes);
        fields.appendChild(B.button('Done with this mark', { secondary: true, type: 'button',
          on: { click: () => { m.open = false; drawList(); const b = document.getElementById(`${p}-change`); if (b) b.focus(); } } }));
      }
      return B.h('li', { class: 'bm-item', id: p }, head, fields);
    }

    function drawList() {
      // Keep the focus on the same control when the list is drawn again.
      const a = document.activeElement;
      const keep = a && list.contains(a) && a.id ? a.id : null;
      list.textContent = '';
      marks.forEach((m, i) => list.appendChild(markItem(m, i)));
      if (keep) { const b = document.getElementById(keep); if (b) b.focus(); }
    }

    drawViews();

    return {
      el,
      count: () => marks.length,
      marks: () => marks.map((m) => ({ ...m })),
      // [{id, text}] for Baton.errors: a site is required on each mark;
      // the marks with errors are opened so the links reach their fields.
      validate() {
        const errs = [];
        let redraw = false;
        marks.forEach((m, i) => {
          if (!String(m.site || '').trim()) {
            if (!m.open) { m.open = true; redraw = true; }
            errs.push({ id: `${id}-m${m.uid}-site`, text: `Enter where on the body mark ${i + 1} is` });
          }
        });
        if (redraw) drawList();
        return errs;
      },
      // The marks as the body_map record takes them (empty fields left out).
      toJSON() {
        return marks.map((m) => {
          const o = { view: m.view, x: m.x, y: m.y, site: String(m.site).trim() };
          for (const [k] of TEXTS) if (m[k] && m[k].trim()) o[k] = m[k].trim();
          for (const [k] of SEEN) if (m[k]) o[k] = true;
          if (m.clean) o.clean = m.clean;
          if (m.mobility && m.mobility.trim()) o.mobility = m.mobility.trim();
          if (m.notes && m.notes.trim()) o.notes = m.notes.trim();
          return o;
        });
      },
      clear() { marks.length = 0; drawViews(); drawList(); say(''); },
    };
  }

  B.bodyOutline = (view, marks) => outline(view, marks, {});
  B.bodyRegions = REGIONS.map(({ key, view, site, x, y }) => ({ key, view, site, x, y }));
  B.bodyMapEditor = editor;
}());
