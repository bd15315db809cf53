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
"""
import argparse
import http.client
import json
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
                    self.conn = http.client.HTTPConnection(self.parts.hostname, self.parts.port,
                                                           timeout=self.timeout)
                    self.conn_requests = 0
                    with self.lock:
                        self.stats["connections"] += 1
                self.conn.request("GET", path)
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
                    path = urllib.parse.urlsplit(urllib.parse.urljoin(self.url, uri)).path
                    next_msn = msn + 1
                    fresh = True
                    t0 = time.monotonic()
                    try:
                        status, seg = self.get(path)
                    except RequestFailed as e:
                        self.error(f"segment_{e.kind}")
                        continue
                    self.times["segment"].append(time.monotonic() - t0)
                    if status == 404:
                        self.error("segment_404")  # listed a moment ago, gone already
                    elif status != 200:
                        self.error(f"segment_status_{status}")
                    elif not seg or len(seg) % 188 or seg[0] != 0x47 or seg[188:189] not in (b"", b"\x47"):
                        self.error("segment_not_ts")
                    else:
                        with self.lock:
                            self.stats["segments"] += 1
                            self.stats["bytes"] += len(seg)
            except RequestFailed as e:
                self.error(e.kind if e.kind.startswith("playlist") else f"playlist_{e.kind}")
            wait = target if fresh else target / 2
            time.sleep(max(0.0, min(started + wait, self.deadline) - time.monotonic()))
        if self.conn:
            self.conn.close()


def totals(viewers):
    """The viewers' stats summed, with errors by kind and response-time percentiles."""
    total = {k: sum(v.stats[k] for v in viewers) for k in viewers[0].stats}
    kinds = {}
    for v in viewers:
        for k, n in v.error_kinds.items():
            kinds[k] = kinds.get(k, 0) + n
    total["error_kinds"] = dict(sorted(kinds.items()))
    for what in ("playlist", "segment"):
        ms = [t * 1000 for v in viewers for t in v.times[what]]
        total[f"{what}_ms"] = {k: (None if x is None else round(x, 2))
                               for k, x in percentiles(ms).items()}
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--stagger", type=float, default=1.0, help="spread the starts over this many s")
    a = ap.parse_args()
    deadline = time.monotonic() + a.seconds
    viewers = [Viewer(a.url, deadline, a.stagger * i / max(1, a.n)) for i in range(a.n)]
    for v in viewers:
        v.start()
    for v in viewers:
        v.join(a.seconds + 10)
    total = totals(viewers)
    total.update(viewers=a.n, seconds=a.seconds, url=a.url)
    print(json.dumps(total))


if __name__ == "__main__":
    main()
