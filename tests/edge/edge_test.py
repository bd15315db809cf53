#!/usr/bin/env python3
"""The shipped nginx edge (packaging/examples/nginx-edge.conf) in front of a real hlsd, with
Debian's nginx and curl and a test CA on 127.0.0.x: HTTP/2 to viewers, the cache headers of
every response kind, gzip, one origin request for many identical blocking reloads, and nothing
of one viewer's credentialed answers given to another.

    python3 tests/edge/edge_test.py --hlsd build/hlsd [unittest options]
"""
import argparse
import concurrent.futures
import gzip
import os
import re
import shutil
import subprocess
import sys
import signal
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edgelib  # noqa: E402

HLSD = None
ENV = {}


def hint_in(text):
    """The preload-hinted part's URI in a playlist."""
    return re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"', text).group(1)


def playlist_state(base):
    """(last msn, its parts listed, the preload-hinted URI) of the playlist hlsd has now."""
    _, _, body = edgelib.get(base + "live/index.m3u8")
    text = body.decode()
    msn = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
    segments = len(re.findall(r"^#EXTINF", text, re.M))
    return msn + segments, hint_in(text), text


def hinted(hint):
    """ "run-12.3.m4s" → (12, 3)"""
    m = re.match(r"[a-z0-9]+-(\d+)\.(\d+)\.", hint)
    return int(m.group(1)), int(m.group(2))


def setUpModule():
    work = tempfile.mkdtemp(prefix="hlsd-edge-test-")
    os.chmod(work, 0o755)
    ENV["work"] = work
    ENV["ca"] = edgelib.make_test_ca(work)
    try:
        start(work)
    except Exception:
        tearDownModule()
        raise


def start(work):
    ENV["hlsd"] = edgelib.Hlsd(HLSD, work, ["--config", os.path.join(edgelib.ROOT, "conf/hlsd.yml"),
                                            "--trusted-proxies", "127.0.0.2"])
    ENV["edge"] = edgelib.NginxEdge(f"127.0.0.1:{ENV['hlsd'].port}", work, ENV["ca"]["cert"],
                                    ENV["ca"]["key"])
    if shutil.which("varnishd") or os.path.exists("/usr/sbin/varnishd"):
        ENV["varnish"] = edgelib.VarnishEdge(f"127.0.0.1:{ENV['hlsd'].port}", work,
                                             ENV["ca"]["cert"], ENV["ca"]["key"], host="127.0.0.1")


def tearDownModule():
    for key in ("varnish", "edge", "hlsd"):
        if key in ENV:
            ENV[key].stop()
    shutil.rmtree(ENV.get("work", "/nonexistent"), ignore_errors=True)


