// Every playlist hlsd serves passes a strict parser at every moment of the segment cycle:
// hls-parser in strictMode, and RFC 8216bis §6.2.2 checked here on its own ("EXT-X-PART tags
// SHOULD be removed from the Playlist after they are greater than three Target Durations from
// the end of the Playlist"). For each configuration (list sizes × part durations × containers)
// hlsd runs the test pattern and, for --seconds, four loops fetch the playlist: plain, delta
// update (_HLS_skip=YES), and blocking reloads (_HLS_msn/_HLS_part) for the next part the last
// answer announced, with and without _HLS_skip, so every part boundary is sampled.
//
// The rule, as measured here: the end of the Playlist is the end of its last media, i.e. the
// complete segments' EXTINFs plus the parts of the segment being written (a preload hint has
// no duration). A part's distance from the end is the media after its start; every listed
// part must be within 3 × TARGETDURATION. hls-parser measures in segments instead: parts only
// on the last three segments of its list, where the trailing one is the segment being written,
// or the preload hint alone right after a segment completed.
// Also checked, so that nothing a player needs goes missing: parts are removed oldest first
// (every segment after one with parts has parts), the segment holding the point PART-HOLD-BACK
// before the end (where a player starts) and every later one list their parts, and a blocking
// reload answers with the part it asked for.
//
// List size 8 is there for the delta updates: shorter playlists never outgrow CAN-SKIP-UNTIL
// (6 s), so their _HLS_skip=YES answer is the whole playlist.
//
//   node tests/browser/playlists.mjs --hlsd build/hlsd [--seconds 12]
//        [--list-sizes 2,3,4,5,6,8] [--part-durations 0.2,0.1] [--containers mpegts,fmp4]
//
// Exit 0: passed; 1: failed (each failure printed with the offending playlist).
import HLS from 'hls-parser';
import { setTimeout as sleep } from 'node:timers/promises';
import { finish, liveBase, parseOptions, startHlsd, stop } from './common.mjs';

const EPS = 0.005;  // durations are printed with 3 decimals; their sums drift a little
const children = new Set();
function killAll() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { killAll(); process.exit(1); });

