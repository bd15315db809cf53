#!/usr/bin/env python3
"""Simulated HLS viewers: each follows a live playlist the way hls.js does by default.

    python3 bench/viewers.py --url http://127.0.0.1:PORT/live/index.m3u8 --n 10 --seconds 30

Each viewer keeps one keep-alive connection, loads the playlist, starts 3 segments from the
live edge (hls.js' liveSyncDurationCount), downloads every new segment once, and reloads the
playlist every target duration (half of it when nothing new appeared). Starts are spread over
the first second. Prints one JSON line with totals (requests, bytes, errors, missed segments).
Loopback only; stops after --seconds.
"""
import argparse
import http.client
import json
import re
import threading
import time
import urllib.parse


def parse_playlist(text):
    target = float(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))
    m = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text)
    msn = int(m.group(1)) if m else 0
    uris = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return target, [(msn + i, uri) for i, uri in enumerate(uris)]


class Viewer(threading.Thread):
    def __init__(self, url, deadline, delay):
        super().__init__(daemon=True)
        self.url = url
        self.parts = urllib.parse.urlsplit(url)
        self.deadline = deadline
        self.delay = delay
        self.conn = None
        self.stats = {"playlists": 0, "segments": 0, "bytes": 0, "errors": 0, "missed": 0}

    def get(self, path):
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.parts.hostname, self.parts.port,
                                                           timeout=5)
                self.conn.request("GET", path)
                resp = self.conn.getresponse()
                body = resp.read()
                return resp.status, body
            except (OSError, http.client.HTTPException):
                if self.conn:
                    self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        return 0, b""

    def run(self):
        time.sleep(self.delay)
        next_msn = None
        while time.monotonic() < self.deadline:
            started = time.monotonic()
            fresh = False
            target = 1.0
            try:
                status, body = self.get(self.parts.path)
                self.stats["playlists"] += 1
                if status != 200:
                    self.stats["errors"] += 1
                else:
                    target, entries = parse_playlist(body.decode())
                    if entries:
                        if next_msn is None:
                            next_msn = entries[max(0, len(entries) - 3)][0]
                        if entries[0][0] > next_msn:  # fell behind the window
                            self.stats["missed"] += entries[0][0] - next_msn
                            next_msn = entries[0][0]
                        for msn, uri in entries:
                            if msn < next_msn or time.monotonic() >= self.deadline:
                                continue
                            path = urllib.parse.urlsplit(urllib.parse.urljoin(self.url, uri)).path
                            status, seg = self.get(path)
                            if status == 200:
                                self.stats["segments"] += 1
                                self.stats["bytes"] += len(seg)
                            else:
                                self.stats["errors"] += 1
                            next_msn = msn + 1
                            fresh = True
            except (OSError, http.client.HTTPException, AttributeError, ValueError):
                self.stats["errors"] += 1
            wait = target if fresh else target / 2
            time.sleep(max(0.0, min(started + wait, self.deadline) - time.monotonic()))
        if self.conn:
            self.conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30)
    a = ap.parse_args()
    deadline = time.monotonic() + a.seconds
    viewers = [Viewer(a.url, deadline, i / max(1, a.n)) for i in range(a.n)]
    for v in viewers:
        v.start()
    for v in viewers:
        v.join(a.seconds + 10)
    total = {k: sum(v.stats[k] for v in viewers) for k in viewers[0].stats}
    total.update(viewers=a.n, seconds=a.seconds, url=a.url)
    print(json.dumps(total))


if __name__ == "__main__":
    main()
