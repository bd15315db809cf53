// LL-HLS through the shipped nginx edge (packaging/examples/nginx-edge.conf) in Debian's
// Chromium: hlsd (shipped conf/hlsd.yml) with edges in front of it (tests/edge/edgelib.py, a
// test CA that Chromium trusts through the NSS database of a HOME of the test's own, as in
// access.mjs: no certificate check switched off), and two pages playing AT THE SAME TIME, each
// in a Chromium of its own (the same machine noise for both): hlsd's own player page direct
// (http://127.0.0.1:PORT/) and the same page through the edge over TLS and HTTP/2
// (https://127.0.0.2:PORT/: the edge proxies the page and hls.min.js too). Then, if --hlsjs 1,
// the same pair with a plain hls.js page (hls.js defaults + lowLatencyMode, players.mjs's
// 'hlsjs'), direct and through the edge, again at the same time.
//
// Latency is now − EXT-X-PROGRAM-DATE-TIME of the frame on screen (as players.mjs samples it),
// every 250 ms for --seconds after the first frame. Through CDP (Network.responseReceived) every
// response of the stream is sorted by kind (playlist, blocking reload with _HLS_msn, part,
// segment) with its protocol and the edge's X-Cache.
//
// Passes when every page plays (currentTime advancing >= 95 % of the time after the first
// frame) with no fatal error; the playlist, parts and blocking reloads through the edge all came
// over "h2", and blocking reloads and parts were used; at most one `waiting` after the start
// through the edge (outside the player's own seeks); and the median latency through the edge is
// <= the direct page's median + --margin (0.2 s). The hls.js pair is held to the same bounds but
// the latency, which is only reported: hls.js with its defaults plays on at rate 1 from wherever
// its start put it, and that varies between two starts by more than the margin (see judge()).
// With --tiers 2 the edge pages go through the second tier (an edge of an edge), same bounds.
//
//   node tests/browser/edge.mjs --hlsd build/hlsd [--tiers 1|2] [--seconds 40] [--hlsjs 1]
//        [--margin 0.2] [--json out.json] [--trace 40] [--aa 1] [--engine nginx|varnish]
//
// --engine varnish: the shipped Varnish edge (varnish-edge.vcl behind nginx-varnish-edge.conf)
// instead, for the benchmark. --trace N: the first N requests of each page in the result.
// --aa 1: both pages of each pair direct (an A/A run: the noise of the comparison itself).
//
// Prints one line `RESULT {json}`. Exit 0: passed; 1: failed; 77: skipped because Chromium,
// nginx or certutil is not installed (said plainly).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromiumMissing, cpuShare, cpuTimes, finish, launchChromium, liveBase, newPage,
         parseOptions, quantile, SKIP, startHlsd, stop } from './common.mjs';
import { edgeProgramsInstalled, startEdges } from './edges.mjs';
import { servePages } from './players.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const round = (x, d = 3) => (Number.isFinite(x) ? +x.toFixed(d) : null);

// What a response of the stream is, from its URL.
function kindOf(url, streamBase) {
  if (!url.startsWith(streamBase + 'live/')) return null;
  const u = new URL(url);
  if (/\.m3u8$/.test(u.pathname)) return u.searchParams.has('_HLS_msn') ? 'blocking' : 'playlist';
  if (/-\d+\.\d+\.(ts|m4s)$/.test(u.pathname)) return 'part';
  if (/-\d+\.(ts|m4s)$/.test(u.pathname)) return 'segment';
  return 'other';
}

// The same accounting for both pages, set before any of their scripts run: the first frame,
// every `waiting` after it (and whether it came in a seek: a viewer's seek or
// hls.js's gap jump, or within 250 ms after one, as player.js counts them), fatal errors.
function watchPage() {
  performance.setResourceTimingBufferSize(10000);
  const t = { firstPlaying: 0, waits: [], seekedAt: -1e12 };
  window.edgeTest = t;
  document.addEventListener('playing', () => { if (!t.firstPlaying) t.firstPlaying = Date.now(); },
                            true);
  document.addEventListener('seeked', () => { t.seekedAt = Date.now(); }, true);
  document.addEventListener('waiting', (e) => {
    if (!t.firstPlaying) return;
    const v = e.target, b = v.buffered;
    const ahead = b.length ? b.end(b.length - 1) - v.currentTime : 0;
    if (t.waits.length < 50) {
      t.waits.push({ at: Date.now(), position: +v.currentTime.toFixed(3), ahead: +ahead.toFixed(3),
                     seeking: v.seeking || Date.now() - t.seekedAt < 250 });
    }
  }, true);
}