class NginxEdge(unittest.TestCase):
    KEY = "edge"

    def setUp(self):
        if self.KEY not in ENV:
            self.skipTest(f"{self.KEY} is not installed")
        self.edge = ENV[self.KEY]

    def test_viewers_get_http2_over_tls(self):
        edge = self.edge
        rc, out, err = edgelib.curl(["--http2", "--cacert", ENV["ca"]["ca"], "-o", "/dev/null",
                                     "-w", "%{http_version} %{http_code} %{ssl_verify_result}",
                                     edge.tls_base + "live/index.m3u8"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "2 200 0")  # h2, OK, the chain verified against the test root
        # A part through HTTP/2 is the same bytes as from hlsd.
        _, hint, _ = playlist_state(ENV["hlsd"].base)
        rc, out, err = edgelib.curl(["--http2", "--cacert", ENV["ca"]["ca"],
                                     edge.tls_base + "live/" + hint, "-o",
                                     os.path.join(ENV["work"], "part")])
        self.assertEqual(rc, 0, err)
        with open(os.path.join(ENV["work"], "part"), "rb") as f:
            self.assertEqual(f.read(), edgelib.get(ENV["hlsd"].base + "live/" + hint)[2])

    def test_every_response_kind_carries_its_cache_headers(self):
        edge = self.edge.base
        last, hint, text = playlist_state(ENV["hlsd"].base)
        segment = [l for l in text.splitlines() if l and not l.startswith("#")][-1]
        init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', text).group(1)
        cases = [
            ("live/index.m3u8", 200, "public, max-age=0, s-maxage=1"),
            (f"live/index.m3u8?_HLS_msn={last - 1}", 200, "public, max-age=0, s-maxage=6"),
            (f"live/index.m3u8?_HLS_msn={last - 1}&_HLS_part=0", 200, "public, max-age=0, s-maxage=6"),
            ("live/" + segment, 200, "public, max-age=86400, immutable"),
            ("live/" + hint, 200, "public, max-age=86400, immutable"),
            ("live/" + init, 200, "public, max-age=86400, immutable"),
            (f"live/index.m3u8?_HLS_msn={last + 3}", 400, "no-store"),
            ("live/zzzz-1.m4s", 404, "no-store"),
            ("healthz", 200, "no-store"),
        ]
        for path, status, cc in cases:
            with self.subTest(path=path):
                first = edgelib.get(edge + path)
                again = edgelib.get(edge + path)
                self.assertEqual(first[0], status)
                self.assertEqual(first[1].get("cache-control"), cc)
                self.assertEqual(again[0], status)
                # Stored: asked again, it comes from the edge; errors are asked for again.
                if status == 200 and ("immutable" in cc or "s-maxage=6" in cc):
                    self.assertEqual(again[1].get("x-cache"), "HIT", again[1])
                if status >= 400:
                    self.assertNotEqual(again[1].get("x-cache"), "HIT", again[1])

    def test_playlists_are_gzipped_once_and_unzipped_for_who_needs_it(self):
        edge = self.edge.base
        last, _, _ = playlist_state(ENV["hlsd"].base)
        path = f"live/index.m3u8?_HLS_msn={last - 1}&_HLS_part=1"
        zipped = edgelib.get(edge + path, {"Accept-Encoding": "gzip, deflate, br"})
        plain = edgelib.get(edge + path)  # no Accept-Encoding: nginx unzips the stored copy
        self.assertEqual(zipped[1].get("content-encoding"), "gzip")
        self.assertIsNone(plain[1].get("content-encoding"))
        self.assertEqual(plain[1].get("x-cache"), "HIT")  # one stored copy serves both
        self.assertEqual(gzip.decompress(zipped[2]), plain[2])
        self.assertTrue(plain[2].startswith(b"#EXTM3U\n"))

    def test_media_is_asked_for_once_whatever_players_append(self):
        hlsd, edge = ENV["hlsd"], self.edge

        def newest():
            _, _, text = playlist_state(hlsd.base)
            return [l for l in text.splitlines() if l and not l.startswith("#")][-1]

        # A segment no other test has asked the edge for: the next one to complete.
        first = newest()
        segment = edgelib.wait_for(lambda: newest() != first and newest(), 5, "a new segment")
        before = edgelib.requests_by_route(hlsd.base)

        def view(i):  # players' cache-busters, all at once
            return edgelib.get(edge.base + f"live/{segment}?t={i}")

        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(view, range(20)))
        after = edgelib.requests_by_route(hlsd.base)
        self.assertEqual([a[0] for a in answers], [200] * 20)
        self.assertEqual(len({a[2] for a in answers}), 1)
        self.assertEqual(after.get("segment", 0) - before.get("segment", 0), 1)
        # The edge keeps its connections to hlsd open between requests (HTTP/1.1 keep-alive):
        # the edge's own end of them, by process.
        time.sleep(0.2)
        out = subprocess.run(["ss", "-Htnp", "state", "established", f"( dport = :{hlsd.port} )"],
                             capture_output=True, text=True).stdout
        engine = "cache-main" if isinstance(edge, edgelib.VarnishEdge) else "nginx"  # varnishd's child
        self.assertIn(f'(("{engine}"', out, "no idle connection from the edge to hlsd")

    def test_directives_a_cache_would_read_otherwise_are_refused(self):
        # nginx's $arg_ takes a parameter's first occurrence, in any case; hlsd would take the
        # last: the answer to one state could be stored under another's key. hlsd refuses them
        # (400, no-store), so the state's key keeps its true answer.
        hlsd, edge = ENV["hlsd"], self.edge
        _, hint, _ = playlist_state(hlsd.base)
        msn, part = hinted(hint)
        for query in (f"_HLS_msn={msn}&_HLS_part={part}&_HLS_msn=0",
                      f"_hls_msn={msn}&_hls_part={part}",
                      f"_HLS_msn={msn}&_HLS_part={part}&_hls_skip=&_HLS_skip=YES"):
            with self.subTest(query=query):
                status, headers, _ = edgelib.get(edge.base + "live/index.m3u8?" + query)
                self.assertEqual(status, 400)
                self.assertEqual(headers.get("cache-control"), "no-store")
        status, _, body = edgelib.get(edge.base + f"live/index.m3u8?_HLS_msn={msn}&_HLS_part={part}")
        self.assertEqual(status, 200)
        self.assertIn(f'#EXT-X-PART:DURATION=0.200,URI="{hint}"'.encode(), body)

    def test_identical_blocking_reloads_reach_hlsd_once(self):
        hlsd, edge = ENV["hlsd"], self.edge
        for _ in range(3):  # a few rounds: the first may meet a part just being published
            _, hint, _ = playlist_state(hlsd.base)
            msn, part = hinted(hint)
            before = edgelib.requests_by_route(hlsd.base)
            viewers = 40
            t0 = time.monotonic()

            def view(i):
                if i % 2:
                    r = edgelib.get(edge.base + f"live/index.m3u8?_HLS_msn={msn}&_HLS_part={part}")
                else:
                    r = edgelib.get(edge.base + "live/" + hint)
                return r[0], time.monotonic() - t0

            with concurrent.futures.ThreadPoolExecutor(viewers) as pool:
                answers = list(pool.map(view, range(viewers)))
            after = edgelib.requests_by_route(hlsd.base)
            origin = {k: after.get(k, 0) - before.get(k, 0) for k in ("playlist", "part")}
            waits = sorted(t for _, t in answers)
            print(f"{viewers} viewers, hinted part {msn}.{part}: hlsd got {origin}; answered "
                  f"after {waits[0]:.3f}..{waits[-1]:.3f} s", flush=True)
            self.assertEqual([s for s, _ in answers], [200] * viewers)
            # +1: the state read from hlsd itself, above (it asked for the playlist once).
            if origin["playlist"] <= 2 and origin["part"] <= 1:
                return
        self.fail(f"identical requests were not coalesced: hlsd got {origin}")


