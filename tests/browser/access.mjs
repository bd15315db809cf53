// Access control in Chromium: with HTTP Basic credentials (what the browser's prompt gives)
// the page plays LL-HLS and its MJPEG view shows pictures; without them the page is 401; a
// token URL plays with no credentials at all (every playlist URI carries the token).
// With --tls 1, all of it over HTTPS: hlsd serves a certificate chain from a test CA, which
// Chromium trusts as a user's browser would trust a real one (its NSS database), with no
// certificate check switched off.
//
//   node tests/browser/access.mjs --hlsd build/hlsd [--tls 1]
//
// Exit 0: passed; 1: failed; 77: skipped because Chromium is not installed (said plainly).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumMissing, finish, get, launchChromium, parseOptions, SKIP, startHlsd, stop,
         waitHealthy } from './common.mjs';

async function main() {
  const o = parseOptions({ hlsd: 'build/hlsd', tls: 0 });
  if (chromiumMissing()) return SKIP;
  const dir = mkdtempSync(join(tmpdir(), 'hlsd-access-'));
  let tlsArgs = [], ca, env;
  if (o.tls) {
    const here = dirname(fileURLToPath(import.meta.url));
    execFileSync(join(here, '../support/make-test-ca.sh'), [dir]);
    tlsArgs = ['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')];
    ca = readFileSync(join(dir, 'ca.pem'));
    // The root in the NSS database of a HOME of the test's own, as `certutil` puts it there.
    const home = join(dir, 'home'), db = 'sql:' + join(home, '.pki/nssdb');
    mkdirSync(join(home, '.pki/nssdb'), { recursive: true });
    execFileSync('certutil', ['-d', db, '-N', '--empty-password']);
    execFileSync('certutil', ['-d', db, '-A', '-t', 'C,,', '-n', 'hlsd test root', '-i',
                              join(dir, 'ca.pem')]);
    env = { ...process.env, HOME: home };
  }
  const hash = execFileSync(o.hlsd, ['--hash-password'], { input: 'watch me\n' }).toString().trim();
  const config = join(dir, 'hlsd.yml');
  writeFileSync(config, `users:\n  - name: viewer\n    password_hash: "${hash}"\n` +
                        '    permissions: [view]\n');
  const token = execFileSync(o.hlsd, ['-c', config, '--make-token', '--user', 'viewer'])
    .toString().trim();
  const hlsd = startHlsd(o.hlsd, ['-c', config, '--source', 'test', '--width', '640',
                                  '--height', '360', ...tlsArgs]);
  let browser;
  const failures = [];
  try {
    // 127.0.0.1 over TLS too (the test certificate names it): not "localhost", which a fresh
    // Debian root without /etc/hosts does not resolve for Node (Chromium resolves it itself).
    const base = `${o.tls ? 'https' : 'http'}://127.0.0.1:${await hlsd.port}/`;
    await waitHealthy(base, ca);  // /healthz stays open
    browser = await launchChromium(env);

    // No credentials: the page itself is refused, with the Basic challenge.
    // (A page navigation would end in Chromium's auth error, the prompt a person would see.)
    const refused = await get(base, ca);
    const challenge = refused.headers['www-authenticate'];
    console.log('without credentials: ' + refused.status + ' ' + challenge);
    if (refused.status !== 401 || !/^Basic realm="hlsd"/.test(challenge || ''))
      failures.push(`page without credentials: ${refused.status} ${challenge}`);

    // Basic credentials, as the browser's prompt gives them.
    const context = await browser.newContext({
      httpCredentials: { username: 'viewer', password: 'watch me' } });
    const page = await context.newPage();
    const answer = await page.goto(base);
    if (o.tls) {
      const security = await answer.securityDetails();
      console.log('TLS: ' + JSON.stringify(security));
      if (!security || !/^TLS 1\.[23]$/.test(security.protocol) ||
          security.issuer !== 'hlsd test intermediate')
        failures.push('not the test CA\'s chain over TLS 1.2/1.3: ' + JSON.stringify(security));
    }
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
