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
// is always stopped.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const require = createRequire(import.meta.url);
const SETUP = 'run scripts/setup.sh (as root: it installs chromium and runs `npm ci` in tests/browser)';
const waitS = Number(process.env.BT_BROWSER_WAIT || 30);
const WAIT = waitS * 1000;
const out = path.resolve(process.env.BT_BROWSER_OUT || path.join(repo, 'build', 'browser'));
const chromiumPath = process.env.BT_CHROMIUM || '/usr/bin/chromium';

class Fail extends Error {}
const check = (ok, msg) => { if (!ok) throw new Fail(msg); };
const log = (s) => process.stdout.write(s + '\n');

// ---- what must be installed: fail (not skip) and say how to get it ----
function preflight() {
  const pkg = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));
  for (const [name, want] of Object.entries(pkg.devDependencies)) {
    const p = path.join(here, 'node_modules', name, 'package.json');
    check(fs.existsSync(p), `tests/browser/node_modules/${name} is missing: ${SETUP}`);
    const have = JSON.parse(fs.readFileSync(p, 'utf8')).version;
    check(have === want, `tests/browser/node_modules has ${name} ${have}, package.json pins ${want}: ${SETUP}`);
  }
  check(fs.existsSync(chromiumPath), `${chromiumPath} is missing: ${SETUP}`);
  check(process.env.BATOND, 'BATOND (the batond binary) is not set: run this through ctest');
  for (const b of [process.env.BATOND, process.env.BATON].filter(Boolean))
    check(fs.existsSync(b), `${b} is missing: build first`);
}

// ---- processes ----
let batond = null;
function stopBatond() {
  if (batond && batond.exitCode === null && batond.signalCode === null) batond.kill('SIGKILL');
}
process.on('exit', stopBatond);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(sig, () => { stopBatond(); process.exit(1); });

function tail(file, n = 30) {
  try { return fs.readFileSync(file, 'utf8').split('\n').slice(-n).join('\n'); } catch { return ''; }
}

function runDemo(demoDir) {
  const script = process.env.BT_DEMO_SCRIPT || path.join(repo, 'scripts', 'demo.sh');
  const build = process.env.BT_BUILD_DIR || path.resolve(path.dirname(process.env.BATOND), '..');
  const logFile = path.join(out, 'demo.log');
  const t0 = Date.now();
  const r = spawnSync('bash', [script, build], {
    env: { ...process.env, BATON_DEMO_DIR: demoDir }, encoding: 'utf8',
    timeout: 20 * WAIT, maxBuffer: 64 << 20,
  });
  fs.writeFileSync(logFile, (r.stdout || '') + (r.stderr || ''));
  check(r.status === 0, `scripts/demo.sh failed (${r.error ? r.error.message : `exit ${r.status}`}):\n${tail(logFile)}`);
  log(`demo network built in ${((Date.now() - t0) / 1000).toFixed(1)} s (${demoDir}; log ${logFile})`);
}

// Starts batond on the demo's Oak node; resolves with the UI's origin from
// its log line "web UI on http://127.0.0.1:PORT/".
function startBatond(store) {
  const logFile = path.join(out, 'batond.log');
  const args = ['--dir', path.join(store, 'oak'), '--key-file', path.join(store, 'oak.key'),
                '--listen', 'off', '--web', '127.0.0.1:0'];
  // setpriv --pdeathsig: batond dies with this script even if it is killed
  // outright (a ctest timeout), so no daemon outlives a run.
  const viaSetpriv = fs.existsSync('/usr/bin/setpriv');
  const [cmd, argv] = viaSetpriv
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', process.env.BATOND, ...args]]
    : [process.env.BATOND, args];
  const logStream = fs.createWriteStream(logFile);
  batond = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Fail(
      `batond did not say "web UI on" within ${waitS} s:\n${seen.slice(-2000)}`)), WAIT);
    const onData = (d) => {
      logStream.write(d);
      if (seen === null) return;
      seen += d.toString();
      const m = seen.match(/web UI on (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) { clearTimeout(timer); seen = null; resolve(m[1]); }
    };
    batond.stdout.on('data', onData);
    batond.stderr.on('data', onData);
    batond.on('exit', (code, sig) => {
      clearTimeout(timer);
      logStream.end();
      if (seen !== null) reject(new Fail(`batond exited (${sig || code}) before serving:\n${seen.slice(-2000)}`));
    });
  });
}

