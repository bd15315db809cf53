#!/usr/bin/env python3
"""TLS serving: hlsd's HTTPS next to nginx's HTTPS, same certificate, same content, one run.

    python3 bench/tls.py [--seconds 8] [--rounds 3] [--json build/bench/tls.json] \
        [--update bench/RESULTS.md]
    python3 bench/tls.py --from-json build/bench/tls.json --update bench/RESULTS.md

The first form measures, writes the JSON and, with --update, the section "## 8. TLS serving" of
RESULTS.md (replaced where it is, or put before "## Profile (callgrind)"; bench/report.py rewrites
the whole file without it: run the second form after it).

A test CA (tests/support/make-test-ca.sh: EC P-256 leaf + intermediate) in a scratch directory;
hlsd `--tls-cert/--tls-key` segments the 1080p bench clip (as bench.py's serving section does)
into an --output-dir mirror, which nginx (bench.py's configuration with `listen ... ssl`, the same
certificate and key, `worker_processes` = hlsd's event loops) serves. wrk (TLS 1.3, OpenSSL's
defaults) on keep-alive connections: a ~1 MB segment (MB/s, server CPU per MB) and the playlist
(requests/s), c10 and c100; and the playlist with `Connection: close`, c10, so every request is
a new TLS connection (handshakes/s, CPU per handshake). Every cell runs `--rounds` times per
server, the servers alternating; cells are medians. Everything is on 127.0.0.1; every process
started here is stopped by its PID.
"""
import argparse
import atexit
import datetime
import json
import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree for the imports below

import bench as B  # noqa: E402  (processes, /proc readers, hlsd/nginx start-up, wrk parsing)
import players_report as P  # noqa: E402  (rewriting one section of RESULTS.md)
import soak as S  # noqa: E402  (machine CPU / steal)

HEADING = "## 8. TLS serving"
DEFAULT_JSON = os.path.join(B.BUILD, "bench", "tls.json")
MAKE_CA = os.path.join(B.ROOT, "tests", "support", "make-test-ca.sh")
NGINX_TLS = """listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:10m;"""
# (name, target, connections, Connection: close): the cells, in the order they run each round
CELLS = [("segment c10", "segment", 10, False), ("segment c100", "segment", 100, False),
         ("playlist c10", "playlist", 10, False), ("playlist c100", "playlist", 100, False),
         ("handshakes c10", "playlist", 10, True)]
CTX = [None]  # the ssl.SSLContext trusting the test CA


def tls_get(url, timeout=3):
    """bench.http_get over HTTPS (both servers here listen with TLS only), trusting the test CA."""
    try:
        with urllib.request.urlopen(url.replace("http://", "https://", 1), timeout=timeout,
                                    context=CTX[0]) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except (OSError, urllib.error.URLError):
        return 0, b""


def negotiated(port):
    """(version, cipher) a default OpenSSL 3 client (as wrk's) gets from the server."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        with CTX[0].wrap_socket(s, server_hostname="127.0.0.1") as t:
            return t.version(), t.cipher()[0]


def lo_bytes():
    """Bytes through the loopback interface so far (both directions count once: rx = tx)."""
    with open("/proc/net/dev") as f:
        return next(int(l.split(":")[1].split()[0]) for l in f if l.strip().startswith("lo:"))


def wrk(url, conns, seconds, pids, close):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--timeout", "2s",
           *(["-H", "Connection: close"] if close else []), url]
    B.record(cmd)
    m0, t0, c0, b0 = S.system_cpu(), time.monotonic(), B.cpu_ticks(pids), lo_bytes()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    wall, c1, m1, b1 = time.monotonic() - t0, B.cpu_ticks(pids), S.system_cpu(), lo_bytes()
    out = B.parse_wrk(r.stdout)
    out.update(cpu_s=(c1 - c0) / B.HZ, wall_s=round(wall, 2), steal_pct=S.steal_percent(m0, m1),
               machine_busy_pct=round(100.0 * (m1[0] - m0[0]) / max(1, m1[1] - m0[1]), 1),
               lo_bytes_per_request=(b1 - b0) / out["requests"] if out.get("requests") else None)
    out["cpu_percent"] = 100.0 * out["cpu_s"] / wall
    if r.returncode != 0 or not out.get("requests"):
        out["error_detail"] = (out["error_detail"] + " wrk: " + r.stderr.strip()[-300:]).strip()
    return out


def derive(run, target, seg_bytes):
    """The cell's figures from one wrk run: per MB for the segment, per request otherwise."""
    n = run.get("requests") or 0
    if target == "segment":
        mb = n * seg_bytes / 1e6
        run["mb_per_s"] = run["requests_per_s"] * seg_bytes / 1e6 if n else None
        run["cpu_ms_per_mb"] = 1e3 * run["cpu_s"] / mb if n else None
    run["cpu_us_per_request"] = 1e6 * run["cpu_s"] / n if n else None
    return run


