// The players people already use, each alone in a page of its own, loaded as its README shows,
// against hlsd started with the shipped conf/hlsd.yml: Shaka Player, Video.js (VHS), hls.js
// (defaults, and the settings Mainsail and Fluidd use) and hlsd's own page. Each plays for
// --seconds in Debian's Chromium; what a viewer sees is measured: playback advancing, fatal
// errors, waiting events, and the median latency (now − EXT-X-PROGRAM-DATE-TIME of the frame
// on screen, as the player maps it).
//
// Two sets of bounds. The goals (the issue's): playing >= 95 % of the time, at most one
// `waiting`, median latency <= 1.5 s in low-latency modes, <= 1.0 s for hls.js with its defaults
// and hlsd's page, <= 3 x TARGETDURATION + 0.5 s with low-latency mode off; each result says
// whether it met them (goal_misses), bench/RESULTS.md tables them. The test fails on the
// limits: no fatal error, a low-latency mode that fetches parts with blocking reloads,
// playing >= 90 %, a `waiting` outside seeks at most every 5 s (3 at least), and a median
// latency that standard HLS cannot reach (< 2.5 s in low-latency modes, 1.5 s for hlsd's
// page, which catches up; 3 x TARGETDURATION + 1.5 s otherwise): what a working player shows
// on a machine whose CPU is shared (20-60 % steal measured here), where a player that never
// catches up keeps whatever its start-up cost it, and hls.js adds 1 s of hold-back for good
// after any stall.
//
//   node tests/browser/players.mjs --hlsd build/hlsd [--players shaka-ll,hlsjs,...]
//        [--container mpegts|fmp4] [--seconds 60] [--hog 0] [--json out.json]
//        [--hlsd-args "--part-duration 0.1"] [--warmup 15] [--log-requests 1 [--debug 1]]
//        [--edge nginx|varnish [--python python3]]
//
// --log-requests 1 puts each request and console line in the JSON; --debug 1 also loads
// Shaka's debug build at its verbose log level (the other pages ignore it).
//
// --edge: the players get the stream through that shipped caching edge (tests/edge/edgelib.py,
// plain HTTP to the edge: caching is the question here, TLS and HTTP/2 are edge.mjs's), the
// same bounds; the requests counted are those to the edge.
//
// --hog S keeps both cores busy for the first S seconds of each player's run, from before the
// page loads: a low-latency player must still end up within its bound (judged on the samples
// from 10 s after the hog ended; waiting events are not counted).
//
// Exit 0: passed; 1: failed; 77: skipped because Chromium is not installed (said plainly).
import { spawn } from 'node:child_process';
import { chmodSync, createReadStream, existsSync, mkdtempSync, rmSync, statSync,
         writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromiumMissing, cpuShare, cpuTimes, finish, launchChromium, liveBase, newPage,
         parseOptions, quantile, SKIP, startHlsd, stop, track } from './common.mjs';
import { edgeProgramsInstalled, startEdges } from './edges.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');

// bound: the goal for the median latency (s), from the issue: low-latency modes 1.5 s, hls.js
// with its defaults and hlsd's page 1.0 s, standard HLS 3 × TARGETDURATION + 0.5 s; limit:
// where the test fails (2.5 s unless given).
const STANDARD = 'standard';
export const PLAYERS = {
  'shaka-ll': { page: 'shaka.html', config: { streaming: { lowLatencyMode: true } }, bound: 1.5 },
  'shaka': { page: 'shaka.html', config: { streaming: { lowLatencyMode: false } },
             bound: STANDARD },
  // settle: VHS may start at the live edge (it gives the segment being written a whole
  // TARGETDURATION: README, Players) and then waits at each part for a few seconds until it has
  // drifted off it; the limit counts its waits after that, the goal all of them.
  'videojs-ll': { page: 'videojs.html', config: { llhls: true }, bound: 1.5, settle: 6 },
  'videojs': { page: 'videojs.html', config: { llhls: false }, bound: STANDARD },
  'hlsjs': { page: 'hlsjs.html', config: {}, bound: 1.0 },
  'hlsjs-mainsail': { page: 'hlsjs.html', bound: 1.5,
                      config: { lowLatencyMode: true, liveSyncDuration: 0.5,
                                liveMaxLatencyDuration: 2, maxLiveSyncPlaybackRate: 2 } },
  'hlsd-page': { page: null, config: {}, bound: 1.0, limit: 1.5 },
};

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css',
                '.map': 'application/json' };

