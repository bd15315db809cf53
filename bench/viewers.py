#!/usr/bin/env python3
"""Simulated HLS viewers: each follows a live playlist the way hls.js does by default.

    python3 bench/viewers.py --url http://127.0.0.1:PORT/live/index.m3u8 --n 10 --seconds 30

Each viewer keeps one keep-alive HTTP/1.1 connection, loads the playlist, starts 3 segments
from the live edge (hls.js' liveSyncDurationCount), downloads every new segment once, and
reloads the playlist every target duration (half of it when nothing new appeared). Starts are
spread over the first second (--stagger). Prints one JSON line with totals (requests, bytes,
errors, missed segments, errors by kind, connections opened, response times).

Every response is checked: status 200, Content-Length present and equal to the bytes read,
segments look like MPEG-TS (0x47 every 188 bytes), the playlist's media sequence never goes
back, a sequence number keeps its URI, the newest segment keeps advancing (no stall longer than
max(5 s, 3 × target duration)), and no segment the playlist lists answers 404. Like a browser,
a request that fails on a reused keep-alive connection before any response is retried once on
a new connection (counted as a reconnect, not an error); any other failure is an error.
bench/soak.py runs 50 of these for 10 minutes. Loopback only; stops after --seconds.

--ll runs LlViewers instead: LL-HLS viewers like hls.js in lowLatencyMode (a blocking playlist
reload for the preload-hinted part, then every new part once; see the class), --hint-share of
them also GETting the hinted part, --abandon-every hanging up on a held reload; bench/soak.py
--ll runs 50 of those.
"""
import argparse
import array
import gzip
import http.client
import json
import random
import re
import socket
import threading
import time
import urllib.parse


def parse_playlist(text):
    target = float(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))
    m = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text)
    msn = int(m.group(1)) if m else 0
    uris = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return target, [(msn + i, uri) for i, uri in enumerate(uris)]


def error_kind(e):
    """A short name for a failed request: what a soak report counts."""
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(e, http.client.RemoteDisconnected):
        return "disconnected"
    if isinstance(e, http.client.IncompleteRead):
        return "incomplete_read"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, (ConnectionResetError, BrokenPipeError)):
        return "reset"
    return type(e).__name__


def is_ts(body):
    """MPEG-TS: whole 188-byte packets, a sync byte at the first two."""
    return bool(body) and len(body) % 188 == 0 and body[0] == 0x47 and body[188:189] in (b"", b"\x47")


class RequestFailed(Exception):
    def __init__(self, kind):
        super().__init__(kind)
        self.kind = kind


def percentiles(values, ps=(50, 99)):
    if not values:
        return {f"p{p}": None for p in ps} | {"max": None}
    s = sorted(values)
    out = {f"p{p}": s[min(len(s) - 1, int(len(s) * p / 100))] for p in ps}
    out["max"] = s[-1]
    return out


