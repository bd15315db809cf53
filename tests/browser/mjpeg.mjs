// MJPEG in Chromium, as the dashboards show it: hlsd's page in its MJPEG view (an <img> on
// live/stream.mjpg) must show pictures that change; a Mainsail-style reader (fetch() in CORS
// mode from another origin, each part cut by its Content-Length, the boundary taken from
// Content-Type as Fluidd does) must decode every part it gets, at the camera's rate; the
// snapshot link must give a JPEG.
//
//   node tests/browser/mjpeg.mjs --hlsd build/hlsd [--seconds 4]
//
// Exit 0: passed; 1: failed; 77: skipped because Chromium is not installed (said plainly).
import { setTimeout as sleep } from 'node:timers/promises';
import { chromiumMissing, finish, launchChromium, liveBase, newPage, parseOptions, SKIP,
         startHlsd, stop } from './common.mjs';

// In the page: the <img> drawn into a canvas, as a string of its pixels (to compare in time).
function imgPixels() {
  const img = document.getElementById('mjpeg');
  if (!img.naturalWidth) return null;
  const c = document.createElement('canvas');
  c.width = img.naturalWidth;
  c.height = img.naturalHeight;
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) | 0;
  return { w: c.width, h: c.height, hash: h };
}

// In a page of another origin: read the stream for `seconds` as Mainsail's viewer does.
async function mainsailReader([url, seconds]) {
  const res = await fetch(url, { mode: 'cors' });
  const type = res.headers.get('content-type') || '';
  const boundary = (type.match(/boundary=([^;\s]+)/) || [])[1];
  const reader = res.body.getReader();
  const enc = new TextEncoder();
  const dec = new TextDecoder('latin1');
  let buf = new Uint8Array(0);
  const out = { type, boundary, frames: 0, bad: 0, sizes: new Set(), stamps: [], errors: [] };
  const end = performance.now() + seconds * 1000;
  const append = (chunk) => {
    const b = new Uint8Array(buf.length + chunk.length);
    b.set(buf);
    b.set(chunk, buf.length);
    buf = b;
  };
  const find = (needle, from = 0) => {
    outer: for (let i = from; i + needle.length <= buf.length; ++i) {
      for (let j = 0; j < needle.length; ++j) if (buf[i + j] !== needle[j]) continue outer;
      return i;
    }
    return -1;
  };
  const blank = enc.encode('\r\n\r\n');
  while (performance.now() < end) {
    const { value, done } = await reader.read();
    if (done) break;
    append(value);
    for (;;) {
      const headEnd = find(blank);
      if (headEnd < 0) break;
      const head = dec.decode(buf.subarray(0, headEnd));
      if (!head.startsWith('--' + boundary)) { out.errors.push('no boundary: ' + head.slice(0, 60)); break; }
      const length = Number((head.match(/Content-Length: (\d+)/i) || [])[1]);
      if (!(length > 0)) { out.errors.push('no Content-Length: ' + head); break; }
      if (buf.length < headEnd + 4 + length + 2) break;
      const jpeg = buf.slice(headEnd + 4, headEnd + 4 + length);
      buf = buf.slice(headEnd + 4 + length + 2);
      try {
        const bitmap = await createImageBitmap(new Blob([jpeg], { type: 'image/jpeg' }));
        out.sizes.add(bitmap.width + 'x' + bitmap.height);
        ++out.frames;
      } catch (e) {
        ++out.bad;
      }
      out.stamps.push(Number((head.match(/X-Timestamp: ([\d.]+)/i) || [])[1]));
    }
  }
  reader.cancel();
  return { ...out, sizes: [...out.sizes], firstStamp: out.stamps[0], lastStamp: out.stamps.at(-1) };
}

async function main() {
  const o = parseOptions({ hlsd: 'build/hlsd', seconds: 4 });
  if (chromiumMissing()) return SKIP;
  const hlsd = startHlsd(o.hlsd, ['--source', 'test', '--width', '640', '--height', '360']);
  let browser;
  const failures = [];
  try {
    const base = await liveBase(hlsd);
    browser = await launchChromium();

    // 1. hlsd's page, MJPEG view.
    const { page, pageErrors } = await newPage(browser);
    await page.goto(base + '?view=mjpeg');
    await page.waitForFunction(() => document.getElementById('mjpeg').naturalWidth > 0, null,
                               { timeout: 10000 });
    const first = await page.evaluate(imgPixels);
    await sleep(1000);
    const second = await page.evaluate(imgPixels);
    const videoHidden = await page.evaluate(() => document.getElementById('video').hidden);
    const snapshot = await page.evaluate(async () => {
      const a = document.getElementById('snapshot');
      const r = await fetch(a.href);
      const b = await createImageBitmap(await r.blob());
      return { status: r.status, type: r.headers.get('content-type'), w: b.width, h: b.height,
               download: a.download };
    });
    console.log('img: ' + JSON.stringify({ first, second, videoHidden }));
    console.log('snapshot link: ' + JSON.stringify(snapshot));
    if (!first || first.w !== 640 || first.h !== 360) failures.push('img size ' + JSON.stringify(first));
    if (first && second && first.hash === second.hash) failures.push('the <img> did not change in 1 s');
    if (!videoHidden) failures.push('the video element shows in the MJPEG view');
    if (snapshot.status !== 200 || snapshot.w !== 640 || snapshot.type !== 'image/jpeg')
      failures.push('snapshot link: ' + JSON.stringify(snapshot));
    if (pageErrors.length) failures.push('page errors: ' + pageErrors.join('; '));

    // 2. A Mainsail-style reader on another origin (about:blank: an opaque origin, so CORS).
    const other = await browser.newPage();
    const read = await other.evaluate(mainsailReader, [base + '?action=stream', o.seconds]);
    console.log('RESULT ' + JSON.stringify(read, (k, v) => (k === 'stamps' ? undefined : v)));
    if (read.boundary !== 'boundarydonotcross') failures.push('boundary from Content-Type: ' + read.type);
    if (read.errors.length) failures.push('reader: ' + read.errors.join('; '));
    if (read.bad) failures.push(read.bad + ' parts did not decode');
    if (read.sizes.join() !== '640x360') failures.push('sizes ' + read.sizes.join());
    // 30 fps for `seconds`, less the first picture's wait: at least 80 % of them.
    if (!(read.frames >= 0.8 * 30 * o.seconds)) failures.push(`${read.frames} pictures in ${o.seconds} s`);
  } catch (e) {
    failures.push(String(e && e.stack || e));
  } finally {
    if (browser) await browser.close();
    await stop(hlsd.child);
  }
  return finish(failures);
}

process.exitCode = await main();