async function stopBatondGently() {
  if (!batond || batond.exitCode !== null || batond.signalCode !== null) return;
  const gone = new Promise((r) => batond.once('exit', r));
  batond.kill('SIGTERM');
  const t = setTimeout(() => batond.kill('SIGKILL'), WAIT);
  await gone;
  clearTimeout(t);
}

// ---- the browser ----
let n = 0, passedSteps = 0; // steps started, steps passed
async function main() {
  preflight();
  fs.mkdirSync(out, { recursive: true });
  for (const f of fs.readdirSync(out)) if (/^\d\d-.*\.png$/.test(f)) fs.unlinkSync(path.join(out, f));

  let store = process.argv[2] || process.env.BT_BROWSER_STORE;
  if (!store) {
    store = path.resolve(process.env.BATON_DEMO_DIR || path.join(repo, 'build', 'browser-demo'));
    runDemo(store);
  }
  check(fs.existsSync(path.join(store, 'oak.key')), `${store} is not a demo store (no oak.key)`);

  const origin = await startBatond(path.resolve(store));
  log(`batond serves ${origin}/ (log ${path.join(out, 'batond.log')})`);

  const { chromium } = require('playwright-core');
  const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const browser = await chromium.launch({
    executablePath: chromiumPath, headless: true, timeout: 2 * WAIT,
    args: [...(asRoot ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'],
  });
  const problems = []; // uncaught errors, console errors, CSP violations
  try {
    log(`chromium ${browser.version()} (${chromiumPath})`);
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, locale: 'en-GB' });
    // Runs before the page's own script in every document: records any
    // Content-Security-Policy violation (inline script or style, say).
    await context.addInitScript(() => {
      window.__btCsp = [];
      document.addEventListener('securitypolicyviolation',
        (e) => window.__btCsp.push(`${e.violatedDirective} ${e.blockedURI || ''}`.trim()));
    });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
    page.on('console', (m) => {
      // The browser logs each 4xx answer (401 before sign-in, a wrong
      // passphrase); those are the API doing its job.
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text()))
        problems.push(`console: ${m.text()}`);
    });

    async function step(name, fn) {
      const tag = `${String(++n).padStart(2, '0')}-${name}`;
      const t0 = Date.now();
      try {
        await fn();
        const csp = await page.evaluate(() => window.__btCsp || []);
        check(csp.length === 0, `Content-Security-Policy violations: ${csp.join('; ')}`);
        check(problems.length === 0, problems.join('\n'));
      } catch (e) {
        await page.screenshot({ path: path.join(out, `${tag}.png`), fullPage: true }).catch(() => {});
        e.message = `step ${tag}: ${e.message}`;
        throw e;
      }
      await page.screenshot({ path: path.join(out, `${tag}.png`), fullPage: true });
      passedSteps++;
      log(`ok ${tag} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }

    // axe-core in the page (evaluated over the DevTools protocol, which the
    // CSP does not govern); fails on any serious or critical violation and
    // lists the lesser ones.
    async function axe(label) {
      if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
      const vs = await page.evaluate(async () => {
        const r = await window.axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.map((x) => `${x.target.join(' ')}: ${(x.failureSummary || '').replace(/\s+/g, ' ')}`) }));
      });
      for (const v of vs) log(`   axe (${label}): ${v.impact} ${v.id}: ${v.help}\n      ${v.nodes.join('\n      ')}`);
      const bad = vs.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      check(bad.length === 0, `axe-core on ${label}: ${bad.length} serious or critical violation(s): ${bad.map((v) => v.id).join(', ')}`);
    }

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
      check(!(await visible('#dash')) && !(await visible('#signout')), 'the dashboard or "Sign out" shows before sign-in');
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
      check(!(await visible('#dash')), 'the dashboard shows after a wrong passphrase');
      log(`   error summary: "${text}"`);
    });

    await step('wrong-passphrase-axe', () => axe('the sign-in page with its error summary'));

    await step('dashboard', async () => {
      // Keyboard only again: from the error summary, Tab to the user field.
      await page.keyboard.press('Tab');
      check(await focused() === '#user', 'Tab from the error summary did not reach the user field');
      await page.keyboard.press('Control+A');
      await page.keyboard.type('dsl.jones');
      await page.keyboard.press('Tab');
      await page.keyboard.type('demo pass dsl.jones');
      const xfers = page.waitForResponse((r) => r.url().endsWith('/api/transfers'), { timeout: 2 * WAIT });
      await page.keyboard.press('Enter');
      check((await xfers).status() === 200, 'GET /api/transfers after sign-in is not 200');
      await page.getByRole('heading', { level: 1, name: 'Transfers' }).waitFor();
      await ackRow.waitFor();
      check(await focused() === '#dash-h', `focus after sign-in is on ${await focused()}, not the dashboard heading`);
      check(!(await visible('#signin')) && !(await visible('#signin-error')), 'the sign-in form still shows');
      check((await page.locator('#who').innerText()).trim() === 'dsl.jones (dsl)', 'the header does not name dsl.jones (dsl)');
      check(await page.getByRole('button', { name: 'Sign out' }).isVisible(), 'no "Sign out" button');
      const cells = (await ackRow.first().locator('td').allInnerTexts()).map((s) => s.trim());
      check(cells[0] === 'acknowledged' && cells[1] === 'out' && cells[4] === 'Elm Academy',
        `the demo's transfer reads ${JSON.stringify(cells)}, not acknowledged / out / Elm Academy`);
      check(/^\d{4}-\d\d-\d\d$/.test(cells[2]) && /^[0-9a-f]{8}$/.test(cells[5]), `deadline or file id malformed: ${JSON.stringify(cells)}`);
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
      await page.locator('#dash-h').focus();
      await page.keyboard.press('Escape');
      expectCovered(await curtainState(), 'Esc');
    });

    await step('hidden-axe', () => axe('the hidden screen'));

    await step('esc-key-back', async () => {
      await page.keyboard.press('Enter');
      await expectUncovered('a key after Esc');
      check(await focused() === '#dash-h', `the focus did not come back to where it was (${await focused()})`);
      // A click on the curtain brings the page back too.
      await page.keyboard.press('Escape');
      expectCovered(await curtainState(), 'Esc (again)');
      await page.mouse.click(500, 400);
      await expectUncovered('a click on the curtain');
    });

    await step('signout', async () => {
      const bye = page.waitForResponse((r) => r.url().endsWith('/api/logout'));
      await page.getByRole('button', { name: 'Sign out' }).click();
      check((await bye).status() === 200, 'POST /api/logout is not 200');
      await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
      check(!(await visible('#dash')) && !(await visible('#signout')), 'the dashboard or "Sign out" still shows');
      check((await page.locator('#who').innerText()).trim() === '', 'the header still names the user');
      check(await page.locator('#transfers tbody tr').count() === 0, 'the transfers stay in the page after sign-out');
      check(await focused() === '#signin-h', `focus after sign-out is on ${await focused()}, not the sign-in heading`);
      const me = await page.evaluate(async () => (await fetch('/api/me')).status);
      check(me === 401, `GET /api/me after sign-out is ${me}, not 401`);
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
      check(!(await visible('#dash')), 'a reload after sign-out shows the dashboard');
    });
  } finally {
    await browser.close().catch(() => {});
  }
}

const t0 = Date.now();
let rc = 0;
try {
  await main();
  log(`browser: all steps passed in ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${out}`);
} catch (e) {
  rc = 1;
  process.stderr.write(`browser: FAIL: ${e instanceof Fail ? e.message : (e && e.stack) || e}\n`);
  process.stderr.write(`browser: screenshots and logs in ${out}\n`);
} finally {
  await stopBatondGently().catch(() => {});
  stopBatond();
}
// A sanitizer build's batond reports at exit: such a report fails the test.
const blog = tail(path.join(out, 'batond.log'), 400);
if (/ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/.test(blog)) {
  process.stderr.write(`browser: FAIL: batond's sanitizer report:\n${blog}\n`);
  rc = 1;
}
// In the form of Criterion's totals, which scripts/test.sh adds up.
log(`Synthesis: Tested: ${Math.max(n, 1)} | Passing: ${passedSteps} | Failing: ${rc ? 1 : 0} | Crashing: 0`);
process.exit(rc);