// The pages and the players' npm files, on a loopback origin of their own (a dashboard's
// origin is not hlsd's either: every request to hlsd is cross-origin, as in real use).
export function servePages() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = path.startsWith('/node_modules/') ? normalize(join(HERE, path))
                                                   : normalize(join(HERE, 'pages', path));
    if (!file.startsWith(HERE) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// Both cores busy for `seconds`: one program spinning on two threads, in a session of its own
// as another program on the machine would be. The kernel shares CPU time between sessions
// first (autogroup scheduling, sched_autogroup_enabled; under systemd, between cgroups), so
// spinners in this script's session would take two thirds of the share of the hlsd it starts
// (as in startHlsd: hlsd.service runs in a session and cgroup of its own). It ends on its own
// 2 s late should this script die before it stops it.
function hog(seconds) {
  const end = `const end = Date.now() + ${(seconds + 2) * 1000}; while (Date.now() < end) {}`;
  const spin = `new (require('node:worker_threads').Worker)(${JSON.stringify(end)}, { eval: true }); ${end}`;
  const kid = track(spawn(process.execPath, ['-e', spin], { stdio: 'ignore', detached: true }));
  return { done: sleep(seconds * 1000).then(() => stop(kid, 'SIGKILL')) };
}

async function playOne(browser, name, spec, o, streamBase, pagesBase) {
  const { page, pageErrors } = await newPage(browser);
  const src = streamBase + 'live/index.m3u8';
  const url = spec.page
    ? `${pagesBase}${spec.page}?src=${encodeURIComponent(src)}&config=` +
        encodeURIComponent(JSON.stringify({ ...spec.config, ...JSON.parse(o.playerConfig) })) +
        (o.debug ? '&debug=1' : '')
    : streamBase;
  if (!spec.page) {
    // hlsd's page reports its own latency; the probe watches its <video> like the others'.
    await page.addInitScript({ path: join(HERE, 'pages', 'probe.js') });
    await page.addInitScript(() => document.addEventListener('DOMContentLoaded', () => {
      window.probe.watch(document.querySelector('video'));
      window.probe.programDate = () => {
        const l = window.hlsdStats && window.hlsdStats.latency;
        return Number.isFinite(l) ? new Date(Date.now() - l * 1000) : null;
      };
    }));
  }
  // What the player asks hlsd for: parts and blocking playlist reloads (LL-HLS) or neither.
  const asked = { parts: 0, blocking: 0, segments: 0 };
  const requests = [];  // --log-requests: the first 200, when they started and ended, Age
  const started = new Map();
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(streamBase + 'live/')) return;
    if (o.logRequests && requests.length < 200) {
      const e = { at: Date.now(), url: u.slice(streamBase.length + 5), ms: null };
      started.set(r, e);
      requests.push(e);
    }
    if (/_HLS_msn=/.test(u)) ++asked.blocking;
    else if (/-\d+\.\d+\.(ts|m4s)$/.test(u)) ++asked.parts;
    else if (/-\d+\.(ts|m4s)$/.test(u)) ++asked.segments;
  });
  const consoleLines = [];
  if (o.logRequests) {
    page.on('console', (m) => {
      if (consoleLines.length < 2000) consoleLines.push(`${Date.now()} ${m.text().slice(0, 300)}`);
    });
  }
  page.on('requestfinished', async (r) => {
    const e = started.get(r);
    if (!e) return;
    e.ms = Date.now() - e.at;
    // Through an edge: how old the cache's copy was (Varnish sends Age; nginx does not).
    const age = await r.response().then((x) => x && x.headers().age, () => undefined);
    if (age !== undefined) e.age = Number(age);
  });
  const hogging = o.hog > 0 ? hog(o.hog) : null;
  const t0 = Date.now();
  const cpu0 = cpuTimes();
  await page.goto(url);
  const samples = [];
  while (Date.now() - t0 < (o.seconds + 30) * 1000) {
    const s = await page.evaluate(() => window.probe.sample()).catch(() => null);
    if (s) samples.push(s);
    const started = samples.find((x) => x.playing);
    if (started && Date.now() - started.at >= o.seconds * 1000) break;
    await sleep(250);
  }
  if (hogging) await hogging.done;
  const cpu = cpuShare(cpu0, cpuTimes());
  const probe = await page.evaluate(() => ({ waits: window.probe.waits, seeks: window.probe.seeks,
                                             errors: window.probe.errors,
                                             fatal: window.probe.fatal,
                                             firstPlaying: window.probe.firstPlaying }));
  await page.close();

  const r = { player: name, container: o.container, hog: o.hog, seconds: o.seconds, ...cpu, ...asked,
              errors: probe.errors, pageErrors, fatal: probe.fatal };
  if (!probe.firstPlaying) {
    r.failed = 'never played';
    return r;
  }
  r.first_frame_s = +((probe.firstPlaying - t0) / 1000).toFixed(2);
  if (o.logRequests) {
    const since = (t) => +((t - probe.firstPlaying) / 1000).toFixed(3);
    r.requests = requests.map((e) => ({ ...e, at: since(e.at) }));
    r.console = consoleLines.map((l) => since(Number(l.split(' ')[0])) + ' ' + l.replace(/^\d+ /, ''));
  }
  const after = samples.filter((s) => s.at >= probe.firstPlaying);
  let advancing = 0;
  for (let i = 1; i < after.length; ++i) {
    if (after[i].position > after[i - 1].position) ++advancing;
  }
  r.playing_share = after.length > 1 ? +(advancing / (after.length - 1)).toFixed(3) : 0;
  r.waits = probe.waits.length;
  r.waits_seeking = probe.waits.filter((w) => w.seeking).length;
  r.waits_settling = probe.waits.filter(
    (w) => !w.seeking && (w.at - probe.firstPlaying) / 1000 < (spec.settle || 0)).length;
  const afterFirst = (t) => +((t - probe.firstPlaying) / 1000).toFixed(2);
  r.wait_log = probe.waits.slice(0, 10).map((w) => ({
    at: afterFirst(w.at), ahead: +w.ahead.toFixed(3),
    seeking: w.seeking, position: +w.position.toFixed(2), ranges: w.ranges }));
  // Seeks from 1 s after the first frame on: the player correcting itself mid-play.
  r.seeks = probe.seeks.filter((k) => afterFirst(k.at) >= 1).length;
  r.seek_log = probe.seeks.slice(0, 10).map((k) => ({ ...k, at: afterFirst(k.at),
                                                      position: +k.position.toFixed(2) }));
  r.last = samples.length ? { position: samples[samples.length - 1].position,
                              ranges: samples[samples.length - 1].ranges } : null;
  const judged = o.hog > 0 ? after.filter((s) => s.at >= t0 + (o.hog + 10) * 1000) : after;
  const lat = judged.map((s) => s.latency);
  r.latency_median = +quantile(lat, 0.5).toFixed(3);
  r.latency_p90 = +quantile(lat, 0.9).toFixed(3);
  r.latency_first = +quantile(after.slice(0, 8).map((s) => s.latency), 0.5).toFixed(3);
  r.latency_samples = lat.filter(Number.isFinite).length;
  return r;
}

