// Access control in Chromium: with HTTP Basic credentials (what the browser's prompt gives)
// the page plays LL-HLS and its MJPEG view shows pictures; without them the page is 401; a
// token URL plays with no credentials at all (every playlist URI carries the token).
//
//   node tests/browser/access.mjs --hlsd build/hlsd
//
// Exit 0: passed; 1: failed; 77: skipped because Chromium is not installed (said plainly).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumMissing, finish, launchChromium, parseOptions, SKIP, startHlsd, stop,
         waitHealthy } from './common.mjs';

async function main() {
  const o = parseOptions({ hlsd: 'build/hlsd' });
  if (chromiumMissing()) return SKIP;
  const dir = mkdtempSync(join(tmpdir(), 'hlsd-access-'));
  const hash = execFileSync(o.hlsd, ['--hash-password'], { input: 'watch me\n' }).toString().trim();
  const config = join(dir, 'hlsd.yml');
  writeFileSync(config, `users:\n  - name: viewer\n    password_hash: "${hash}"\n` +
                        '    permissions: [view]\n');
  const token = execFileSync(o.hlsd, ['-c', config, '--make-token', '--user', 'viewer'])
    .toString().trim();
  const hlsd = startHlsd(o.hlsd, ['-c', config, '--source', 'test', '--width', '640',
                                  '--height', '360']);
  let browser;
  const failures = [];
  try {
    const base = `http://127.0.0.1:${await hlsd.port}/`;
    await waitHealthy(base);  // /healthz stays open
    browser = await launchChromium();

    // No credentials: the page itself is refused, with the Basic challenge.
    // (A page navigation would end in Chromium's auth error, the prompt a person would see.)
    const anonymous = await browser.newContext();
    const refused = await anonymous.request.get(base);
    const challenge = refused.headers()['www-authenticate'];
    console.log('without credentials: ' + refused.status() + ' ' + challenge);
    if (refused.status() !== 401 || !/^Basic realm="hlsd"/.test(challenge || ''))
      failures.push(`page without credentials: ${refused.status()} ${challenge}`);

    // Basic credentials, as the browser's prompt gives them.
    const context = await browser.newContext({
      httpCredentials: { username: 'viewer', password: 'watch me' } });
    const page = await context.newPage();
    await page.goto(base);
    await page.waitForFunction(() => window.hlsdStats && window.hlsdStats.playing, null,
                               { timeout: 20000 });
    await page.waitForTimeout(3000);
    const stats = await page.evaluate(() => ({ ...window.hlsdStats }));
    console.log('with credentials: ' + JSON.stringify({ latency: stats.latency,
      partsLoaded: stats.partsLoaded, lowLatency: stats.lowLatency, fatal: stats.fatal }));
    if (!stats.lowLatency || !(stats.partsLoaded > 0)) failures.push('no LL-HLS parts loaded');
    if (stats.fatalCount) failures.push('hls.js fatal error: ' + stats.fatal);
    const mjpeg = await context.newPage();
    await mjpeg.goto(base + '?view=mjpeg');
    await mjpeg.waitForFunction(() => document.getElementById('mjpeg').naturalWidth === 640,
                                null, { timeout: 10000 }).catch(() => {});
    const width = await mjpeg.evaluate(() => document.getElementById('mjpeg').naturalWidth);
    console.log('MJPEG view with credentials: ' + width + ' px wide');
    if (width !== 640) failures.push('MJPEG view showed no picture: width ' + width);

    // A token URL, no credentials: the page, its playlists and every URI in them.
    const tokenPage = await (await browser.newContext()).newPage();
    const statuses = [];
    tokenPage.on('response', (r) => statuses.push(r.status()));
    await tokenPage.goto(base + '?token=' + encodeURIComponent(token));
    await tokenPage.waitForFunction(() => window.hlsdStats && window.hlsdStats.playing, null,
                                    { timeout: 20000 });
    await tokenPage.waitForTimeout(3000);
    const refusedMedia = statuses.filter((s) => s === 401 || s === 403).length;
    const tokenStats = await tokenPage.evaluate(() => ({ ...window.hlsdStats }));
    console.log(`token URL: ${statuses.length} responses, ${refusedMedia} refused, ` +
                `${tokenStats.partsLoaded} parts loaded`);
    if (refusedMedia) failures.push(`${refusedMedia} requests of the token page were refused`);
    if (!(tokenStats.partsLoaded > 0)) failures.push('token page loaded no parts');
  } catch (e) {
    failures.push(String(e && e.stack || e));
  } finally {
    if (browser) await browser.close();
    await stop(hlsd.child);
  }
  return finish(failures);
}

process.exitCode = await main();