// One sample: position and latency (now − PROGRAM-DATE-TIME of the frame on screen).
function sample() {
  const v = document.querySelector('video');
  let latency = NaN, fatal = null;
  if (window.hlsdStats) {  // hlsd's page computes it every 250 ms
    latency = window.hlsdStats.latency;
    fatal = window.hlsdStats.fatal;
  } else if (window.hls) {  // the plain hls.js page
    const d = window.hls.playingDate;
    if (d) latency = (Date.now() - d.getTime()) / 1000;
    fatal = window.probe && window.probe.fatal;
  }
  return { at: Date.now(), position: v ? v.currentTime : NaN, latency, fatal,
           firstPlaying: window.edgeTest.firstPlaying };
}

// Opens `url` in `browser` and plays it for o.seconds after its first frame.
async function play(browser, name, url, streamBase, o) {
  const { page, pageErrors } = await newPage(browser);
  await page.addInitScript(watchPage);
  const responses = {};  // kind → { protocol → n }
  const cache = {};      // kind → { X-Cache → n }
  const headersMs = { part: [], blocking: [], playlist: [], segment: [] };
  const requests = { playlist: 0, blocking: 0, part: 0, segment: 0, other: 0 };
  const cacheOf = new Map();  // URL → the edge's X-Cache, for --trace
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Network.requestWillBeSent', (e) => {
    const kind = kindOf(e.request.url, streamBase);
    if (kind) ++requests[kind];
  });
  cdp.on('Network.responseReceived', (e) => {
    const kind = kindOf(e.response.url, streamBase);
    if (!kind) return;
    const p = e.response.protocol || '?';
    (responses[kind] ||= {})[p] = (responses[kind][p] || 0) + 1;
    const h = Object.fromEntries(Object.entries(e.response.headers || {})
      .map(([k, v]) => [k.toLowerCase(), v]));
    if (h['x-cache']) (cache[kind] ||= {})[h['x-cache']] = (cache[kind][h['x-cache']] || 0) + 1;
    const t = e.response.timing;
    if (t && headersMs[kind]) headersMs[kind].push(t.receiveHeadersEnd - t.sendStart);
    if (o.trace && h['x-cache'] && cacheOf.size < 1000)
      cacheOf.set(e.response.url, h['x-cache']);
  });
  await cdp.send('Network.enable');

  const t0 = Date.now();
  await page.goto(url);
  const samples = [];
  let first = 0;
  while (Date.now() - t0 < (o.seconds + 30) * 1000) {
    const s = await page.evaluate(sample).catch(() => null);
    if (s) {
      samples.push(s);
      first = s.firstPlaying;
      if (first && s.at - first >= o.seconds * 1000) break;
    }
    await sleep(250);
  }
  const end = await page.evaluate((live) => ({
    // The stream's requests as the page timed them (its clock, as firstPlaying's).
    timing: performance.getEntriesByType('resource').filter((e) => e.name.startsWith(live))
      .slice(0, 200).map((e) => ({ url: e.name, start: performance.timeOrigin + e.startTime,
                                   // 0 cross-origin (no Timing-Allow-Origin)
                                   first: e.responseStart ? performance.timeOrigin + e.responseStart
                                                          : null,
                                   end: performance.timeOrigin + e.responseEnd })),
    waits: window.edgeTest.waits,
    stats: window.hlsdStats ? { partsLoaded: window.hlsdStats.partsLoaded,
                                catchUp: window.hlsdStats.catchUp,
                                stalls: window.hlsdStats.stalls, fatal: window.hlsdStats.fatal,
                                partHoldBack: window.hlsdStats.partHoldBack }
                              : { errors: window.probe && window.probe.errors.slice(0, 5),
                                  fatal: window.probe && window.probe.fatal,
                                  targetLatency: window.hls && window.hls.targetLatency },
  }), streamBase + 'live/').catch((e) => ({ timing: [], waits: [],
                                            stats: { fatal: 'page gone: ' + e } }));
  await cdp.detach().catch(() => {});
  await page.close();

  const r = { page: name, url, requests, protocols: responses, x_cache: cache,
              page_errors: pageErrors, fatal: end.stats.fatal || null };
  const ms = (v, q) => round(quantile(v, q), 0);
  r.headers_ms = Object.fromEntries(Object.entries(headersMs).filter(([, v]) => v.length)
    .map(([k, v]) => [k, { median: ms(v, 0.5), p90: ms(v, 0.9), max: ms(v, 1) }]));
  if (!first) {
    r.failed = 'never played';
    return r;
  }
  r.first_frame_s = round((first - t0) / 1000, 2);
  // From the first playlist to the first frame: a player that plays on at rate 1 (hls.js with
  // its defaults) keeps what this adds to the latency for good.
  const playlist = end.timing.find((e) => kindOf(e.url, streamBase) === 'playlist');
  if (playlist) r.tune_in_s = round((first - playlist.end) / 1000, 3);
  if (o.trace) {
    const since = (t) => round((t - first) / 1000, 3);
    r.trace = end.timing.slice(0, o.trace).map((e) => ({
      url: e.url.slice(streamBase.length + 5), start: since(e.start),
      first: e.first ? since(e.first) : null,
      end: since(e.end), cache: cacheOf.get(e.url) }));
    r.first_samples = samples.filter((s) => s.at >= first - 500).slice(0, 24)
      .map((s) => [round((s.at - first) / 1000, 2), round(s.position, 2), round(s.latency, 2)]);
  }
  const after = samples.filter((s) => s.at >= first);
  let advancing = 0;
  for (let i = 1; i < after.length; ++i) if (after[i].position > after[i - 1].position) ++advancing;
  r.playing_share = after.length > 1 ? round(advancing / (after.length - 1)) : 0;
  const lat = after.map((s) => s.latency);
  r.latency_median = round(quantile(lat, 0.5));
  r.latency_p90 = round(quantile(lat, 0.9));
  r.latency_samples = lat.filter(Number.isFinite).length;
  r.latency_per_5s = after.filter((_, i) => i % 20 === 19).map((s) => round(s.latency, 2));
  r.waits = end.waits.filter((w) => !w.seeking).length;
  r.waits_in_seeks = end.waits.length - r.waits;
  r.wait_log = end.waits.slice(0, 8).map((w) => ({ ...w, at: round((w.at - first) / 1000, 2) }));
  if (end.stats.catchUp) r.catch_up = end.stats.catchUp;
  if (end.stats.targetLatency) r.hlsjs_target_latency = round(end.stats.targetLatency);
  if (!r.fatal) r.fatal = samples.map((s) => s.fatal).find(Boolean) || null;
  return r;
}