def built():
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(os.path.getmtime(B.HLSD)))


def hlsd_handshakes(hlsd):
    m = re.search(r"^hlsd_tls_handshakes_total (\d+)", tls_get(hlsd.base + "metrics")[1].decode(),
                  re.M)
    return int(m.group(1)) if m else None


def run(a):
    B.SECTION[0] = "tls"
    B.http_get = tls_get  # start_nginx, wait_for and playlist checks in bench.py ask over HTTPS
    started, t_start = datetime.datetime.now(datetime.timezone.utc), time.monotonic()
    ca = B.scratch_dir("ca-")
    subprocess.run([MAKE_CA, ca], check=True, capture_output=True)
    B.record([os.path.relpath(MAKE_CA, B.ROOT), "$CA"])
    CTX[0] = ssl.create_default_context(cafile=os.path.join(ca, "ca.pem"))
    cert, key = os.path.join(ca, "cert.pem"), os.path.join(ca, "key.pem")

    media = B.media_files()
    mirror = os.path.join(B.scratch_dir("serve-"), "mirror")
    hlsd = B.start_hlsd("hlsd-tls", ["--source", f"file:{media['m1080']['path']}", "--no-realtime",
                                     "--segment-time", "2", "--output-dir", mirror,
                                     "--tls-cert", cert, "--tls-key", key])
    hlsd.base, hlsd.playlist = f"https://127.0.0.1:{hlsd.port}/", \
        f"https://127.0.0.1:{hlsd.port}/live/index.m3u8"
    B.wait_for(lambda: "keeping the last segments" in hlsd.log_text(), 120,
               "hlsd to finish the file")
    loops = int(re.search(r"(\d+) event loops?", hlsd.log_text()).group(1))
    B.NGINX_CONF = B.NGINX_CONF.replace(
        "worker_processes auto;", f"worker_processes {loops};  # hlsd's event loops").replace(
        "listen 127.0.0.1:{port};", NGINX_TLS.replace("{cert}", cert).replace("{key}", key))
    ng = B.start_nginx("nginx-tls", mirror)
    seg = B.pick_segment(mirror)
    seg_bytes = open(os.path.join(mirror, seg), "rb").read()
    # The mirror's index.m3u8 lists no LL-HLS parts; nginx serves the bytes hlsd serves instead.
    with open(os.path.join(mirror, "hlsd-index.m3u8"), "wb") as f:
        f.write(tls_get(hlsd.playlist)[1])
    ng_base = f"https://127.0.0.1:{ng.port}/"
    urls = {"segment": {"hlsd": hlsd.base + "live/" + seg, "nginx": ng_base + seg},
            "playlist": {"hlsd": hlsd.playlist, "nginx": ng_base + "hlsd-index.m3u8"}}
    bodies = {k: {n: tls_get(u)[1] for n, u in v.items()} for k, v in urls.items()}
    res = {"date": started.strftime("%Y-%m-%d %H:%M:%S UTC"), "seconds": a.seconds,
           "rounds": a.rounds, "machine": B.host(), "loadavg_start": B.loadavg(),
           "commit": B.first_line(["git", "-C", B.ROOT, "describe", "--always", "--dirty"]),
           "nginx": B.first_line(["nginx", "-v"]), "wrk": B.first_line(["wrk", "-v"]),
           "openssl": B.first_line(["openssl", "version"]), "hlsd_loops": loops,
           "hlsd_built": built(),
           "segment": seg, "segment_bytes": len(seg_bytes),
           "playlist_bytes": len(bodies["playlist"]["hlsd"]),
           "same_segment_bytes": all(b == seg_bytes for b in bodies["segment"].values()),
           "same_playlist_bytes": bodies["playlist"]["hlsd"] == bodies["playlist"]["nginx"],
           "negotiated": {"hlsd": negotiated(hlsd.port), "nginx": negotiated(ng.port)},
           "nginx_conf": open(ng.conf).read(), "cells": {}}
    B.log(f"tls: segment {seg} ({len(seg_bytes)} B, same bytes: {res['same_segment_bytes']}), "
          f"negotiated {res['negotiated']}, {loops} loops / nginx workers")
    pids = {"hlsd": [hlsd.pid], "nginx": B.nginx_pids(ng)}
    runs = {c[0]: {"hlsd": [], "nginx": []} for c in CELLS}
    shakes = []  # (hlsd's handshake counter delta, wrk's requests) of hlsd's handshake runs
    for rnd in range(a.rounds):
        for i, (name, target, conns, close) in enumerate(CELLS):
            order = ("hlsd", "nginx") if (rnd + i) % 2 == 0 else ("nginx", "hlsd")
            for server in order:
                h0 = hlsd_handshakes(hlsd) if server == "hlsd" and close else None
                r = derive(wrk(urls[target][server], conns, a.seconds, pids[server], close),
                           target, len(seg_bytes))
                if h0 is not None:
                    shakes.append((hlsd_handshakes(hlsd) - h0 - 1, r.get("requests")))
                runs[name][server].append(r)
                B.log(f"  round {rnd + 1} {name} {server}: {r['requests_per_s']} req/s, "
                      f"{r['cpu_s']:.2f} CPU s, steal {r['steal_pct']} %"
                      + (f" ERR {r['error_detail']}" if r["error_detail"] else ""))
                time.sleep(0.5)
    for name, target, conns, close in CELLS:
        res["cells"][name] = {"target": target, "connections": conns, "connection_close": close,
                              "runs": runs[name]}
    res["hlsd_handshakes_vs_requests"] = shakes
    res["loadavg_end"], res["duration_s"] = B.loadavg(), round(time.monotonic() - t_start)
    if built() != res["hlsd_built"]:  # another job rebuilt it: the running process kept the old
        res["hlsd_built"] += (f"; another job replaced the file at {built()}, during the run: "
                              "the process measured kept running the earlier one")
    res["commands"] = [c[1] for c in B.COMMANDS]
    ng.stop()
    hlsd.stop()
    return res