// What `r` misses of the bounds: goals (slack 0) or limits (slack 1).
function misses(r, { bound, limit = 2.5 }, targetDuration, slack) {
  const f = [];
  if (r.playing_share < 0.95 - 0.05 * slack)
    f.push(`playback advanced ${r.playing_share} of the time`);
  // The limit counts the waits of playback running dry, not those of the player's own seeks
  // (a gap jump is three `waiting` in 10 ms, two of them while seeking), and allows one per
  // 5 s: a player that drops parts waits about once a second, one that plays too close to
  // the live edge (Video.js sometimes starts 0.35 s behind it) a few times a minute.
  const waits = slack ? r.waits - r.waits_seeking - (r.waits_settling || 0) : r.waits;
  const maxWaits = slack ? Math.max(3, Math.floor(r.seconds / 5)) : 1;
  if (!r.hog && waits > maxWaits)
    f.push(`${r.waits} waiting events ${JSON.stringify(r.wait_log)}`);
  const max = bound === STANDARD ? 3 * targetDuration + 0.5 + slack : slack ? limit : bound;
  if (!(r.latency_median <= max)) f.push(`median latency ${r.latency_median} s > ${max} s`);
  return f;
}

function judge(r, spec, targetDuration) {
  const tag = `${r.player} (${r.container}${r.hog ? ', hog ' + r.hog + ' s' : ''})`;
  if (r.failed) return [`${tag}: ${r.failed}; errors ${JSON.stringify(r.errors)}`];
  const f = misses(r, spec, targetDuration, 1);
  if (r.fatal) f.push(`fatal error ${r.fatal}`);
  if (r.pageErrors.length) f.push(`page errors ${r.pageErrors.join('; ')}`);
  // A low-latency mode that fetched no part or never blocked is not LL-HLS playback.
  if (spec.bound !== STANDARD && (r.parts === 0 || r.blocking === 0))
    f.push(`low-latency mode fetched ${r.parts} parts, ${r.blocking} blocking reloads`);
  return f.map((x) => `${tag}: ${x}`);
}

