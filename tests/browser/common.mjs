// What the browser tests share: options, hlsd on a free loopback port, Debian's Chromium.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const CHROMIUM = '/usr/bin/chromium';
export const SKIP = 77;

// --some-option value → o.someOption (numbers stay numbers); unknown options are an error.
export function parseOptions(defaults) {
  const o = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
    if (!(key in o)) throw new Error('unknown option ' + argv[i]);
    o[key] = typeof o[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return o;
}

// Exit code 77 with the reason when Chromium is missing; never a downloaded browser.
export function chromiumMissing() {
  if (existsSync(CHROMIUM)) return false;
  console.log(`SKIPPED: ${CHROMIUM} is not installed (apt-get install chromium failed?)`);
  return true;
}

// Every process a test starts is ended when the test's process exits, however it exits: a
// signal (ctest's timeout, Ctrl-C) or an uncaught error. (Playwright ends its Chromium itself.)
const started = new Set();
process.on('exit', () => {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => process.exit(1));
export function track(child) {
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

// hlsd with `args` on 127.0.0.1:<free port>; `port` resolves from its log line.
export function startHlsd(binary, args) {
  // In a session of its own, as hlsd.service runs: the kernel shares CPU between sessions
  // (autogroups) first, and a browser or a hog started by the test is another program.
  const child = track(spawn(binary, ['--listen', '127.0.0.1:0', ...args],
                            { stdio: ['ignore', 'ignore', 'pipe'], detached: true }));
  let log = '';
  const port = new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/serving on https?:\/\/\S+:(\d+)\//);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error('hlsd exited with ' + code + ':\n' + log)));
  });
  return { child, port, log: () => log };
}

// A GET from Node: { status, headers } (names lower-cased). `ca`: the root an https URL is
// checked against (PEM text); without it, Node's own roots.
export function get(url, ca = undefined) {
  if (!ca) return fetch(url).then((r) => ({ status: r.status,
                                            headers: Object.fromEntries(r.headers) }));
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (r) => { r.resume(); resolve({ status: r.statusCode,
                                                          headers: r.headers }); })
      .on('error', reject);
  });
}

export async function waitHealthy(base, ca = undefined) {
  for (let i = 0; i < 100; ++i) {
    try {
      if ((await get(base + 'healthz', ca)).status === 200) return;
    } catch {}
    await sleep(100);
  }
  throw new Error('hlsd never became healthy');
}

// The base URL of a started hlsd (startHlsd), once /healthz answers.
export async function liveBase(hlsd) {
  const base = `http://127.0.0.1:${await hlsd.port}/`;
  await waitHealthy(base);
  return base;
}

// A new page, with the uncaught errors of its scripts collected in pageErrors.
export async function newPage(browser) {
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  return { page, pageErrors };
}

// `env`: the browser's environment (HOME, whose ~/.pki/nssdb holds the CAs it trusts).
export async function launchChromium(env = undefined) {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    env,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--autoplay-policy=no-user-gesture-required'],
  });
}

// Ends a child process (SIGTERM, then SIGKILL after 5 s) and waits for it.
export async function stop(child, signal = 'SIGTERM') {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

// A TCP port free on 127.0.0.1 right now.
export async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

export function quantile(values, q) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))] : NaN;
}

// The machine's CPU time counters (the `cpu` line of /proc/stat). Between two snapshots,
// cpuShare() gives the percentage of CPU time that went to other guests of the hypervisor
// (steal) and that was idle: a timing result taken while the VM was starved says little.
export function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1)
    .map(Number);
  return { total: f.reduce((a, b) => a + b, 0), idle: f[3] + f[4], steal: f[7] || 0 };
}
export function cpuShare(a, b) {
  const total = b.total - a.total;
  const pct = (x) => (total > 0 ? +((100 * x) / total).toFixed(1) : NaN);
  return { steal_pct: pct(b.steal - a.steal), idle_pct: pct(b.idle - a.idle) };
}

export function finish(failures) {
  for (const f of failures) console.log('FAILED: ' + f);
  console.log(failures.length ? '0 passed, 1 failed' : '1 passed, 0 failed');
  return failures.length ? 1 : 0;
}
