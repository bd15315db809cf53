#!/usr/bin/env python3
"""Caching edges in front of hlsd under load: what reaches the origin, what it costs, errors.

    python3 bench/edge.py [--engine nginx|varnish|both] [--browser] [--json build/bench/edge.json]
                          [--update bench/RESULTS.md]
    python3 bench/edge.py --engine varnish --merge OLD.json --json NEW.json
    python3 bench/edge.py --from-json build/bench/edge.json --update bench/RESULTS.md
    python3 bench/edge.py --from-json OLD.json --players videojs-ll,shaka-ll --json NEW.json

hlsd (build/hlsd, the shipped conf/hlsd.yml: test pattern 1280x720, 1 s segments, 0.2 s parts,
fMP4; plus `--trusted-proxies 127.0.0.2,127.0.0.3`) behind two nginx edges running the shipped
packaging/examples/nginx-edge.conf (tests/edge/edgelib.py: one worker each, plain HTTP/1.1 on
127.0.0.2 and 127.0.0.3), and simulated LL-HLS viewers (bench/viewers.py's LlViewer, like hls.js
in lowLatencyMode: a blocking reload for the preload-hinted part, then every new part once;
--hint-share of them also GET the hinted part, as Apple's players do) split evenly between the
two edges, at most --per-process viewers per Python process. Each run (--runs, "VIEWERS:SECONDS"
each) reads hlsd's request counters by route from /metrics and the part hlsd is at before and
after, and samples the CPU (utime+stime) of hlsd and of each nginx master + its children, and the
machine's busy and stolen CPU. The criteria it reports: per edge, hlsd gets ≤ 1.1 requests per
part produced (parts; blocking reloads) and per segment produced; hlsd's CPU and request rate at
400 viewers against 40 (ratios); no viewer error.

Then a latency run (--latency-seconds): --latency-viewers viewers straight at hlsd, as many
through one edge, as many through a second tier (an edge on 127.0.0.4 whose upstream is the
127.0.0.2 edge), in the same window: per part, the delay of each held answer through an edge
after the first answer any direct viewer got for that part (same clock: CLOCK_MONOTONIC, shared
by the viewer processes). --browser: tests/browser/edge.mjs (hls.js in Chromium) instead, when
it exists.

--engine both (the default) does all of that through nginx edges, then again (a fresh hlsd, the
same viewers and method) through the shipped Varnish edge: packaging/examples/varnish-edge.vcl in
varnishd behind nginx-varnish-edge.conf (tests/edge/edgelib.py's VarnishEdge, same addresses),
with the load runs of --varnish-runs (40 and 400 viewers), the latency run, and with --browser
edge.mjs --engine varnish; an edge's CPU is then its nginx front's plus its varnishd's (manager +
child), and varnishstat's waiting-list counters are kept. The section adds "nginx vs Varnish".
--engine varnish --merge OLD.json: the nginx figures of an earlier run, this run's Varnish ones.

The viewer processes run this file with --viewers (bench/viewers.py's LlViewers, with its MPEG-TS
body check extended to fMP4 fragments, since the shipped configuration serves fMP4; their
(part, sent, answered) times written to a file). Every process started here is stopped by its
PID. Loopback only. --update writes the section "## 9. Caching edges" of RESULTS.md (replaced
where it is, or put before "## Profile (callgrind)"; bench/report.py rewrites the whole file
without it: run the --from-json form after it).

--players LIST: also tests/browser/players.mjs with those players (its own hlsd each time),
straight at hlsd, then with --edge nginx, then --edge varnish; with --from-json, only that, added
to the earlier run's figures.
"""
import argparse
import atexit
import datetime
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree for the imports below
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "edge"))

import viewers as V  # noqa: E402  (the simulated LL-HLS viewer)

HEADING = "## 9. Caching edges"
EDGE_HOSTS = ("127.0.0.2", "127.0.0.3")
TIER2_HOST = "127.0.0.4"


# ---------------------------------------------------------------- viewer processes (--viewers)


def is_fmp4(body):
    """A CMAF fragment: whole ISO BMFF boxes (size, printable type) with a moof and an mdat."""
    i, seen = 0, set()
    while i + 8 <= len(body):
        size = int.from_bytes(body[i:i + 4], "big")
        kind = body[i + 4:i + 8]
        if size < 8 or not all(0x20 <= c < 0x7f for c in kind):
            return False
        seen.add(kind)
        i += size
    return i == len(body) and {b"moof", b"mdat"} <= seen


BROWSER_ACCEPT_ENCODING = "gzip, deflate, br, zstd"  # what Chromium sends with every request


def viewers_main(argv):
    """bench/viewers.py's main for LlViewers, parts checked as MPEG-TS or fMP4, requests with a
    browser's Accept-Encoding (--accept-encoding identity: http.client's own), and every 200
    to a blocking reload or hinted part written to --answers as [msn, part, sent, answered]
    (CLOCK_MONOTONIC seconds)."""
    ts = V.is_ts
    V.is_ts = lambda body: ts(body) or is_fmp4(body)
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--stagger", type=float, default=1.0)
    ap.add_argument("--hint-share", type=float, default=0.0)
    ap.add_argument("--answers", required=True)
    ap.add_argument("--accept-encoding", choices=("browser", "identity"), default="browser")
    a = ap.parse_args(argv)
    if a.accept_encoding == "browser":
        V.Viewer.accept_encoding = BROWSER_ACCEPT_ENCODING
    deadline = time.monotonic() + a.seconds
    viewers = [V.make_viewer(a.url, deadline, a.stagger * i / max(1, a.n), True, i, a.hint_share)
               for i in range(a.n)]
    for v in viewers:
        v.start()
    for v in viewers:
        v.join(a.seconds + 10)
    total = V.totals(viewers)
    stuck = sum(v.is_alive() for v in viewers)
    if stuck:
        total["errors"] += stuck
        total["error_kinds"]["viewer_stuck"] = stuck
    total.update(viewers=a.n, seconds=a.seconds, url=a.url)
    with open(a.answers, "w") as f:
        json.dump([[round(x, 4) for x in v.answers] for v in viewers], f)
    print(json.dumps(total), flush=True)


# ---------------------------------------------------------------- the bench


def load_bench():
    global B, P, S, E
    import bench as B  # noqa: E402  (processes, /proc readers, host, loadavg)
    import players_report as P  # noqa: E402  (rewriting one section of RESULTS.md)
    import soak as S  # noqa: E402  (machine CPU / steal)
    import edgelib as E  # noqa: E402  (hlsd and the shipped nginx edge)


def position(base):
    """(msn, part) of the newest part hlsd lists, and parts per complete segment listed."""
    _, _, body = E.get(base + "live/index.m3u8")
    pl = V.parse_ll_playlist(body.decode())
    per = {}
    for (msn, _), _ in pl["parts"]:
        per[msn] = per.get(msn, 0) + 1
    done = [n for m, n in per.items() if any(s == m for s, _ in pl["segments"])]
    return pl["parts"][-1][0], max(done) if done else None


def parts_between(p0, p1, per_segment):
    return (p1[0] - p0[0]) * per_segment + (p1[1] - p0[1])


class Cpu:
    """utime+stime of groups of processes (a PID and its children, read now)."""

    def __init__(self, groups):
        self.groups = groups  # name -> [pid, with_children]

    def pids(self, name):
        pid, kids = self.groups[name]
        return [pid] + (B.children(pid) if kids else [])

    def read(self):
        out = {}
        for name in self.groups:
            total = 0
            for pid in self.pids(name):
                try:
                    total += B.cpu_ticks([pid])
                except (OSError, IndexError):
                    pass
            out[name] = total
        return out


VARNISH_COUNTERS = ("MAIN.client_req", "MAIN.cache_hit", "MAIN.cache_miss", "MAIN.cache_hitmiss",
                    "MAIN.cache_hitpass", "MAIN.backend_req", "MAIN.s_pass", "MAIN.busy_sleep",
                    "MAIN.busy_wakeup", "MAIN.busy_killed")


