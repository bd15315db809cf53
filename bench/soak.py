#!/usr/bin/env python3
"""Soak: hlsd at real time with many simulated viewers for a long while; nothing may fail and
nothing may grow.

    python3 bench/soak.py [--seconds 600] [--viewers 50] [--out build/bench/soak.json]

Starts build/hlsd on 127.0.0.1 with the test pattern (real time; 640x360 by default, 1 s
segments, list size 2, every other setting at its default), waits for its first segments, then
runs --viewers simulated hls.js-like viewers (bench/viewers.py: one keep-alive connection each,
every response checked, errors counted by kind) for --seconds, their starts spread over
--stagger seconds. Every --interval seconds it samples hlsd's RSS (VmRSS), open fds, threads
and CPU, and scrapes /metrics (as Prometheus would: hlsd_viewers). The criteria (the
reliability issue's): zero errors, and RSS and fd count flat: after the first minute
(--warmup) neither ever exceeds its value at the end of the first minute by 5 % or more.

--ll: the same with LL-HLS viewers (viewers.LlViewer, like hls.js in lowLatencyMode: blocking
reloads for the next part, every part; --hint-share of them also GET the preload-hinted part,
each hangs up on a held reload every --abandon-every s) against hlsd --part-duration; it also
samples hlsd_http_requests_waiting (requests held until their part exists), and adds two
criteria: every blocking reload answered 200 (none timed out into a 503), and no request still
held once the viewers have left. Written to soak-ll.json.

Writes the JSON for bench/report.py (its "Soak" section) and exits 1 when a criterion fails.
`make soak` runs it (plain, then --ll) and updates only that section of bench/RESULTS.md;
`make bench-full` runs both after the other sections. Every process started here is stopped by
its PID.
"""
import argparse
import atexit
import datetime
import json
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree for the two imports below
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402  (processes, /proc readers, hlsd start-up)
import viewers as V  # noqa: E402  (the simulated viewer)

GROWTH_LIMIT_PCT = 5.0


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def stack_kib(pid):
    """The soft RLIMIT_STACK of pid in KiB: glibc's default size of a thread's stack."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max stack size"):
                v = line.split()[3]
                return None if v == "unlimited" else int(v) // 1024
    return None


def stack_rss_kb(pid, size_kib):
    """RSS of the anonymous mappings of exactly the thread stack size (the threads' stacks:
    pages a thread has touched stay resident), and how many there are."""
    total = n = 0
    take = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split(maxsplit=6)
            if len(head) >= 5 and "-" in head[0] and len(head[1]) == 4:
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                take = len(head) < 6 and (hi - lo) // 1024 == size_kib
                n += take
            elif take and line.startswith("Rss:"):
                total += int(line.split()[1])
    return total, n


def system_cpu():
    """(busy, total, steal) jiffies of the whole machine: how much else was running; steal is
    the time a hypervisor ran something else instead of this VM's CPUs (counted as busy)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v) - idle, sum(v), v[7] if len(v) > 7 else 0


def steal_percent(a, b):
    """The share of the machine's CPU time stolen between two system_cpu() readings, %."""
    return round(100.0 * (b[2] - a[2]) / max(1, b[1] - a[1]), 1)


def scrape_metrics(base, names):
    """One /metrics scrape on a new connection, as Prometheus' would be (its interval is longer
    than hlsd's 5 s keep-alive): {name: value} of unlabelled metrics (None when missing)."""
    status, body = B.http_get(base + "metrics", timeout=3)
    text = body.decode(errors="replace") if status == 200 else ""
    out = {}
    for name in names:
        m = re.search(rf"^{name} ([0-9.eE+-]+)$", text, re.M)
        out[name] = float(m.group(1)) if m else None
    return out


METRICS = ("hlsd_viewers", "hlsd_http_requests_waiting", "hlsd_http_connections_open")


def growth(samples, key, warmup):
    """The value at the end of the warm-up, at the end, the max after it, and the growth %."""
    after = [s for s in samples if s["t"] >= warmup]
    if not after:
        return None
    base, end = after[0][key], after[-1][key]
    top = max(s[key] for s in after)
    out = {"at_warmup": base, "end": end, "max": top, "min": min(s[key] for s in samples),
           "growth_end_pct": 100.0 * (end - base) / base if base else None,
           "growth_max_pct": 100.0 * (top - base) / base if base else None}
    if len(after) >= 3:  # least-squares slope over the samples after the warm-up, per minute
        ts = [s["t"] for s in after]
        vs = [s[key] for s in after]
        mt, mv = sum(ts) / len(ts), sum(vs) / len(vs)
        den = sum((t - mt) ** 2 for t in ts)
        out["slope_per_min"] = 60.0 * sum((t - mt) * (v - mv) for t, v in zip(ts, vs)) / den \
            if den else 0.0
    return out


