// The harness the browser tests share (ui.test.mjs, ctest `browser`;
// flow.test.mjs, ctest `browser_flow`; docs/web.md, "Browser tests"): what
// must be installed, the demo network, the batonds, Chromium, the watch on
// each page, axe-core, the steps and the run's ending. A test calls
// run(NAME, OUT, main) once; main() builds what it needs and runs its steps.
//
// Environment (each test's header gives its own defaults):
//   BATOND, BATON      the binaries (required; scripts/demo.sh uses both)
//   BT_DEMO_SCRIPT     scripts/demo.sh (default: the one in this repository)
//   BT_BUILD_DIR       the build directory demo.sh takes (default: BATOND's ../..)
//   BATON_DEMO_DIR     where the demo network is made (read by the test)
//   BT_BROWSER_OUT     screenshots NN-step.png and logs (outDir())
//   BT_CHROMIUM        the browser (default /usr/bin/chromium)
//   BT_BROWSER_WAIT    seconds any one wait may take (default 30)
//
// What it gives:
//   Fail, check(ok, msg), log(s), sleep(ms), tail(file, n)
//                      a check that fails throws Fail, whose message alone
//                      is reported (any other error with its stack)
//   repo, WAIT, waitS  the repository; BT_BROWSER_WAIT in ms and in s
//   outDir(name)       BT_BROWSER_OUT, or build/NAME in the repository
//   runDemo(dir)       scripts/demo.sh into dir, its output in OUT/demo.log
//   startBatond(store, node, args, {name, logFile})
//                      batond on the demo's NODE store (--dir, --key-file,
//                      --web 127.0.0.1:0, then args), under setpriv
//                      --pdeathsig so it dies with the test; resolves with
//                      {web, listen, log} once its log says "web UI on
//                      http://…" (and "listening on ADDR" unless args say
//                      --listen off); name labels it in messages ("batond
//                      NAME"), logFile defaults to OUT/NAME.log
//   launchChromium()   headless Chromium (--no-sandbox as root), closed by run()
//   newPage(browser, {viewport, label})
//                      a page in a context of its own (en-GB), its default
//                      timeout WAIT, watched: a Content-Security-Policy
//                      violation, an uncaught error or a console error (but
//                      the browser's note of a 4xx answer) fails the step it
//                      happens in; label prefixes those problems
//   axe(page, label)   axe-core on the page: a serious or critical violation
//                      fails, lesser ones are listed
//   step(name, page, fn, {axe})
//                      step NN-name: fn(), then the page's CSP violations
//                      and problems checked (and axe-core when asked);
//                      NN-name.png saved in OUT, passed or failed; "ok
//                      NN-name (T s)" logged; a failure is rethrown as
//                      "step NN-name: …"
//   run(name, out, main)
//                      checks what must be installed (fails, never skips,
//                      saying to run scripts/setup.sh), empties OUT of old
//                      NN-*.png, awaits main(); then closes Chromium, stops
//                      every batond (SIGTERM, SIGKILL after WAIT), fails on
//                      a sanitizer report in any batond's log, prints
//                      scripts/test.sh's "Synthesis:" line and exits 0 or 1;
//                      a promise a failed step left behind, rejected as
//                      Chromium closes, is ignored.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
const require = createRequire(import.meta.url);
const SETUP = 'run scripts/setup.sh (as root: it installs chromium and runs `npm ci` in tests/browser)';
export const waitS = Number(process.env.BT_BROWSER_WAIT || 30);
export const WAIT = waitS * 1000;
const chromiumPath = process.env.BT_CHROMIUM || '/usr/bin/chromium';

export class Fail extends Error {}
export const check = (ok, msg) => { if (!ok) throw new Fail(msg); };
export const log = (s) => process.stdout.write(s + '\n');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function tail(file, n = 30) {
  try { return fs.readFileSync(file, 'utf8').split('\n').slice(-n).join('\n'); } catch { return ''; }
}

export const outDir = (name) => path.resolve(process.env.BT_BROWSER_OUT || path.join(repo, 'build', name));
let out = null; // the test's outDir(), from run()

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
  check(process.env.BATON, 'BATON (the baton binary) is not set: run this through ctest');
  for (const b of [process.env.BATOND, process.env.BATON])
    check(fs.existsSync(b), `${b} is missing: build first`);
}