def varnish_counters(edge):
    """A Varnish edge's counters (varnishstat -1 -j): requests, hits, misses, fetches from hlsd,
    requests put to sleep on an object being fetched (busy_sleep) and woken (busy_wakeup);
    {} for an nginx edge or when varnishstat fails."""
    if not getattr(edge, "varnish", None):
        return {}
    cmd = ["varnishstat", "-n", os.path.join(edge.tmp, "varnish"), "-1", "-j"]
    for c in VARNISH_COUNTERS:
        cmd += ["-f", c]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        data = json.loads(r.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}
    counters = data.get("counters", data)  # 6.5+: under "counters"
    return {k: v["value"] for k, v in counters.items()
            if isinstance(v, dict) and "value" in v and k in VARNISH_COUNTERS}


def start_viewers(tag, url, n, seconds, hint_share, per_process, stagger, extra=()):
    procs = []
    chunks = [per_process] * (n // per_process) + ([n % per_process] if n % per_process else [])
    for i, k in enumerate(chunks):
        answers = os.path.join(B.SCRATCH, f"answers-{tag}-{i}.json")
        cmd = ["python3", os.path.join(HERE, "edge.py"), "--viewers", "--url", url, "--n", str(k),
               "--seconds", str(seconds), "--stagger", str(stagger),
               "--hint-share", str(hint_share), *extra, "--answers", answers]
        p = B.Proc(f"viewers-{tag}-{i}", cmd)
        p.answers = answers
        procs.append(p)
    return procs


def finish_viewers(procs, seconds):
    """Each process' totals, its answers (per viewer) and its CPU seconds."""
    out = []
    for p in procs:
        try:
            p.p.wait(seconds + 60)
        except subprocess.TimeoutExpired:
            pass
        lines = p.log_text().strip().splitlines()
        try:
            total = json.loads(lines[-1])
        except (IndexError, ValueError):
            total = {"errors": 1, "error_kinds": {"no_output": 1}, "tail": lines[-5:]}
        try:
            with open(p.answers) as f:
                answers = json.load(f)
        except (OSError, ValueError):
            answers = []
        p.stop()
        out.append((total, answers))
    return out


def lateness(groups, reference=None):
    """groups: lists of answer arrays (per viewer, flat [msn, part, sent, answered]...). A
    part's arrival is the first answer to it in `reference` (default: in all groups); an
    answer to a request sent before that was held: its delay is answered − arrival. ms
    percentiles of those delays, and how many answers were held."""
    def each(arrays):
        for a in arrays:
            for i in range(0, len(a), 4):
                yield (int(a[i]), int(a[i + 1])), a[i + 2], a[i + 3]
    first = {}
    for arrays in (reference if reference is not None else groups):
        for key, _, t1 in each(arrays):
            if t1 < first.get(key, float("inf")):
                first[key] = t1
    late, answers = [], 0
    for arrays in groups:
        for key, t0, t1 in each(arrays):
            answers += 1
            if key in first and t0 < first[key]:
                late.append(1000 * (t1 - first[key]))
    p = V.percentiles(late, (50, 90, 99))
    return {"answers": answers, "held": len(late), "parts": len(first),
            "over_200ms": sum(x > 200 for x in late), "over_500ms": sum(x > 500 for x in late),
            "ms": {k: None if x is None else round(x, 1) for k, x in p.items()}}


def sum_totals(totals):
    keys = ("errors", "requests", "reloads", "reloads_ok", "parts", "hints", "behind", "missed",
            "playlists", "answered_by_segment_end", "connections", "reconnects")
    out = {k: sum(t.get(k, 0) for t in totals) for k in keys}
    kinds = {}
    for t in totals:
        for k, n in t.get("error_kinds", {}).items():
            kinds[k] = kinds.get(k, 0) + n
    out["error_kinds"] = kinds
    out["held_lateness_per_process"] = [t.get("held_lateness") for t in totals]
    out["reload_ms_per_process"] = [t.get("reload_ms") for t in totals]
    out["part_ms_per_process"] = [t.get("part_ms") for t in totals]
    return out


def load_run(a, env, n, seconds):
    hlsd, edges, engine = env["hlsd"], env["edges"], env["engine"]
    prefix = "" if engine == "nginx" else engine + "-"
    B.SECTION[0] = f"load-{prefix}{n}"
    B.log(f"load: {n} viewers through {len(edges)} {engine} edges for {seconds} s")
    groups = {"hlsd": [hlsd.proc.pid, False],
              **{f"edge{i + 1}": [e.proc.pid, True] for i, e in enumerate(edges)}}
    for i, e in enumerate(edges):  # a Varnish edge: its nginx front (above) and varnishd
        if getattr(e, "varnish", None):
            groups[f"edge{i + 1}_varnishd"] = [e.varnish.pid, True]
    cpu = Cpu(groups)
    vs0 = [varnish_counters(e) for e in edges]
    log0 = [len(e.errors().splitlines()) for e in edges]  # only what this run logged, below
    per_edge = [n // len(edges) + (1 if i < n % len(edges) else 0) for i in range(len(edges))]
    m0 = E.requests_by_route(hlsd.base)
    p0, per_segment = position(hlsd.base)
    c0, s0, t0, l0 = cpu.read(), S.system_cpu(), time.monotonic(), B.loadavg()
    procs = []
    for i, (e, k) in enumerate(zip(edges, per_edge)):
        procs += start_viewers(f"{prefix}{n}-edge{i + 1}", e.base + "live/index.m3u8", k, seconds,
                               a.hint_share, a.per_process, a.stagger)
    vcpu = Cpu({f"v{i}": [p.pid, False] for i, p in enumerate(procs)})
    v0 = vcpu.read()
    samples = []  # [t, steal %] every 10 s: how uneven the machine was
    prev_sys = s0
    while time.monotonic() < t0 + seconds - 1:
        time.sleep(min(10.0, t0 + seconds - 1 - time.monotonic()))
        now_sys = S.system_cpu()
        samples.append([round(time.monotonic() - t0), S.steal_percent(prev_sys, now_sys)])
        prev_sys = now_sys
    v1 = vcpu.read()  # the viewer processes, before they exit
    results = finish_viewers(procs, seconds)
    # The window ends once every viewer has stopped: all their requests are in the counters.
    c1, s1, t1 = cpu.read(), S.system_cpu(), time.monotonic()
    p1, _ = position(hlsd.base)
    m1 = E.requests_by_route(hlsd.base)
    wall = t1 - t0
    delta = {k: m1.get(k, 0) - m0.get(k, 0) for k in set(m0) | set(m1)}
    delta["playlist"] -= 2  # the two position() reads of this script
    delta["metrics"] = delta.get("metrics", 0) - 1
    parts = parts_between(p0, p1, per_segment)
    segments = p1[0] - p0[0]
    served = sum(v for k, v in delta.items() if k not in ("metrics", "healthz"))
    ne = len(edges)
    totals = sum_totals([t for t, _ in results])
    vs1 = [varnish_counters(e) for e in edges]
    run = {"engine": engine, "viewers": n, "per_edge": per_edge, "seconds": seconds, "wall_s": round(wall, 2),
           "processes": len(procs), "parts_produced": parts, "segments_produced": segments,
           "parts_per_segment": per_segment, "origin_requests": delta,
           "origin_requests_per_s": served / wall,
           "per_edge_per_part": {k: delta.get(k, 0) / parts / ne for k in ("part", "playlist")},
           "segment_requests_per_segment_per_edge": delta.get("segment", 0) / segments / ne,
           "cpu_percent": {k: 100.0 * (c1[k] - c0[k]) / B.HZ / wall for k in c0},
           "viewer_processes_cpu_percent": 100.0 * sum(v1[k] - v0[k] for k in v0) / B.HZ / wall,
           "machine_busy_percent": round(100.0 * (s1[0] - s0[0]) / max(1, s1[1] - s0[1]), 1),
           "steal_percent": S.steal_percent(s0, s1), "steal_samples": samples,
           "loadavg": [l0, B.loadavg()], "viewers_totals": totals,
           "lateness_all_edges": lateness([ans for _, ans in results]),
           "lateness_by_edge": [lateness([ans for (_, ans), p in zip(results, procs)
                                          if f"-edge{i + 1}-" in p.name])
                                for i in range(ne)]}
    run["cpu_percent"]["edges"] = sum(v for k, v in run["cpu_percent"].items()
                                      if k.startswith("edge"))
    if any(k.endswith("_varnishd") for k in run["cpu_percent"]):
        cp = run["cpu_percent"]
        run["edges_cpu_split"] = {
            "nginx_front": sum(v for k, v in cp.items() if re.fullmatch(r"edge\d+", k)),
            "varnishd": sum(v for k, v in cp.items() if k.endswith("_varnishd"))}
    if any(vs0) and any(vs1):
        run["varnish_counters"] = [{k: c1.get(k, 0) - c0.get(k, 0) for k in c1}
                                   for c0, c1 in zip(vs0, vs1)]
    run["requests_per_viewer_per_part"] = totals["requests"] / max(1, n) / max(1, parts)
    for e, skip in zip(edges, log0):
        errs = [l for l in e.errors().splitlines()[skip:] if "[warn]" in l or "[error]" in l
                or "[crit]" in l]
        run.setdefault("nginx_error_log", []).extend(errs[-20:])
    B.log(f"  {parts} parts, origin {json.dumps(delta, sort_keys=True)}, "
          f"part/part/edge {run['per_edge_per_part']['part']:.3f}, "
          f"playlist/part/edge {run['per_edge_per_part']['playlist']:.3f}, "
          f"hlsd CPU {run['cpu_percent']['hlsd']:.1f} %, edges {run['cpu_percent']['edges']:.1f} %, "
          f"errors {totals['errors']} {totals['error_kinds']}, steal {run['steal_percent']} %, "
          f"lateness {run['lateness_all_edges']['ms']}")
    return run


def latency_run(a, env):
    """Direct, one edge, two tiers, at the same time."""
    hlsd, edge1, tier2, engine = env["hlsd"], env["edges"][0], env["tier2"], env["engine"]
    prefix = "" if engine == "nginx" else engine + "-"
    B.SECTION[0] = prefix + "latency"
    n, seconds = a.latency_viewers, a.latency_seconds
    B.log(f"latency: {n} viewers direct, {n} through one {engine} edge, {n} through two tiers, "
          f"{seconds} s")
    groups = {"direct": hlsd.base, "one edge": edge1.base, "two tiers": tier2.base}
    s0 = S.system_cpu()
    procs = {g: start_viewers(f"{prefix}lat-{i}", base + "live/index.m3u8", n, seconds, 0.0,
                              a.per_process, a.stagger)
             for i, (g, base) in enumerate(groups.items())}
    res = {g: finish_viewers(ps, seconds) for g, ps in procs.items()}
    s1 = S.system_cpu()
    direct = [ans for _, ans in res["direct"]]
    out = {"engine": engine, "viewers_per_group": n, "seconds": seconds, "hint_share": 0.0,
           "steal_percent": S.steal_percent(s0, s1),
           "machine_busy_percent": round(100.0 * (s1[0] - s0[0]) / max(1, s1[1] - s0[1]), 1),
           "groups": {}}
    for g, r in res.items():
        totals = sum_totals([t for t, _ in r])
        out["groups"][g] = {
            "errors": totals["errors"], "error_kinds": totals["error_kinds"],
            "reloads": totals["reloads"], "parts": totals["parts"], "behind": totals["behind"],
            "reload_ms_per_process": totals["reload_ms_per_process"],
            "vs_direct": lateness([ans for _, ans in r], reference=direct),
            "within_group": lateness([ans for _, ans in r])}
        B.log(f"  {g}: errors {totals['errors']}, after direct "
              f"{out['groups'][g]['vs_direct']['ms']} ({out['groups'][g]['vs_direct']['held']} held)")
    return out


def run_test_script(tag, cmd, timeout):
    """One of the browser tests, from the source tree: its process, and its exit code and the
    machine's CPU steal while it ran."""
    B.record(cmd)
    B.log(f"{tag}: " + " ".join(cmd))
    s0 = S.system_cpu()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=B.ROOT)
    s1 = S.system_cpu()
    return r, {"exit": r.returncode, "steal_percent": S.steal_percent(s0, s1)}


def browser_run(a, engine="nginx"):
    """tests/browser/edge.mjs (hls.js in Chromium: hlsd's page direct and through the edge, at
    the same time; its own hlsd and edges), one and two tiers: its RESULT lines."""
    script = os.path.join(B.ROOT, "tests", "browser", "edge.mjs")
    if not os.path.exists(script):
        return {"skipped": "tests/browser/edge.mjs does not exist"}
    B.SECTION[0] = "browser" if engine == "nginx" else engine + "-browser"
    out = {}
    for tiers in (1, 2):
        cmd = ["node", os.path.relpath(script, B.ROOT), "--hlsd", os.path.relpath(B.HLSD, B.ROOT),
               "--tiers", str(tiers), "--seconds", str(a.browser_seconds), "--hlsjs", "0"]
        if engine != "nginx":
            cmd += ["--engine", engine]
        r, got = run_test_script("browser", cmd, 600)
        line = next((l for l in reversed(r.stdout.splitlines()) if l.startswith("RESULT ")), None)
        if line:
            res = json.loads(line[len("RESULT "):])
            got["passed"] = res.get("passed")
            got["failures"] = [x[:300] for x in res.get("failures", [])]
            got["latency_added"] = res.get("hlsd_page", {}).get("latency_added")
            for name, page in res.get("hlsd_page", {}).items():
                if not isinstance(page, dict):
                    continue
                got[name] = {k: page.get(k) for k in (
                    "latency_median", "latency_p90", "first_frame_s", "playing_share", "waits",
                    "waits_in_seeks", "requests", "headers_ms", "x_cache", "protocols")}
        else:
            got["output"] = (r.stdout + r.stderr)[-2000:]
        B.log(f"  tiers {tiers}: exit {r.returncode}, direct "
              f"{got.get('direct', {}).get('latency_median')} s, edge "
              f"{got.get('edge', {}).get('latency_median')} s")
        out[f"tiers{tiers}"] = got
    return out


def players_run(a):
    """tests/browser/players.mjs: the --players pages straight at hlsd, then through each
    shipped edge (its --edge; its own hlsd and edge each time): a brief of each player."""
    script = os.path.join(B.ROOT, "tests", "browser", "players.mjs")
    out = {}
    for engine in ("direct", "nginx", "varnish"):
        B.SECTION[0] = "players-" + engine
        path = os.path.join(B.scratch_dir("players-"), "players.json")
        cmd = ["node", os.path.relpath(script, B.ROOT), "--hlsd", os.path.relpath(B.HLSD, B.ROOT),
               "--players", a.players, "--seconds", str(a.players_seconds), "--warmup", "5",
               "--json", path]
        if engine != "direct":
            cmd += ["--edge", engine]
        r, got = run_test_script("players", cmd, 1800)
        got["players"] = []
        if os.path.exists(path):
            with open(path) as fh:
                for p in json.load(fh):
                    got["players"].append({k: p.get(k) for k in (
                        "player", "failed", "fatal", "playing_share", "waits", "latency_median",
                        "latency_p90", "parts", "blocking", "first_frame_s")})
        else:
            got["output"] = (r.stdout + r.stderr)[-2000:]
        B.log(f"  {engine}: exit {r.returncode}, " + ", ".join(
            f"{p['player']} {p['latency_median']} s" for p in got["players"]))
        out[engine] = got
    return out


def add_players(res, a):
    res["players"] = players_run(a)
    res["players_seconds"] = a.players_seconds
    res["players_date"] = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")
    res["players_commit"] = B.first_line(["git", "-C", B.ROOT, "describe", "--always", "--dirty"])


def identity_run(a, env):
    """A few viewers with http.client's own `Accept-Encoding: identity` through one edge."""
    B.SECTION[0] = "identity"
    edge = env["edges"][0]
    url = edge.base + "live/index.m3u8"
    B.log(f"identity: {a.identity_viewers} viewers without gzip through {edge.host}, "
          f"{a.identity_seconds} s")
    procs = start_viewers("identity", url, a.identity_viewers, a.identity_seconds, 0.0,
                          a.per_process, 1.0, ["--accept-encoding", "identity"])
    totals = sum_totals([t for t, _ in finish_viewers(procs, a.identity_seconds)])
    _, headers, _ = E.get(url)  # urllib: no Accept-Encoding at all
    out = {"viewers": a.identity_viewers, "seconds": a.identity_seconds,
           "errors": totals["errors"], "error_kinds": totals["error_kinds"],
           "reloads": totals["reloads"], "parts": totals["parts"],
           "playlist_headers": {k: v for k, v in headers.items()
                                if k in ("content-length", "transfer-encoding", "content-encoding",
                                         "x-cache", "vary")}}
    B.log(f"  errors {out['errors']} {out['error_kinds']}, headers {out['playlist_headers']}")
    return out


def engine_pass(a, engine, runs, work, ca, hlsd_args, identity):
    """A fresh hlsd, two edges of `engine` in front of it and a second tier: the identity run
    (if asked), the load runs (runs: "VIEWERS:SECONDS,..."), the latency run; all stopped."""
    kind = E.VarnishEdge if engine == "varnish" else E.NginxEdge
    prefix = "" if engine == "nginx" else engine + "-"
    shipped = ("packaging/examples/varnish-edge.vcl behind packaging/examples/"
               "nginx-varnish-edge.conf" if engine == "varnish"
               else "packaging/examples/nginx-edge.conf")
    B.SECTION[0] = prefix + "setup"
    env, out = {"engine": engine}, {"engine": engine, "runs": []}
    try:
        env["hlsd"] = E.Hlsd(B.HLSD, work, hlsd_args, name=prefix + "hlsd")
        B.record([B.HLSD, "--source", "test", "--listen", "127.0.0.1:0", "--output-dir", "''",
                  "--log-level", "info", *hlsd_args])
        origin = f"127.0.0.1:{env['hlsd'].port}"
        env["edges"] = [kind(origin, work, ca["cert"], ca["key"], host=h,
                             name=f"{prefix}edge{i + 1}") for i, h in enumerate(EDGE_HOSTS)]
        env["tier2"] = kind(f"{EDGE_HOSTS[0]}:{env['edges'][0].port}", work, ca["cert"],
                            ca["key"], host=TIER2_HOST, name=prefix + "tier2")
        for e in env["edges"] + [env["tier2"]]:
            if getattr(e, "varnish", None):
                B.record([x.replace(e.tmp, "$TMP") for x in e.varnish.p.args] +
                         [f"# {e.host}, packaging/examples/varnish-edge.vcl"])
            B.record(["nginx", "-p", "$TMP", "-e", "$TMP/error.log", "-c", "$TMP/nginx.conf",
                      "-g", "'daemon off;'", f"# {e.host}, {shipped.split(' behind ')[-1]}"])
        # the first part a viewer can start 3 parts back from
        time.sleep(2)
        out["shipped"] = shipped
        out["hlsd_start"] = env["hlsd"].proc.text().splitlines()[:8]
        if identity:
            out["identity"] = identity_run(a, env)
        for spec in runs.split(","):
            n, seconds = (int(x) for x in spec.split(":"))
            out["runs"].append(load_run(a, env, n, seconds))
            if not env["hlsd"].proc.alive():
                raise RuntimeError("hlsd exited: " + env["hlsd"].proc.text()[-2000:])
            time.sleep(2)
        if a.latency_seconds:
            out["latency"] = latency_run(a, env)
        out["hlsd_log_warnings"] = [l for l in env["hlsd"].proc.text().splitlines()
                                    if re.search(r" (warning|error|critical) ", l)][-20:]
        if engine == "varnish":
            out["varnishd_log_tail"] = [l for e in env["edges"] + [env["tier2"]]
                                        for l in e.varnish.text().splitlines()[-5:]]
    finally:
        for key in ("tier2",):
            if key in env:
                env[key].stop()
        for e in reversed(env.get("edges", [])):
            e.stop()
        if "hlsd" in env:
            env["hlsd"].stop()
    return out


def run(a):
    started, t_start = datetime.datetime.now(datetime.timezone.utc), time.monotonic()
    work = B.scratch_dir("edge-")
    B.SECTION[0] = "setup"
    ca = E.make_test_ca(work)
    B.record([os.path.relpath(os.path.join(B.ROOT, "tests/support/make-test-ca.sh"), B.ROOT),
              "$CA", "'hlsd edge'"])
    conf = os.path.join(B.ROOT, "conf", "hlsd.yml")
    hlsd_args = ["--config", conf, "--trusted-proxies", ",".join(EDGE_HOSTS)]
    engines = ["nginx", "varnish"] if a.engine == "both" else [a.engine]
    head = {"date": started.strftime("%Y-%m-%d %H:%M:%S UTC"), "machine": B.host(),
            "loadavg_start": B.loadavg(),
            "commit": B.first_line(["git", "-C", B.ROOT, "describe", "--always", "--dirty"]),
            "nginx": B.first_line(["nginx", "-v"]),
            "hlsd_built": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                        time.gmtime(os.path.getmtime(B.HLSD))),
            "hlsd_args": hlsd_args, "hint_share": a.hint_share, "per_process": a.per_process,
            "stagger": a.stagger, "edges": list(EDGE_HOSTS), "nginx_workers_per_edge": 1}
    if a.merge:  # the nginx figures of an earlier run; this run's Varnish figures beside them
        with open(a.merge) as fh:
            res = json.load(fh)
        res.pop("varnish", None)
        res["merged"] = {"nginx_from": a.merge}
    else:
        res = dict(head, engines=engines, runs=[])
    if "nginx" in engines:
        got = engine_pass(a, "nginx", a.runs, work, ca, hlsd_args, a.identity_seconds)
        res.update({k: v for k, v in got.items() if k not in ("engine", "shipped")})
    if "varnish" in engines:
        got = engine_pass(a, "varnish", a.varnish_runs, work, ca, hlsd_args, 0)
        got["version"] = B.first_line(["varnishd", "-V"])
        if a.merge:
            got.update({k: head[k] for k in ("date", "loadavg_start", "commit", "hlsd_built")})
        res["varnish"] = got
        if a.merge:
            res.setdefault("engines", ["nginx"])
            res["engines"] = [e for e in res["engines"] if e != "varnish"] + ["varnish"]
    if a.browser:  # after the edges above are gone: edge.mjs starts its own hlsd and edges
        save(res, a.json)  # the load runs are kept whatever happens to the browser run
        for engine in engines:
            try:
                got = browser_run(a, engine)
            except Exception as e:  # noqa: BLE001  (a test of another change: reported, not fatal)
                got = {"error": repr(e)[:500]}
            if engine == "nginx":
                res["browser"] = got
            else:
                res["varnish"]["browser"] = got
    if a.players:
        save(res, a.json)
        add_players(res, a)
    ends = {"loadavg_end": B.loadavg(), "duration_s": round(time.monotonic() - t_start),
            "commands": [c[1] for c in B.COMMANDS]}
    if a.merge:
        res["varnish"].update(ends)
    else:
        res.update(ends)
    return res


