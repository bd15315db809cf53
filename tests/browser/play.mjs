// A real browser plays hlsd: Debian's Chromium, driven by playwright-core, loads the player
// page from a real hlsd on 127.0.0.1 and must see video frames advance.
//
//   node tests/browser/play.mjs --hlsd build/hlsd [--seconds 8] [--query sync=1]
//        [--segment-time 1] [--list-size 2] [--segment-wrap 5] [--screenshot out.png]
//
// Exit 0: passed; 1: failed; 77: skipped because Chromium is not installed (said plainly).
import { setTimeout as sleep } from 'node:timers/promises';
import { chromiumMissing, finish, launchChromium, parseOptions, quantile, SKIP, startHlsd, stop,
         liveBase, newPage } from './common.mjs';

async function main() {
  const o = parseOptions({ hlsd: 'build/hlsd', seconds: 8, query: '', segmentTime: '1',
                           listSize: '2', segmentWrap: '5', screenshot: '', minAdvance: 5 });
  if (chromiumMissing()) return SKIP;
  const hlsd = startHlsd(o.hlsd, ['--source', 'test', '--width', '640', '--height', '360',
                                  '--segment-time', o.segmentTime, '--list-size', o.listSize,
                                  '--segment-wrap', o.segmentWrap]);
  let browser;
  const failures = [];
  try {
    const base = await liveBase(hlsd);
    browser = await launchChromium();
    const { page, pageErrors } = await newPage(browser);
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
    if (pageErrors.length) failures.push('page errors: ' + pageErrors.join('; '));
  } catch (e) {
    failures.push(String(e && e.stack || e));
  } finally {
    if (browser) await browser.close();
    await stop(hlsd.child);
  }
  return finish(failures);
}

process.exitCode = await main();
