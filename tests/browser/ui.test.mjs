#!/usr/bin/env node
// Baton's web UI in real Chromium (Debian's /usr/bin/chromium), driven by
// playwright-core, with axe-core on every page. ctest runs it as `browser`
// (tests/CMakeLists.txt); docs/web.md, "Browser tests", says what it checks.
//
//   node tests/browser/ui.test.mjs [STORE]
//
// STORE (or BT_BROWSER_STORE): a directory scripts/demo.sh made (oak/,
// oak.key); without one, the demo is built first in BATON_DEMO_DIR.
// Environment:
//   BATOND            the batond binary (required)
//   BATON             the baton binary (checked to exist; demo.sh uses it)
//   BT_DEMO_SCRIPT    scripts/demo.sh (default: the one in this repository)
//   BT_BUILD_DIR      the build directory demo.sh takes (default: BATOND's ../..)
//   BATON_DEMO_DIR    where the demo network is made (default build/browser-demo)
//   BT_BROWSER_OUT    screenshots NN-step.png and logs (default build/browser)
//   BT_CHROMIUM       the browser (default /usr/bin/chromium)
//   BT_BROWSER_WAIT   seconds any one wait may take (default 30)
// Exits 0 when every step passed, 1 with the failing step otherwise; batond
// is always stopped. The harness (setup, batond, Chromium, axe-core, steps)
// is harness.mjs, shared with flow.test.mjs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Fail, check, log, sleep, repo, WAIT, outDir, runDemo, startBatond, launchChromium, newPage,
  axe as axeOn, step as stepOn, run } from './harness.mjs';

const out = outDir('browser');

// Users the demo has not got, added on Oak's store before batond starts
// (as scripts/demo.sh adds its own, through the baton CLI): a head, for the
// governor view, and an auditor. A store this test already ran on has them.
const EXTRA_USERS = [['head.khan', 'head'], ['audit.lee', 'auditor']];
function addUsers(store) {
  for (const [name, role] of EXTRA_USERS) {
    const r = spawnSync(process.env.BATON, ['--dir', path.join(store, 'oak'), '--key-file', path.join(store, 'oak.key'),
      '--user', 'dsl.jones', 'user', 'add', name, '--role', role], {
      env: { ...process.env, BATON_USER_PASSPHRASE: 'demo pass dsl.jones', BATON_NEW_PASSPHRASE: `demo pass ${name}` },
      encoding: 'utf8', timeout: WAIT,
    });
    const said = `${r.stdout || ''}${r.stderr || ''}`.trim();
    check(r.status === 0 || /exist|already/i.test(said), `baton user add ${name} --role ${role} failed: ${said}`);
  }
}

