#!/usr/bin/env python3
"""Where a served segment's CPU goes, hlsd against nginx: the same ~1 MB segment under
`wrk -t2 -cN`, each server sampled by `perf record -e cpu-clock -g` (a software clock: this VM
has no hardware counters). Prints a markdown section: requests/s, CPU per request, and the
functions (kernel and user space) with the most samples in each server, by self time and by
the kernel paths that account for them.

    python3 bench/perf_serving.py [--conns 100] [--seconds 8] > build/bench/perf_serving.md
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the same media, servers and wrk runs as bench.py)

# Kernel paths worth naming: a sample whose stack passes through one is counted for it.
PATHS = [
    ("TCP send (sendfile enters it too)", ("tcp_sendmsg_locked",)),
    ("sendfile / splice", ("do_splice_direct", "splice_direct_to_actor", "do_sendfile")),
    ("loopback receive (wrk's side of the copy)", ("tcp_recvmsg", "tcp_v4_rcv")),
    ("epoll", ("do_epoll_wait", "ep_poll", "do_epoll_ctl")),
    ("accept / close", ("do_accept", "__sys_accept4", "tcp_close", "__fput")),
    ("memfd / shmem page lookup", ("shmem_file_splice_read", "shmem_get_folio_gfp",
                                   "filemap_splice_read")),
]


def perf_profile(pids, seconds, out):
    cmd = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-o", out, "-p",
           ",".join(str(p) for p in pids), "--", "sleep", str(seconds)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def summarize(data, top):
    """(total samples, [(percent, symbol, dso)], {path: percent}) of a perf.data file."""
    text = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym,dso"],
                          capture_output=True, text=True).stdout
    selfs = collections.Counter()
    paths = collections.Counter()
    total = 0
    for block in text.split("\n\n"):
        frames = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if not frames:
            continue
        total += 1
        m = re.match(r"\S+\s+(.*?)\s+\((.*)\)$", frames[0])
        sym, dso = (m.group(1), os.path.basename(m.group(2))) if m else (frames[0], "?")
        selfs[(re.sub(r"\+0x[0-9a-f]+$", "", sym), dso)] += 1
        stack = " ".join(frames)
        for name, marks in PATHS:
            if any(mark in stack for mark in marks):
                paths[name] += 1
    pct = lambda n: 100.0 * n / max(1, total)  # noqa: E731
    return (total, [(pct(n), s, d) for (s, d), n in selfs.most_common(top)],
            {name: pct(paths[name]) for name, _ in PATHS})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--top", type=int, default=14)
    a = ap.parse_args()
    for tool in ("perf", "wrk", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"perf_serving.py: {tool} not found (apt-get install linux-perf wrk nginx; "
                     "make bench installs them)")
    media = bench.media_files()
    tmp = bench.scratch_dir("perf-")
    mirror = os.path.join(tmp, "mirror")
    hlsd = bench.start_hlsd("hlsd-perf", ["--source", f"file:{media['m1080']['path']}",
                                          "--no-realtime", "--segment-time", "2",
                                          "--output-dir", mirror])
    bench.wait_for(lambda: "keeping the last segments" in hlsd.log_text(), 120, "hlsd")
    ng = bench.start_nginx("nginx-perf", mirror)
    seg = bench.pick_segment(mirror)
    size = os.path.getsize(os.path.join(mirror, seg))
    servers = {"hlsd": (hlsd.base + "live/" + seg, lambda: [hlsd.pid]),
               "nginx": (ng.base + seg, lambda: bench.nginx_pids(ng))}
    out = [f"Segment `{seg}` ({size:,} bytes), `wrk -t2 -c{a.conns} -d{a.seconds}s`, "
           f"`perf record -e cpu-clock -F 999 -g` on the server's processes for the run.\n"]
    results = {}
    for name, (url, pids) in servers.items():
        data = os.path.join(tmp, f"{name}.data")
        rec = perf_profile(pids(), a.seconds - 1, data)
        time.sleep(0.3)
        run = bench.wrk_run(url, a.conns, a.seconds, pids)
        rec.wait(timeout=30)
        results[name] = (run, summarize(data, a.top))
    hlsd.stop()
    ng.stop()
    out.append("| server | req/s | CPU % | CPU µs/req | kernel share | samples |")
    out.append("|---|---|---|---|---|---|")
    for name, (run, (total, _, _)) in results.items():
        out.append(f"| {name} | {run['requests_per_s']:,.0f} | {run['cpu_percent']:.0f} | "
                   f"{run['cpu_us_per_request']:.1f} | {100 * run['sys_share']:.0f} % | {total} |")
    out.append("\nSamples whose stack passes through each kernel path (a sample may count "
               "for two):\n")
    out.append("| path | " + " | ".join(results) + " |")
    out.append("|---|" + "---|" * len(results))
    for path, _ in PATHS:
        out.append(f"| {path} | " +
                   " | ".join(f"{results[n][1][2][path]:.1f} %" for n in results) + " |")
    for name, (_, (_, top, _)) in results.items():
        out.append(f"\n{name}, by self time:\n")
        out.append("| % of samples | function | object |")
        out.append("|---|---|---|")
        for pct, sym, dso in top:
            out.append(f"| {pct:.1f} | `{sym}` | {dso} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