// Two pages at the same time, each in its own Chromium (`env`: the edge page's, which trusts
// the test CA).
async function pair(pages, o) {
  const browsers = await Promise.all(pages.map((p) => launchChromium(p.env)));
  try {
    const cpu0 = cpuTimes();
    const results = await Promise.all(pages.map((p, i) =>
      play(browsers[i], p.name, p.url, p.streamBase, o)));
    const cpu = cpuShare(cpu0, cpuTimes());
    return results.map((r) => ({ ...r, ...cpu }));
  } finally {
    await Promise.all(browsers.map((b) => b.close().catch(() => {})));
  }
}

// What a pair misses of the bounds. `latency`: whether the pair's latencies are compared
// (hlsd's page: it seeks to hls.js's live sync position once, so both pages play where the
// stream lets them; hls.js with its defaults keeps whatever offset its start gave it at rate 1,
// which varies from one start to the next by more than the margin: reported, not judged).
function judge(direct, edge, o, tag, latency) {
  const f = [];
  const busy = ` (machine idle ${edge.idle_pct} %, steal ${edge.steal_pct} %)`;
  for (const r of [direct, edge]) {
    const who = `${tag} ${r.page}`;
    if (r.failed) {
      f.push(`${who}: ${r.failed}`);
      continue;
    }
    if (!(r.playing_share >= 0.95))
      f.push(`${who}: playback advanced ${r.playing_share} of the time${busy}`);
    if (r.fatal) f.push(`${who}: fatal error ${r.fatal}`);
    if (r.page_errors.length) f.push(`${who}: page errors ${r.page_errors.join('; ')}`);
    if (!(r.requests.part > 0 && r.requests.blocking > 0)) {
      f.push(`${who}: ${r.requests.part} parts, ${r.requests.blocking} blocking reloads: ` +
             'not LL-HLS');
    }
  }
  if (edge.failed || direct.failed) return f;
  for (const kind of o.aa ? [] : ['playlist', 'part', 'blocking']) {
    const p = edge.protocols[kind] || {};
    const other = Object.entries(p).filter(([k]) => k !== 'h2');
    if (!p.h2 || other.length)
      f.push(`${tag} edge: ${kind} responses by protocol ${JSON.stringify(p)}, all "h2" expected`);
  }
  if (edge.waits > 1) {
    f.push(`${tag} edge: ${edge.waits} waiting events ${JSON.stringify(edge.wait_log)}; ` +
           `direct: ${direct.waits}${busy}`);
  }
  const max = round(direct.latency_median + o.margin);
  if (latency && !(edge.latency_median <= max)) {
    f.push(`${tag}: median latency through ${o.tiers} edge tier(s) ${edge.latency_median} s > ` +
           `direct ${direct.latency_median} s + ${o.margin} s${busy}`);
  }
  return f;
}