// Just enough of a media playlist for the checks: segments (msn, EXTINF or null while being
// written, parts), TARGETDURATION, PART-HOLD-BACK, the skip count and the preload hint.
function scan(text) {
  const p = { td: NaN, phb: NaN, msn: 0, skipped: 0, hint: null, segments: [] };
  let cur = null;
  const open = () => (cur ??= { msn: p.msn + p.skipped + p.segments.length, extinf: null, parts: [] });
  for (const line of text.split('\n')) {
    let m;
    if ((m = line.match(/^#EXT-X-TARGETDURATION:(\d+)/))) p.td = Number(m[1]);
    else if ((m = line.match(/PART-HOLD-BACK=([\d.]+)/))) p.phb = Number(m[1]);
    else if ((m = line.match(/^#EXT-X-MEDIA-SEQUENCE:(\d+)/))) p.msn = Number(m[1]);
    else if ((m = line.match(/^#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)/))) p.skipped = Number(m[1]);
    else if ((m = line.match(/^#EXT-X-PART:DURATION=([\d.]+)/))) open().parts.push(Number(m[1]));
    else if ((m = line.match(/^#EXTINF:([\d.]+)/))) open().extinf = Number(m[1]);
    else if (line.startsWith('#EXT-X-PRELOAD-HINT:')) p.hint = line;
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME') || line.startsWith('#EXT-X-DISCONTINUITY') ||
             line.startsWith('#EXT-X-MAP')) open();
    else if (line && !line.startsWith('#')) { p.segments.push(open()); cur = null; }
  }
  if (cur && cur.parts.length) p.segments.push(cur);  // the segment being written
  // Distance from the end of the Playlist of each segment's start and stop.
  let end = 0;
  for (const s of [...p.segments].reverse()) {
    s.stopDist = end;
    end += s.extinf ?? s.parts.reduce((a, b) => a + b, 0);
    s.startDist = end;
  }
  return p;
}

// The next part the playlist announces: the one after the last listed part (RFC 8216bis §6.2.5.2).
function nextPart(p) {
  const last = p.segments.at(-1);
  if (!last) return null;
  return last.extinf === null ? { msn: last.msn, part: last.parts.length } : { msn: last.msn + 1, part: 0 };
}

function check(text, what, asked) {
  const errors = [];
  try {
    HLS.parse(text);
  } catch (e) {
    errors.push('hls-parser: ' + e.message);
  }
  const p = scan(text);
  if (!(p.td > 0)) return [...errors, 'no TARGETDURATION'];
  if (!p.hint && !text.includes('#EXT-X-ENDLIST')) errors.push('no EXT-X-PRELOAD-HINT');
  let seenParts = false;
  for (const s of p.segments) {
    if (s.parts.length) {
      seenParts = true;
      // The first part of a segment is its farthest from the end.
      if (s.startDist > 3 * p.td + EPS)
        errors.push(`RFC 8216bis §6.2.2: parts of segment ${s.msn} start ${s.startDist.toFixed(3)} s ` +
                    `from the end of the Playlist, more than 3 × TARGETDURATION = ${3 * p.td} s`);
    } else if (seenParts) {
      errors.push(`segment ${s.msn} has no parts but an earlier one has: removed out of order`);
    }
    if (!s.parts.length && s.stopDist < p.phb - EPS)
      errors.push(`segment ${s.msn} (${s.stopDist.toFixed(3)} s from the end) is inside ` +
                  `PART-HOLD-BACK ${p.phb} s but lists no parts`);
  }
  if (asked) {
    const s = p.segments.find((x) => x.msn === asked.msn);
    const has = p.segments.some((x) => x.msn > asked.msn) ||
                (s && (s.extinf !== null || s.parts.length > asked.part));
    if (!has) errors.push(`blocking reload for part ${asked.part} of ${asked.msn} answered without it`);
  }
  return errors.map((e) => `${what}: ${e}\n${text}`);
}

async function loop(base, kind, until, result) {
  let asked = null;
  while (Date.now() < until && result.failures.length < 3) {
    let query = kind.includes('skip') ? '?_HLS_skip=YES' : '';
    if (kind.startsWith('block') && asked)
      query = `?_HLS_msn=${asked.msn}&_HLS_part=${asked.part}` + (query ? '&_HLS_skip=YES' : '');
    const url = base + 'live/index.m3u8' + query;
    const res = await fetch(url, { signal: AbortSignal.timeout(10000) });
    const text = await res.text();
    if (res.status !== 200) {
      result.failures.push(`${result.name} ${kind} ${query}: HTTP ${res.status}\n${text}`);
      break;
    }
    ++result.samples[kind];
    if (text.includes('#EXT-X-SKIP:')) ++result.deltas;
    result.failures.push(...check(text, `${result.name} ${kind} ${query || '(plain)'}`,
                                  kind.startsWith('block') ? asked : null));
    if (kind.startsWith('block')) asked = nextPart(scan(text));
    else await sleep(5);
  }
}

async function runOne(o, listSize, partDuration, container) {
  const name = `list-size ${listSize}, part-duration ${partDuration}, ${container}`;
  const hlsd = startHlsd(o.hlsd, ['--source', 'test', '--width', '640', '--height', '360',
                                  '--list-size', String(listSize), '--segment-wrap',
                                  String(2 * listSize + 1), '--part-duration', partDuration,
                                  '--container', container]);
  children.add(hlsd.child);
  const spawnFailed = new Promise((_, reject) => hlsd.child.on('error', reject));
  spawnFailed.catch(() => {});
  const result = { name, failures: [], deltas: 0,
                   samples: { plain: 0, skip: 0, block: 0, 'block+skip': 0 } };
  try {
    const base = await Promise.race([liveBase(hlsd), spawnFailed]);
    const until = Date.now() + o.seconds * 1000;
    await Promise.all(Object.keys(result.samples).map((k) => loop(base, k, until, result)));
    const minBlock = 0.5 * o.seconds / Number(partDuration);
    if (!result.failures.length && result.samples.block < minBlock)
      result.failures.push(`${name}: only ${result.samples.block} blocking reloads (< ${minBlock})`);
  } catch (e) {
    const log = hlsd.log();
    result.failures.push(`${name}: ${e.stack || e}` + (String(e).includes(log) ? '' : '\n' + log));
  } finally {
    await stop(hlsd.child);
    children.delete(hlsd.child);
  }
  console.log(`${result.failures.length ? 'FAIL' : 'ok  '} ${name}: ` +
              Object.entries(result.samples).map(([k, v]) => `${k} ${v}`).join(', ') +
              ` (${result.deltas} with EXT-X-SKIP)`);
  const shown = result.failures.slice(0, 3);
  if (result.failures.length > 3) shown.push(`${name}: ${result.failures.length - 3} more failures`);
  return shown;
}

async function main() {
  const o = parseOptions({ hlsd: 'build/hlsd', seconds: 12, listSizes: '2,3,4,5,6,8',
                           partDurations: '0.2,0.1', containers: 'mpegts,fmp4' });
  HLS.setOptions({ strictMode: true });
  const failures = [];
  for (const container of o.containers.split(','))
    for (const partDuration of o.partDurations.split(','))
      for (const listSize of String(o.listSizes).split(','))
        failures.push(...(await runOne(o, Number(listSize), partDuration, container)));
  return finish(failures);
}

main().then((code) => process.exit(code), (e) => {
  console.log('FAILED: ' + (e.stack || e));
  killAll();
  process.exit(1);
});