# ---------------------------------------------------------------- the section


def f(v, digits=1):
    return "–" if v is None else f"{v:,.{digits}f}"


def scrub(text):
    text = re.sub(r"/tmp/hlsd-bench-[^ ]+?/answers-[^ ]+", "$TMP/answers.json",
                  text.replace(B.ROOT + "/", ""))
    text = re.sub(r"/tmp/hlsd-bench-[^/ ]+/[^ ;]+", "$TMP", text)
    return re.sub(r"(127\.0\.0\.\d):\d+", r"\1:PORT", text)


def section(res):
    runs = sorted(res.get("runs", []), key=lambda r: r["viewers"])
    by_n = {r["viewers"]: r for r in runs}
    hs = res["hint_share"]
    vr = res.get("varnish")
    version = (f"; {varnish_version(vr)}" if vr and not res.get("merged") else "")
    out = [HEADING, "",
           f"Measured by `{res.get('command', 'python3 bench/edge.py')}` on {res['date']} "
           f"(commit `{res['commit']}`, {res['duration_s'] / 60:.1f} min, load average "
           f"{' '.join(res['loadavg_start'])} at the start, {' '.join(res['loadavg_end'])} at the "
           f"end). {res['machine']['hlsd']} (build/hlsd of {res['hlsd_built']}); {res['nginx']}"
           f"{version}; {res['machine']['nproc']} × {res['machine']['cpu']}, shared with other "
           "jobs.", ""]
    if not runs:  # Varnish only
        return out + comparison(res) + browser_table(res) + players_table(res) + commands(res)
    out += [
           "**Method.** hlsd with the shipped `conf/hlsd.yml` (test pattern 1280x720 30 fps, 1 s "
           "segments of 5 × 0.2 s parts, fMP4) and `--trusted-proxies 127.0.0.2,127.0.0.3`; two "
           "nginx edges running the shipped `packaging/examples/nginx-edge.conf` unchanged but for "
           "its EDIT lines (tests/edge/edgelib.py: one worker each, viewers on its plain-HTTP "
           "listener on 127.0.0.2 and 127.0.0.3), both in front of that one hlsd. The viewers are "
           "bench/viewers.py's LlViewer (hls.js in lowLatencyMode: a blocking reload "
           "`?_HLS_msn=M&_HLS_part=P&_HLS_skip=YES` for the preload-hinted part, then every new "
           f"part once, starting 3 parts from the live edge; {hs:.0%} of them also GET the hinted "
           "part first, as Apple's players do), every answer checked (status, Content-Length, "
           "body: fMP4 boxes with moof + mdat, since the shipped configuration serves fMP4; "
           "playlist order, part names, hint, no part skipped); half the viewers on each edge, "
           f"at most {res['per_process']} per Python process, starts spread over "
           f"{res['stagger']:g} s. Per run: hlsd's `hlsd_http_requests_total` by route before and "
           "after (this script's own two playlist reads taken out), the parts and segments hlsd "
           "produced in between (from its playlist), CPU = utime+stime over the run of the hlsd "
           "PID and of each nginx master + its children (100 % = one core), machine busy and "
           "stolen CPU from /proc/stat. *Per part per edge* = origin requests ÷ parts produced ÷ "
           "2 edges; *playlist* = blocking reloads (and the few plain playlist GETs each viewer "
           "starts with). *Late* = for each part, how long after the first viewer (of any "
           "process, either edge) got it the others whose request was already waiting got it: "
           "nginx's cache lock, which wakes waiting requests every 500 ms, plus the viewer "
           "processes' own scheduling.", "",
           "| viewers (2 edges) | run | origin requests/s | part requests per part per edge "
           "| blocking reloads per part per edge | hlsd CPU % | edges CPU % (both) | viewer errors "
           "| late p50 / p90 / p99 ms (held answers) | viewers' requests per viewer per part "
           "| steal % (machine busy %) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        t = r["viewers_totals"]
        late = r["lateness_all_edges"]["ms"]
        errs = f"{t['errors']}" + (" (" + ", ".join(f"{k} {v}" for k, v in
                                                     sorted(t["error_kinds"].items())) + ")"
                                   if t["error_kinds"] else "")
        out.append(
            f"| {r['viewers']} | {r['seconds']} s, {r['parts_produced']} parts | "
            f"{f(r['origin_requests_per_s'])} | {r['per_edge_per_part']['part']:.3f} | "
            f"{r['per_edge_per_part']['playlist']:.3f} | {f(r['cpu_percent']['hlsd'])} | "
            f"{f(r['cpu_percent']['edges'])} | {errs} | "
            f"{f(late['p50'], 0)} / {f(late['p90'], 0)} / {f(late['p99'], 0)} | "
            f"{r['requests_per_viewer_per_part']:.2f} | "
            f"{r['steal_percent']:.0f} ({r['machine_busy_percent']:.0f}) |")
    out.append("")
    lengths = {}
    for r in runs:
        lengths.setdefault(r["seconds"], []).append(str(r["viewers"]))
    if len(lengths) > 1:
        out += ["Run lengths: " + "; ".join(f"{' and '.join(v)} viewers {k} s" for k, v in
                                            sorted(lengths.items())) +
                " (the shorter runs keep the bench short; every figure is per second or per part, "
                "so runs of different lengths compare).", ""]
    # criteria
    crit = []
    worst_part = max(r["per_edge_per_part"]["part"] for r in runs)
    worst_pl = max(r["per_edge_per_part"]["playlist"] for r in runs)
    seg = [(r["origin_requests"].get("segment", 0), r["segments_produced"]) for r in runs]
    crit.append(f"- **≤ 1.1 origin requests per part per edge**: worst run {worst_part:.3f} parts, "
                f"{worst_pl:.3f} blocking reloads → "
                f"{'met' if max(worst_part, worst_pl) <= 1.1 else '**missed**'}. Per segment: "
                f"hlsd was asked for {sum(s for s, _ in seg)} whole segments over all runs "
                f"({sum(n for _, n in seg)} produced): LL-HLS viewers at the live edge fetch parts"
                " only, as hls.js does, so the segment figure is not exercised here (segments are "
                "cached by the same rule as parts: `$uri`, `immutable`).")
    if 40 in by_n and 400 in by_n:
        lo, hi = by_n[40], by_n[400]
        cr = hi["cpu_percent"]["hlsd"] / lo["cpu_percent"]["hlsd"]
        rr = hi["origin_requests_per_s"] / lo["origin_requests_per_s"]
        crit.append(f"- **hlsd the same at 400 as at 40 viewers**: CPU {f(hi['cpu_percent']['hlsd'])}"
                    f" % vs {f(lo['cpu_percent']['hlsd'])} % (ratio {cr:.2f}), requests/s "
                    f"{f(hi['origin_requests_per_s'])} vs {f(lo['origin_requests_per_s'])} (ratio "
                    f"{rr:.2f}); the edges' CPU {f(hi['cpu_percent']['edges'])} % vs "
                    f"{f(lo['cpu_percent']['edges'])} % grows with the viewers instead.")
    errors = sum(r["viewers_totals"]["errors"] for r in runs)
    crit.append(f"- **No viewer error**: {errors} over all runs → "
                f"{'met' if errors == 0 else '**missed**'}.")
    out += ["Criteria:", ""] + crit + [""]
    # details
    out += ["Origin requests by route per run (`hlsd_http_requests_total` deltas; *init* = the "
            "fMP4 init section, which LlViewer does not fetch): " +
            "; ".join(f"{r['viewers']} viewers: " + ", ".join(
                f"{k} {int(v)}" for k, v in sorted(r["origin_requests"].items())
                if k not in ("metrics", "healthz") and v) for r in runs) + ". "
            "Viewer side (sum over the processes): " +
            "; ".join(f"{r['viewers']}: {r['viewers_totals']['reloads']:,} blocking reloads, "
                      f"{r['viewers_totals']['parts']:,} parts, {r['viewers_totals']['hints']:,} "
                      f"hinted parts, behind {r['viewers_totals']['behind']:,}, missed "
                      f"{r['viewers_totals']['missed']}" for r in runs) +
            ". *Behind* = a reload that listed more than the one new part: that viewer had fallen "
            "behind the live edge (the viewer processes, not the server, are the bottleneck "
            "when it grows: their own CPU was " +
            ", ".join(f"{f(r['viewer_processes_cpu_percent'], 0)} %" for r in runs) +
            " of one core in these runs). Steal sampled every 10 s: " +
            "; ".join(f"{r['viewers']}: " + (f"{min(s for _, s in r['steal_samples']):.0f}–"
                                               f"{max(s for _, s in r['steal_samples']):.0f} %"
                                               if r["steal_samples"] else "–") for r in runs) + ".",
            ""]
    bl = [r for r in runs if any(x["held"] for x in r["lateness_by_edge"])]
    if bl:
        out += ["Late, per edge (after the first viewer on the same edge): " + "; ".join(
            f"{r['viewers']}: " + ", ".join(
                f"{EDGE_HOSTS[i]} p50 {f(x['ms']['p50'], 0)} / p99 {f(x['ms']['p99'], 0)} ms "
                f"({x['over_500ms']:,} of {x['held']:,} held answers over 500 ms)"
                for i, x in enumerate(r["lateness_by_edge"])) for r in bl) + ".", ""]
    lat = res.get("latency")
    if lat:
        out += ["### Delay through one edge and two tiers", "",
                "Simulated viewers" + (" (hls.js in Chromium: below)" if res.get("browser")
                                        and not res["browser"].get("skipped") else "") +
                f": {lat['viewers_per_group']} "
                "LlViewers straight at hlsd, "
                f"{lat['viewers_per_group']} through the 127.0.0.2 edge, "
                f"{lat['viewers_per_group']} through a second tier (the shipped configuration on "
                "127.0.0.4, its upstream the 127.0.0.2 edge's plain-HTTP port), all hls.js-like "
                f"(no hinted-part GETs), at the same time for {lat['seconds']} s (steal "
                f"{lat['steal_percent']:.0f} %, machine busy {lat['machine_busy_percent']:.0f} %). "
                "Delay = for each part, a held blocking reload's answer time minus the first answer "
                "any direct viewer got for that part (all viewer processes share CLOCK_MONOTONIC); "
                "only requests sent before that first direct answer count (they waited for the "
                "part). It is the delay a viewer's part arrival gets from the edges, not a "
                "glass-to-glass latency.", "",
                "| path | held answers | delay p50 | p90 | p99 | max | over 500 ms | errors |",
                "|---|---|---|---|---|---|---|---|"]
        for g, x in lat["groups"].items():
            v = x["vs_direct"]
            out.append(f"| {g} | {v['held']:,} of {v['answers']:,} | {f(v['ms']['p50'], 0)} ms | "
                       f"{f(v['ms']['p90'], 0)} ms | {f(v['ms']['p99'], 0)} ms | "
                       f"{f(v['ms']['max'], 0)} ms | {v['over_500ms']:,} | {x['errors']} |")
        out.append("")
    out += comparison(res) + browser_table(res) + players_table(res)
    ident = res.get("identity")
    if ident:
        h = ident["playlist_headers"]
        out += [f"**Viewers that do not take gzip.** Before the runs, {ident['viewers']} viewers "
                f"sent Python http.client's own `Accept-Encoding: identity` through the 127.0.0.2 "
                f"edge for {ident['seconds']} s: {ident['errors']} errors ("
                + ", ".join(f"{k} {v}" for k, v in sorted(ident["error_kinds"].items())) +
                f"), {ident['reloads']} blocking reloads and {ident['parts']} parts done. The edge "
                "stores the playlist gzipped once and unzips it on the way out (`gunzip on`) for "
                "such a client, as a stream: the answer has no Content-Length ("
                + ", ".join(f"`{k}: {v}`" for k, v in sorted(h.items())) +
                "), which viewers.py counts as an error (it requires one, as hlsd always sends it). "
                "Valid HTTP/1.1, and no browser is such a client (they all send gzip), so the "
                "viewers of every run above send Chromium's `Accept-Encoding: gzip, deflate, br, "
                "zstd` and unzip, with the same Content-Length check on the bytes received.", ""]
    return out + commands(res)


def run_lengths(runs):
    by = {}
    for r in runs:
        by.setdefault(r["seconds"], []).append(str(r["viewers"]))
    return "; ".join(f"{' and '.join(v)} viewers {k} s each" if len(v) > 1 else
                     f"{v[0]} viewers {k} s" for k, v in sorted(by.items()))


def varnish_version(vr):
    m = re.search(r"varnish-([0-9.]+)", vr.get("version", ""))
    return f"Varnish {m.group(1)}" if m else vr.get("version", "Varnish")


def comparison(res):
    """### nginx vs Varnish: the load runs both engines ran, the delay through tiers."""
    vr = res.get("varnish")
    if not vr or not vr.get("runs"):
        return []
    ng = {r["viewers"]: r for r in res.get("runs", [])}
    va = {r["viewers"]: r for r in vr["runs"]}
    if res.get("merged"):
        when = (f"measured by `{vr.get('command', 'python3 bench/edge.py --engine varnish')}` on "
                f"{vr['date']} (commit `{vr['commit']}`, {vr['duration_s'] / 60:.1f} min, load "
                f"average {' '.join(vr['loadavg_start'])} at the start, "
                f"{' '.join(vr['loadavg_end'])} at the end; build/hlsd of {vr['hlsd_built']}); the "
                "nginx figures are those above, from an earlier run")
    elif res.get("runs"):
        when = "after the nginx runs, in the same invocation"
    else:
        when = "measured by the command above"
    out = ["### nginx vs Varnish", "",
           "The same viewers and method through the shipped Varnish edge instead: "
           f"`packaging/examples/varnish-edge.vcl` in varnishd ({varnish_version(vr)}, "
           "`-s malloc,128m`, Varnish's other defaults) behind "
           "`packaging/examples/nginx-varnish-edge.conf` (nginx for TLS + HTTP/2 and the plain "
           "listener, `proxy_buffering off`, `/live/` passed to varnishd over loopback), both "
           "unchanged but for their EDIT lines (tests/edge/edgelib.py's VarnishEdge: one nginx "
           "worker each), on 127.0.0.2 and 127.0.0.3, and a second tier on 127.0.0.4 for the delay "
           f"table; a fresh hlsd with the same arguments; {when}. Runs through Varnish: "
           f"{run_lengths(vr['runs'])}. *Edges CPU* for Varnish = both nginx fronts (master + "
           "worker) + both varnishd (manager + child).", "",
           "| edge | viewers (2 edges) | run | origin requests/s | part requests per part per edge "
           "| blocking reloads per part per edge | hlsd CPU % | edges CPU % (both) | viewer errors "
           "| late p50 / p90 / p99 ms (held answers) | steal % (machine busy %) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in sorted(va):
        for name, r in (("nginx", ng.get(n)), ("Varnish", va[n])):
            if r is None:
                continue
            t, late = r["viewers_totals"], r["lateness_all_edges"]
            errs = f"{t['errors']}" + (" (" + ", ".join(
                f"{k} {v}" for k, v in sorted(t["error_kinds"].items())) + ")"
                if t["error_kinds"] else "")
            split = r.get("edges_cpu_split")
            cpu = f(r["cpu_percent"]["edges"]) + (
                f" ({f(split['nginx_front'])} nginx + {f(split['varnishd'])} varnishd)"
                if split else "")
            ms = late["ms"]
            out.append(
                f"| {name} | {n} | {r['seconds']} s, {r['parts_produced']} parts | "
                f"{f(r['origin_requests_per_s'])} | {r['per_edge_per_part']['part']:.3f} | "
                f"{r['per_edge_per_part']['playlist']:.3f} | {f(r['cpu_percent']['hlsd'])} | "
                f"{cpu} | {errs} | {f(ms['p50'], 0)} / {f(ms['p90'], 0)} / {f(ms['p99'], 0)} "
                f"({late['held']:,}) | {r['steal_percent']:.0f} ({r['machine_busy_percent']:.0f}) |")
    out.append("")
    # what differs, from the figures
    n = max(va)
    v = va[n]
    both = [k for k in sorted(va) if k in ng]
    notes = []
    vc = v.get("varnish_counters") or []
    sleeps = sum(c.get("MAIN.busy_sleep", 0) for c in vc)
    wakes = sum(c.get("MAIN.busy_wakeup", 0) for c in vc)
    killed = sum(c.get("MAIN.busy_killed", 0) for c in vc)

    def late(r):
        ms = r["lateness_all_edges"]["ms"]
        return f"{f(ms['p50'], 0)} / {f(ms['p99'], 0)} ms"
    if both:
        text = ("- **Late** (held answers after the first viewer's, median / p99): " + "; ".join(
            f"{k} viewers: nginx {late(ng[k])}, Varnish {late(va[k])}" for k in both) + ". "
            "nginx's `proxy_cache_lock` lets one request fetch a part or playlist state and the "
            "others waiting for it re-check the cache on a fixed 500 ms timer, so they get it up "
            "to 500 ms after it arrived. Varnish puts them on the object's waiting list and wakes "
            "them as soon as the fetch has hlsd's headers, and streams the body to all of them as "
            "it comes" +
            (f" (varnishstat over the {n}-viewer run, both edges: {sleeps:,} requests put to sleep "
             f"on an object being fetched, {wakes:,} woken, {killed} dropped)" if vc else "") + ".")
        calm = [k for k in both if va[k]["machine_busy_percent"] < 50]
        for k in both:
            r = va[k]
            if r["machine_busy_percent"] < 85:
                continue
            text += (f" At {k} viewers through Varnish the machine was "
                     f"{r['machine_busy_percent']:.0f} % busy ({res['machine']['nproc']} cores shared "
                     f"by the viewer processes at {f(r['viewer_processes_cpu_percent'], 0)} % of "
                     f"one core, both edges at {f(r['cpu_percent']['edges'], 0)} % and hlsd; "
                     f"{r['viewers_totals']['behind']:,} reloads found their viewer behind the "
                     f"live edge, against {ng[k]['viewers_totals']['behind']:,} through nginx at "
                     f"{ng[k]['machine_busy_percent']:.0f} % busy), so part of that run's delay is "
                     "likely a wait for a CPU" +
                     (f"; at {calm[-1]} viewers ({va[calm[-1]]['machine_busy_percent']:.0f} % "
                      f"busy) the Varnish median was {late(va[calm[-1]]).split(' /')[0]} ms"
                      if calm else "") + ".")
        notes.append(text)
    g = ng.get(n)
    if g:
        notes.append(
            f"- **Origin.** Both edges coalesce: at {n} viewers, per part per edge, "
            f"{g['per_edge_per_part']['part']:.3f} (nginx) and {v['per_edge_per_part']['part']:.3f}"
            f" (Varnish) part requests, {g['per_edge_per_part']['playlist']:.3f} and "
            f"{v['per_edge_per_part']['playlist']:.3f} blocking reloads reached hlsd; hlsd's CPU "
            f"{f(g['cpu_percent']['hlsd'])} % and {f(v['cpu_percent']['hlsd'])} %." +
            (" The Varnish edge keeps playlists 0.15 s (varnish-edge.vcl, so that Video.js "
             "and Shaka Player in LL-HLS mode play through it as straight at hlsd): a viewer "
             "later than that for a "
             "state is answered by hlsd, together with the others asking at that moment. These "
             f"simulated viewers were that late often at {n} (late p90 "
             f"{f(v['lateness_all_edges']['ms']['p90'], 0)} ms); hlsd's CPU did not change."
             if v['per_edge_per_part']['playlist'] > 1.1 else ""))
    if both:
        parts, ratios = [], []
        for k in both:
            gc, vcpu = ng[k]["cpu_percent"]["edges"], va[k]["cpu_percent"]["edges"]
            split = va[k].get("edges_cpu_split") or {}
            ratios.append(vcpu / gc if gc else 0)
            parts.append(f"{k} viewers: Varnish {f(vcpu)} % ({f(split.get('nginx_front'))} % "
                         f"nginx fronts + {f(split.get('varnishd'))} % varnishd), nginx {f(gc)} %"
                         + (f" ({ratios[-1]:.1f} ×)" if gc else ""))
        text = "- **Edge CPU** (both edges, % of one core): " + "; ".join(parts) + "."
        if max(ratios) > 1.15:
            text += (" On the Varnish edge every viewer request crosses two processes: nginx "
                     "takes it and passes it, unbuffered, over loopback to varnishd, which "
                     "answers from its cache; on the nginx edge one worker answers it from its "
                     "own cache.")
            split, gc = v.get("edges_cpu_split") or {}, (g or {}).get("cpu_percent", {}).get("edges")
            if gc and split.get("nginx_front", 0) > gc:
                text += (f" At {n} viewers the Varnish edges' nginx fronts alone used more than "
                         "the whole nginx edges.")
        elif min(ratios) >= 0.87:
            text += " About the same."
        notes.append(text)
        notes.append("- **Errors.** Viewer errors: " + "; ".join(
            f"{k} viewers: nginx {ng[k]['viewers_totals']['errors']}, Varnish "
            f"{va[k]['viewers_totals']['errors']}" for k in both) + ".")
        calm = [k for k in both if va[k]["machine_busy_percent"] < 50] or both
        k = calm[-1]
        errs = sum(ng[x]["viewers_totals"]["errors"] + va[x]["viewers_totals"]["errors"]
                   for x in both)
        notes.insert(0, f"- **In short.** At {k} viewers a waiting viewer got its part "
                        f"{late(va[k]).split(' /')[0]} ms after the first one through Varnish, "
                        f"{late(ng[k]).split(' /')[0]} ms through nginx (medians" +
                        (f"; at {n} viewers {late(va[n]).split(' /')[0]} against "
                         f"{late(ng[n]).split(' /')[0]} ms, the machine "
                         f"{va[n]['machine_busy_percent']:.0f} % busy through Varnish"
                         if k != n and n in ng else "") + "), " + origin_load(ng, va, both) +
                        f", {errs} viewer errors in all, for {min(ratios):.1f}–"
                        f"{max(ratios):.1f} × the edges' CPU.")
    worst = max(max(r["per_edge_per_part"].values()) for r in vr["runs"])
    crit = (f"- **Criteria through Varnish**: ≤ 1.1 origin requests per part per edge: worst run "
            f"{worst:.3f} → {'met' if worst <= 1.1 else '**missed**'}")
    lo_n = min(va)
    if lo_n != n:
        lo = va[lo_n]
        crit += (f"; hlsd at {n} against {lo_n} viewers: CPU ratio "
                 f"{v['cpu_percent']['hlsd'] / lo['cpu_percent']['hlsd']:.2f}, requests/s ratio "
                 f"{v['origin_requests_per_s'] / lo['origin_requests_per_s']:.2f}")
    errors = sum(r["viewers_totals"]["errors"] for r in vr["runs"])
    crit += f"; viewer errors {errors} → {'met' if errors == 0 else '**missed**'}."
    notes.append(crit)
    out += notes + [""]
    lats = [(name, x) for name, x in (("nginx", res.get("latency")), ("Varnish", vr.get("latency")))
            if x]
    if len(lats) == 2 or (lats and lats[0][0] == "Varnish"):
        out += ["Delay through one edge and two tiers, as measured above (" + "; ".join(
            f"{name}: {x['viewers_per_group']} viewers per path, {x['seconds']} s, steal "
            f"{x['steal_percent']:.0f} %, machine busy {x['machine_busy_percent']:.0f} %"
            for name, x in lats) + "): a held blocking reload's answer after the first direct "
            "viewer's, per part.", "",
            "| path | " + " | ".join(f"{name}: held answers | {name}: delay p50 / p90 / p99 / max "
                                     "| over 500 ms" for name, _ in lats) + " |",
            "|---|" + "---|---|---|" * len(lats)]
        for path in lats[0][1]["groups"]:
            cells = []
            for _, x in lats:
                gx = x["groups"].get(path)
                if gx is None:
                    cells += ["–", "–", "–"]
                    continue
                d = gx["vs_direct"]
                cells += [f"{d['held']:,} of {d['answers']:,}",
                          f"{f(d['ms']['p50'], 0)} / {f(d['ms']['p90'], 0)} / "
                          f"{f(d['ms']['p99'], 0)} / {f(d['ms']['max'], 0)} ms"
                          + (f" ({gx['errors']} errors)" if gx["errors"] else ""),
                          f"{d['over_500ms']:,}"]
            out.append(f"| {path} | " + " | ".join(cells) + " |")
        out.append("")
    return out


def browser_table(res):
    """### hls.js in Chromium: tests/browser/edge.mjs, nginx and (--engine varnish) Varnish."""
    vr = res.get("varnish") or {}
    sets = [(name, b) for name, b in (("nginx", res.get("browser")),
                                      ("Varnish", vr.get("browser")))
            if b and not b.get("skipped")]
    if not sets:
        return []
    out = ["### hls.js in Chromium through one edge and two tiers", "",
           "`tests/browser/edge.mjs` (its own hlsd with the shipped conf/hlsd.yml and its own "
           "edges, started after the runs above): hlsd's player page (hls.js, lowLatencyMode) "
           "direct over HTTP/1.1 and through the edge (TLS + HTTP/2; with `--tiers 2` an edge "
           "of an edge), both playing at the same time, each in its own Chromium; latency = now "
           "− PROGRAM-DATE-TIME of the frame on screen, sampled every 250 ms after the first "
           "frame. Its verdict (pass/fail bounds of that test) is given as it printed it." +
           (" *Varnish* rows: the same with `--engine varnish` (the shipped Varnish edge, tiers "
            "of them)." if any(name == "Varnish" for name, _ in sets) else ""), "",
           "| run | latency median direct | through the edge(s) | difference | p90 direct / "
           "edge | `waiting` events direct / edge | blocking reload wait median direct / "
           "edge | steal % | edge.mjs verdict |",
           "|---|---|---|---|---|---|---|---|---|"]
    named = len(sets) > 1 or sets[0][0] != "nginx"
    for name, br in sets:
        if br.get("error"):
            out.append(f"| {name} | failed: {br['error'][:200]} | | | | | | | |")
            continue
        for key, g in br.items():
            label = f"{key.replace('tiers', '')} tier{'s' if key != 'tiers1' else ''}"
            label = f"{name}, {label}" if named else label
            if not isinstance(g, dict) or "direct" not in g:
                out.append(f"| {label} | failed: {json.dumps(g)[:200]} | | | | | | | |")
                continue
            d, e = g["direct"], g["edge"]
            diff = (e["latency_median"] - d["latency_median"]
                    if d.get("latency_median") is not None and e.get("latency_median") is not None
                    else None)
            bw = [x.get("headers_ms", {}).get("blocking", {}).get("median") for x in (d, e)]
            verdict = "passed" if g.get("passed") else "failed: " + "; ".join(
                re.sub(r" \[\{.*", "", x) for x in g.get("failures", []))
            out.append(f"| {label} | "
                       f"{f(d['latency_median'], 2)} s | {f(e['latency_median'], 2)} s | "
                       f"{'–' if diff is None else f'{diff:+.2f} s'} | "
                       f"{f(d['latency_p90'], 2)} / {f(e['latency_p90'], 2)} s | "
                       f"{d['waits']} / {e['waits']} | {f(bw[0], 0)} / {f(bw[1], 0)} ms | "
                       f"{g['steal_percent']:.0f} | {verdict} |")
    return out + [""]


def origin_load(ng, va, viewers):
    """What reached hlsd per part per edge through each edge, in words."""
    worst = {name: max(max(runs[x]["per_edge_per_part"].values()) for x in viewers)
             for name, runs in (("nginx", ng), ("Varnish", va))}
    if max(worst.values()) <= 1.1:
        return f"with the same origin load (≤ {max(worst.values()):.3f} requests per part per edge)"
    return ("with up to " + " and ".join(f"{v:.3f} ({k})" for k, v in worst.items()) +
            " origin requests per part per edge")


def players_table(res):
    """### Players through an edge: players.mjs straight at hlsd and with --edge."""
    pr = res.get("players")
    if not pr:
        return []
    cols = [("direct", "straight at hlsd"), ("nginx", "through the nginx edge"),
            ("varnish", "through the Varnish edge")]
    names = []
    for _, run in pr.items():
        for p in run.get("players", []):
            if p["player"] not in names:
                names.append(p["player"])
    out = ["### Other players through an edge", "",
           "`tests/browser/players.mjs` (each player alone in Chromium, its page loaded as its "
           "README shows; its own hlsd with the shipped conf/hlsd.yml) straight at hlsd, then "
           "with `--edge nginx` and `--edge varnish` (the shipped edge in front of that hlsd, "
           "plain HTTP: caching is the question here, TLS and HTTP/2 are edge.mjs's above), "
           f"{res.get('players_seconds', '')} s a player"
           f"{' on ' + res['players_date'] if res.get('players_date') else ''}"
           f"{' (commit `' + res['players_commit'] + '`)' if res.get('players_commit') else ''}"
           ". Each cell: "
           "share of the time playing, `waiting` events, median latency (now − "
           "PROGRAM-DATE-TIME of the frame on screen).", "",
           "| player | " + " | ".join(c for _, c in cols) + " |",
           "|---|" + "---|" * len(cols)]

    def cell(run, name):
        p = next((x for x in (run or {}).get("players", []) if x["player"] == name), None)
        if not p:
            return "–"
        if p.get("failed"):
            return "failed: " + p["failed"]
        text = (f"{100 * p['playing_share']:.0f} %, {p['waits']} waits, "
                f"{f(p['latency_median'], 2)} s")
        return f"**{text}**" if p["playing_share"] < 0.95 else text
    for name in names:
        out.append(f"| {name} | " + " | ".join(cell(pr.get(k), name) for k, _ in cols) + " |")
    return out + [""]


def commands(res):
    out = ["Commands (ports and scratch paths vary per run):", ""]
    seen = []
    for c in res.get("commands", []) + (res.get("varnish") or {}).get("commands", []):
        c = re.sub(r"--n \d+ --seconds \d+", "--n N --seconds S", scrub(c))
        c = re.sub(r"--url http://127\.0\.0\.\d:PORT", "--url http://HOST:PORT", c)
        if c not in seen:
            seen.append(c)
    return out + [f"- `{c}`" for c in seen] + [""]


def save(res, path):
    (res["varnish"] if res.get("merged") else res)["command"] = " ".join(
        ["python3", "bench/edge.py", *sys.argv[1:]])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(res, fh, indent=1)
    B.log(f"wrote {path}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--viewers":
        return viewers_main(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", choices=("nginx", "varnish", "both"), default="both",
                    help="the edges: the shipped nginx edge, the shipped Varnish edge, or both "
                         "(one after the other, each with its own hlsd)")
    ap.add_argument("--runs", default="10:60,100:60,40:120,400:120",
                    help="VIEWERS:SECONDS,... the load runs through nginx edges, in this order")
    ap.add_argument("--varnish-runs", default="40:120,400:120",
                    help="VIEWERS:SECONDS,... the load runs through Varnish edges")
    ap.add_argument("--per-process", type=int, default=100, help="viewers per Python process")
    ap.add_argument("--hint-share", type=float, default=0.2,
                    help="share of the viewers that also GET the preload-hinted part")
    ap.add_argument("--stagger", type=float, default=5.0, help="spread each process' starts (s)")
    ap.add_argument("--latency-seconds", type=int, default=60, help="0: no latency run")
    ap.add_argument("--latency-viewers", type=int, default=10, help="per path")
    ap.add_argument("--browser", action="store_true",
                    help="also run tests/browser/edge.mjs (--tiers 1, then 2)")
    ap.add_argument("--browser-seconds", type=int, default=30)
    ap.add_argument("--players", default="",
                    help="also tests/browser/players.mjs with these players (e.g. videojs-ll,"
                         "videojs,shaka-ll,hlsjs): direct, through nginx, through Varnish")
    ap.add_argument("--players-seconds", type=int, default=30)
    ap.add_argument("--identity-seconds", type=int, default=10,
                    help="viewers without gzip through one edge first (0: not)")
    ap.add_argument("--identity-viewers", type=int, default=10)
    ap.add_argument("--json", default=None, help="default build/bench/edge.json")
    ap.add_argument("--update", metavar="RESULTS_MD", help="also write the section into it")
    ap.add_argument("--from-json", metavar="JSON", help="measure nothing: the section from JSON")
    ap.add_argument("--merge", metavar="JSON",
                    help="with --engine varnish: the nginx figures from this earlier run's JSON, "
                         "this run's Varnish figures added (written to --json)")
    a = ap.parse_args()
    if a.merge and a.engine != "varnish":
        ap.error("--merge goes with --engine varnish")
    load_bench()
    a.json = a.json or os.path.join(B.BUILD, "bench", "edge.json")
    if a.from_json:
        with open(a.from_json) as fh:
            res = json.load(fh)
        if a.players:  # the players only, added to that run's figures
            atexit.register(B.cleanup)
            add_players(res, a)
            save(res, a.json)
        else:
            B.cleanup()  # bench.py made a scratch directory on import; nothing runs here
    else:
        atexit.register(B.cleanup)
        signal.signal(signal.SIGTERM, B.on_signal)
        signal.signal(signal.SIGINT, B.on_signal)
        res = run(a)
        save(res, a.json)
    lines = section(res)
    if a.update:
        P.update(a.update, lines, HEADING)
        B.log(f"{a.update}: {HEADING}")
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