async function main() {
  const o = parseOptions({ hlsd: 'build/hlsd', players: Object.keys(PLAYERS).join(','),
                           container: '', seconds: 60, hog: 0, json: '', hlsdArgs: '',
                           warmup: 15, logRequests: 0, debug: 0, playerConfig: '{}', edge: '',
                           python: 'python3', config: join(ROOT, 'conf', 'hlsd.yml') });
  const names = o.players.split(',');
  for (const n of names) if (!(n in PLAYERS)) throw new Error('unknown player ' + n);
  if (chromiumMissing()) return SKIP;
  if (o.edge && !edgeProgramsInstalled(o.edge)) return SKIP;
  const args = ['--config', o.config];
  if (o.container) args.push('--container', o.container);
  if (o.hlsdArgs) args.push(...o.hlsdArgs.split(' ').filter(Boolean));
  o.container = o.container || 'fmp4 (default)';
  const hlsd = startHlsd(o.hlsd, args);
  let browser;
  let pages;
  let edge, edgeDir;
  const failures = [];
  const results = [];
  try {
    let streamBase = await liveBase(hlsd);
    if (o.edge) {
      edgeDir = mkdtempSync(join(tmpdir(), 'hlsd-players-edge-'));
      chmodSync(edgeDir, 0o755);  // nginx's workers (not root) reach their cache under it
      edge = startEdges(o.python, streamBase.replace(/^http:\/\/|\/$/g, ''), edgeDir, 1, o.edge);
      streamBase = (await edge.edges).edges[0].base;
    }
    pages = await servePages();
    const pagesBase = `http://127.0.0.1:${pages.address().port}/`;
    // A camera has been up for a while when someone opens it: its media timeline is far from 0
    // (Shaka Player places parts differently then; see README, LL-HLS).
    await sleep(o.warmup * 1000);
    const playlist = await (await fetch(streamBase + 'live/index.m3u8')).text();
    const targetDuration = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(playlist)[1]);
    browser = await launchChromium();
    for (const name of names) {
      const r = await playOne(browser, name, PLAYERS[name], o, streamBase, pagesBase);
      if (o.edge) r.edge = o.edge;
      results.push(r);
      r.goal_misses = r.failed ? [r.failed] : misses(r, PLAYERS[name], targetDuration, 0);
      const fails = judge(r, PLAYERS[name], targetDuration);
      failures.push(...fails);
      const { errors, wait_log, pageErrors, goal_misses, ...brief } = r;
      brief.goal = goal_misses.length ? goal_misses.map((m) => m.slice(0, 60)) : 'met';
      console.log(JSON.stringify({ ...brief, errors: errors.length,
                                   first_errors: errors.slice(0, 3).map((e) => e.text) }));
    }
  } catch (e) {
    failures.push(String(e && e.stack ? e.stack : e));
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (pages) pages.close();
    if (edge) await edge.close();
    await stop(hlsd.child);
    if (edgeDir) rmSync(edgeDir, { recursive: true, force: true });
  }
  if (o.json) writeFileSync(o.json, JSON.stringify(results, null, 1));
  return finish(failures);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then((code) => process.exit(code), (e) => { console.error(e); process.exit(1); });
}
