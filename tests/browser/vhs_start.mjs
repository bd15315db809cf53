// Where Video.js (VHS 3.17, `llhls: true`) starts on hlsd's LL-HLS stream, against how many
// parts of the segment being written its first playlist listed (k). A diagnostic, not a test:
// VHS gives that partial segment a whole TARGETDURATION in its timeline (getAllSegments sets
// preloadSegment.duration = targetDuration; MediaSequenceSync sums segment durations), so it
// believes the live edge is TARGETDURATION − k × part further on than it is and starts that
// much closer to it than PART-HOLD-BACK (README, Players; bench/RESULTS.md, 6. Players).
//
//   node tests/browser/vhs_start.mjs --hlsd build/hlsd [--runs 10] [--seconds 10] [--hold false]
//
// --hold: hlsd's hold_plain_playlists. Shipped true, it answers the first playlist when the open
// segment completes, so VHS sees k = 0 (or, rarely, 1); false (the default here) shows every k.
//
// Prints one JSON line a start: k, the latency when playback started and at the end, and the
// `waiting` events in between.
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, liveBase, newPage, parseOptions, startHlsd, stop } from './common.mjs';
import { servePages } from './players.mjs';

const o = parseOptions({ hlsd: 'build/hlsd', runs: 10, seconds: 10, warmup: 15, hold: 'false',
                         config: join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'conf', 'hlsd.yml') });
const hlsd = startHlsd(o.hlsd, ['--config', o.config, '--hold-plain-playlists', String(o.hold)]);
const pages = await servePages();
let browser;
try {
  const base = await liveBase(hlsd);
  await sleep(o.warmup * 1000);
  browser = await launchChromium();
  const src = encodeURIComponent(base + 'live/index.m3u8');
  for (let r = 0; r < o.runs; ++r) {
    await sleep(Math.random() * 1000);  // a random phase in the segment cycle
    const { page } = await newPage(browser);
    await page.goto(`http://127.0.0.1:${pages.address().port}/videojs.html?src=${src}` +
                    `&config=${encodeURIComponent('{"llhls":true}')}`);
    let k = null;
    const lats = [];
    let waits = 0;
    for (const end = Date.now() + o.seconds * 1000; Date.now() < end; await sleep(100)) {
      const s = await page.evaluate(() => {
        const vhs = window.player.tech({ IWillNotUseThisInPlugins: true }).vhs;
        const media = vhs && vhs.playlists && vhs.playlists.media();
        const partial = media && media.segments.find((x) => x.preload);
        return { k: media ? (partial ? partial.parts.length : 0) : null,
                 latency: window.probe.sample().latency, waits: window.probe.waits.length,
                 playing: window.probe.playing };
      });
      if (k === null) k = s.k;
      if (s.playing && Number.isFinite(s.latency)) lats.push(s.latency);
      waits = s.waits;
    }
    await page.close();
    console.log(JSON.stringify({ run: r, k, latency_first: lats.length ? +lats[0].toFixed(3) : null,
                                 latency_end: lats.length ? +lats[lats.length - 1].toFixed(3) : null,
                                 waits }));
  }
} finally {
  if (browser) await browser.close().catch(() => {});
  pages.close();
  await stop(hlsd.child);
}