function brief(r) {
  const { url, wait_log, page_errors, ...rest } = r;
  return { ...rest, wait_log: r.waits ? wait_log : undefined,
           page_errors: page_errors.length ? page_errors : undefined };
}

async function main() {
  const o = parseOptions({ hlsd: 'build/hlsd', tiers: 1, seconds: 40, hlsjs: 1, margin: 0.2,
                           warmup: 3, python: 'python3', json: '', trace: 0, aa: 0,
                           engine: 'nginx', config: join(ROOT, 'conf', 'hlsd.yml') });
  if (chromiumMissing()) return SKIP;
  if (!edgeProgramsInstalled(o.engine, { certutil: 'libnss3-tools' })) return SKIP;
  if (![1, 2].includes(o.tiers)) throw new Error('--tiers 1 or 2');
  const dir = mkdtempSync(join(tmpdir(), 'hlsd-edge-browser-'));
  chmodSync(dir, 0o755);  // nginx's workers (not root) reach their cache under it
  const hlsd = startHlsd(o.hlsd, ['--config', o.config,
                                  '--trusted-proxies', '127.0.0.2,127.0.0.3']);
  let edge, pagesServer;
  const failures = [];
  const result = { engine: o.engine, tiers: o.tiers, seconds: o.seconds, margin: o.margin };
  try {
    const direct = await liveBase(hlsd);
    const origin = direct.replace(/^http:\/\/|\/$/g, '');
    edge = startEdges(o.python, origin, dir, o.tiers, o.engine);
    const edges = await edge.edges;
    // The last tier, farthest from hlsd. --aa 1: both pages of each pair direct (an A/A run:
    // how far two pages that play the same way differ on this machine).
    const viaEdge = o.aa ? direct : edges.edges[o.tiers - 1].tls_base;
    result.edge = viaEdge;
    // The test CA's root in the NSS database of the edge page's HOME, as `certutil` puts it.
    const home = join(dir, 'home'), db = 'sql:' + join(home, '.pki/nssdb');
    mkdirSync(join(home, '.pki/nssdb'), { recursive: true });
    execFileSync('certutil', ['-d', db, '-N', '--empty-password']);
    execFileSync('certutil', ['-d', db, '-A', '-t', 'C,,', '-n', 'hlsd edge test root', '-i',
                              edges.ca.ca]);
    const trusting = { ...process.env, HOME: home };
    await sleep(o.warmup * 1000);

    // hlsd's page, direct and through the edge(s), at the same time.
    const [d, e] = await pair([
      { name: 'hlsd-page direct', url: direct, streamBase: direct },
      { name: `hlsd-page via ${o.tiers} edge tier(s)`, url: viaEdge, streamBase: viaEdge,
        env: trusting }], o);
    result.hlsd_page = { direct: brief(d), edge: brief(e),
                         latency_added: round(e.latency_median - d.latency_median) };
    failures.push(...judge(d, e, o, 'hlsd page', true));

    // A plain hls.js page (defaults + lowLatencyMode), its origin a third one (as a
    // dashboard's), direct and through the edge(s), at the same time.
    if (o.hlsjs) {
      pagesServer = await servePages();
      const pagesBase = `http://127.0.0.1:${pagesServer.address().port}/`;
      const hlsjs = (base) => `${pagesBase}hlsjs.html?src=` +
        encodeURIComponent(base + 'live/index.m3u8') + '&config=' +
        encodeURIComponent(JSON.stringify({ lowLatencyMode: true }));
      const [hd, he] = await pair([
        { name: 'hlsjs direct', url: hlsjs(direct), streamBase: direct },
        { name: `hlsjs via ${o.tiers} edge tier(s)`, url: hlsjs(viaEdge), streamBase: viaEdge,
          env: trusting }], o);
      result.hlsjs = { direct: brief(hd), edge: brief(he),
                       latency_added: round(he.latency_median - hd.latency_median) };
      failures.push(...judge(hd, he, o, 'hls.js', false));
    }
  } catch (err) {
    failures.push(String((err && err.stack) || err));
  } finally {
    if (pagesServer) pagesServer.close();
    if (edge) await edge.close();
    await stop(hlsd.child);
    rmSync(dir, { recursive: true, force: true });
  }
  result.passed = failures.length === 0;
  result.failures = failures;
  console.log('RESULT ' + JSON.stringify(result));
  if (o.json) writeFileSync(o.json, JSON.stringify(result, null, 1));
  return finish(failures);
}

process.exitCode = await main();