// ---- the demo network ----
export function runDemo(demoDir) {
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

// ---- the batonds ----
const daemons = []; // {who, proc, logFile}
function killAll() {
  for (const d of daemons)
    if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGKILL');
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(sig, () => { killAll(); process.exit(1); });

export function startBatond(store, node, extra, { name = node, logFile = path.join(out, `${name}.log`) } = {}) {
  const who = name ? `batond ${name}` : 'batond';
  const args = ['--dir', path.join(store, node), '--key-file', path.join(store, `${node}.key`),
                '--web', '127.0.0.1:0', ...extra];
  const listens = !(extra.includes('--listen') && extra[extra.indexOf('--listen') + 1] === 'off');
  // setpriv --pdeathsig: batond dies with this script even if it is killed
  // outright (a ctest timeout), so no daemon outlives a run.
  const viaSetpriv = fs.existsSync('/usr/bin/setpriv');
  const [cmd, argv] = viaSetpriv
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', process.env.BATOND, ...args]]
    : [process.env.BATOND, args];
  const logStream = fs.createWriteStream(logFile);
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  daemons.push({ who, proc, logFile });
  return new Promise((resolve, reject) => {
    let seen = '';
    let web = null, listen = listens ? null : 'off';
    const timer = setTimeout(() => reject(new Fail(
      `${who} did not say "web UI on"${listens ? ' and "listening on"' : ''} within ${waitS} s:\n${(seen || '').slice(-2000)}`)), WAIT);
    const onData = (b) => {
      logStream.write(b);
      if (seen === null) return;
      seen += b.toString();
      const w = seen.match(/web UI on (http:\/\/127\.0\.0\.1:\d+)\//);
      const l = seen.match(/listening on ([0-9.]+:\d+)/);
      if (w) web = w[1];
      if (l && listen === null) listen = l[1];
      if (web && listen) { clearTimeout(timer); const all = seen; seen = null; resolve({ web, listen, log: all }); }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code, sig) => {
      clearTimeout(timer);
      logStream.end();
      if (seen !== null) reject(new Fail(`${who} exited (${sig || code}) before serving:\n${seen.slice(-2000)}`));
    });
  });
}

async function stopAllGently() {
  await Promise.all(daemons.map(async (d) => {
    if (d.proc.exitCode !== null || d.proc.signalCode !== null) return;
    const gone = new Promise((r) => d.proc.once('exit', r));
    d.proc.kill('SIGTERM');
    const t = setTimeout(() => d.proc.kill('SIGKILL'), WAIT);
    await gone;
    clearTimeout(t);
  }));
}

// ---- the browser ----
let browser = null;
let axeSource = null;
const problems = []; // uncaught errors, console errors, from every page

export async function launchChromium() {
  const { chromium } = require('playwright-core');
  axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  browser = await chromium.launch({
    executablePath: chromiumPath, headless: true, timeout: 2 * WAIT,
    args: [...(asRoot ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'],
  });
  log(`chromium ${browser.version()} (${chromiumPath})`);
  return browser;
}

export async function newPage(b, { viewport, label = '' }) {
  const context = await b.newContext({ viewport, locale: 'en-GB' });
  // Runs before the page's own script in every document: records any
  // Content-Security-Policy violation (inline script or style, say).
  await context.addInitScript(() => {
    window.__btCsp = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.__btCsp.push(`${e.violatedDirective} ${e.blockedURI || ''}`.trim()));
  });
  const page = await context.newPage();
  const who = label ? `${label}: ` : '';
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (e) => problems.push(`${who}uncaught: ${e.message}`));
  page.on('console', (m) => {
    // The browser logs each 4xx answer (401 before sign-in, a wrong
    // passphrase); those are the API doing its job.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text()))
      problems.push(`${who}console: ${m.text()}`);
  });
  return page;
}

// axe-core in the page (evaluated over the DevTools protocol, which the
// CSP does not govern); fails on any serious or critical violation and
// lists the lesser ones.
export async function axe(page, label) {
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

// ---- steps ----
let n = 0, passedSteps = 0; // steps started, steps passed
export async function step(name, page, fn, { axe: withAxe = false } = {}) {
  const tag = `${String(++n).padStart(2, '0')}-${name}`;
  const t0 = Date.now();
  try {
    await fn();
    const csp = await page.evaluate(() => window.__btCsp || []);
    check(csp.length === 0, `Content-Security-Policy violations: ${csp.join('; ')}`);
    check(problems.length === 0, problems.join('\n'));
    if (withAxe) await axe(page, tag);
  } catch (e) {
    await page.screenshot({ path: path.join(out, `${tag}.png`), fullPage: true }).catch(() => {});
    e.message = `step ${tag}: ${e.message}`;
    throw e;
  }
  await page.screenshot({ path: path.join(out, `${tag}.png`), fullPage: true });
  passedSteps++;
  log(`ok ${tag} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

// ---- the run ----
export async function run(name, outPath, main) {
  out = outPath;
  const t0 = Date.now();
  let rc = 0;
  // A step that failed may leave a promise of its own (a waitForResponse)
  // that is rejected when the browser closes: not a second failure, and not
  // to end the run before batond is stopped and its log read.
  process.on('unhandledRejection', (e) => { if (!rc) throw e; });
  try {
    preflight();
    fs.mkdirSync(out, { recursive: true });
    for (const f of fs.readdirSync(out)) if (/^\d\d-.*\.png$/.test(f)) fs.unlinkSync(path.join(out, f));
    await main();
    log(`${name}: all steps passed in ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${out}`);
  } catch (e) {
    rc = 1;
    process.stderr.write(`${name}: FAIL: ${e instanceof Fail ? e.message : (e && e.stack) || e}\n`);
    process.stderr.write(`${name}: screenshots and logs in ${out}\n`);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopAllGently().catch(() => {});
    killAll();
  }
  // A sanitizer build's batond reports at exit: such a report fails the test.
  for (const d of daemons) {
    const blog = tail(d.logFile, 400);
    if (/ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/.test(blog)) {
      process.stderr.write(`${name}: FAIL: ${d.who}'s sanitizer report:\n${blog}\n`);
      rc = 1;
    }
  }
  // In the form of Criterion's totals, which scripts/test.sh adds up.
  log(`Synthesis: Tested: ${Math.max(n, 1)} | Passing: ${passedSteps} | Failing: ${rc ? 1 : 0} | Crashing: 0`);
  process.exit(rc);
}