def med(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return (statistics.median(vals), min(vals), max(vals)) if vals else None


def fmt(v, digits):
    return "–" if v is None else f"{v:,.{digits}f}"


# (row label, key, digits, cells it applies to)
ROWS = [("MB/s", "mb_per_s", 0, "segment"), ("CPU ms per MB", "cpu_ms_per_mb", 2, "segment"),
        ("requests/s", "requests_per_s", 0, "playlist"),
        ("CPU µs per request", "cpu_us_per_request", 1, "playlist"),
        ("handshakes/s", "requests_per_s", 0, "handshakes"),
        ("CPU µs per handshake", "cpu_us_per_request", 0, "handshakes"),
        ("server CPU % (100 = one core)", "cpu_percent", 0, "handshakes"),
        ("bytes on lo per connection (IP packets)", "lo_bytes_per_request", 0, "handshakes")]


def scrub(text):
    """Scratch paths and ports out of a command or the nginx config: they vary per run."""
    text = re.sub(r"/tmp/hlsd-bench-[^/ ]+/[^/ ;]+", "$TMP", text.replace(B.ROOT + "/", ""))
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)


def section(res):
    steal = [r["steal_pct"] for c in res["cells"].values() for s in c["runs"].values() for r in s]
    errors = {f"{n} {s}": "; ".join(r["error_detail"] for r in rs if r["error_detail"])
              for n, c in res["cells"].items() for s, rs in c["runs"].items()}
    shakes = res["hlsd_handshakes_vs_requests"]
    neg = res["negotiated"]
    out = [HEADING, "",
           f"Measured by `python3 bench/tls.py --seconds {res['seconds']} --rounds {res['rounds']} "
           f"--update bench/RESULTS.md` on {res['date']} (commit `{res['commit']}`, "
           f"{res['duration_s'] / 60:.1f} min, load average {' '.join(res['loadavg_start'])} at "
           f"the start, {' '.join(res['loadavg_end'])} at the end; CPU steal during the runs "
           f"{min(steal):.0f}–{max(steal):.0f} %, median {statistics.median(steal):.0f} %). "
           f"{res['machine']['hlsd']} (build/hlsd of {res.get('hlsd_built', '?')}); {res['nginx']}; {res['openssl']}; {res['wrk']}.", "",
           "**Method.** The same certificate and key on both servers (tests/support/make-test-ca.sh:"
           " EC P-256 leaf + intermediate) and the same bytes: hlsd (`--tls-cert CERT --tls-key KEY"
           " --source file:1080p.mp4 --no-realtime --segment-time 2 --output-dir DIR`, otherwise "
           "its defaults; the file is segmented before the load) serves from memory with SSL_write;"
           " nginx serves the `--output-dir` mirror with section 2's configuration plus the TLS "
           f"lines below (`worker_processes {res['hlsd_loops']}` = hlsd's event loops, "
           "`ssl_session_cache shared`). No kTLS on this kernel: nginx's sendfile does not apply, "
           "both encrypt in user space in 16 KB records (nginx's default `ssl_buffer_size`). "
           f"Negotiated: hlsd {neg['hlsd'][0]} {neg['hlsd'][1]}, nginx {neg['nginx'][0]} "
           f"{neg['nginx'][1]}. Segment `{res['segment']}` = {res['segment_bytes']:,} bytes "
           f"(byte-equal on both: {res['same_segment_bytes']}); playlist = hlsd's "
           f"{res['playlist_bytes']} bytes, served by nginx from a copy (byte-equal: "
           f"{res['same_playlist_bytes']}; the mirror's own index.m3u8 lists no parts). "
           "`wrk -t2 -cN -dDs --timeout 2s https://...` on keep-alive connections; *handshakes* = "
           "the playlist with `-H 'Connection: close'`, so every request is a new TCP + TLS "
           "connection. wrk 4.1 keeps each connection's session across reconnects, so these are "
           "*resumed* TLS 1.3 handshakes (session ticket + X25519, no certificate or signature) on "
           "both servers: checked when this script was written with nginx's `$ssl_session_reused` "
           "(all but the first per connection reused), and the bytes on lo per connection below "
           "show no certificate chain for either"
           + (f"; hlsd's `hlsd_tls_handshakes_total` rose by {sum(s[0] for s in shakes):,} over "
              f"its handshake runs for {sum(s[1] or 0 for s in shakes):,} wrk responses"
              if shakes else "") + ". "
           f"{res['seconds']} s per run, {res['rounds']} runs per cell and server, hlsd and nginx "
           "alternating (and which goes first); cells are medians (min–max in parentheses). CPU = "
           "utime+stime of the server's processes over the run (nginx: master + workers); MB = "
           "10⁶ bytes of segment bodies. wrk runs on the same 2 cores and takes its share (its own "
           "TLS work included), so absolute rates are low and the ratios matter. Ratio = hlsd / "
           "nginx: > 1 is better for hlsd on rates, < 1 on CPU.", "",
           "| cell | hlsd | nginx | ratio |", "|---|---|---|---|"]
    for name, c in res["cells"].items():
        kind = "handshakes" if c["connection_close"] else c["target"]
        for label, key, digits, applies in ROWS:
            if applies != kind:
                continue
            h, n = med(c["runs"]["hlsd"], key), med(c["runs"]["nginx"], key)
            cell = [f"{fmt(m[0], digits)} ({fmt(m[1], digits)}–{fmt(m[2], digits)})" if m else "–"
                    for m in (h, n)]
            ratio = f"{h[0] / n[0]:.2f}×" if h and n and n[0] else "–"
            out.append(f"| {name}: {label} | {cell[0]} | {cell[1]} | {ratio} |")
    bad = {k: v for k, v in errors.items() if v}
    out += ["", "Errors: " + ("; ".join(f"{k}: {v}" for k, v in bad.items()) if bad else
                              "none (every wrk run: no socket errors, every response 2xx).")]
    out += ["", "nginx's TLS lines (the rest as in section 2):", "", "```nginx",
            *[scrub(l.strip()) for l in res["nginx_conf"].splitlines()
              if l.strip().startswith(("worker_processes", "listen", "ssl_"))], "```", "",
            "Commands (ports and scratch paths vary per run):", ""]
    seen = []
    for c in res["commands"]:
        c = re.sub(r"-c\d+ -d\d+s", "-cN -dDs", scrub(c)).replace("-H Connection: close",
                                                                "-H 'Connection: close'")
        if c not in seen:
            seen.append(c)
    return out + [f"- `{c}`" for c in seen] + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=8, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=3, help="runs per cell and server")
    ap.add_argument("--json", default=DEFAULT_JSON, help="where the run's raw figures go")
    ap.add_argument("--update", metavar="RESULTS_MD", help="also write the section into it")
    ap.add_argument("--from-json", metavar="JSON", help="measure nothing: the section from JSON")
    a = ap.parse_args()
    if a.from_json:
        B.cleanup()  # bench.py made a scratch directory on import; nothing runs here
        with open(a.from_json) as f:
            res = json.load(f)
    else:
        atexit.register(B.cleanup)
        signal.signal(signal.SIGTERM, B.on_signal)
        signal.signal(signal.SIGINT, B.on_signal)
        res = run(a)
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
        B.log(f"wrote {a.json}")
    lines = section(res)
    if a.update:
        P.update(a.update, lines, HEADING)
        B.log(f"{a.update}: {HEADING}")
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