class VarnishEdge(NginxEdge):
    """The same through varnish-edge.vcl behind nginx-varnish-edge.conf."""
    KEY = "varnish"

    def test_age_is_sent(self):
        edge = self.edge.base
        _, _, text = playlist_state(ENV["hlsd"].base)
        path = "live/" + re.findall(r"^([^#\n]+\.m4s)$", text, re.M)[-1]
        edgelib.get(edge + path)
        time.sleep(1.1)
        again = edgelib.get(edge + path)
        self.assertEqual(again[1].get("x-cache"), "HIT")
        self.assertGreaterEqual(int(again[1].get("age", "0")), 1)

    def test_a_playlist_is_not_given_again_a_part_later(self):
        # Video.js asks again for the blocking state it was just given and needs hlsd's newer
        # playlist; Shaka Player starts as far behind as the plain playlist it tunes in with is
        # old (README, Serving many viewers): both live less than a part here.
        edge = self.edge.base
        _, hint, _ = playlist_state(ENV["hlsd"].base)
        msn, part = hinted(hint)
        for path in (f"live/index.m3u8?_HLS_msn={msn}&_HLS_part={part}", "live/index.m3u8"):
            with self.subTest(path=path):
                status, _, first = edgelib.get(edge + path)
                self.assertEqual(status, 200)
                time.sleep(0.45)  # two parts
                status, headers, again = edgelib.get(edge + path)
                self.assertEqual(status, 200)
                self.assertEqual(headers.get("x-cache"), "MISS")
                self.assertNotEqual(hint_in(first.decode()), hint_in(again.decode()),
                                    "the newer playlist")


