// A real browser plays hlsd: Debian's Chromium, driven by playwright-core, loads the player
// page from a real hlsd on 127.0.0.1 and must see video frames advance.
//
//   node tests/browser/play.mjs --hlsd build/hlsd [--seconds 8] [--query sync=1]
//        [--segment-time 1] [--list-size 2] [--segment-wrap 5] [--screenshot out.png]
//
// Exit 0: passed; 1: failed; 77: skipped because Chromium is not installed (said plainly).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const CHROMIUM = '/usr/bin/chromium';

function options() {
  const o = { hlsd: 'build/hlsd', seconds: 8, query: '', segmentTime: '1', listSize: '2',
              segmentWrap: '5', screenshot: '', minAdvance: 5 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
    if (!(key in o)) throw new Error('unknown option ' + argv[i]);
    o[key] = typeof o[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return o;
}

function startHlsd(o) {
  const args = ['--source', 'test', '--width', '640', '--height', '360', '--listen', '127.0.0.1:0',
                '--segment-time', o.segmentTime, '--list-size', o.listSize,
                '--segment-wrap', o.segmentWrap];
  const child = spawn(o.hlsd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const port = new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/serving on http:\/\/\S+:(\d+)\//);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error('hlsd exited with ' + code + ':\n' + log)));
  });
  return { child, port, log: () => log };
}

async function waitHealthy(base) {
  for (let i = 0; i < 100; ++i) {
    try {
      if ((await fetch(base + 'healthz')).status === 200) return;
    } catch {}
    await sleep(100);
  }
  throw new Error('hlsd never became healthy');
}

function quantile(values, q) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))] : NaN;
}

async function main() {
  const o = options();
  if (!existsSync(CHROMIUM)) {
    console.log(`SKIPPED: ${CHROMIUM} is not installed (apt-get install chromium failed?)`);
    return 77;
  }
  const { chromium } = await import('playwright-core');
  const hlsd = startHlsd(o);
  let browser;
  const failures = [];
  try {
    const port = await hlsd.port;
    const base = `http://127.0.0.1:${port}/`;
    await waitHealthy(base);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync',
             '--autoplay-policy=no-user-gesture-required'],
    });
    const page = await browser.newPage();
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const opened = Date.now();
    await page.goto(base + (o.query ? '?' + o.query : ''));
    await page.waitForFunction(() => window.hlsdStats && window.hlsdStats.playing, null,
                               { timeout: 20000 });
    const firstFrame = (Date.now() - opened) / 1000;
    const t0 = await page.evaluate(() => document.getElementById('video').currentTime);
    const latencies = [];
    const samples = Math.round(o.seconds * 4);
    for (let i = 0; i < samples; ++i) {
      await sleep(250);
      latencies.push(await page.evaluate(() => window.hlsdStats.latency));
    }
    const t1 = await page.evaluate(() => document.getElementById('video').currentTime);
    const stats = await page.evaluate(() => ({ ...window.hlsdStats }));
    const overlay = await page.evaluate(() => document.getElementById('stats').textContent);
    if (o.screenshot) await page.screenshot({ path: o.screenshot });

    const advanced = t1 - t0;
    const result = {
      segment_time: Number(o.segmentTime), list_size: Number(o.listSize), query: o.query,
      seconds: o.seconds, advanced: +advanced.toFixed(2), time_to_first_frame: +firstFrame.toFixed(2),
      latency_median: +quantile(latencies, 0.5).toFixed(2), latency_p95: +quantile(latencies, 0.95).toFixed(2),
      stalls: stats.stalls, fatal: stats.fatal, mode: stats.mode, resolution: `${stats.width}x${stats.height}`,
    };
    console.log('overlay:\n' + overlay);
    console.log('RESULT ' + JSON.stringify(result));
    if (!(advanced >= o.minAdvance)) failures.push(`currentTime advanced ${advanced.toFixed(2)} s in ${o.seconds} s`);
    if (stats.fatalCount !== 0) failures.push('hls.js fatal error: ' + stats.fatal);
    if (!Number.isFinite(stats.latency)) failures.push('overlay latency is not a number: ' + stats.latency);
    if (!/latency\s+\d+\.\d+ s/.test(overlay)) failures.push('overlay does not show the latency');
    if (consoleErrors.length) failures.push('page errors: ' + consoleErrors.join('; '));
  } catch (e) {
    failures.push(String(e && e.stack || e));
  } finally {
    if (browser) await browser.close();
    hlsd.child.kill('SIGTERM');
    await new Promise((r) => (hlsd.child.exitCode !== null ? r() : hlsd.child.on('exit', r)));
  }
  for (const f of failures) console.log('FAILED: ' + f);
  console.log(failures.length ? '0 passed, 1 failed' : '1 passed, 0 failed');
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