class Viewer(threading.Thread):
    # None: http.client's own (`identity`). A browser's line ("gzip, ..."): sent, and a gzip body
    # is unzipped as a browser does (after the Content-Length check on the bytes on the wire);
    # any other Content-Encoding is then an error. bench/edge.py sets Chromium's.
    accept_encoding = None

    def __init__(self, url, deadline, delay, timeout=5.0):
        super().__init__(daemon=True)
        self.url = url
        self.parts = urllib.parse.urlsplit(url)
        self.deadline = deadline
        self.delay = delay
        self.timeout = timeout
        self.conn = None
        self.conn_requests = 0  # requests answered on the current connection
        self.stats = {"playlists": 0, "segments": 0, "bytes": 0, "errors": 0, "missed": 0,
                      "connections": 0, "reconnects": 0, "stalls": 0}
        self.error_kinds = {}
        self.times = {"playlist": [], "segment": []}  # seconds per request
        self.lock = threading.Lock()  # stats are read while the viewer runs (soak progress)

    def error(self, kind):
        with self.lock:
            self.stats["errors"] += 1
            self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def get(self, path):
        """(status, body) of GET path on the keep-alive connection; raises RequestFailed."""
        for attempt in range(2):
            reused = self.conn is not None and self.conn_requests > 0
            try:
                if self.conn is None:
                    self.connect()
                headers = {"Accept-Encoding": self.accept_encoding} if self.accept_encoding else {}
                self.conn.request("GET", path, headers=headers)
                resp = self.conn.getresponse()
                body = resp.read()
                self.conn_requests += 1
                if resp.getheader("Connection", "").lower() == "close" or resp.will_close:
                    self.conn.close()
                    self.conn = None
                length = resp.getheader("Content-Length")
                if length is None:
                    raise RequestFailed("no_content_length")
                if int(length) != len(body):
                    raise RequestFailed("length_mismatch")
                if self.accept_encoding:
                    body = self.decoded(resp, body)
                return resp.status, body
            except (OSError, http.client.HTTPException) as e:
                if self.conn:
                    self.conn.close()
                self.conn = None
                kind = error_kind(e)
                # A browser retries once when a reused connection was closed under it.
                if attempt == 0 and reused and kind in ("disconnected", "reset"):
                    with self.lock:
                        self.stats["reconnects"] += 1
                    continue
                raise RequestFailed(kind)
        raise RequestFailed("unreachable")

    @staticmethod
    def decoded(resp, body):
        coding = resp.getheader("Content-Encoding", "identity").lower()
        if coding == "identity":
            return body
        if coding != "gzip":
            raise RequestFailed("content_encoding_" + coding)
        try:
            return gzip.decompress(body)
        except (OSError, EOFError):
            raise RequestFailed("bad_gzip")

    def connect(self):
        self.conn = http.client.HTTPConnection(self.parts.hostname, self.parts.port,
                                               timeout=self.timeout)
        self.conn_requests = 0
        with self.lock:
            self.stats["connections"] += 1

    def path_of(self, uri):
        return urllib.parse.urlsplit(urllib.parse.urljoin(self.url, uri)).path

    def fetch_media(self, uri, what):
        """GETs a segment or part (what: "segment", "part") and checks it; True when it is
        whole MPEG-TS. Errors are counted as what_KIND; a 404 means listed a moment ago and gone
        already."""
        t0 = time.monotonic()
        try:
            status, body = self.get(self.path_of(uri))
        except RequestFailed as e:
            self.error(f"{what}_{e.kind}")
            return False
        self.times[what].append(time.monotonic() - t0)
        if status == 404:
            self.error(f"{what}_404")
        elif status != 200:
            self.error(f"{what}_status_{status}")
        elif not is_ts(body):
            self.error(f"{what}_not_ts")
        else:
            with self.lock:
                self.stats[what + "s"] += 1
                self.stats["bytes"] += len(body)
            return True
        return False

    def requests(self):
        """Requests made so far (for progress samples)."""
        with self.lock:
            return self.stats["playlists"] + self.stats["segments"]

    def run(self):
        time.sleep(self.delay)
        next_msn = None
        last_first_msn = None
        uri_of = {}  # msn -> uri, as first listed
        newest, newest_since, stalled = None, time.monotonic(), False
        while time.monotonic() < self.deadline:
            started = time.monotonic()
            fresh = False
            target = 1.0
            try:
                t0 = time.monotonic()
                status, body = self.get(self.parts.path)
                self.times["playlist"].append(time.monotonic() - t0)
                with self.lock:
                    self.stats["playlists"] += 1
                if status != 200:
                    raise RequestFailed(f"playlist_status_{status}")
                try:
                    target, entries = parse_playlist(body.decode())
                except (AttributeError, ValueError, UnicodeDecodeError):
                    raise RequestFailed("playlist_parse")
                if not entries:
                    raise RequestFailed("playlist_empty")
                first = entries[0][0]
                if last_first_msn is not None and first < last_first_msn:
                    self.error("sequence_backwards")
                last_first_msn = first
                for msn, uri in entries:
                    if uri_of.setdefault(msn, uri) != uri:
                        self.error("sequence_uri_changed")
                for msn in [m for m in uri_of if m < first - 16]:
                    del uri_of[msn]
                now = time.monotonic()
                if newest is None or entries[-1][0] > newest:
                    newest, newest_since, stalled = entries[-1][0], now, False
                elif not stalled and now - newest_since > max(5.0, 3 * target):
                    stalled = True
                    with self.lock:
                        self.stats["stalls"] += 1
                    self.error("stalled")
                if next_msn is None:
                    next_msn = entries[max(0, len(entries) - 3)][0]
                if first > next_msn:  # fell behind the window
                    with self.lock:
                        self.stats["missed"] += first - next_msn
                    next_msn = first
                for msn, uri in entries:
                    if msn < next_msn or time.monotonic() >= self.deadline:
                        continue
                    next_msn = msn + 1
                    fresh = True
                    self.fetch_media(uri, "segment")
            except RequestFailed as e:
                self.error(e.kind if e.kind.startswith("playlist") else f"playlist_{e.kind}")
            wait = target if fresh else target / 2
            time.sleep(max(0.0, min(started + wait, self.deadline) - time.monotonic()))
        if self.conn:
            self.conn.close()