class NginxEdgeWithAccessControl(unittest.TestCase):
    """hlsd with users: the edge caches nothing of theirs and passes credentials through."""
    EDGE = edgelib.NginxEdge

    @classmethod
    def setUpClass(cls):
        if cls.EDGE is edgelib.VarnishEdge and "varnish" not in ENV:
            raise unittest.SkipTest("varnish is not installed")
        work = ENV["work"]
        pw = os.path.join(work, "pw")
        with open(pw, "w") as f:
            f.write("alice pw\n")
        with open(pw) as f:
            h = subprocess.run([HLSD, "--hash-password"], stdin=f, capture_output=True,
                               text=True, check=True).stdout.splitlines()[0]
        cls.config = os.path.join(work, cls.EDGE.__name__ + "-secured.yml")
        with open(cls.config, "w") as f:
            f.write(f'users:\n  - name: alice\n    password_hash: "{h}"\n    permissions: [view]\n')
        cls.hlsd = cls.edge = None
        cls.addClassCleanup(lambda: [p.stop() for p in (cls.edge, cls.hlsd) if p])
        cls.hlsd = edgelib.Hlsd(HLSD, work, ["--config", cls.config, "--container", "fmp4"],
                                name="hlsd-secured")
        cls.edge = cls.EDGE(f"127.0.0.1:{cls.hlsd.port}", work, ENV["ca"]["cert"],
                            ENV["ca"]["key"], host="127.0.0.3", name=cls.EDGE.__name__ + "-secured")
        cls.token = subprocess.run([HLSD, "--config", cls.config, "--make-token", "--user",
                                    "alice"], capture_output=True, text=True,
                                   check=True).stdout.splitlines()[0]

    def test_one_viewers_answer_never_reaches_another(self):
        import base64
        basic = {"Authorization": "Basic " + base64.b64encode(b"alice:alice pw").decode()}
        edge = self.edge.base
        ok = edgelib.get(edge + "live/index.m3u8", basic)
        self.assertEqual(ok[0], 200)
        self.assertEqual(ok[1].get("cache-control"), "private, no-cache")
        self.assertIn(ok[1].get("x-cache"), ("BYPASS", "PASS"))
        media = re.findall(rb'URI="([^"]+\.m4s)"', ok[2])[-1].decode()
        for path in ("live/index.m3u8", "live/" + media):
            for _ in range(2):  # the credentialed request just before must not be replayed
                self.assertEqual(edgelib.get(edge + path)[0], 401, path)
            self.assertEqual(edgelib.get(edge + path, basic)[0], 200, path)
            sep = "&" if "?" in path else "?"
            tokened = edgelib.get(edge + path + sep + "token=" + self.token)
            self.assertEqual(tokened[0], 200, path)
            self.assertIn(tokened[1].get("x-cache"), ("BYPASS", "PASS"), path)
            self.assertEqual(edgelib.get(edge + path)[0], 401, path)


