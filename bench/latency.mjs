// Live latency in a real player, for the benchmarks: Debian's Chromium (never a downloaded
// browser), driven by playwright-core as tests/browser/play.mjs does, opens hlsd's player page
// (the same page and hls.js for every system: `?src=` points it at another origin's playlist)
// and samples window.hlsdStats.latency (= Date.now() − hls.playingDate, i.e. now minus the
// EXT-X-PROGRAM-DATE-TIME of the frame on screen) every 250 ms for --seconds after the first frame.
//
//   node bench/latency.mjs --seconds 30 --page NAME=URL [--page NAME=URL ...]
//
// Every page gets its own browser process and they play at the same time, so the systems
// compared share the same machine noise. Every request a page makes is counted by kind (LL-HLS
// parts `…-<msn>.<part>.ts|m4s`, segments, playlists, blocking playlist reloads with _HLS_msn)
// over the whole session. Prints one line `RESULT {json}` per page.
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const CHROMIUM = '/usr/bin/chromium';
const require = createRequire(new URL('../tests/browser/package.json', import.meta.url));
const { chromium } = require('playwright-core');

function options() {
  const o = { seconds: 30, pages: [], timeout: 30 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (key === '--seconds') o.seconds = Number(value);
    else if (key === '--timeout') o.timeout = Number(value);
    else if (key === '--page') {
      const eq = value.indexOf('=');
      o.pages.push({ name: value.slice(0, eq), url: value.slice(eq + 1) });
    } else throw new Error('unknown option ' + key);
  }
  return o;
}

function quantile(values, q) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))] : NaN;
}

const round = (x, d = 3) => (Number.isFinite(x) ? +x.toFixed(d) : null);

function requestKind(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return 'other';
  }
  if (/\.m3u8$/.test(u.pathname)) return u.searchParams.has('_HLS_msn') ? 'blocking' : 'playlist';
  if (/-\d+\.\d+\.(ts|m4s)$/.test(u.pathname)) return 'part';
  if (/\.(ts|m4s)$/.test(u.pathname)) return 'segment';
  return 'other';
}

async function measure(page, o) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--autoplay-policy=no-user-gesture-required'],
  });
  const result = { name: page.name, url: page.url, seconds: o.seconds };
  try {
    const tab = await browser.newPage();
    const pageErrors = [];
    tab.on('pageerror', (e) => pageErrors.push(String(e)));
    const requests = { part: 0, segment: 0, playlist: 0, blocking: 0, other: 0 };
    tab.on('request', (r) => { requests[requestKind(r.url())]++; });
    const opened = Date.now();
    await tab.goto(page.url);
    await tab.waitForFunction(() => window.hlsdStats && window.hlsdStats.playing, null,
                              { timeout: o.timeout * 1000 });
    result.time_to_first_frame = round((Date.now() - opened) / 1000, 2);
    const t0 = await tab.evaluate(() => document.getElementById('video').currentTime);
    const latencies = [];
    const start = Date.now();
    while (Date.now() - start < o.seconds * 1000) {
      await sleep(250);
      latencies.push(await tab.evaluate(() => window.hlsdStats.latency));
    }
    const t1 = await tab.evaluate(() => document.getElementById('video').currentTime);
    const stats = await tab.evaluate(() => ({ ...window.hlsdStats }));
    Object.assign(result, {
      ok: true,
      samples: latencies.length,
      latency_median: round(quantile(latencies, 0.5)),
      latency_p95: round(quantile(latencies, 0.95)),
      latency_min: round(quantile(latencies, 0)),
      latency_max: round(quantile(latencies, 1)),
      advanced: round(t1 - t0, 2),
      stalls: stats.stalls,
      stalls_dry: stats.stallsDry,
      seek_waits: stats.seekWaits,
      wait_log: stats.waitLog,
      latency_per_second: latencies.filter((_, i) => i % 4 === 3).map((x) => round(x, 2)),
      errors: stats.errors,
      fatal: stats.fatal,
      mode: stats.mode,
      target_duration: stats.targetDuration,
      parts_requested: requests.part,
      segments_requested: requests.segment,
      playlist_requests: requests.playlist + requests.blocking,
      blocking_requests: requests.blocking,
      low_latency: stats.lowLatency,
      part_target: round(stats.partTarget),
      part_hold_back: round(stats.partHoldBack),
      target_latency_end: round(stats.targetLatency),
      parts_loaded: stats.partsLoaded,
      catch_up: stats.catchUp,
      resolution: `${stats.width}x${stats.height}`,
      page_errors: pageErrors,
    });
  } catch (e) {
    Object.assign(result, { ok: false, error: String((e && e.message) || e).split('\n')[0] });
  } finally {
    await browser.close();
  }
  return result;
}

const o = options();
const results = await Promise.all(o.pages.map((p) => measure(p, o)));
for (const r of results) console.log('RESULT ' + JSON.stringify(r));