PART_NAME = re.compile(r"-(\d+)\.(\d+)\.[A-Za-z0-9]+$")
URI_ATTR = re.compile(r'URI="([^"]*)"')


def part_position(uri):
    """(msn, part) of an hlsd part name, <run>-<msn>.<part>.ts; None for anything else."""
    m = PART_NAME.search(uri.split("?")[0])
    return (int(m.group(1)), int(m.group(2))) if m else None


def parse_ll_playlist(text):
    """A Low-Latency HLS media playlist as a dict: target, part_target, first (the media
    sequence), segments [(msn, uri)] (complete ones), parts [((msn, index), uri)] in playlist
    order (msn counted from the media sequence and EXT-X-SKIP, index within its segment),
    hint (the preload hint's URI or None), names_ok (every part's name says the position it is
    listed at)."""
    target = float(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))
    m = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text)
    first = int(m.group(1)) if m else 0
    m = re.search(r"#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)", text)
    msn = first + (int(m.group(1)) if m else 0)
    m = re.search(r"#EXT-X-PART-INF:PART-TARGET=([0-9.]+)", text)
    out = {"target": target, "part_target": float(m.group(1)) if m else None, "first": first,
           "segments": [], "parts": [], "hint": None, "names_ok": True}
    index = 0
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-PART:"):
            uri = URI_ATTR.search(line).group(1)
            out["parts"].append(((msn, index), uri))
            out["names_ok"] &= part_position(uri) == (msn, index)
            index += 1
        elif line.startswith("#EXT-X-PRELOAD-HINT:") and "TYPE=PART" in line:
            out["hint"] = URI_ATTR.search(line).group(1)
        elif line and not line.startswith("#"):
            out["segments"].append((msn, line))
            msn, index = msn + 1, 0
    return out


def next_part(pl):
    """The part hls.js (lowLatencyMode) asks a blocking reload for: the one after the last
    listed part; after a segment's last part, part 0 of the next segment."""
    if not pl["parts"]:
        return (pl["segments"][-1][0] + 1, 0) if pl["segments"] else None
    (msn, index), _ = pl["parts"][-1]
    if pl["segments"] and pl["segments"][-1][0] == msn:  # that segment is complete
        return (msn + 1, 0)
    return (msn, index + 1)


