#!/usr/bin/env node
// A concern's whole journey through the web UI, across two schools, in real
// Chromium (Debian's /usr/bin/chromium) driven by playwright-core, with
// axe-core on every page. ctest runs it as `browser_flow`
// (tests/CMakeLists.txt); docs/web.md, "Browser flow test", says what it
// checks.
//
//   node tests/browser/flow.test.mjs
//
// It builds the demo network (scripts/demo.sh) in BATON_DEMO_DIR, then runs
// the LA relay, Oak Primary and Elm Academy itself, each batond with its web
// UI on 127.0.0.1:0, the schools syncing through the relay:
//   1. staff.ali (Oak) logs a concern about a new child, with two body-map
//      marks: one by clicking the outline, one with the keyboard only;
//   2. dsl.jones (Oak) finds it under "Concerns awaiting your review",
//      opens the file and reviews the concern;
//   3. dsl.jones sends the file to Elm Academy, picked from the directory,
//      seeing its fingerprint and the computed deadline before confirming;
//   4. dsl.green (Elm) waits for the transfer to be delivered, reads the
//      concern, the review and the body map, and confirms receipt;
//   5. Oak's desk shows the transfer acknowledged; the receipt says who,
//      when, where it is kept, on time.
// Environment:
//   BATOND, BATON      the binaries (required; demo.sh uses both)
//   BT_DEMO_SCRIPT     scripts/demo.sh (default: the one in this repository)
//   BT_BUILD_DIR       the build directory demo.sh takes (default: BATOND's ../..)
//   BATON_DEMO_DIR     where the demo network is made (default build/browser-flow-demo)
//   BT_BROWSER_OUT     screenshots NN-step.png and logs (default build/browser-flow)
//   BT_CHROMIUM        the browser (default /usr/bin/chromium)
//   BT_BROWSER_WAIT    seconds any one wait may take (default 30); a sync
//                      between the schools is polled for at most this long
// Exits 0 when every step passed, 1 with the failing step otherwise; every
// batond is always stopped. The harness (setup, batonds, Chromium, axe-core,
// steps) is harness.mjs, shared with ui.test.mjs.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { check, log, sleep, tail, repo, WAIT, waitS, outDir, runDemo, startBatond, launchChromium, newPage,
  axe, step as stepOn, run } from './harness.mjs';

const out = outDir('browser-flow');

// The child and the concern: invented.
const CHILD = { given: 'Noah', family: 'Fenwick', dob: [14, 6, 2017] };
const FACTS = 'At 14:20 in the Year 3 cloakroom Noah flinched when I touched his shoulder. His right forearm had a red mark about 4 cm long.';
const WORDS = 'Dad grabbed me because I was slow.';
const OPINION = 'He seemed worried that I would tell someone.';
const REVIEW_ACTION = 'Spoke to Noah with the class teacher; called the MASH for advice.';
const STORED = 'CP cabinet, DSL office';

// baton on a demo node (no user): its JSON answer.
function batonJson(store, node, ...args) {
  const r = spawnSync(process.env.BATON, ['--dir', path.join(store, node), '--key-file', path.join(store, `${node}.key`),
    '--json', ...args], { encoding: 'utf8', timeout: WAIT });
  check(r.status === 0, `baton ${args.join(' ')} on ${node} failed: ${r.stderr || r.error}`);
  return JSON.parse(r.stdout);
}

// The network: the LA relay on the address the schools know from the demo
// (another free one, given to the schools with --peer, if that is taken),
// then the two schools, syncing through it every 2 s.
async function startNetwork(store) {
  const demoLa = tail(path.join(store, 'la.log'), 400).match(/listening on ([0-9.]+:\d+)/);
  let la;
  let moved = false;
  try {
    check(demoLa, 'the demo\'s la.log names no listening address');
    la = await startBatond(store, 'la', ['--listen', demoLa[1], '--relay-for', 'all']);
  } catch (e) {
    log(`   the LA relay cannot listen on the demo's address again (${e.message.split('\n')[0]}); another one`);
    la = await startBatond(store, 'la', ['--listen', '127.0.0.1:0', '--relay-for', 'all']);
    moved = true;
  }
  const peer = moved ? ['--peer', la.listen] : [];
  const school = ['--listen', 'off', '--sync-period', '2s', ...peer];
  const [oak, elm] = await Promise.all([startBatond(store, 'oak', school), startBatond(store, 'elm', school)]);
  return { la, oak: oak.web, elm: elm.web };
}