class NginxEdgeWhenTheSourceStalls(unittest.TestCase):
    """The camera stops for 5 s: hlsd holds blocking reloads 3 target durations, then answers
    503 (RFC 8216bis §6.2.5.2) with no-store. The edge passes that to the viewer whose request
    it forwarded; the others, waiting on its cache lock, are forwarded one at a time after it
    (a 503 is not stored), so hlsd holds one request per state, nothing piles up, and every
    viewer goes on when the camera does."""

    VIEWERS = 12
    EDGE = edgelib.NginxEdge

    def test_viewers_resume_and_nothing_piles_up(self):
        if self.EDGE is edgelib.VarnishEdge and "varnish" not in ENV:
            self.skipTest("varnish is not installed")
        work = ENV["work"]
        feed = subprocess.Popen(
            ["ffmpeg", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
             "testsrc2=size=320x240:rate=30", "-c:v", "libx264", "-preset", "ultrafast",
             "-tune", "zerolatency", "-g", "6", "-f", "mpegts", "-"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        hlsd = edge = None
        try:
            hlsd = edgelib.Hlsd(HLSD, work, ["--source", "-", "--segment-time", "1",
                                             "--part-duration", "0.2"], name="hlsd-stall",
                                stdin=feed.stdout)
            feed.stdout.close()  # hlsd has it now
            edge = self.EDGE(f"127.0.0.1:{hlsd.port}", work, ENV["ca"]["cert"], ENV["ca"]["key"],
                             host="127.0.0.4", name=self.EDGE.__name__ + "-stall")
            self.run_stall(feed, hlsd, edge)
        finally:
            try:
                os.killpg(feed.pid, signal.SIGCONT)
                os.killpg(feed.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            feed.wait()
            for p in (edge, hlsd):
                if p:
                    p.stop()

    def run_stall(self, feed, hlsd, edge):
        stop = threading.Event()
        lock = threading.Lock()
        seen = []  # (time, viewer, status, msn) of every blocking reload answered

        def viewer(i):
            # Like hls.js in low-latency mode: a blocking reload for the part after the newest;
            # on 503, again after Retry-After.
            while not stop.is_set():
                _, hint, _ = playlist_state(edge.base)
                msn, part = hinted(hint)
                while not stop.is_set():
                    status, headers, body = edgelib.get(
                        edge.base + f"live/index.m3u8?_HLS_msn={msn}&_HLS_part={part}", timeout=15)
                    with lock:
                        seen.append((time.monotonic(), i, status, msn, headers.get("cache-control")))
                    if status != 200:
                        time.sleep(float(headers.get("retry-after", "1")))
                        continue
                    msn, part = hinted(hint_in(body.decode()))

        threads = [threading.Thread(target=viewer, args=(i,)) for i in range(self.VIEWERS)]
        for t in threads:
            t.start()
        try:
            time.sleep(4)
            before = edgelib.requests_by_route(hlsd.base)
            stalled = time.monotonic()
            os.killpg(feed.pid, signal.SIGSTOP)  # the camera stops
            time.sleep(5)
            during = edgelib.requests_by_route(hlsd.base)
            os.killpg(feed.pid, signal.SIGCONT)
            resumed = time.monotonic()
            time.sleep(6)
        finally:
            stop.set()
            for t in threads:
                t.join(20)
        with lock:
            answers = list(seen)
        held = {k: during.get(k, 0) - before.get(k, 0) for k in ("playlist", "part")}
        unavailable = [a for a in answers if a[2] == 503]
        statuses = sorted({a[2] for a in answers})
        newest_before = max(a[3] for a in answers if a[2] == 200 and a[0] < stalled)
        after = [a for a in answers if a[2] == 200 and a[0] > resumed]
        print(f"stall: {len(answers)} answers {statuses}; hlsd got {held} requests in the 5 s "
              f"stall for {self.VIEWERS} viewers; {len(unavailable)} x 503; "
              f"{len({a[1] for a in after})} viewers advanced after it", flush=True)
        self.assertTrue(set(statuses) <= {200, 503}, statuses)
        # 503 after the hold, never stored: each says no-store.
        self.assertTrue(unavailable, "no viewer was told the part did not come")
        self.assertEqual({a[4] for a in unavailable}, {"no-store"})
        # Coalesced: one held request per state at a time, not one per viewer (measured: 1).
        self.assertLessEqual(held["playlist"], 8, held)
        # Every viewer goes on past where it stopped once the camera is back.
        advanced = {a[1] for a in after if a[3] > newest_before}
        self.assertEqual(advanced, set(range(self.VIEWERS)))


class VarnishEdgeWhenTheSourceStalls(NginxEdgeWhenTheSourceStalls):
    EDGE = edgelib.VarnishEdge


class VarnishEdgeWithAccessControl(NginxEdgeWithAccessControl):
    EDGE = edgelib.VarnishEdge


def main():
    global HLSD
    ap = argparse.ArgumentParser()
    ap.add_argument("--hlsd", required=True)
    args, rest = ap.parse_known_args()
    HLSD = os.path.abspath(args.hlsd)
    for tool in ("nginx", "curl", "openssl"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"SKIP: {tool} is not installed (scripts/install-deps.sh test)")
            sys.exit(77)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