class LlViewer(Viewer):
    """A viewer like hls.js in lowLatencyMode (bench/soak.py --ll).

    One keep-alive connection: a plain playlist GET, then in a loop a blocking reload for the
    part after the last one it knows (the preload hint's <run>-<msn>.<part>.ts, which must be
    the part hls.js would ask for: `?_HLS_msn=M&_HLS_part=P&_HLS_skip=YES`), then every part
    listed after the last one fetched, once; it starts 3 parts (PART-HOLD-BACK) from the edge.
    hint=True also GETs the hinted part before the reload (held until the part is complete, as
    Apple's players do), so the reload is answered at once and lists nothing new.
    abandon_every=S (seconds; the first one at a random time within S): instead of that
    reload, sends one for part 0 of the segment after the hinted part's (held for about a
    segment), and closes the connection 0.1 s later without reading the answer, as a browser
    does when a tab closes or hls.js aborts a request; then starts over on a new connection
    with a plain GET (counted as abandoned, not as a reload).

    Checked, besides what Viewer checks (status, Content-Length, MPEG-TS): the media sequence
    never goes back, a part's name matches where it is listed, the hint is hls.js' next part,
    a blocking reload answers 200 (503 counted as reload_503) and lists the part asked for or a
    later one (reload_behind), no part is skipped (missed). Recorded: blocking-reload waits,
    part fetch times, how often a reload listed more new parts than expected (the viewer had
    fallen behind the live edge: behind)."""

    HOLD_BACK_PARTS = 3

    def __init__(self, url, deadline, delay, timeout=10.0, hint=False, abandon_every=None):
        super().__init__(url, deadline, delay, timeout)
        self.hint = hint
        self.abandon_every = abandon_every
        self.stats.update({"requests": 0, "reloads": 0, "reloads_ok": 0, "parts": 0, "hints": 0,
                           "behind": 0, "max_new_parts": 0, "answered_by_segment_end": 0,
                           "abandoned": 0})
        # reload: the blocking reloads that wait for the next part; reload_after_hint: those
        # of hint viewers, sent once the hinted part has arrived (answered at once)
        self.times.update({"reload": [], "reload_after_hint": [], "part": [], "hint": []})
        # msn, part, sent, answered (monotonic s) of each 200 to a blocking reload or a hinted
        # part: what held_lateness() compares across viewers (a flat array: 32 bytes each)
        self.answers = array.array("d")
        del self.times["segment"]

    def get(self, path):
        with self.lock:
            self.stats["requests"] += 1
        return super().get(path)

    def requests(self):
        with self.lock:
            return self.stats["requests"]

    def load(self, asked):
        """The playlist, parsed: a blocking reload for part asked=(msn, part), or a plain GET
        when asked is None; raises RequestFailed."""
        what = "reload" if asked else "playlist"
        query = f"?_HLS_msn={asked[0]}&_HLS_part={asked[1]}&_HLS_skip=YES" if asked else ""
        t0 = time.monotonic()
        try:
            status, body = self.get(self.parts.path + query)
        except RequestFailed as e:
            raise RequestFailed(f"{what}_{e.kind}")
        t1 = time.monotonic()
        self.times[what + ("_after_hint" if asked and self.hint else "")].append(t1 - t0)
        with self.lock:
            self.stats[what + "s"] += 1
            if asked and status == 200:
                self.stats["reloads_ok"] += 1
                self.answers.extend((*asked, t0, t1))
        if status != 200:
            raise RequestFailed(f"{what}_{status}")
        try:
            pl = parse_ll_playlist(body.decode())
        except (AttributeError, ValueError, UnicodeDecodeError):
            raise RequestFailed(f"{what}_parse")
        if not pl["parts"] or not pl["hint"] or part_position(pl["hint"]) is None:
            raise RequestFailed(f"{what}_not_ll")
        return pl

    def abandon(self, hint):
        """Sends a blocking reload that hlsd holds for about a segment, and hangs up on it."""
        with self.lock:
            self.stats["requests"] += 1
            self.stats["abandoned"] += 1
        try:
            if self.conn is None:
                self.connect()
            self.conn.request("GET", f"{self.parts.path}?_HLS_msn={hint[0] + 1}&_HLS_part=0")
            time.sleep(0.1)
        except (OSError, http.client.HTTPException) as e:
            self.error(f"abandon_{error_kind(e)}")
        if self.conn:
            self.conn.close()
        self.conn = None

    def run(self):
        time.sleep(self.delay)
        next_abandon = None
        if self.abandon_every:
            next_abandon = time.monotonic() + random.uniform(0, self.abandon_every)
        last = None  # (msn, part) of the newest part fetched
        last_first = None
        asked = None  # the first load is a plain GET
        while time.monotonic() < self.deadline:
            try:
                pl = self.load(asked)
            except RequestFailed as e:
                self.error(e.kind)
                asked = None  # start over from a plain GET, after a pause
                time.sleep(max(0.0, min(0.5, self.deadline - time.monotonic())))
                continue
            if last_first is not None and pl["first"] < last_first:
                self.error("sequence_backwards")
            last_first = pl["first"]
            if not pl["names_ok"]:
                self.error("part_name_mismatch")
            hint = part_position(pl["hint"])
            if hint != next_part(pl):
                self.error("hint_mismatch")
            newest = pl["parts"][-1][0]
            if asked and newest < asked:
                if pl["segments"] and pl["segments"][-1][0] >= asked[0]:
                    with self.lock:  # the segment ended before the part asked for existed
                        self.stats["answered_by_segment_end"] += 1
                else:
                    self.error("reload_behind")
            if last is None:  # start PART-HOLD-BACK from the live edge
                start = max(0, len(pl["parts"]) - self.HOLD_BACK_PARTS)
                last = pl["parts"][start - 1][0] if start else None
            new = [(pos, uri) for pos, uri in pl["parts"] if last is None or pos > last]
            with self.lock:  # a hint viewer fetched the one new part already
                if asked and len(new) > (0 if self.hint else 1):
                    self.stats["behind"] += 1
                self.stats["max_new_parts"] = max(self.stats["max_new_parts"], len(new))
            for pos, uri in new:
                if time.monotonic() >= self.deadline:
                    break
                if last is not None and not (pos == (last[0], last[1] + 1) or pos == (last[0] + 1, 0)):
                    with self.lock:  # parts between last and pos were never fetched
                        self.stats["missed"] += 1
                self.fetch_media(uri, "part")
                last = pos
            if time.monotonic() >= self.deadline:
                break
            if asked is not None and hint <= asked:  # the server did not move on: no busy loop
                time.sleep(max(0.0, min(pl["part_target"] or 0.2, self.deadline - time.monotonic())))
            if next_abandon is not None and time.monotonic() >= next_abandon:
                next_abandon += self.abandon_every
                self.abandon(hint)
                asked, last, last_first = None, None, None  # a new start, a new connection
                continue
            if self.hint and (last is None or hint > last):
                t0 = time.monotonic()
                if self.fetch_media(pl["hint"], "hint"):
                    with self.lock:
                        self.answers.extend((*hint, t0, time.monotonic()))
                last = hint
            asked = hint
        if self.conn:
            self.conn.close()