// ---- dates ----
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const fmtDay = (ymd) => { const [y, m, d] = ymd.split('-').map(Number); return `${d} ${MONTHS[m - 1]} ${y}`; };
function dayParts(offsetDays, weekday) {
  const t = new Date();
  t.setHours(12, 0, 0, 0);
  t.setDate(t.getDate() + offsetDays);
  if (weekday !== undefined) while (t.getDay() !== weekday) t.setDate(t.getDate() + 1);
  return [t.getDate(), t.getMonth() + 1, t.getFullYear()];
}

async function main() {
  const store = path.resolve(process.env.BATON_DEMO_DIR || path.join(repo, 'build', 'browser-flow-demo'));
  runDemo(store);
  // Elm's own fingerprint, from its store: what Oak's DSL must see.
  const elmFpr = batonJson(store, 'elm', 'status').org.fingerprint;
  check(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){7}$/.test(elmFpr), `Elm's fingerprint reads "${elmFpr}"`);

  const net = await startNetwork(store);
  log(`LA relay on ${net.la.listen}; Oak's web UI ${net.oak}/, Elm's ${net.elm}/ (logs in ${out})`);

  const browser = await launchChromium();

  // One browser context per person: sessions never mix.
  const person = (label) => newPage(browser, { viewport: { width: 1100, height: 900 }, label });
  // Each step ends with axe-core on its page.
  const step = (name, page, fn) => stepOn(name, page, fn, { axe: true });

  const focusedId = (page) => page.evaluate(() => (document.activeElement && document.activeElement.id) || '');
  const h1 = (page, name) => page.getByRole('heading', { level: 1, name }).waitFor();
  const textOf = async (page, sel) => (await page.locator(sel).innerText()).replace(/\s+/g, ' ').trim();
  // No case content in the title, ever.
  const titleClean = async (page) => {
    const t = await page.title();
    check(!t.includes(CHILD.given) && !t.includes(CHILD.family), `the title names the child: "${t}"`);
  };
  async function signIn(page, origin, user) {
    await page.goto(`${origin}/`);
    await h1(page, 'Sign in');
    await page.getByLabel('User name').fill(user);
    await page.getByLabel('Passphrase').fill(`demo pass ${user}`);
    const login = page.waitForResponse((r) => r.url().endsWith('/api/login'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    check((await login).status() === 200, `${user} cannot sign in`);
    await page.locator('#page h1').first().waitFor();
  }
  // Reloads until fn() is true, for at most WAIT (a sync between nodes).
  async function poll(page, what, fn) {
    const until = Date.now() + WAIT;
    for (;;) {
      if (await fn()) return;
      check(Date.now() < until, `${what}: not within ${waitS} s (BT_BROWSER_WAIT)`);
      await sleep(1000);
      await page.reload();
      await page.locator('#page h1').first().waitFor();
      await page.waitForFunction(() => !document.querySelector('#page [aria-busy="true"]'));
    }
  }

  // ================= 1. staff.ali logs a concern at Oak =================
  const staff = await person('staff.ali at Oak');
  let concernReq = null;

  await step('staff-signin', staff, async () => {
    await signIn(staff, net.oak, 'staff.ali');
    await staff.getByRole('link', { name: 'Log a concern' }).first().click();
    await h1(staff, 'Log a concern');
    check(await staff.title() === 'Log a concern – Baton', `title is "${await staff.title()}"`);
    for (const l of ['Given name', 'Family name', 'What you saw and heard: the facts',
      'What the child said, in their words', 'Your opinion, kept apart from fact'])
      check(await staff.getByLabel(l, { exact: false }).first().isVisible(), `no field labelled "${l}"`);
    check(await staff.getByText('No photographs').isVisible(), 'the body map does not say "No photographs"');
    check(await staff.locator('svg.bm-svg[data-view="front"]').isVisible()
      && await staff.locator('svg.bm-svg[data-view="back"]').isVisible(), 'no front and back outlines');
  });

  await step('log-errors', staff, async () => {
    await staff.getByRole('button', { name: 'Send to the DSL' }).click();
    await staff.locator('#page .error-summary').waitFor();
    await staff.waitForFunction(() => document.activeElement && document.activeElement.classList.contains('error-summary'));
    const sum = await textOf(staff, '#page .error-summary');
    for (const want of ['given name', 'family name', 'date of birth', 'time it happened', 'the facts'])
      check(sum.toLowerCase().includes(want), `the error summary does not mention "${want}": "${sum}"`);
    check((await staff.title()).startsWith('Error: '), 'the title does not start with "Error: "');
    // Each link goes to its field.
    await staff.locator('#page .error-summary a', { hasText: 'facts' }).click();
    check(await focusedId(staff) === 'c-facts', 'the error link did not move the focus to the facts field');
    log(`   error summary: "${sum}"`);
  });

  await step('log-filled', staff, async () => {
    await staff.locator('#c-given').fill(CHILD.given);
    await staff.locator('#c-family').fill(CHILD.family);
    const [dd, dm, dy] = CHILD.dob;
    await staff.locator('#c-dob-day').fill(String(dd));
    await staff.locator('#c-dob-month').fill(String(dm));
    await staff.locator('#c-dob-year').fill(String(dy));
    const [yd, ym, yy] = dayParts(-1); // yesterday, 14:20
    await staff.locator('#c-when-day').fill(String(yd));
    await staff.locator('#c-when-month').fill(String(ym));
    await staff.locator('#c-when-year').fill(String(yy));
    await staff.locator('#c-when-time').fill('14:20');
    await staff.locator('#c-where').fill('Year 3 cloakroom');
    await staff.locator('#c-facts').fill(FACTS);
    await staff.locator('#c-words').fill(WORDS);
    await staff.locator('#c-opinion').fill(OPINION);
    await staff.locator('#c-actions').fill('Reassured him; told him I must pass this on.');
    await staff.locator('#c-passed').fill('Mrs Jones, DSL');
    // The child's words and the opinion are visibly apart.
    const boxes = await staff.evaluate(() => {
      const w = document.getElementById('c-words').closest('.words-box');
      const o = document.getElementById('c-opinion').closest('.opinion-box');
      return !!w && !!o && w !== o && !w.contains(o) && !o.contains(w);
    });
    check(boxes, 'the child\'s words and the opinion are not in separate boxes');
  });

  await step('bodymap-click', staff, async () => {
    // A click on the front outline's forearm on the viewer's left: the
    // child's right forearm.
    const part = staff.locator('svg[data-view="front"] [data-key="front:forearm:vl"]');
    await part.scrollIntoViewIfNeeded();
    await part.click();
    const mark = staff.locator('svg[data-view="front"] .bm-mark[data-index="0"]');
    await mark.waitFor();
    check((await mark.locator('text').textContent()) === '1', 'the first mark is not numbered 1');
    const site = staff.locator('[id^="bm-m"][id$="-site"]').first();
    check(await site.inputValue() === 'right forearm', `the site guessed is "${await site.inputValue()}", not "right forearm"`);
    check((await focusedId(staff)).endsWith('-site'), 'the focus is not on the new mark\'s site');
    await staff.getByLabel('Size').first().fill('4 cm by 1 cm');
    await staff.getByLabel('Colour').first().fill('red');
    await staff.getByLabel('Swelling').first().check();
    await staff.getByRole('button', { name: 'Done with this mark' }).click();
    check(await staff.locator('.bm-item').count() === 1, 'the marks list does not hold one mark');
  });

  await step('bodymap-keyboard', staff, async () => {
    // Keyboard only from the place list: choose "Back: left calf" with
    // the arrow keys, Tab to "Add a mark", Enter.
    const region = staff.locator('#bm-region');
    await region.focus();
    const [from, to] = await region.evaluate((s) => [s.selectedIndex,
      [...s.options].findIndex((o) => o.value === 'back:lower-leg:vl')]);
    check(to > from, 'no "back:lower-leg:vl" place in the list');
    for (let i = from; i < to; i++) await staff.keyboard.press('ArrowDown');
    check(await region.inputValue() === 'back:lower-leg:vl', `the arrow keys chose ${await region.inputValue()}`);
    check(await staff.locator('#bm-region option:checked').textContent() === 'Back: left calf', 'the place is not "Back: left calf"');
    await staff.keyboard.press('Tab');
    check(await focusedId(staff) === 'bm-add', `Tab from the place list reached "${await focusedId(staff)}", not "Add a mark"`);
    await staff.keyboard.press('Enter');
    await staff.locator('svg[data-view="back"] .bm-mark[data-index="1"]').waitFor();
    const siteId = await focusedId(staff);
    check(/^bm-m\d+-site$/.test(siteId), `after "Add a mark" the focus is on "${siteId}", not the mark's site`);
    check(await staff.locator(`#${siteId}`).inputValue() === 'left calf', 'the site of mark 2 is not "left calf"');
    await staff.keyboard.press('End');
    await staff.keyboard.type(', just below the knee');
    await staff.keyboard.press('Tab'); // size
    await staff.keyboard.type('2 cm round');
    await staff.keyboard.press('Tab'); // shape
    await staff.keyboard.press('Tab'); // colour
    await staff.keyboard.type('blue-purple');
    // Move the mark with the arrow keys: Shift+Tab from the place list
    // reaches the last mark of the back outline.
    await region.focus();
    await staff.keyboard.press('Shift+Tab');
    check(await staff.evaluate(() => document.activeElement.getAttribute('data-index')) === '1',
      'Shift+Tab from the place list did not reach mark 2');
    const before = await staff.locator('svg[data-view="back"] .bm-mark[data-index="1"] circle').getAttribute('cy');
    await staff.keyboard.press('ArrowUp');
    await staff.keyboard.press('ArrowUp');
    const after = await staff.locator('svg[data-view="back"] .bm-mark[data-index="1"] circle').getAttribute('cy');
    check(Number(after) < Number(before), `ArrowUp did not move mark 2 (cy ${before} -> ${after})`);
    check(await staff.evaluate(() => document.activeElement.getAttribute('data-index')) === '1', 'the moved mark lost the focus');
    check((await textOf(staff, '.bm-status')).startsWith('Mark 2 moved'), 'the move was not announced');
    check(await staff.locator(`#${siteId}`).inputValue() === 'left calf, just below the knee', 'moving the mark changed the site typed');
    check(await staff.locator('.bm-item').count() === 2, 'the marks list does not hold two marks');
  });

  await step('concern-sent', staff, async () => {
    const sent = staff.waitForResponse((r) => r.url().endsWith('/api/concerns') && r.request().method() === 'POST');
    await staff.getByRole('button', { name: 'Send to the DSL' }).click();
    const res = await sent;
    check(res.status() === 201, `POST /api/concerns answered ${res.status()}: ${await res.text()}`);
    concernReq = res.request().postDataJSON();
    const a = await res.json();
    check(a.logged === true && a.file === null, `the answer to staff is ${JSON.stringify(a)}`);
    const marks = concernReq.body_map && concernReq.body_map.marks;
    check(Array.isArray(marks) && marks.length === 2, 'the concern was not sent with two marks');
    check(marks[0].view === 'front' && marks[0].site === 'right forearm' && marks[0].swelling === true && marks[0].colour === 'red',
      `mark 1 was sent as ${JSON.stringify(marks[0])}`);
    check(marks[1].view === 'back' && marks[1].site === 'left calf, just below the knee', `mark 2 was sent as ${JSON.stringify(marks[1])}`);
    check(marks.every((m) => m.x >= 0 && m.x <= 1000 && m.y >= 0 && m.y <= 1000), 'a mark is outside 0..1000');
    check(concernReq.concern.child_words === WORDS && concernReq.concern.opinion === OPINION, 'the words or the opinion were not sent apart');
    check(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(concernReq.concern.incident_at), `incident_at is ${concernReq.concern.incident_at}`);
    await h1(staff, 'Concern recorded');
    check((await textOf(staff, '#page')).includes('Your DSL has been told.'), 'the confirmation does not say the DSL was told');
    const body = await textOf(staff, '#page');
    check(!body.includes(CHILD.family) && !body.includes(FACTS.slice(0, 20)), 'the confirmation shows case content');
    check(await staff.locator('#c-facts').count() === 0, 'the form is still in the page after sending');
    await titleClean(staff);
    await staff.getByRole('button', { name: 'Sign out' }).click();
    await h1(staff, 'Sign in');
  });

  // ================= 2. dsl.jones reviews it at Oak =================
  const oak = await person('dsl.jones at Oak');
  let fileId = null;

  await step('dsl-desk', oak, async () => {
    await signIn(oak, net.oak, 'dsl.jones');
    await h1(oak, 'Your desk');
    const link = oak.locator('#awaiting-review a', { hasText: `${CHILD.given} ${CHILD.family}` });
    await link.waitFor();
    await titleClean(oak);
    fileId = (await link.getAttribute('href')).replace(/^#\/file\//, '');
    check(/^[0-9a-f]{32}$/.test(fileId), `the awaiting-review link goes to "${fileId}"`);
  });

  await step('dsl-file', oak, async () => {
    await oak.locator('#awaiting-review a', { hasText: `${CHILD.given} ${CHILD.family}` }).click();
    await oak.waitForFunction((id) => location.hash === `#/file/${id}`, fileId);
    await oak.getByText(FACTS).first().waitFor();
    check(await oak.getByText(WORDS).first().isVisible(), 'the child\'s words are not shown');
    check(await oak.locator('svg.bodymap').count() >= 1, 'the case file shows no body map');
    await titleClean(oak);
  });

  await step('dsl-review', oak, async () => {
    // The concern's own "Review this concern", then Part 2.
    await oak.locator('a[id^="review-"]', { hasText: 'Review this concern' }).first().click();
    await h1(oak, 'Review this concern');
    await oak.locator('#rv-action').fill(REVIEW_ACTION);
    await oak.getByRole('group', { name: /referred/ }).getByLabel('No').check();
    await oak.locator('#rv-reasons').fill('MASH advice: below the threshold for a referral; monitor and review in a week.');
    await oak.getByRole('group', { name: /parents or carers informed/ }).getByLabel('Yes').check();
    await titleClean(oak);
    await axe(oak, 'the review form');
    const sent = oak.waitForResponse((r) => /\/api\/files\/[0-9a-f]{32}\/entries$/.test(r.url()) && r.request().method() === 'POST');
    await oak.getByRole('button', { name: 'Save the review' }).click();
    const res = await sent;
    check(res.status() === 201, `the review answered ${res.status()}: ${await res.text()}`);
    const req = res.request().postDataJSON();
    check(req.type === 'review' && /^[0-9a-f]{64}$/.test(req.concern), `the review was sent as ${JSON.stringify(req)}`);
    await oak.waitForFunction((id) => location.hash === `#/file/${id}`, fileId);
    await oak.getByText(REVIEW_ACTION).first().waitFor();
    await titleClean(oak);
  });

  // ================= 3. dsl.jones sends the file to Elm =================
  let preview = null, transferId = null;
  const onRoll = dayParts(1, 1); // next Monday

  await step('transfer-form', oak, async () => {
    const link = oak.locator(`a[href="#/transfer/${fileId}"]`).first();
    if (await link.count()) await link.click(); else await oak.goto(`${net.oak}/#/transfer/${fileId}`);
    await h1(oak, 'Send this file to the child’s new school');
    const elm = oak.getByLabel('Elm Academy');
    await elm.waitFor();
    const hint = await textOf(oak, `#${await elm.getAttribute('aria-describedby')}`);
    check(hint.includes(elmFpr), `Elm Academy's fingerprint is not shown (hint "${hint}", want ${elmFpr})`);
    await elm.check();
    await oak.locator('#x-onroll-day').fill(String(onRoll[0]));
    await oak.locator('#x-onroll-month').fill(String(onRoll[1]));
    await oak.locator('#x-onroll-year').fill(String(onRoll[2]));
    await titleClean(oak);
  });

  await step('transfer-check', oak, async () => {
    const pv = oak.waitForResponse((r) => r.url().endsWith('/api/transfers/preview'));
    await oak.getByRole('button', { name: 'Continue' }).click();
    const res = await pv;
    check(res.status() === 200, `the preview answered ${res.status()}: ${await res.text()}`);
    preview = await res.json();
    await h1(oak, 'Check the transfer before you send it');
    check(await textOf(oak, '#x-deadline') === fmtDay(preview.deadline), `the deadline shown is not ${fmtDay(preview.deadline)}`);
    check((await textOf(oak, '#x-days')).startsWith(`${preview.days} `), `the days shown are not ${preview.days}`);
    check(await textOf(oak, 'code.fingerprint') === elmFpr, 'the check page does not show Elm\'s fingerprint');
    check(preview.org === 'Elm Academy', `the preview names ${preview.org}`);
    // No transfer yet: the check page comes first.
    const xs = await oak.evaluate(async () => (await (await fetch('/api/transfers')).json()).transfers);
    check(!xs.some((x) => x.file === fileId), 'a transfer started before it was confirmed');
    log(`   deadline ${preview.deadline}: ${preview.days} ${preview.rule} after on roll ${onRoll.join('/')}`);
  });

  await step('transfer-sent', oak, async () => {
    const sent = oak.waitForResponse((r) => r.url().endsWith('/api/transfers') && r.request().method() === 'POST');
    await oak.getByRole('button', { name: 'Send the file' }).click();
    const res = await sent;
    check(res.status() === 201, `POST /api/transfers answered ${res.status()}: ${await res.text()}`);
    const a = await res.json();
    transferId = a.transfer;
    check(a.deadline === preview.deadline, `the deadline recorded (${a.deadline}) is not the one previewed (${preview.deadline})`);
    await h1(oak, 'File sent');
    check((await textOf(oak, '#page')).includes(`Receipt due by ${fmtDay(a.deadline)}`), 'the confirmation does not give the deadline');
  });

  // ================= 4. dsl.green receives it at Elm =================
  const elm = await person('dsl.green at Elm');
  const inRow = () => elm.locator(`#transfers-in tr[data-transfer="${transferId}"]`);

  await step('elm-delivered', elm, async () => {
    await signIn(elm, net.elm, 'dsl.green');
    await elm.goto(`${net.elm}/#/transfers`);
    await h1(elm, 'Transfers');
    await poll(elm, 'the transfer delivered at Elm', async () =>
      (await inRow().count()) === 1 && (await inRow().getAttribute('data-status')) === 'delivered');
    check(await inRow().getByRole('link', { name: /Confirm receipt/ }).isVisible(), 'no "Confirm receipt" on the delivered transfer');
    check(await inRow().getByRole('link', { name: /Reject \(misdirected\)/ }).isVisible(), 'no "Reject (misdirected)" on the delivered transfer');
    check((await textOf(elm, `#transfers-in tr[data-transfer="${transferId}"]`)).includes(fmtDay(preview.deadline)), 'the deadline is not shown at Elm');
    await titleClean(elm);
  });

  await step('elm-file', elm, async () => {
    await inRow().locator(`a[href="#/file/${fileId}"]`).click();
    await elm.getByText(FACTS).first().waitFor();
    check(await elm.getByText(WORDS).first().isVisible(), 'Elm does not see the child\'s words');
    check(await elm.getByText(REVIEW_ACTION).first().isVisible(), 'Elm does not see the review');
    const marks = await elm.locator('svg.bodymap .bm-mark').count();
    check(marks >= 2, `Elm's body map shows ${marks} marks, not 2`);
    await titleClean(elm);
  });

  await step('elm-ack', elm, async () => {
    await elm.goto(`${net.elm}/#/transfers/ack/${transferId}`);
    await h1(elm, 'Confirm receipt of the file');
    await elm.getByRole('button', { name: 'Confirm receipt' }).click();
    await elm.locator('#page .error-summary').waitFor(); // where it is kept is required
    await elm.getByLabel('Where is the file kept now?').fill(STORED);
    const sent = elm.waitForResponse((r) => r.url().endsWith(`/api/transfers/${transferId}/ack`));
    await elm.getByRole('button', { name: 'Confirm receipt' }).click();
    const res = await sent;
    check(res.status() === 200 || res.status() === 201, `the ack answered ${res.status()}: ${await res.text()}`);
    await h1(elm, 'Receipt confirmed');
  });

  // ================= 5. Oak sees the receipt =================
  await step('oak-acknowledged', oak, async () => {
    await oak.goto(`${net.oak}/#/`);
    await h1(oak, 'Your desk');
    const row = () => oak.locator('#transfers tr', { has: oak.locator(`a[href="#/file/${fileId}"]`) });
    await poll(oak, 'the receipt back at Oak', async () =>
      (await row().count()) === 1 && /acknowledged/i.test(await textOf(oak, `#transfers tr:has(a[href="#/file/${fileId}"])`)));
    log(`   Oak's desk: ${await textOf(oak, `#transfers tr:has(a[href="#/file/${fileId}"])`)}`);
  });

  await step('oak-receipt', oak, async () => {
    await oak.goto(`${net.oak}/#/transfers`);
    await h1(oak, 'Transfers');
    const row = oak.locator(`#transfers-out tr[data-transfer="${transferId}"]`);
    await row.waitFor();
    check(await row.getAttribute('data-status') === 'acknowledged', 'the transfer out is not acknowledged');
    check(await row.getByRole('link', { name: /^Close/ }).isVisible(), 'no "Close" on the acknowledged transfer');
    await row.getByRole('link', { name: /View receipt/ }).click();
    await h1(oak, 'Receipt');
    await oak.locator('#page .summary-list').waitFor();
    const text = await textOf(oak, '#page');
    for (const want of ['Acknowledged by dsl.green', `Kept at ${STORED}`, `On time (deadline ${fmtDay(preview.deadline)})`, 'Sent to Elm Academy'])
      check(text.includes(want), `the receipt does not show "${want}": ${text}`);
  });
}

await run('browser_flow', out, main);