def soak(a):
    B.SECTION[0] = "soak-ll" if a.ll else "soak"
    w, h = a.size.split("x")
    hlsd = B.start_hlsd("hlsd-soak", ["--source", "test", "--width", w, "--height", h,
                                       "--segment-time", str(a.segment_time),
                                       "--list-size", str(a.list_size)] +
                        (["--part-duration", str(a.part_duration)] if a.ll else []))
    B.wait_segments(hlsd.playlist, a.list_size, 30)
    pid = hlsd.pid
    stack_size = stack_kib(pid)
    B.log(f"soak: hlsd pid {pid} at {hlsd.base}, {a.viewers} {'LL ' if a.ll else ''}viewers "
          f"for {a.seconds:.0f} s "
          f"(starts over {a.stagger:.0f} s), samples every {a.interval:.0f} s, criteria after "
          f"{a.warmup:.0f} s")

    samples = []
    load_start = B.loadavg()
    time.sleep(1)
    idle_before = {"fds": fd_count(pid), "threads": threads(pid), "rss_kb": B.status_kb(pid, "VmRSS")}
    t0 = time.monotonic()
    deadline = t0 + a.seconds
    viewers = [V.make_viewer(hlsd.playlist, deadline, a.stagger * i / a.viewers, a.ll, i,
                             a.hint_share, a.abandon_every) for i in range(a.viewers)]
    sys0 = system_cpu()
    own0 = os.times()
    c_prev, t_prev, sys_prev = B.cpu_ticks([pid]), t0, sys0
    c_first = c_prev
    for v in viewers:
        v.start()

    def sample(due):
        """due: when it was meant to run; late_s says how much later this process got to it
        (a stall of the client process or the machine), scrape_ms how long hlsd took."""
        nonlocal c_prev, t_prev, sys_prev
        now = time.monotonic()
        c, sys_now = B.cpu_ticks([pid]), system_cpu()
        counts = [(v.requests(), v.stats["errors"]) for v in viewers]
        metrics = scrape_metrics(hlsd.base, METRICS)
        scraped = time.monotonic()
        s = {"t": round(now - t0, 2), "late_s": round(now - due, 3),
             "scrape_ms": round(1000 * (scraped - now), 1),
             "rss_kb": B.status_kb(pid, "VmRSS"), "fds": fd_count(pid),
             "threads": threads(pid),
             "stack_rss_kb": stack_rss_kb(pid, stack_size)[0] if stack_size else None,
             "cpu_percent": round(100.0 * (c - c_prev) / B.HZ / max(1e-6, now - t_prev), 2),
             "requests": sum(x for x, _ in counts), "errors": sum(e for _, e in counts),
             "hlsd_viewers": metrics["hlsd_viewers"],
             "requests_waiting": metrics["hlsd_http_requests_waiting"],
             "connections_open": metrics["hlsd_http_connections_open"]}
        s["steal_percent"] = steal_percent(sys_prev, sys_now)
        c_prev, t_prev, sys_prev = c, now, sys_now
        samples.append(s)
        return s

    sample(t0)
    # Samples every interval while the viewers run; the last one a second before they stop.
    last_at = deadline - min(1.0, a.interval / 2)
    next_at, next_log = t0 + a.interval, t0 + 60
    while next_at < last_at + a.interval:
        due = min(next_at, last_at)
        time.sleep(max(0.0, due - time.monotonic()))
        if not hlsd.alive():
            raise RuntimeError(f"hlsd exited during the soak: {hlsd.log_text()[-2000:]}")
        s = sample(due)
        next_at += a.interval
        if time.monotonic() >= next_log:
            next_log += 60
            B.log(f"  {s['t']:4.0f} s: RSS {s['rss_kb'] / 1024:.1f} MiB, {s['fds']} fds, "
                  f"{s['threads']} threads, CPU {s['cpu_percent']:.0f} %, "
                  f"{s['requests']} requests, {s['errors']} errors, "
                  f"hlsd_viewers {s['hlsd_viewers']}" +
                  (f", held requests {s['requests_waiting']}" if a.ll else ""))
    cpu_total = 100.0 * (B.cpu_ticks([pid]) - c_first) / B.HZ / (time.monotonic() - t0)
    for v in viewers:
        v.join(max(0.0, deadline - time.monotonic()) + 30)
    stuck = sum(v.is_alive() for v in viewers)
    wall = a.seconds  # every viewer stops at the deadline
    # The viewers closed their connections: hlsd should be back to its idle fd count.
    try:
        B.wait_for(lambda: fd_count(pid) <= idle_before["fds"], 10, "idle fds", 0.2)
    except RuntimeError:
        pass
    idle_after = {"fds": fd_count(pid), "threads": threads(pid), "rss_kb": B.status_kb(pid, "VmRSS")}
    if a.ll:  # (the scrape's own connection is one of the open ones)
        m = scrape_metrics(hlsd.base, METRICS)
        idle_after.update(requests_waiting=m["hlsd_http_requests_waiting"],
                          connections_open=m["hlsd_http_connections_open"])
    stack_maps = stack_rss_kb(pid, stack_size)[1] if stack_size else None
    sys1 = system_cpu()
    own1, t_own = os.times(), time.monotonic()
    load_end = B.loadavg()
    code = hlsd.stop()
    log_lines = hlsd.log_text().splitlines()
    bad = [l for l in log_lines if re.search(r"\[(warning|error|critical)\]", l)]

    total = V.totals(viewers)
    if stuck:
        total["errors"] += stuck
        total["error_kinds"]["viewer_stuck"] = stuck
    requests = total["requests"] if a.ll else total["playlists"] + total["segments"]
    warmup = a.warmup
    rss = growth(samples, "rss_kb", warmup)
    fds = growth(samples, "fds", warmup)
    thr = growth(samples, "threads", warmup)
    stacks = growth(samples, "stack_rss_kb", warmup) if stack_size else None
    if stacks:
        stacks["stack_size_kib"] = stack_size
        stacks["mappings"] = stack_maps
    checks = {
        "zero errors": total["errors"] == 0,
        "fds back to idle after the viewers left": idle_after["fds"] <= idle_before["fds"],
        f"RSS growth after {warmup:.0f} s < {GROWTH_LIMIT_PCT:.0f} %":
            rss is not None and rss["growth_max_pct"] < GROWTH_LIMIT_PCT,
        f"fd growth after {warmup:.0f} s < {GROWTH_LIMIT_PCT:.0f} %":
            fds is not None and fds["growth_max_pct"] < GROWTH_LIMIT_PCT,
    }
    ll = None
    if a.ll:
        checks["every blocking reload answered 200 (no 503)"] = \
            total["reloads"] > 0 and total["reloads_ok"] == total["reloads"]
        checks["no held request left after the viewers left"] = \
            idle_after["requests_waiting"] == 0
        # Each viewer makes two requests per part (the blocking reload and the part), so a
        # viewer that keeps up with the live edge makes 2 / part_duration requests a second
        # from its (staggered) start to the deadline.
        expected = sum(max(0.0, wall - v.delay) for v in viewers) * 2 / a.part_duration / wall
        held = [s["requests_waiting"] for s in samples[1:] if s["requests_waiting"] is not None]
        ll = {"part_duration": a.part_duration, "hint_viewers": sum(v.hint for v in viewers),
              "abandon_every_s": a.abandon_every,
              "expected_requests_per_s": round(expected, 1),
              "requests_per_s_vs_expected": round(requests / wall / expected, 3),
              "parts_expected_per_viewer": round(wall / a.part_duration, 1),
              "requests_waiting": {"samples": len(held),
                                   "min": min(held) if held else None,
                                   "mean": round(sum(held) / len(held), 1) if held else None,
                                   "max": max(held) if held else None}}
    res = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "machine": B.host(), "loadavg_start": load_start, "loadavg_end": load_end,
        "client_cpu_percent": round(100.0 * (own1.user + own1.system - own0.user - own0.system)
                                    / (t_own - t0), 1),
        "machine_cpu_steal_percent": {"mean": steal_percent(sys0, sys1),
                                      "max_interval": max(x["steal_percent"] for x in samples)},
        "machine_cpu_busy_percent": round(100.0 * (sys1[0] - sys0[0]) / max(1, sys1[1] - sys0[1]),
                                          1),
        "config": {"seconds": a.seconds, "viewers": a.viewers, "stagger_s": a.stagger,
                   "interval_s": a.interval, "warmup_s": warmup, "size": a.size,
                   "segment_time": a.segment_time, "list_size": a.list_size,
                   "growth_limit_pct": GROWTH_LIMIT_PCT, "ll": a.ll,
                   "hint_share": a.hint_share if a.ll else None,
                   "abandon_every_s": a.abandon_every if a.ll else None,
                   "hlsd": hlsd.cmd},
        "ll": ll,
        "wall_s": round(wall, 1), "requests": requests, "errors": total["errors"],
        "requests_per_s": round(requests / wall, 1), "viewers": total,
        "rss_kb": rss, "fds": fds, "threads": thr, "stack_rss_kb": stacks,
        "cpu_percent": {"mean": round(cpu_total, 2),
                        "max_interval": max(s["cpu_percent"] for s in samples[1:])
                        if len(samples) > 1 else None},
        "idle_before": idle_before, "idle_after": idle_after, "samples": samples,
        "hlsd_exit_code": code, "hlsd_log": {"lines": len(log_lines), "warnings_errors": len(bad),
                                             "first": bad[:5]},
        "checks": checks, "pass": all(checks.values()), "commands": B.COMMANDS,
    }
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=600, help="soak duration (600 = 10 min)")
    ap.add_argument("--viewers", type=int, default=50)
    ap.add_argument("--stagger", type=float, default=10, help="spread the viewer starts (s)")
    ap.add_argument("--interval", type=float, default=5, help="sampling period (s)")
    ap.add_argument("--warmup", type=float, default=60,
                    help="growth is measured against the sample at this time (capped at half "
                         "of --seconds)")
    ap.add_argument("--size", default="640x360", help="test pattern size, WxH")
    ap.add_argument("--segment-time", type=float, default=1)
    ap.add_argument("--list-size", type=int, default=2)
    ap.add_argument("--ll", action="store_true",
                    help="LL-HLS viewers (viewers.LlViewer: blocking reloads, every part)")
    ap.add_argument("--part-duration", type=float, default=0.2,
                    help="with --ll: hlsd's --part-duration")
    ap.add_argument("--hint-share", type=float, default=0.2,
                    help="with --ll: the share of viewers that also GET the preload-hinted part "
                         "(held until it is complete) before each blocking reload")
    ap.add_argument("--abandon-every", type=float, default=60,
                    help="with --ll: each viewer hangs up on a held blocking reload once every "
                         "this many s (its first at a random time), then starts over on a new "
                         "connection; 0: never")
    ap.add_argument("--out", help="default build/bench/soak.json, with --ll soak-ll.json")
    a = ap.parse_args()
    a.out = a.out or os.path.join(B.BUILD, "bench", "soak-ll.json" if a.ll else "soak.json")
    a.abandon_every = a.abandon_every or None
    if not re.fullmatch(r"\d+x\d+", a.size) or a.viewers < 1 or a.seconds <= 0 or \
            a.part_duration <= 0 or not 0 <= a.hint_share <= 1:
        ap.error("--size WxH, --viewers ≥ 1, --seconds > 0, --part-duration > 0, "
                 "0 ≤ --hint-share ≤ 1")
    a.warmup = min(a.warmup, a.seconds / 2)
    a.stagger = min(a.stagger, a.warmup)
    if a.segment_time == int(a.segment_time):
        a.segment_time = int(a.segment_time)

    atexit.register(B.cleanup)
    signal.signal(signal.SIGTERM, B.on_signal)
    signal.signal(signal.SIGINT, B.on_signal)
    if not os.access(B.HLSD, os.X_OK):
        sys.exit(f"{B.HLSD} not found: run `make build` first")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    try:
        res = soak(a)
    except Exception as e:
        import traceback
        traceback.print_exc()
        res = {"date": datetime.datetime.now(datetime.timezone.utc)
               .strftime("%Y-%m-%d %H:%M:%S UTC"), "error": f"{type(e).__name__}: {e}",
               "commands": B.COMMANDS, "pass": False}
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    if "error" in res:
        B.log(f"soak failed: {res['error']} ({a.out})")
        return 1
    r, fd = res["rss_kb"], res["fds"]
    B.log(f"soak: {res['requests']} requests, {res['errors']} errors "
          f"{res['viewers']['error_kinds'] or ''}, RSS {r['at_warmup'] / 1024:.1f} → "
          f"{r['end'] / 1024:.1f} MiB (max {r['max'] / 1024:.1f}, {r['growth_max_pct']:+.1f} %), "
          f"fds {fd['at_warmup']} → {fd['end']} (max {fd['max']}), hlsd CPU "
          f"{res['cpu_percent']['mean']:.1f} %: {'PASS' if res['pass'] else 'FAIL'} ({a.out})")
    if a.ll:
        v, ll = res["viewers"], res["ll"]
        B.log(f"soak LL: {v['reloads']} blocking reloads ({v['reloads_ok']} answered 200), "
              f"wait ms p50/p99/max {v['reload_ms']['p50']}/{v['reload_ms']['p99']}/"
              f"{v['reload_ms']['max']}, {v['parts']} + {v['hints']} parts (hinted), "
              f"{v['missed']} missed, {v['behind']} reloads behind the edge, "
              f"{v['abandoned']} abandoned; "
              f"{res['requests_per_s']}/s of {ll['expected_requests_per_s']}/s expected; "
              f"held requests sampled {ll['requests_waiting']}; held answered after their "
              f"part's first answer: {v['held_lateness']}")
    return 0 if res["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