def held_lateness(viewers):
    """How promptly held requests were answered once their part existed. A part's arrival is
    the first answer any viewer got for it (blocking reload or hinted part); a request sent
    before that was held, and its lateness is its answer time minus that arrival: what the
    server's wake-up of held requests (and this process' own scheduling of 50 threads) adds."""
    first = {}
    for v in viewers:
        a = v.answers
        for i in range(0, len(a), 4):
            key = (a[i], a[i + 1])
            if a[i + 3] < first.get(key, float("inf")):
                first[key] = a[i + 3]
    late = []
    for v in viewers:
        a = v.answers
        late.extend(a[i + 3] - first[(a[i], a[i + 1])] for i in range(0, len(a), 4)
                    if a[i + 2] < first[(a[i], a[i + 1])])
    ms = [x * 1000 for x in late]
    return {"parts": len(first), "held": len(ms), "over_50ms": sum(x > 50 for x in ms),
            "over_200ms": sum(x > 200 for x in ms),
            "lateness_ms": {k: (None if x is None else round(x, 2))
                            for k, x in percentiles(ms).items()}}


def totals(viewers):
    """The viewers' stats summed, with errors by kind and response-time percentiles."""
    total = {k: sum(v.stats[k] for v in viewers) for k in viewers[0].stats}
    if "max_new_parts" in total:
        total["max_new_parts"] = max(v.stats["max_new_parts"] for v in viewers)
    kinds = {}
    for v in viewers:
        for k, n in v.error_kinds.items():
            kinds[k] = kinds.get(k, 0) + n
    total["error_kinds"] = dict(sorted(kinds.items()))
    if hasattr(viewers[0], "answers"):
        total["held_lateness"] = held_lateness(viewers)
    for what in viewers[0].times:
        ms = [t * 1000 for v in viewers for t in v.times[what]]
        total[f"{what}_ms"] = {k: (None if x is None else round(x, 2))
                               for k, x in percentiles(ms).items()}
    return total


def make_viewer(url, deadline, delay, ll, i, hint_share, abandon_every=None):
    """Viewer number i: a plain Viewer, or an LlViewer; with hint_share, that share of the LL
    viewers (spread evenly over i) request the preload hint; abandon_every: LlViewer's."""
    if not ll:
        return Viewer(url, deadline, delay)
    return LlViewer(url, deadline, delay, hint=int((i + 1) * hint_share) > int(i * hint_share),
                    abandon_every=abandon_every)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--stagger", type=float, default=1.0, help="spread the starts over this many s")
    ap.add_argument("--ll", action="store_true",
                    help="LL-HLS viewers (LlViewer: blocking reloads, every part)")
    ap.add_argument("--hint-share", type=float, default=0.0,
                    help="with --ll: this share of the viewers also GETs the preload-hinted part")
    ap.add_argument("--abandon-every", type=float,
                    help="with --ll: each viewer hangs up on a held reload every this many s")
    a = ap.parse_args()
    deadline = time.monotonic() + a.seconds
    viewers = [make_viewer(a.url, deadline, a.stagger * i / max(1, a.n), a.ll, i, a.hint_share,
                           a.abandon_every) for i in range(a.n)]
    for v in viewers:
        v.start()
    for v in viewers:
        v.join(a.seconds + 10)
    total = totals(viewers)
    total.update(viewers=a.n, seconds=a.seconds, url=a.url)
    print(json.dumps(total))


if __name__ == "__main__":
    main()