async function main() {
  let store = process.argv[2] || process.env.BT_BROWSER_STORE;
  if (!store) {
    store = path.resolve(process.env.BATON_DEMO_DIR || path.join(repo, 'build', 'browser-demo'));
    runDemo(store);
  }
  check(fs.existsSync(path.join(store, 'oak.key')), `${store} is not a demo store (no oak.key)`);

  addUsers(path.resolve(store));
  const { web: origin } = await startBatond(path.resolve(store), 'oak', ['--listen', 'off'],
    { name: '', logFile: path.join(out, 'batond.log') });
  log(`batond serves ${origin}/ (log ${path.join(out, 'batond.log')})`);

  const browser = await launchChromium();
  const page = await newPage(browser, { viewport: { width: 1024, height: 768 } });
  const step = (name, fn) => stepOn(name, page, fn);
  const axe = (label) => axeOn(page, label);

  const focused = () => page.evaluate(() => {
    const a = document.activeElement;
    if (!a || a === document.body) return 'body';
    return a.id ? `#${a.id}` : `${a.tagName.toLowerCase()}${a.type ? `[type=${a.type}]` : ''}:${(a.textContent || '').trim()}`;
  });
  const visible = (sel) => page.locator(sel).isVisible();

  // Whether the curtain is shown and is what one sees at the centre, the
  // corners and over the transfers table: measured in the page, with no
  // waiting, so "at once" means the same turn as the key or click.
  const curtainState = () => page.evaluate(() => {
    const c = document.getElementById('curtain');
    const st = getComputedStyle(c);
    const r = c.getBoundingClientRect();
    const w = innerWidth, h = innerHeight;
    const pts = [[w / 2, h / 2], [1, 1], [w - 2, 1], [1, h - 2], [w - 2, h - 2]];
    const t = document.getElementById('transfers');
    if (t && t.offsetParent) { const tr = t.getBoundingClientRect(); pts.push([tr.left + tr.width / 2, tr.top + tr.height / 2]); }
    const covered = pts.every(([x, y]) => { const e = document.elementFromPoint(x, y); return e && (e === c || c.contains(e)); });
    return {
      shown: !c.hidden && st.display !== 'none' && st.visibility === 'visible' && Number(st.opacity) === 1,
      opaque: /^rgb\(\d+, \d+, \d+\)$/.test(st.backgroundColor),
      full: r.left <= 0 && r.top <= 0 && r.right >= w && r.bottom >= h,
      covered,
      inert: document.getElementById('main').inert && document.getElementById('banner').inert,
      focus: document.activeElement === c,
    };
  });
  const expectCovered = (s, how) => {
    check(s.shown, `${how}: the curtain is not shown at once`);
    check(s.opaque && s.full && s.covered, `${how}: the curtain does not cover the page (${JSON.stringify(s)})`);
    check(s.inert, `${how}: the page behind the curtain is not inert`);
  };
  const expectUncovered = async (how) => {
    const s = await curtainState();
    check(!s.shown && !s.covered && !s.inert, `${how}: the page did not come back (${JSON.stringify(s)})`);
    check(await visible('#transfers'), `${how}: the transfers table is not visible again`);
  };
  const ackRow = page.locator('#transfers tbody tr', { hasText: 'Elm Academy' });

  await step('signin-page', async () => {
    const me = page.waitForResponse((r) => r.url().endsWith('/api/me'));
    const res = await page.goto(`${origin}/`);
    check(res.status() === 200, `GET / answered ${res.status()}`);
    check((res.headers()['content-security-policy'] || '').includes("script-src 'self'"), 'no Content-Security-Policy on /');
    check((await me).status() === 401, 'GET /api/me before sign-in is not 401');
    check(await page.title() === 'Baton', `title is "${await page.title()}"`);
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    check(await page.getByLabel('User name').isVisible(), 'no field labelled "User name"');
    check(await page.getByLabel('Passphrase').getAttribute('type') === 'password', 'the passphrase field is not a password field');
    check(await page.getByRole('button', { name: 'Sign in' }).isVisible(), 'no "Sign in" button');
    check(!(await visible('#page')) && !(await visible('#signout')) && !(await visible('#nav')), 'the page area, the navigation or "Sign out" shows before sign-in');
    check(!(await visible('#signin-error')), 'an error summary shows before any attempt');
  });

  await step('signin-axe', () => axe('the sign-in page'));

  await step('keyboard-order', async () => {
    // From the top of the page, Tab only: the user field, then the
    // passphrase, then the submit button, one after the other.
    await page.evaluate(() => { document.activeElement && document.activeElement.blur(); });
    const order = [];
    for (let i = 0; i < 10 && order[order.length - 1] !== '#user'; i++) {
      await page.keyboard.press('Tab');
      order.push(await focused());
    }
    check(order[order.length - 1] === '#user', `Tab never reached the user field: ${order.join(' > ')}`);
    await page.keyboard.press('Tab');
    order.push(await focused());
    await page.keyboard.press('Tab');
    order.push(await focused());
    check(order.slice(-3).join(' > ') === '#user > #passphrase > button[type=submit]:Sign in',
      `Tab order is ${order.join(' > ')}`);
    log(`   Tab order: ${order.join(' > ')}`);
  });

  await step('wrong-passphrase', async () => {
    // Keyboard only: back to the user field, type, Enter.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    check(await focused() === '#user', 'Shift+Tab did not go back to the user field');
    await page.keyboard.type('dsl.jones');
    await page.keyboard.press('Tab');
    await page.keyboard.type('not the passphrase');
    const login = page.waitForResponse((r) => r.url().endsWith('/api/login'));
    await page.keyboard.press('Enter');
    check((await login).status() === 401, 'a wrong passphrase was not refused with 401');
    await page.locator('#signin-error').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'signin-error');
    const text = (await page.locator('#signin-error').innerText()).replace(/\s+/g, ' ').trim();
    check(/There is a problem/.test(text) && text.length > 'There is a problem'.length, `error summary reads "${text}"`);
    check(await page.locator('#passphrase').inputValue() === '', 'the passphrase field was not cleared');
    check(!(await visible('#page')), 'the page area shows after a wrong passphrase');
    log(`   error summary: "${text}"`);
  });

  await step('wrong-passphrase-axe', () => axe('the sign-in page with its error summary'));

  await step('dashboard', async () => {
    // Keyboard only again: from the error summary, Tab to its link to the
    // user field (the field at fault, marked invalid), Enter: the focus
    // goes to the field.
    await page.keyboard.press('Tab');
    const link = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('href'));
    check(link === '#user', `Tab from the error summary reached ${await focused()}, not its link to the user field`);
    check(await page.locator('#user').getAttribute('aria-invalid') === 'true', 'the user field is not marked aria-invalid');
    await page.keyboard.press('Enter');
    check(await focused() === '#user', 'the error summary\'s link did not move the focus to the user field');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('dsl.jones');
    await page.keyboard.press('Tab');
    await page.keyboard.type('demo pass dsl.jones');
    const xfers = page.waitForResponse((r) => r.url().endsWith('/api/transfers'), { timeout: 2 * WAIT });
    await page.keyboard.press('Enter');
    check((await xfers).status() === 200, 'GET /api/transfers after sign-in is not 200');
    await page.getByRole('heading', { level: 1, name: 'Your desk' }).waitFor();
    await ackRow.waitFor();
    check(await focused() === '#page-h', `focus after sign-in is on ${await focused()}, not the desk's heading`);
    check(!(await visible('#signin')) && !(await visible('#signin-error')), 'the sign-in form still shows');
    check((await page.locator('#who').innerText()).trim() === 'dsl.jones (DSL)', 'the header does not name dsl.jones (DSL)');
    check(await page.getByRole('button', { name: 'Sign out' }).isVisible(), 'no "Sign out" button');
    check(await page.title() === 'Your desk – Baton', `title is "${await page.title()}"`);
    const cells = (await ackRow.first().locator('td').allTextContents()).map((s) => s.trim());
    check(cells[0] === 'Acknowledged' && cells[1] === 'Out' && cells[2] === 'Elm Academy',
      `the demo's transfer reads ${JSON.stringify(cells)}, not Acknowledged / Out / Elm Academy`);
    check(/^\d{1,2} [A-Z][a-z]{2} \d{4}$/.test(cells[3]) && cells[5] === 'Amy Bell', `deadline or file malformed: ${JSON.stringify(cells)}`);
    log(`   transfers row: ${cells.join(' | ')}`);
  });

  await step('dashboard-axe', () => axe('the dashboard'));

  await step('hide-button', async () => {
    await page.getByRole('button', { name: 'Hide screen' }).click();
    expectCovered(await curtainState(), '"Hide screen"');
    // And within the click's own turn, with nothing awaited in between.
    await page.keyboard.press('x');
    const same = await page.evaluate(() => {
      document.getElementById('hide').click();
      const c = document.getElementById('curtain');
      return !c.hidden && getComputedStyle(c).display !== 'none';
    });
    check(same, '"Hide screen" did not show the curtain in the same turn as the click');
    check((await curtainState()).focus, 'the curtain does not have the focus');
  });

  await step('hide-button-key-back', async () => {
    await page.keyboard.press('x');
    await expectUncovered('a key after "Hide screen"');
  });

  await step('esc-hides', async () => {
    await page.locator('#page-h').focus();
    await page.keyboard.press('Escape');
    expectCovered(await curtainState(), 'Esc');
  });

  await step('hidden-axe', () => axe('the hidden screen'));

  await step('esc-key-back', async () => {
    // Esc only hides: pressed again, the screen stays hidden.
    await page.keyboard.press('Escape');
    expectCovered(await curtainState(), 'Esc pressed again');
    await page.keyboard.press('Enter');
    await expectUncovered('a key after Esc');
    check(await focused() === '#page-h', `the focus did not come back to where it was (${await focused()})`);
    // A click on the curtain brings the page back too, but not one at once
    // (within 600 ms: the second click of a double click).
    await page.keyboard.press('Escape');
    expectCovered(await curtainState(), 'Esc (again)');
    await page.mouse.click(500, 400);
    expectCovered(await curtainState(), 'a click on the curtain just after hiding');
    await sleep(700);
    await page.mouse.click(500, 400);
    await expectUncovered('a click on the curtain');
  });

  // ---- the pages, as dsl.jones ----
  // Tab (only) until the element with this id has the focus; the ids on
  // the way, for the failure message.
  async function tabTo(id, max = 60, back = false) {
    const seen = [];
    for (let i = 0; i < max; i++) {
      await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
      const f = await focused();
      seen.push(f);
      if (f === `#${id}`) return seen;
    }
    throw new Fail(`Tab never reached #${id}: ${seen.join(' > ')}`);
  }
  // The error summary: shown, has the focus, links to the fields named.
  async function expectErrors(formSel, ids) {
    const sum = page.locator(`${formSel} .error-summary`);
    await sum.waitFor();
    await page.waitForFunction((sel) => document.activeElement === document.querySelector(`${sel} .error-summary`), formSel);
    check((await sum.getAttribute('role')) === 'alert', 'the error summary is not role=alert');
    const hrefs = await sum.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    for (const id of ids) check(hrefs.includes(`#${id}`), `the error summary has no link to #${id} (${hrefs.join(', ')})`);
    for (const id of ids) {
      const inv = await page.locator(`#${id}`).getAttribute('aria-invalid');
      check(inv === 'true', `#${id} is not marked aria-invalid`);
      check(await page.locator(`#${id}-error`).count() === 1, `#${id} has no inline error`);
    }
    check(/^Error: /.test(await page.title()), `the title does not start "Error: " (${await page.title()})`);
    return hrefs;
  }
  // The radio or checkbox whose label is exactly this text.
  const choice = (form, label) => page.locator(`${form} .choice`).filter({ has: page.locator('label').getByText(label, { exact: true }) });
  const waitH1 = async (name) => {
    await page.getByRole('heading', { level: 1, name }).waitFor();
    await page.waitForFunction(() => !document.querySelector('#page .page[aria-busy]'));
  };
  const noName = async () => {
    const t = await page.title();
    check(!/Amy|Bell/.test(t), `the title names the child: "${t}"`);
  };
  let fileId = null;
  let concernId = null;

  await step('desk-panels', async () => {
    await page.locator('#awaiting-review li').first().waitFor();
    const aw = (await page.locator('#awaiting-review').innerText()).replace(/\s+/g, ' ');
    check(/Amy Bell/.test(aw) && /staff\.ali/.test(aw), `"Concerns awaiting your review" reads "${aw}"`);
    const row = page.locator('#files tbody tr', { hasText: 'Amy Bell' });
    const cells = (await row.first().locator('td').allTextContents()).map((s) => s.trim());
    check(cells[1] === '4 Mar 2016' && cells[2] === 'B801200005001' && cells[3] === 'Child in need' && cells[4] === 'None',
      `the case files row reads ${JSON.stringify(cells)}`);
    const plan = (await page.locator('#plans tbody tr', { hasText: 'Child in need' }).locator('td').allTextContents()).map((s) => s.trim());
    check(Number(plan[0]) >= 1, `files by plan status: child in need is ${plan[0]}`);
    for (const p of ['Transfers', 'Concerns awaiting your review', 'My open actions', 'Unresolved conflicts', 'Files by plan status', 'Case files'])
      check(await page.getByRole('heading', { level: 2, name: p }).isVisible(), `no "${p}" panel`);
    fileId = (await row.first().locator('a').getAttribute('href')).replace('#/file/', '');
    check(/^[0-9a-f]{32}$/.test(fileId), `the case file link is ${fileId}`);
    log(`   awaiting review: ${aw.trim()}`);
  });

  await step('case-file', async () => {
    await page.locator('#files a', { hasText: 'Amy Bell' }).click();
    await waitH1('Amy Bell');
    check(await focused() === '#page-h', `focus on the case file is on ${await focused()}, not its heading`);
    check(await page.title() === 'Case file – Baton', `title is "${await page.title()}"`);
    const front = (await page.locator('#front-sheet').innerText()).replace(/\s+/g, ' ');
    check(/B801200005001/.test(front) && /4 Mar 2016/.test(front) && /Child in need/.test(front), `the front sheet reads "${front}"`);
    const concern = page.locator('article.concern').first();
    check(/crying by the fence/.test(await concern.innerText()), 'the concern\'s facts are not shown');
    check(/My arm hurts/.test(await concern.innerText()), 'the child\'s words are not shown');
    concernId = (await concern.getAttribute('id')).replace('entry-', '');
    const tl = await page.locator('#timeline').innerText();
    check(/social care front door/.test(tl), 'the chronology does not show the call to the front door');
    check(await page.locator('#timeline > li').count() >= 3, 'the chronology has fewer than 3 entries');
    check(/Elm Academy/.test(await page.locator('#file-transfers').innerText()), 'the transfers of the file do not list Elm Academy');
    check(await page.locator(`a[href="#/share/${fileId}"]`).isVisible() && await page.locator(`a[href="#/transfer/${fileId}"]`).isVisible(),
      'no links to share or transfer the file');
    await noName();
  });

  await step('case-file-axe', () => axe('the case file'));

  await step('case-file-hide', async () => {
    await page.keyboard.press('Escape');
    const s = await curtainState();
    expectCovered(s, 'Esc on the case file');
    await page.keyboard.press('Enter');
    const s2 = await curtainState();
    check(!s2.shown && !s2.inert, 'the case file did not come back');
  });

  await step('chronology-filter', async () => {
    const all = await page.locator('#timeline > li').count();
    await page.locator('#chrono-cat').selectOption('call');
    await page.locator('#chrono-apply').click();
    const shown = page.locator('#timeline > li:visible');
    check(await shown.count() === 1, `filtering on "call" shows ${await shown.count()} entries`);
    check(/front door/.test(await shown.first().innerText()), 'the call is not the one shown');
    check(new RegExp(`Showing 1 of ${all} entries`).test(await page.locator('#timeline-count').innerText()), 'the count does not say 1 of all');
    await page.locator('#chrono-cat').selectOption('');
    const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
    await page.locator('#chrono-from').fill(tomorrow);
    await page.locator('#chrono-apply').click();
    check(await shown.count() === 0, 'a "from" date of tomorrow still shows entries');
    await page.locator('#chrono-from').fill('2026-11-20');
    await page.locator('#chrono-to').fill('2026-11-20');
    await page.locator('#chrono-apply').click();
    check(await shown.count() === 1 && /crying|worrying/.test(await shown.first().innerText()),
      `20 Nov 2026 alone does not show just the concern (${await shown.count()})`);
    await page.locator('#chrono-to').fill('2026-11-01');
    await page.locator('#chrono-apply').click();
    await expectErrors('#chrono-filter', ['chrono-to']);
  });

  await step('chronology-filter-axe', () => axe('the chronology filter with its error'));

  await step('chronology-filter-clear', async () => {
    await page.locator('#chrono-clear').click();
    const all = await page.locator('#timeline > li').count();
    check(await page.locator('#timeline > li:visible').count() === all, 'clearing the filter does not show every entry');
    check(await page.locator('#chrono-filter .error-summary').count() === 0, 'the error summary stays after clearing');
  });

  await step('review-empty', async () => {
    await page.locator(`#review-${concernId}`).click();
    await waitH1('Review this concern');
    await noName();
    await page.locator('#review-form-submit').click();
    await expectErrors('#review-form', ['rv-action', 'rv-referred', 'rv-parents']);
    // A link in the summary moves the focus to its field.
    await page.locator('#review-form .error-summary a[href="#rv-action"]').click();
    check(await focused() === '#rv-action', `the error link did not focus the field (${await focused()})`);
    check((await page.evaluate(() => location.hash)) === `#/file/${fileId}/review/${concernId}`, 'the error link changed the route');
  });

  await step('review-errors-axe', () => axe('the review form with errors'));

  await step('review-keyboard', async () => {
    // Keyboard only: from the heading, Tab reaches every field in order,
    // then the fields are filled and the form sent without the mouse.
    await page.locator('#page-h').focus();
    const order = await tabTo('review-form-submit');
    const ids = order.filter((x) => x.startsWith('#')).filter((x, i, a) => a.indexOf(x) === i);
    const want = ['#rv-received-at', '#rv-received-from', '#rv-advice', '#rv-action', '#rv-referred', '#rv-reasons',
      '#rv-parents', '#rv-parents-why', '#rv-outcome', '#rv-info', '#review-form-submit'];
    const got = ids.filter((x) => want.includes(x));
    check(got.join(' ') === want.join(' '), `Tab order on the review form: ${got.join(' > ')}`);
    log(`   Tab order: ${ids.join(' > ')}`);
    await page.locator('#page-h').focus();
    await tabTo('rv-action');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Spoke to Amy with her class teacher; called the front door for advice.');
    await tabTo('rv-referred');
    await page.keyboard.press('Space');
    await tabTo('rv-reasons');
    await page.keyboard.type('The mark and what Amy said meet the threshold for a referral.');
    await tabTo('rv-parents');
    await page.keyboard.press('ArrowRight'); // the second radio: No
    check(await page.locator('#rv-parents-2').isChecked(), 'the arrow key did not choose "No"');
    await tabTo('rv-parents-why');
    await page.keyboard.type('Social care advised not to tell the parents yet.');
    await tabTo('review-form-submit');
    const saved = page.waitForResponse((r) => r.url().endsWith(`/api/files/${fileId}/entries`) && r.request().method() === 'POST');
    await page.keyboard.press('Enter');
    check((await saved).status() === 201, 'POST entries (review) did not answer 201');
  });

  await step('review-saved', async () => {
    await waitH1('Amy Bell');
    await page.locator('#flash').waitFor();
    check(await focused() === '#flash', `the success message does not have the focus (${await focused()})`);
    const review = page.locator(`#entry-${concernId} .review`).last();
    const t = (await review.innerText()).replace(/\s+/g, ' ');
    check(/front door for advice/.test(t) && /Referred Yes/.test(t) && /Parents or carers informed No/.test(t),
      `the review under the concern reads "${t}"`);
    check(/Reviewed/i.test(await page.locator(`#entry-${concernId} .tag`).first().innerText()), 'the concern is not tagged reviewed');
  });

  await step('review-saved-axe', () => axe('the case file with a review'));

  await step('body-map', async () => {
    // A body map with a mark on each view, recorded through the API (the
    // concern form's editor is concern.js's, tested by browser_flow); the
    // file page draws both outlines and lists each mark's fields.
    const st = await page.evaluate(async ([f, c]) => {
      const me = await (await fetch('/api/me')).json();
      const r = await fetch(`/api/files/${f}/entries`, { method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf },
        body: JSON.stringify({ type: 'body_map', concern: c, observed_at: '2026-11-20T11:00:00Z', marks: [
          { view: 'front', x: 300, y: 420, site: 'left forearm', size: '3 cm', colour: 'red', swelling: true, pain: true, clean: 'clean' },
          { view: 'back', x: 500, y: 300, site: 'upper back', shape: 'round', skin_broken: false }] }) });
      return r.status;
    }, [fileId, concernId]);
    check(st === 201, `POST entries (body_map) answered ${st}`);
    await page.reload();
    await waitH1('Amy Bell');
    const maps = page.locator('#sec-maps');
    check(await maps.locator('svg[role=img]').count() === 2, 'the body map does not show a front and a back outline');
    const rows = (await maps.locator('table.marks tbody tr').allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
    check(rows.length === 2 && /left forearm/.test(rows[0]) && /swelling/.test(rows[0]) && /upper back/.test(rows[1]),
      `the marks table reads ${JSON.stringify(rows)}`);
    check(/body map/.test(await page.locator(`#entry-${concernId}`).innerText()), 'the concern does not mention its body map');
    await axe('the case file with a body map');
  });

  await step('action-add-done', async () => {
    await page.locator('#add-action').click();
    await waitH1('Add an action');
    await page.locator('#action-form-submit').click();
    await expectErrors('#action-form', ['ac-what']);
    await axe('the action form with its error');
    await page.locator('#ac-what').fill('Ask the class teacher to note any new marks');
    const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
    await page.locator('#ac-due').fill(tomorrow);
    await page.locator('#action-form-submit').click();
    await waitH1('Amy Bell');
    const row = page.locator('#file-actions tbody tr', { hasText: 'class teacher to note' }).last();
    check(/Open/i.test(await row.innerText()), 'the new action is not open');
    await row.getByRole('link', { name: /Mark done/ }).click();
    await waitH1('Mark an action as done');
    await page.locator('#dn-note').fill('Teacher told.');
    await page.locator('#done-form-submit').click();
    await waitH1('Amy Bell');
    const done = page.locator('#file-actions tbody tr', { hasText: 'class teacher to note' }).last();
    check(/Done/i.test(await done.innerText()) && /Teacher told/.test(await done.innerText()), `the action is not done: ${await done.innerText()}`);
  });

  await step('chronology-add', async () => {
    await page.locator('#add-chrono').click();
    await waitH1('Add a chronology entry');
    await page.locator('#ch-when').fill('');
    await page.locator('#chrono-form-submit').click();
    await expectErrors('#chrono-form', ['ch-when', 'ch-category', 'ch-summary']);
    await axe('the chronology form with errors');
    await page.locator('#ch-when').fill('2026-11-21T09:15');
    await page.locator('#ch-category').selectOption('meeting');
    await page.locator('#ch-summary').fill('Met the class teacher about Amy.');
    await page.locator('#chrono-form-submit').click();
    await waitH1('Amy Bell');
    check(/Met the class teacher/.test(await page.locator('#timeline').innerText()), 'the new entry is not in the chronology');
  });

  await step('share-page', async () => {
    await page.locator('#to-share').click();
    await waitH1('Sharing this file');
    await noName();
    check(await page.locator('#grants, #grants-none').count() === 1, 'no grants table or "no access" line');
    await axe('the sharing page');
    await page.locator('#to-grant').click();
    await waitH1('Share the file with an organisation');
    const dir = await page.evaluate(async () => (await (await fetch('/api/directory')).json()).orgs);
    check(dir.length >= 2, `the directory lists ${dir.length} organisations`);
    for (const o of dir) {
      const item = choice('#grant-form', o.name);
      check(await item.count() === 1, `the directory's ${o.name} is not offered`);
      check((await item.innerText()).includes(o.fingerprint), `${o.name}'s fingerprint ${o.fingerprint} is not shown`);
    }
    log(`   directory: ${dir.map((o) => `${o.name} ${o.fingerprint}`).join('; ')}`);
  });

  await step('share-form-axe', () => axe('the share form'));

  await step('share-errors', async () => {
    check(!(await visible('#gr-reason')) && !(await visible('#gr-consent-by')), 'basis fields show before a basis is chosen');
    await page.locator('#grant-form-continue').click();
    await expectErrors('#grant-form', ['gr-org', 'gr-purpose', 'gr-basis']);
    await axe('the share form with errors');
    await choice('#grant-form', 'Consent').locator('input').check();
    check(await visible('#gr-consent-by') && !(await visible('#gr-reason')), 'consent does not show the consent fields alone');
    await page.locator('#grant-form-continue').click();
    await expectErrors('#grant-form', ['gr-consent-by', 'gr-consent-how', 'gr-consent-on']);
  });

  await step('share-check', async () => {
    await choice('#grant-form', 'Northshire LA').locator('input').check();
    await page.locator('#gr-purpose').check();
    await page.locator('#gr-basis').check(); // significant harm
    check(await visible('#gr-reason') && !(await visible('#gr-consent-by')), 'another basis does not show the reason alone');
    await page.locator('#gr-reason').fill('A referral: the LA needs the concern and the review.');
    await page.locator('#grant-form-continue').click();
    await waitH1('Check your answers before sharing');
    const t = (await page.locator('#grant-form-check').innerText()).replace(/\s+/g, ' ');
    check(/Northshire LA/.test(t) && /significant harm/.test(t) && /the LA needs/.test(t), `check your answers reads "${t}"`);
    await axe('check your answers');
  });

  await step('share-granted', async () => {
    const sent = page.waitForResponse((r) => r.url().endsWith(`/api/files/${fileId}/grants`) && r.request().method() === 'POST');
    await page.locator('#grant-form-send').click();
    const st = (await sent).status();
    check(st === 201, `POST grants answered ${st}`);
    await waitH1('Sharing this file');
    const row = page.locator('#grants tbody tr', { hasText: 'Northshire LA' }).last();
    check(/Active/i.test(await row.innerText()), `the new grant reads "${await row.innerText()}"`);
  });

  await step('revoke', async () => {
    await page.locator('#grants tbody tr', { hasText: 'Northshire LA' }).filter({ hasText: /Active/i }).last().getByRole('link', { name: /Revoke/ }).click();
    await waitH1(/Revoke access for Northshire LA/);
    await page.locator('#revoke-form-continue').click();
    await expectErrors('#revoke-form', ['rk-reason']);
    await page.locator('#rk-reason').fill('The referral is made; the LA no longer needs the file.');
    await page.locator('#revoke-form-continue').click();
    await waitH1('Are you sure you want to revoke access?');
    await axe('the revoke confirmation');
    await page.locator('#revoke-form-send').click();
    await waitH1('Sharing this file');
    check(/Access revoked/.test(await page.locator('#share-flash').innerText()), 'no "Access revoked" message');
    check(await page.locator('#grants tbody tr', { hasText: 'Northshire LA' }).filter({ hasText: /Active/i }).count() === 0, 'the grant is still active');
  });

  await step('extract', async () => {
    await page.locator('#to-extract').click();
    await waitH1('Share chosen entries');
    const boxes = page.locator('#extract-form input[name=entries]');
    check(await boxes.count() >= 4, `the extract offers ${await boxes.count()} entries`);
    const labels = (await page.locator('#extract-form .checkbox label').allInnerTexts()).join(' | ');
    check(/Record of concern/.test(labels) && !/fence|arm hurts/.test(labels), `the entry labels are "${labels}"`);
    await axe('the extract builder');
    await page.locator('#extract-form-continue').click();
    await expectErrors('#extract-form', ['ex-entries', 'ex-org', 'ex-purpose', 'ex-basis']);
    await axe('the extract builder with errors');
  });

  await step('decline', async () => {
    await page.goto(`${origin}/#/share/${fileId}/decline`);
    await waitH1('Record a decision not to share');
    await page.locator('#decline-submit').click();
    await expectErrors('#decline-form', ['dc-with', 'dc-reason']);
    await page.locator('#dc-with').fill('A parent’s solicitor');
    await page.locator('#dc-reason').fill('Sharing now could put Amy at risk.');
    await page.locator('#decline-submit').click();
    await waitH1('Sharing this file');
    check(/solicitor/.test(await page.locator('#decisions').innerText()), 'the decision is not listed');
    await axe('the sharing page with a decision');
  });

  await step('new-file', async () => {
    await page.locator('#nav a', { hasText: 'Open a case file' }).click();
    await waitH1('Open a new case file');
    await page.locator('#new-file-form button[type=submit]').click();
    await expectErrors('#new-file-form', ['nf-given', 'nf-family', 'nf-dob-day']);
    await axe('the new file form with errors');
    await page.locator('#nf-given').fill('Ben');
    await page.locator('#nf-family').fill('Carter');
    await page.locator('#nf-dob-day').fill('31');
    await page.locator('#nf-dob-month').fill('2');
    await page.locator('#nf-dob-year').fill('2017');
    await page.locator('#nf-upn').fill('A123');
    await page.locator('#new-file-form button[type=submit]').click();
    await expectErrors('#new-file-form', ['nf-dob-day', 'nf-upn']);
    await page.locator('#nf-dob-day').fill('1');
    await page.locator('#nf-dob-month').fill('6');
    await page.locator('#nf-upn').fill('');
    await choice('#new-file-form', 'Early help').locator('input').check();
    await page.locator('#new-file-form button[type=submit]').click();
    await waitH1('Ben Carter');
    check(/Early help/.test(await page.locator('#front-sheet').innerText()), 'the new file\'s plan is not early help');
    check(/1 Jun 2017/.test(await page.locator('#front-sheet').innerText()), 'the new file\'s date of birth is not 1 Jun 2017');
    // Change a front-sheet field: the date input comes back filled in.
    await page.locator('#front-sheet a', { hasText: /Change\s*date of birth/ }).click();
    await waitH1('Change: date of birth');
    check(await page.locator('#fs-value-day').inputValue() === '1' && await page.locator('#fs-value-year').inputValue() === '2017', 'the date of birth is not filled in');
    await page.locator('#fs-value-day').fill('2');
    await page.locator('#change-form-submit').click();
    await waitH1('Ben Carter');
    check(/2 Jun 2017/.test(await page.locator('#front-sheet').innerText()), 'the changed date of birth is not shown');
  });

  await step('audit', async () => {
    await page.locator('#nav a', { hasText: 'Audit log' }).click();
    await waitH1('Audit log');
    await page.locator('#audit-table tbody tr').first().waitFor();
    const n = await page.locator('#audit-table tbody tr').count();
    const text = await page.locator('#audit-table').innerText();
    check(n > 5 && /Viewed a file/.test(text) && /Signed in/.test(text), `the audit table has ${n} rows`);
    log(`   ${n} records; ${await page.locator('#audit-status').innerText()}`);
    await axe('the audit log');
  });

  await step('audit-filter', async () => {
    // Each filter waits for its own answer and the table it redraws (the
    // status line may still read "match the filter" from the one before).
    const filtered = async (want) => {
      const answer = page.waitForResponse((r) => r.url().includes('/api/audit?') && r.url().includes(want));
      await page.locator('#au-apply').click();
      await answer;
      await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]') &&
        /match the filter|No records/.test(document.getElementById('audit-status').textContent));
    };
    await page.locator('#au-action').selectOption('view');
    await filtered('action=view');
    const actions = await page.locator('#audit-table tbody tr td:nth-child(4)').allInnerTexts();
    check(actions.length > 0 && actions.every((a) => a.trim() === 'Viewed a file'), `filtered actions: ${actions.join(', ')}`);
    await page.locator('#au-file').fill('not-a-file');
    await page.locator('#au-apply').click();
    await expectErrors('#audit-filter', ['au-file']);
    await axe('the audit filter with its error');
    await page.locator('#au-file').fill(fileId);
    await filtered(`file=${fileId}`);
    const files = await page.locator('#audit-table tbody tr td:nth-child(5)').allInnerTexts();
    check(files.every((f) => f.trim() === fileId.slice(0, 8)), `filtered files: ${files.join(', ')}`);
    await page.locator('#au-clear').click();
    if (await page.locator('#au-older').count()) {
      const first = await page.locator('#audit-table tbody tr td:first-child').first().innerText();
      await page.locator('#au-older').click();
      await page.waitForFunction((f) => document.querySelector('#audit-table tbody tr td') && document.querySelector('#audit-table tbody tr td').textContent !== f, first);
      check(await page.locator('#au-newer').count() === 1, 'no "Newer records" after "Older records"');
    }
  });

  await step('audit-verify', async () => {
    await page.locator('#verify').click();
    await page.locator('#verify-result .notice').waitFor();
    const t = await page.locator('#verify-result').innerText();
    check(/The log is intact/.test(t), `verify says "${t}"`);
    log(`   ${t.replace(/\s+/g, ' ')}`);
    await axe('the audit log verified');
  });

  await step('back-to-desk', async () => {
    await page.locator('#nav a', { hasText: 'Your desk' }).click();
    await waitH1('Your desk');
    await ackRow.waitFor();
  });

  await step('signout', async () => {
    const bye = page.waitForResponse((r) => r.url().endsWith('/api/logout'));
    await page.getByRole('button', { name: 'Sign out' }).click();
    check((await bye).status() === 200, 'POST /api/logout is not 200');
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    check(!(await visible('#page')) && !(await visible('#signout')) && !(await visible('#nav')), 'the page, the navigation or "Sign out" still shows');
    check(await page.locator('#page *').count() === 0 && await page.locator('#nav *').count() === 0, 'the page content stays in the DOM after sign-out');
    check((await page.locator('#who').innerText()).trim() === '', 'the header still names the user');
    check(await page.locator('#transfers tbody tr').count() === 0, 'the transfers stay in the page after sign-out');
    check(await focused() === '#signin-h', `focus after sign-out is on ${await focused()}, not the sign-in heading`);
    const me = await page.evaluate(async () => (await fetch('/api/me')).status);
    check(me === 401, `GET /api/me after sign-out is ${me}, not 401`);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    check(!(await visible('#page')), 'a reload after sign-out shows a page');
  });

  // ---- other roles ----
  async function signIn(user) {
    await page.locator('#user').fill(user);
    await page.locator('#passphrase').fill(`demo pass ${user}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#page h1').first().waitFor();
    await page.waitForFunction(() => !document.querySelector('#page .page[aria-busy]'));
  }
  async function signOut() {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    check(await page.locator('#page *').count() === 0, 'page content stays after sign-out');
  }

  await step('staff-desk', async () => {
    await signIn('staff.ali');
    await waitH1('Log a concern about a child');
    check(await page.locator('#start-log').isVisible(), 'no "Log a concern" start button');
    check(await page.locator('#start-log').getAttribute('href') === '#/log', 'the start button does not go to #/log');
    const body = await page.locator('#page').innerText();
    check(!/Amy|Bell|Transfers|Case files/.test(body), 'the staff desk shows something about children');
    const navText = await page.locator('#nav').innerText();
    check(!/Audit|Governor|case file/i.test(navText), `the staff navigation reads "${navText}"`);
    await axe('the staff desk');
  });

  await step('staff-file', async () => {
    await page.goto(`${origin}/#/file/${fileId}`);
    await waitH1('Your concerns about this child');
    const t = await page.locator('#page').innerText();
    check(/crying by the fence/.test(t), 'staff.ali does not see the concern they logged');
    check(!/B801200005001|front door|Front sheet|Spoke to Amy/.test(t), 'staff.ali sees more than their own concerns');
    await axe('the staff view of a file');
    await signOut();
  });

  await step('governor-view', async () => {
    await signIn('head.khan');
    await waitH1('Your desk');
    await page.locator('#to-governor').click();
    await waitH1('Safeguarding overview');
    await page.locator('#counts').waitFor();
    const files = Number((await page.locator('#count-files .n').innerText()).trim());
    check(files >= 2, `the governor view counts ${files} files`);
    const chart = page.locator('svg#chart');
    check(await chart.getAttribute('role') === 'img', 'the chart is not role=img');
    check(/Concerns logged by month/.test(await page.locator('#chart-title').textContent()), 'the chart has no title');
    const bars = await page.locator('svg#chart rect.bar-rect').count();
    const rows = await page.locator('#months tbody tr').count();
    check(bars > 0 && bars === rows, `the chart has ${bars} bars, its table ${rows} rows`);
    const total = (await page.locator('#months tbody td').allTextContents()).reduce((a, b) => a + Number(b), 0);
    check(total >= 1, 'the table of months counts no concern');
    const x = await page.locator('#xfer-counts').innerText();
    check(/On time\s+1/.test(x) && /Late\s+0/.test(x) && /Overdue now\s+0/.test(x), `the transfer counts read "${x}"`);
    check(!/Amy|Bell|Carter/.test(await page.locator('#page').innerText()), 'the governor view names a child');
    log(`   ${files} files; ${bars} months in the chart; ${total} concerns`);
    await axe('the governor view');
    await page.locator('#months-details summary').click();
    check(await page.locator('#months').isVisible(), 'the table of months does not open');
    await axe('the governor view with its table open');
  });

  await step('governor-hide', async () => {
    await page.keyboard.press('Escape');
    expectCovered(await curtainState(), 'Esc on the governor view');
    await page.keyboard.press('x');
    check(!(await curtainState()).shown, 'the governor view did not come back');
    await signOut();
  });

  await step('auditor', async () => {
    await signIn('audit.lee');
    await waitH1('Your desk');
    await page.locator('#to-audit').click();
    await waitH1('Audit log');
    await page.locator('#audit-table tbody tr').first().waitFor();
    await page.goto(`${origin}/#/file/${fileId}`);
    await waitH1('You cannot see this page');
    await axe('a page the auditor may not see');
    await signOut();
  });

  await step('idle-signout', async () => {
    // The page's clock is taken over and moved on: activity within the 15
    // minutes keeps the page; 15 minutes without any empties it and ends
    // the session on the server too.
    await page.clock.install();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await signIn('dsl.jones');
    await waitH1('Your desk');
    await page.clock.runFor(14 * 60 * 1000);
    await page.keyboard.press('Shift'); // activity: the idle count starts again
    await page.clock.runFor(10 * 60 * 1000);
    check(await visible('#page') && (await page.locator('#page h1').first().innerText()) === 'Your desk',
      'the desk went away although someone was using it');
    const gone = page.waitForResponse((r) => r.url().endsWith('/api/logout'));
    await page.clock.runFor(6 * 60 * 1000);
    check((await gone).status() === 200, 'the idle page did not end its session');
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    check(await page.locator('#page *').count() === 0, 'case content stays on an idle screen');
    const note = await page.locator('#signin-note').innerText();
    check(/15 minutes without activity/.test(note), `the sign-in page says "${note}"`);
    const me = await page.evaluate(async () => (await fetch('/api/me')).status);
    check(me === 401, `GET /api/me after the idle sign-out is ${me}, not 401`);
    await axe('the sign-in page after an idle sign-out');
  });
}

await run('browser', out, main);
