#!/usr/bin/env python3
"""Writes bench/RESULTS.md from the JSON bench/bench.py produced. Every figure comes from that
run; the prose around them is fixed, and the "where hlsd is behind" list is computed.

    python3 bench/report.py build/bench/results.json [--soak build/bench/soak.json] \
        [--soak-ll build/bench/soak-ll.json] > bench/RESULTS.md
    python3 bench/report.py [--soak build/bench/soak.json] [--soak-ll build/bench/soak-ll.json] \
        --update bench/RESULTS.md

The second form (`make soak`) rewrites only the "5. Soak" section of an existing RESULTS.md
(inserted before "Profile" when it has none) and leaves every other line as it was: with only
--soak its plain-viewer part, with only --soak-ll its "LL-HLS viewers" subsection. Likewise
`--serving JSON --update` (section 2) and `--latency-ll JSON --update` (section 1's LL-HLS
table) from a separate `bench.py --only serving` / `--only latency-ll` run.
"""
import argparse
import json
import re

SEED = {(1, 4, 1): "3–5 s", (1, 4, 2): "5 s", (2, 4, 1): "3–4 s", (4, 4, 1): "7–8 s",
        (4, 4, 2): "11 s", (1, 20, 5): "9 s"}


def catch_up_text(h):
    """The page's catch-up: played faster (catch_up), or one seek in runs before (catch_up_seek)."""
    if not h:
        return "–"
    if "catch_up" in h:
        c = h["catch_up"] or {}
        if not c.get("times"):
            return "none"
        return f"+{c['behind']:.2f} s, {c['seconds']:.1f} s faster"
    seek = h.get("catch_up_seek") or {}
    return seek.get("skipped") or (f"+{seek['behind']:.2f} s seek" if "behind" in seek else "–")


def f(x, d=2, unit=""):
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    if isinstance(x, (int, float)):
        return f"{x:,.{d}f}{unit}"
    return str(x)


def ratio(a, b, d=2):
    try:
        if a is None or b is None or b == 0:
            return "–"
        return f"{a / b:.{d}f}×"
    except TypeError:
        return "–"


def mb(kb):
    return None if kb is None else kb / 1024.0


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def normalize(cmd):
    cmd = re.sub(r"/tmp/hlsd-bench-[^/ ]+", "$TMP", cmd)
    cmd = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", cmd)
    cmd = re.sub(r"127\.0\.0\.1%3A\d+", "127.0.0.1%3APORT", cmd)
    cmd = re.sub(r"(\$TMP/[a-z0-9-]+?-)[a-z0-9_]{8}\b", r"\1XXXX", cmd)
    cmd = re.sub(r"\b[a-z0-9]{6}-(\d+)\.ts", r"RUN-\1.ts", cmd)
    cmd = re.sub(r"callgrind_control -i on \d+", "callgrind_control -i on PID", cmd)
    cmd = re.sub(r"/work/[^ ]*?/(build|bench)/", r"\1/", cmd)
    return cmd


LL_GOAL_RATIO = 0.7  # issue: LL median ≤ 0.7 × the anchor's on every row
LL_GOAL_1S = 1.0     # issue: < 1.0 s median with 1 s segments


def latency_cell(row):
    """A latency row's hlsd and anchor results, its (T, W, L) key, "T/W/L" and its error."""
    h, a = row.get("hlsd", {}), row.get("anchor", {})
    key = (row["segment_time"], row["segment_wrap"], row["list_size"])
    err = row.get("error") or (h.get("error") if not h.get("ok") else None) or \
        (a.get("error") if not a.get("ok") else None)
    return h, a, key, "/".join(map(str, key)), err


def stalls(page):
    """'N (D)': stalls after the first frame, D of them with less than 0.1 s buffered."""
    if "stalls" not in page:
        return "–"
    return f"{page['stalls']}" + (f" ({page['stalls_dry']})" if "stalls_dry" in page else "")


def ll_section(ll, lat, w, behind):
    """The LL-HLS rows (bench.py's latency-ll): hlsd --part-duration vs ffmpeg + nginx."""
    first = next((row for row in ll if row.get("hlsd")), {})
    h0 = first.get("hlsd", {})
    container = first.get("container", "mpegts")
    ext = "m4s" if container == "fmp4" else "ts"
    w(f"Every row of the table above again, hlsd now with `--part-duration "
      f"{first.get('part_duration', '?')}`" +
      (f" `--container {container}`" if container != "mpegts" else "") +
      " (LL-HLS: `EXT-X-PART` parts, `EXT-X-PRELOAD-HINT`, "
      "blocking playlist reload with `_HLS_msn`/`_HLS_part`), played by the same page with "
      "hls.js `lowLatencyMode` (it then holds back `PART-HOLD-BACK` instead of 3 target "
      "durations) and the page's catch-up (it plays at ×1.2 while more than 0.1 s behind "
      "`hls.liveSyncPosition`). "
      "The anchor is unchanged: the normal `ffmpeg -f hls` + nginx pipeline with hls.js's "
      "default live sync (no `sync=1`), started fresh with hlsd for every row, both players "
      f"playing at the same time for {h0.get('seconds', '?')} s after the first frame. Goal "
      f"(the issue's): hlsd LL median ≤ {LL_GOAL_RATIO}× the anchor's on every row, < "
      f"{LL_GOAL_1S:.1f} s with 1 s segments, 0 stalls. Parts requested = requests for "
      f"`…-<msn>.<part>.{ext}` during the session; blocking = playlist requests with `_HLS_msn`. "
      "Latency samples start at the first frame, so hlsd's p95 includes the second or so before "
      "the catch-up (its column: how far behind `liveSyncPosition` the player was the first "
      "time, and how long it played faster in all). "
      "hlsd's time to first frame (TTFF) includes the wait of the player's first playlist "
      "request for the segment being written (`hold_plain_playlists`, on by default: up to one "
      "segment, T): what makes players whose low-latency mode is off start from a segment that "
      "has just completed. "
      "Stalls = `waiting` events after the first frame outside seeks; in parentheses those with "
      "less than 0.1 s buffered ahead (the media ran out: the origin was late), the others had "
      "media buffered and the browser's decoder fell behind (CPU). Load average = the "
      "machine's at the row's start → end.\n")
    standard = {(row["segment_time"], row["segment_wrap"], row["list_size"]): row.get("hlsd", {})
                for row in lat if not row.get("query")}
    rows, missed = [], []
    for row in ll:
        h, a, key, label, err = latency_cell(row)
        hm, am = h.get("latency_median"), a.get("latency_median")
        goal = "–"
        if hm is not None and am:
            ok = hm <= LL_GOAL_RATIO * am
            goal = "met" if ok else "**missed**"
            if not ok:
                missed.append(f"{label} ({hm / am:.2f}×)")
            if hm > am * 1.10 and hm - am > row["segment_time"]:
                behind.append((hm / am, f"LL-HLS latency {label}: hlsd {hm:.2f} s vs anchor "
                               f"{am:.2f} s", "latency"))
        ht, at = h.get("time_to_first_frame"), a.get("time_to_first_frame")
        if ht and at and ht > at * 1.10 and ht - at > 0.5:
            behind.append((ht / at, f"LL-HLS time to first frame {label}: hlsd {ht:.2f} s vs "
                           f"anchor {at:.2f} s (`hold_plain_playlists`)", "ttff"))
        seek_text = catch_up_text(h)
        rows.append([
            label, f(hm), f(h.get("latency_p95")), f(am), f(a.get("latency_p95")),
            ratio(hm, am), goal, f(standard.get(key, {}).get("latency_median")),
            f"{f(h.get('time_to_first_frame'))} / {f(a.get('time_to_first_frame'))}",
            f"{stalls(h)} / {stalls(a)}",
            h.get("parts_requested", "–"),
            f"{h.get('blocking_requests', '–')} of {h.get('playlist_requests', '–')}",
            f(h.get("part_hold_back")), seek_text,
            " → ".join(x[0] for x in (row.get("loadavg_start"), row.get("loadavg_end")) if x) or "–",
            (err or "")[:80]])
    w(table(["T/W/L", "hlsd LL median s", "hlsd LL p95 s", "anchor median s", "anchor p95 s",
             "ratio (median)", f"goal ≤ {LL_GOAL_RATIO}×", "hlsd without parts s (table above)",
             "TTFF s hlsd / anchor", "stalls (buffer empty) hlsd / anchor", "parts requested",
             "blocking / all playlist requests", "PART-HOLD-BACK s", "catch-up",
             "load avg (1 min)", "error"],
            rows))
    w("")
    para = []
    ones = [row for row in ll if row["segment_time"] == 1 and row.get("hlsd", {}).get("ok")]
    if ones:
        meds = [row["hlsd"]["latency_median"] for row in ones]
        over = [f"{row['segment_time']}/{row['segment_wrap']}/{row['list_size']} "
                f"({row['hlsd']['latency_median']:.2f} s)" for row in ones
                if not row["hlsd"]["latency_median"] < LL_GOAL_1S]
        span = f"{min(meds):.2f}" + (f"–{max(meds):.2f}" if max(meds) > min(meds) else "")
        para.append(f"With 1 s segments ({len(ones)} row{'s' if len(ones) > 1 else ''}) hlsd's LL "
          f"median was {span} s: the < {LL_GOAL_1S:.1f} s goal is " +
          ("met on every row." if not over else f"**missed** on {', '.join(over)}."))
    ok_rows = [row for row in ll if row.get("hlsd", {}).get("ok")]
    stalled = [row for row in ok_rows if row["hlsd"].get("stalls")]
    para.append(f"The ≤ {LL_GOAL_RATIO}× goal is " +
      (f"**missed** on {', '.join(missed)}" if missed else
       f"met on {'all ' if len(ok_rows) > 1 else ''}{len(ok_rows)} row{'s' if len(ok_rows) > 1 else ''}") +
      "; stalls: " + ("none" if not stalled else ", ".join(
          f"{row['segment_time']}/{row['segment_wrap']}/{row['list_size']}: "
          f"{row['hlsd']['stalls']}" for row in stalled)) + ".")
    w(" ".join(para) + "\n")


SOAK_HEADING = "## 5. Soak"
SOAK_LL_HEADING = "### LL-HLS viewers (blocking reload + parts)"


def mib(kb):
    return f"{kb / 1024:.1f}"


def pct(x):
    return "–" if x is None else f"{x:+.1f} %"


def soak_ok(s, name):
    """pass / **FAIL** for the soak check whose name starts with name ("" if none does)."""
    return next((("pass" if v else "**FAIL**") for k, v in s["checks"].items()
                 if k.startswith(name)), "")


def soak_machine(s):
    """The paragraph on how busy the machine was during a soak."""
    m = s["machine"]
    busy = s["machine_cpu_busy_percent"]
    client = s.get("client_cpu_percent")
    steal = s.get("machine_cpu_steal_percent")
    return (f"The machine's {m['nproc']} CPUs were {busy:.0f} % busy over the run (hlsd "
            f"{s['cpu_percent']['mean'] / m['nproc']:.0f} % of that" +
            (f", the viewers' Python process {client / m['nproc']:.0f} %" if client is not None
             else "") +
            (f", CPU time the hypervisor gave to other guests (steal) {steal['mean']:.0f} %, "
             f"{steal['max_interval']:.0f} % in the worst {s['config']['interval_s']:.0f} s"
             if steal else "") +
            f"; load average {' '.join(s['loadavg_start'])} at the start, "
            f"{' '.join(s['loadavg_end'])} at the end)" +
            (": other jobs shared the cores, so hlsd's CPU % and the response times are noisy; "
             "flatness is what this section measures.\n" if busy > 50 else ".\n"))


def soak_errors_row(s):
    kinds = ", ".join(f"{k} {n}" for k, n in s["viewers"]["error_kinds"].items()) or "none"
    return ["errors", f"{s['errors']} ({kinds})", soak_ok(s, "zero errors")]


def soak_footprint_rows(s):
    """RSS, thread stacks, fds, idle fds, threads and CPU rows of a soak's table."""
    rss, fds, thr, st = s["rss_kb"], s["fds"], s["threads"], s.get("stack_rss_kb")
    wu = s["config"]["warmup_s"]
    return [
        [f"RSS MiB at {wu:.0f} s → end (max after {wu:.0f} s)",
         f"{mib(rss['at_warmup'])} → {mib(rss['end'])} ({mib(rss['max'])}): "
         f"{pct(rss['growth_end_pct'])} at the end, {pct(rss['growth_max_pct'])} at the max; "
         f"trend {rss.get('slope_per_min', 0):+.0f} KiB/min", soak_ok(s, "RSS")],
        *([[f"of which thread stacks (the {st['mappings']} anonymous mappings of the "
            f"{st['stack_size_kib'] // 1024} MiB stack size), MiB at {wu:.0f} s → end",
            f"{mib(st['at_warmup'])} → {mib(st['end'])}: {(st['end'] - st['at_warmup']):+,} KiB "
            f"of the RSS's {(rss['end'] - rss['at_warmup']):+,} KiB", ""]] if st else []),
        [f"open fds at {wu:.0f} s → end (max after {wu:.0f} s)",
         f"{fds['at_warmup']} → {fds['end']} ({fds['max']}): {pct(fds['growth_max_pct'])} at "
         "the max", soak_ok(s, "fd")],
        ["open fds idle: before the viewers → after they left",
         f"{s['idle_before']['fds']} → {s['idle_after']['fds']}", soak_ok(s, "fds back")],
        [f"threads at {wu:.0f} s → end (max)", f"{thr['at_warmup']} → {thr['end']} ({thr['max']})",
         ""],
        ["hlsd CPU % of one core (mean; worst interval)",
         f"{s['cpu_percent']['mean']:.1f}; {f(s['cpu_percent']['max_interval'], 0)}", ""],
    ]


def soak_ms_row(label, t):
    """A table row: label, then p50 / p99 / max of a viewers' time (ms)."""
    return [label, f"{f(t['p50'], 1)} / {f(t['p99'], 1)} / {f(t['max'], 1)}", ""]


def soak_exit_row(s):
    return ["hlsd exit code after SIGTERM; warnings/errors logged",
            f"{s['hlsd_exit_code']}; {s['hlsd_log']['warnings_errors']}", ""]


def soak_tail(s, out, extra_head=(), extra=lambda sample: []):
    """What follows a soak's table: the thread-stack note, the verdict, the per-minute table
    (extra columns from extra(sample)) and the hlsd command."""
    w = out.append
    c, v = s["config"], s["viewers"]
    rss, st = s["rss_kb"], s.get("stack_rss_kb")
    wu = c["warmup_s"]
    grew = rss["end"] - rss["at_warmup"]
    if st and grew > 0.01 * rss["at_warmup"] and st["end"] - st["at_warmup"] >= grew / 2:
        conns = v["connections"] + len(s["samples"])
        w(f"{st['end'] - st['at_warmup']:,} of the {grew:,} KiB the RSS grew after {wu:.0f} s "
          "are thread stacks: pages a thread touches for the first time stay resident, so "
          "threads that had not served before did during the run. With a pool of worker "
          f"threads, a new connection ({conns} in this run: {v['connections']} viewers, "
          f"{len(s['samples'])} `/metrics` scrapes) can land on a worker that never served one. "
          "That is bounded by threads × stack depth, so it stops once every worker has served; "
          "but it is growth, and viewers coming and going, or a longer run, show more of it.\n")
    w(f"**{'PASS' if s['pass'] else 'FAIL'}**" +
      ("" if s["pass"] else ": " + ", ".join(k for k, v_ in s["checks"].items() if not v_)) + ".\n")
    # one row per minute: the sample nearest each minute mark, CPU averaged over the minute
    samples = s["samples"]
    rows, prev = [], samples[0]
    marks = list(range(60, int(samples[-1]["t"]) + 30, 60)) or [samples[-1]["t"]]
    for mark in marks:
        cur = min(samples, key=lambda x: abs(x["t"] - mark))
        if cur["t"] <= prev["t"] and rows:
            continue
        span = [x for x in samples if prev["t"] < x["t"] <= cur["t"]]
        cpu = sum(x["cpu_percent"] for x in span) / len(span) if span else None
        rows.append([f"{cur['t']:.0f}", mib(cur["rss_kb"]), cur["fds"], cur["threads"], f(cpu, 0),
                     f"{cur['requests'] - prev['requests']:,}", cur["errors"],
                     f(cur["hlsd_viewers"], 0), *extra(cur)])
        prev = cur
    w(f"Per minute (the sample nearest each minute; CPU % and requests over the minute; all "
      f"{len(samples)} samples are in the JSON):\n")
    w(table(["t s", "RSS MiB", "fds", "threads", "CPU %", "requests", "errors so far",
             "hlsd_viewers", *extra_head], rows))
    w("")
    w(f"hlsd command: `{normalize(' '.join(c['hlsd']))}`\n")
    return out


def soak_start(heading, command, s):
    """A soak (sub)section's first lines: its heading, and why the run failed if it did."""
    out = [f"{heading}\n"]
    if "error" in s:
        out.append(f"`{command}` on {s.get('date', '?')} failed: `{s['error']}`\n")
    return out


def soak_section(s):
    """The "5. Soak" section (heading included) from bench/soak.py's JSON."""
    out = soak_start(SOAK_HEADING, "bench/soak.py", s)
    if "error" in s:
        return out
    w = out.append
    c, v, m = s["config"], s["viewers"], s["machine"]
    wu = c["warmup_s"]
    w(f"From `bench/soak.py` on {s['date']} (`make soak` runs it alone and rewrites only this "
      "section; `make bench-full` runs it after the sections above), not necessarily the same "
      f"run as the rest of this file; {m['nproc']} × {m['cpu']}, hlsd `{m['hlsd']}`. hlsd with "
      f"the test pattern at real time ({c['size']}, libx264 inside, {c['segment_time']} s "
      f"segments, list size {c['list_size']}, every other setting at its default) on "
      f"127.0.0.1; {c['viewers']} simulated viewers (`bench/viewers.py`, threads in one "
      "process: one keep-alive HTTP/1.1 connection each, start 3 segments from the live edge, "
      "reload the playlist every target duration, fetch every new segment once) for "
      f"{s['wall_s']:.0f} s, their starts spread over {c['stagger_s']:.0f} s. Every response is "
      "checked (status 200, Content-Length = bytes read, segments are MPEG-TS, media sequence "
      "never goes back, the newest segment keeps advancing, no listed segment answers 404); "
      "a failed request is an error, except one retry on a new connection when a reused "
      "keep-alive connection was closed under it (a *reconnect*, as browsers do). Every "
      f"{c['interval_s']:.0f} s: hlsd's VmRSS, open fds, threads, CPU, and a `/metrics` "
      "scrape on a new connection (as Prometheus' would be: its interval outlives hlsd's 5 s "
      f"keep-alive). Criteria: zero errors; RSS and fds after the first {wu:.0f} s never "
      f"{c['growth_limit_pct']:.0f} % or more above their value at {wu:.0f} s; once the "
      "viewers have closed their connections, hlsd is back to the fds it had before they came.\n")
    w(soak_machine(s))
    w(table(["", "measured", "criterion"], [
        soak_errors_row(s),
        *soak_footprint_rows(s),
        ["requests (playlists + segments), per s",
         f"{s['requests']:,} ({v['playlists']:,} + {v['segments']:,}), {s['requests_per_s']:.0f}/s; "
         f"{v['bytes'] / 1e6:,.0f} MB", ""],
        ["connections opened / reconnects", f"{v['connections']} / {v['reconnects']}", ""],
        ["segments missed (fell out of the window before fetched) / stalls",
         f"{v['missed']} / {v['stalls']}", ""],
        soak_ms_row("response time ms p50 / p99 / max: playlist", v["playlist_ms"]),
        soak_ms_row("response time ms p50 / p99 / max: segment", v["segment_ms"]),
        soak_exit_row(s),
    ]))
    w("")
    return soak_tail(s, out)


def soak_ll_section(s):
    """The LL-HLS subsection of "5. Soak" (its ### heading included) from bench/soak.py --ll."""
    out = soak_start(SOAK_LL_HEADING, "bench/soak.py --ll", s)
    if "error" in s:
        return out
    w = out.append
    c, v, m, ll = s["config"], s["viewers"], s["machine"], s["ll"]
    wu = c["warmup_s"]
    hinted = ll["hint_viewers"]
    hl = v["held_lateness"]
    ia = s["idle_after"]
    w(f"From `bench/soak.py --ll` on {s['date']} (`make soak` runs it after the plain soak above, "
      "`make soak SOAK=ll` alone; either rewrites only its own part of this section); "
      f"{m['nproc']} × {m['cpu']}, hlsd `{m['hlsd']}`. The same hlsd as above (test pattern at "
      f"real time, {c['size']}, {c['segment_time']} s segments, list size {c['list_size']}) "
      f"with `--part-duration {ll['part_duration']:g}`; {c['viewers']} simulated LL-HLS "
      "viewers (`bench/viewers.py` `LlViewer`, threads in one process) for "
      f"{s['wall_s']:.0f} s, their starts spread over {c['stagger_s']:.0f} s. Each one does "
      "what hls.js does in lowLatencyMode on one keep-alive connection: a plain playlist GET, "
      "then in a loop a blocking reload `?_HLS_msn=M&_HLS_part=P&_HLS_skip=YES` for the part "
      "after the last one listed (the preload hint), then every part listed after the last one "
      "it fetched, once (starting 3 parts, PART-HOLD-BACK, from the live edge). "
      f"{hinted} of the {c['viewers']} also GET the hinted part before each reload, as Apple's "
      "players do; hlsd holds that request until the part is complete." +
      (f" Every {ll['abandon_every_s']:g} s (the first time at random) each viewer instead "
       "sends a blocking reload for part 0 of the segment after the next one (held for about "
       "a segment) and hangs up on it 0.1 s later, as a closing tab or an aborted hls.js request "
       "does, then starts over on a new connection." if ll.get("abandon_every_s") else "") +
      " Checked on every "
      "response: status 200, Content-Length = bytes read, parts are MPEG-TS, the media sequence "
      "never goes back, part names match where they are listed, the preload hint is the part "
      "hls.js would ask for next, a blocking reload lists the part asked for (or a later one), "
      "no part is skipped. Same samples as above, plus `hlsd_http_requests_waiting` (requests "
      "hlsd holds, without a worker, until their part exists). Criteria: those above (zero "
      f"errors; RSS and fds flat within {c['growth_limit_pct']:.0f} % after {wu:.0f} s; fds "
      "back to idle), every blocking reload answered 200 (none timed out into a 503 after "
      "3 × TARGETDURATION), and no request still held once the viewers have left.\n")
    w(soak_machine(s))
    ratio_ = ll["requests_per_s_vs_expected"]
    behind_pct = 100.0 * v["behind"] / max(1, v["reloads"])
    wh = ll["requests_waiting"]
    w(table(["", "measured", "criterion"], [
        soak_errors_row(s),
        ["blocking reloads answered 200 / made",
         f"{v['reloads_ok']:,} / {v['reloads']:,} "
         f"({v['error_kinds'].get('reload_503', 0)} × 503)",
         soak_ok(s, "every blocking reload")],
        *soak_footprint_rows(s),
        ["requests (playlist GETs + blocking reloads + parts + hinted parts), per s",
         f"{s['requests']:,} ({v['playlists']:,} + {v['reloads']:,} + {v['parts']:,} + "
         f"{v['hints']:,}), {s['requests_per_s']:.0f}/s of {ll['expected_requests_per_s']:.0f}/s "
         f"for viewers that keep up (2 per part each): {ratio_:.2f}×; "
         f"{v['bytes'] / 1e6:,.0f} MB", ""],
        ["reloads that listed more new parts than expected (viewer behind the live edge); "
         "most new parts in one answer",
         f"{v['behind']:,} ({behind_pct:.1f} %); {v['max_new_parts']}", ""],
        ["parts missed (skipped over) / reloads answered by the end of the segment instead of "
         "the part asked for",
         f"{v['missed']} / {v['answered_by_segment_end']}", ""],
        [f"held requests (`hlsd_http_requests_waiting`, {wh['samples']} samples) min / mean / max",
         f"{f(wh['min'], 0)} / {f(wh['mean'], 1)} / {f(wh['max'], 0)}", ""],
        ["held requests / open connections after the viewers left (the scrape's own included)",
         f"{f(ia.get('requests_waiting'), 0)} / {f(ia.get('connections_open'), 0)}",
         soak_ok(s, "no held request")],
        soak_ms_row("blocking reload wait (until the next part exists) ms p50 / p99 / max",
                    v["reload_ms"]),
        soak_ms_row("blocking reload once the hinted part arrived ms p50 / p99 / max",
                    v["reload_after_hint_ms"]),
        [f"held requests ({hl['held']:,}, for {hl['parts']:,} parts): answered after the "
         "first answer any viewer got for the same part, ms p50 / p99 / max; over 50 ms; "
         "over 200 ms (seen by the viewers: includes the Python process' scheduling of its "
         "threads)",
         f"{soak_ms_row('', hl['lateness_ms'])[1]}; {hl['over_50ms']:,}; {hl['over_200ms']:,}", ""],
        soak_ms_row("part fetch ms p50 / p99 / max", v["part_ms"]),
        soak_ms_row("hinted part fetch (held until complete) ms p50 / p99 / max", v["hint_ms"]),
        soak_ms_row("first (plain) playlist GET ms p50 / p99 / max", v["playlist_ms"]),
        *([["the sampler (the viewers' process' main thread): most it woke late for a sample, s; "
            "slowest `/metrics` scrape, ms",
            f"{max(x['late_s'] for x in s['samples']):.2f}; "
            f"{max(x['scrape_ms'] for x in s['samples']):.1f}", ""]]
          if "late_s" in s["samples"][0] else []),
        ["held reloads hung up on / connections opened / reconnects",
         f"{v['abandoned']} / {v['connections']} / {v['reconnects']}", ""],
        soak_exit_row(s),
    ]))
    w("")
    keeping = ratio_ >= 0.95 and behind_pct < 5
    w(f"The viewers made {ratio_:.2f}× the requests of viewers that keep up with the live edge "
      f"and {behind_pct:.1f} % of the blocking reloads came back with more than the next part: "
      + ("the Python viewers kept up.\n" if keeping else
         "**the viewers fell behind** (the Python process shares the GIL and the 2 cores); the "
         "figures are for the load they actually made.\n"))
    return soak_tail(s, out, ["held requests"], lambda x: [f(x.get("requests_waiting"), 0)])


def serving_section(r, sr, w, behind):
    """Section 2 from r["serving"] (sr: a separate serving run's facts, or None)."""
    w("## 2. Serving (wrk, 127.0.0.1)\n")
    sv = r.get("serving")
    if isinstance(sv, dict) and "error" in sv:
        w(f"Section failed: `{sv['error']}`\n")
    elif sv:
        nruns = len(sv["rows"][0]["runs"]["hlsd"]) if sv["rows"] else 0
        if sr:
            w(f"Measured on {sr['date']} by `bench.py --mode {sr['mode']} --only serving`, on "
              "the current HTTP layer (see the top of this file).\n")
        w(f"Same bytes on both sides: hlsd serves from memory, nginx serves hlsd's "
          f"`--output-dir` mirror (checked byte-equal: {sv['same_bytes']}). hlsd: "
          "`--source file:1080p.mp4 --no-realtime --segment-time 2 --output-dir DIR`, every "
          "other setting at its default (`max_clients` 1024 open connections, "
          "`http_timeout` 5 s" +
          (f"; {sv['hlsd_threads_idle']} threads before the load" if sv.get("hlsd_threads_idle")
           else "") + "); the file is "
          f"segmented before the load, so hlsd does no segmenting while measured. Segment "
          f"`{re.sub(r'^[a-z0-9]{6}-', 'RUN-', sv['segment'])}` = {sv['segment_bytes']:,} bytes; "
          f"playlist = {sv['playlist_bytes']} bytes. `wrk -t2 -cN -dDs --latency --timeout 2s`, "
          f"{nruns} runs per cell alternating which server goes first; cells are medians. "
          "CPU = utime+stime deltas of the server's processes (nginx: master + 2 workers) "
          "over the run; peak RSS = VmHWM (reset before each run through "
          "`/proc/PID/clear_refs`). *Fresh conn* = one extra client connecting 1 s into the "
          "load and timing a whole playlist/segment response on a new connection (– = no answer "
          "before wrk ended: starved); it is what a new viewer would see while the others "
          "load the server. wrk itself shares the 2 cores.\n")
        w("nginx config (Debian defaults where they exist, access log off):\n")
        w("```nginx\n" + normalize(sv["nginx_conf"]).strip() + "\n```\n")

        def rows_of(rowlist):
            a, b = [], []
            for row in rowlist:
                hname = next(k for k in row["runs"] if k != "nginx")
                h, n = row[hname], row["nginx"]
                label = f"{row['target']} c{row['connections']}" + \
                    (f" ({row['label']})" if hname != "hlsd" else "")
                fresh_h = "–" if h["fresh_connection_s"] is None else f"{h['fresh_connection_s'] * 1000:.0f} ms"
                fresh_n = "–" if n["fresh_connection_s"] is None else f"{n['fresh_connection_s'] * 1000:.0f} ms"
                a.append([label, f(h["requests_per_s"], 0), f(n["requests_per_s"], 0),
                          ratio(h["requests_per_s"], n["requests_per_s"]),
                          f(h["p99_ms"], 1), f(n["p99_ms"], 1), ratio(h["p99_ms"], n["p99_ms"]),
                          f"{f(h['errors'], 0)} / {f(n['errors'], 0)}",
                          f"{fresh_h} / {fresh_n}"])
                b.append([label, f(h["cpu_percent"], 0), f(n["cpu_percent"], 0),
                          f(h["cpu_us_per_request"], 1), f(n["cpu_us_per_request"], 1),
                          ratio(h["cpu_us_per_request"], n["cpu_us_per_request"]),
                          f"{f(100 * (h.get('sys_share') or 0), 0)} / {f(100 * (n.get('sys_share') or 0), 0)}",
                          f"{f(h.get('ctx_switches_per_request'), 2)} / {f(n.get('ctx_switches_per_request'), 2)}",
                          f(mb(h["peak_rss_kb"]), 1), f(mb(n["peak_rss_kb"]), 1),
                          ratio(h["peak_rss_kb"], n["peak_rss_kb"])])
                hr, nr = h["requests_per_s"], n["requests_per_s"]
                hc, nc = h["cpu_us_per_request"], n["cpu_us_per_request"]
                if hname != "hlsd":
                    continue  # a labelled what-if row; "behind" lists the defaults only
                if hr and nr and hr >= nr * 0.9 and hc and nc and hc > nc * 1.25:
                    behind.append((hc / nc, f"{label}: as many requests/s as nginx "
                                   f"({hr / nr:.2f}×) but {hc:,.0f} vs {nc:,.0f} CPU µs per "
                                   f"request, of which kernel "
                                   f"{hc * (h.get('sys_share') or 0):,.0f} vs "
                                   f"{nc * (n.get('sys_share') or 0):,.0f}", "serving_cpu"))
                if hr and nr and hr < nr * 0.9:
                    behind.append((nr / hr, f"{label}: {hr:,.0f} vs nginx {nr:,.0f} req/s "
                                   f"({hr / nr:.2f}×)", "serving"))
                if h["fresh_connection_s"] is None and n["fresh_connection_s"] is not None:
                    behind.append((float("inf"), f"{label}: a new connection is not answered "
                                   f"while {row['connections']} connections are busy (nginx: "
                                   f"{n['fresh_connection_s'] * 1000:.0f} ms)", "starved"))
            return a, b

        a, b = rows_of(sv["rows"])
        a2, b2 = rows_of(sv.get("http_threads_rows") or sv.get("max_clients_rows") or [])
        w("Throughput and latency:\n")
        w(table(["target", "hlsd req/s", "nginx req/s", "ratio", "hlsd p99 ms", "nginx p99 ms",
                 "ratio", "errors hlsd / nginx", "fresh conn hlsd / nginx"], a + a2))
        w("")
        w("Cost:\n")
        w(table(["target", "hlsd CPU %", "nginx CPU %", "hlsd CPU µs/req", "nginx CPU µs/req",
                 "ratio", "kernel share % hlsd / nginx", "ctx switches/req hlsd / nginx",
                 "hlsd peak RSS MiB", "nginx peak RSS MiB", "ratio"], b + b2))
        w("")
        big = [row for row in sv["rows"] if row["connections"] >= 1000]
        if big:
            conns = big[0]["connections"]
            missed = sum(x["hlsd"].get("fresh_unanswered", 0) for x in big)
            w(f"At {conns} connections (under the default `max_clients` 1024, so none is "
              "refused) a snapshot taken mid-run found, of hlsd's / nginx's connections, " +
              ", ".join(f"{f(x['hlsd'].get('unread_connections'), 0)} / "
                        f"{f(x['nginx'].get('unread_connections'), 0)} ({x['target']})"
                        for x in big) +
              " with request bytes the server had not read yet (medians over runs): every wrk "
              "connection keeps one request outstanding, so that is the queue of requests "
              "waiting for the 2 shared cores (short responses: many at once), not connections "
              "left behind. " +
              (f"A new viewer was answered in every run at {conns} connections (*fresh conn*: " +
               ", ".join(f"{x['target']} {x['hlsd']['fresh_connection_s'] * 1000:.0f} ms, "
                         f"nginx {x['nginx']['fresh_connection_s'] * 1000:.0f} ms" for x in big
                         if x["nginx"]["fresh_connection_s"] is not None) +
               "): hlsd accepts in the same non-blocking loop that writes every response, so "
               "a new socket never waits behind a busy thread, and an idle one costs none."
               if missed == 0 else
               f"A new viewer was **not** answered in {missed} run(s) at {conns} connections "
               "(*fresh conn*): see \"where hlsd is behind\".") + "\n")
        extra = sv.get("http_threads_rows") or []
        if extra:
            base = {(x["target"], x["connections"]): x for x in sv["rows"]}
            cmp_ = []
            for x in extra:
                hname = next(k for k in x["runs"] if k != "nginx")
                b_ = base.get((x["target"], x["connections"]))
                if b_:
                    r64 = ratio(x[hname]["requests_per_s"], x["nginx"]["requests_per_s"])
                    r32 = ratio(b_["hlsd"]["requests_per_s"], b_["nginx"]["requests_per_s"])
                    cmp_.append(f"{x['target']} {r64} of nginx with 64 workers vs {r32} with 32")
            w("The `--http-threads 64` rows (labelled; not the default; a separate hlsd process, "
              "again alternating with nginx) double the workers at the same load: on 2 cores, "
              "more threads writing at once make no more CPU, so only a ratio clearly above the "
              "default rows' would say 32 workers are too few. Here: " + "; ".join(cmp_) +
              " (each pair measured in its own window; the absolute requests/s of the two "
              "windows differ with the machine's load).\n")
        old = r.get("serving_earlier")
        if old and old.get("rows"):
            prev = {(x["target"], x["connections"]): x for x in old["rows"]}

            def fresh_ms(x):
                s_ = x.get("fresh_connection_s")
                return "–" if s_ is None else f"{s_ * 1000:.0f} ms"
            cmp_rows = []
            for row in sv["rows"]:
                o = prev.get((row["target"], row["connections"]))
                if not o:
                    continue
                cmp_rows.append([
                    f"{row['target']} c{row['connections']}",
                    ratio(o["hlsd"]["requests_per_s"], o["nginx"]["requests_per_s"]),
                    ratio(row["hlsd"]["requests_per_s"], row["nginx"]["requests_per_s"]),
                    f"{f(o['nginx']['requests_per_s'], 0)} → "
                    f"{f(row['nginx']['requests_per_s'], 0)}",
                    fresh_ms(o["hlsd"]), fresh_ms(row["hlsd"]),
                    f"{f(o['hlsd']['errors'], 0)} → {f(row['hlsd']['errors'], 0)}"])
            if cmp_rows:
                w(f"Against the earlier HTTP layer (the full run on {old.get('date', r['date'])}: "
                  "a worker thread per connection, `max_clients` 512 workers). Each run compared "
                  "hlsd with nginx in its own window, so only ratios compare across runs, and "
                  "even they move with the machine's load: where nginx's own rate differs much "
                  "between the runs (its column), a changed ratio may be the window as much as "
                  "the code. The *fresh conn* change is the structural one.\n")
                w(table(["target", "hlsd / nginx req/s, earlier layer", "now",
                         "nginx req/s earlier → now",
                         "hlsd fresh conn, earlier layer", "now", "hlsd errors earlier → now"],
                        cmp_rows))
                w("")


SERVING_EXPLANATIONS = {
    "serving": (
        "- **Segments per second.** Per segment, both servers spend ~98 % of their CPU in "
        "the kernel (sendfile of the same pages and TCP over loopback; the perf profile in "
        "section 2): hlsd's requests/s ≈ nginx's × (hlsd CPU % / nginx CPU %) × (nginx "
        "µs/request / hlsd µs/request). hlsd runs one event loop per CPU, as nginx runs "
        "one worker per CPU; wrk shares the same cores. On a Pi the network runs out "
        "first: one core here sends ~2 GB/s of segments over loopback, a Pi 4's or 5's "
        "Ethernet carries 0.12 GB/s."),
    "serving_cpu": (
        "- **Segments cost more CPU than nginx's at the same rate.** Both send the "
        "segment's pages with sendfile (hlsd from its per-segment memfd, contiguous parts "
        "in one call, a part's unaligned start from memory; nginx from the page cache). "
        "In the perf "
        "profile (section 2), hlsd's samples pass through loopback's receive path (wrk's "
        "side of TCP, run in softirq on the sending core) two to three times as often as "
        "nginx's, while nginx spends that share in task switches between its workers."),
}


def replace_behind(lines, item, items, explanation, explanations):
    """In "Where hlsd is behind" of RESULTS.md's lines, in place: the items matching `item` give
    way to `items` (before the others) and the explanations matching `explanation` to
    `explanations` (first under "Best explanations")."""
    h = lines.index("## Where hlsd is behind")
    e = next((k for k in range(h + 1, len(lines)) if lines[k].startswith("## ")), len(lines))
    kept = [x for x in lines[h:e] if not item.match(x) and not explanation.match(x)]
    first = next((k for k, x in enumerate(kept) if x.startswith("- **")), len(kept))
    kept[first:first] = items
    at = next((k + 2 for k, x in enumerate(kept) if x.startswith("Best explanations")),
              len(kept))
    kept[at:at] = explanations
    lines[h:e] = kept


def update_serving(path, run, perf=None):
    """Section 2 of RESULTS.md from a `bench.py --only serving` run's JSON, in place: the
    section, the header paragraph that names the serving run, and the serving items of "Where
    hlsd is behind" (the rest of the file is another run's and stays as it is)."""
    sr = {"mode": run["mode"], "date": run["date"], "commit": run["machine"].get("commit", "?"),
          "duration_s": run["durations_s"].get("serving", 0),
          "loadavg_start": run["loadavg_start"], "loadavg_end": run.get("loadavg_end", ["?"]),
          "hlsd_threads_idle": (run.get("serving") or {}).get("hlsd_threads_idle")}
    out, behind = [], []
    serving_section({"serving": run.get("serving"), "date": run["date"]}, sr, out.append, behind)
    if perf:
        out.append("### Where a segment's CPU goes (perf)\n")
        out.append("From `bench/perf_serving.py` (a separate, shorter run than the tables above). "
                   "This VM has no hardware counters, so the samples come from the cpu-clock "
                   "timer; a sample due while interrupts were off is taken where they are turned "
                   "back on, which is why `_raw_spin_unlock_irqrestore` leads both servers: it "
                   "stands for the networking done with interrupts off (softirq).\n")
        out.append(open(perf).read().strip() + "\n")
        out.append("Read: user space is under 2 % of either server's samples; what differs is "
                   "kernel work on the same bytes. hlsd's sends run loopback's receive side "
                   "(wrk's TCP, in softirq) two to three times as often as nginx's (likely "
                   "because one thread sends to every connection, so the softirq runs in its "
                   "context rather than spread over two workers), and each 1 MB segment is ten "
                   "sendfile calls (one per 0.2 s part's memfd) where nginx makes one. Two "
                   "ways to batch them were measured side by side (two hlsd processes, 3 "
                   "alternating wrk runs, CPU µs per segment): corking the calls (nginx's "
                   "tcp_nopush) +30 % at 10 connections, −3 % at 100; one sendfile from a "
                   "whole-segment memfd +18 % at 10, +7 % at 100, −25 % at 1000. On loopback "
                   "the sender also runs the receiver's TCP, so batching moves work between the "
                   "two ends more than it removes any; neither is in the code. What a Pi's NIC "
                   "makes of it only a Pi can measure.\n")
        out.append("MSG_ZEROCOPY (the issue's other option) is not measured: on loopback the "
                   "kernel copies every MSG_ZEROCOPY packet anyway (a deferred copy, "
                   "Documentation/networking/msg_zerocopy.rst, \"Loopback\"), and sendfile "
                   "already hands the socket page references without completion notifications "
                   "to reap.\n")
    lines = open(path).read().split("\n")
    i = lines.index("## 2. Serving (wrk, 127.0.0.1)")
    j = next(k for k in range(i + 1, len(lines)) if lines[k].startswith("## "))
    lines[i:j] = "\n".join(out).split("\n") + [""]
    for k, line in enumerate(lines):
        if line.startswith("**Two runs in this file.**") or line.startswith("**Several runs"):
            lines[k] = (
                f"**Several runs in this file.** Section 2 (serving) comes from `bench.py --mode "
                f"{sr['mode']} --only serving` on {sr['date']} (commit `{sr['commit']}`, "
                f"{sr['duration_s']:.0f} s, load average {' '.join(sr['loadavg_start'])} at the "
                f"start, {' '.join(sr['loadavg_end'])} at the end), on hlsd's HTTP stage at that "
                "commit (one epoll loop per CPU; media sent with sendfile from a per-segment "
                "in-memory file, text with sendmsg), put here by `report.py --serving JSON "
                "--update` (with `--perf`: bench/perf_serving.py's profile). "
                "Sections 5 (soak) and 6 (players) name their own runs. Every other section "
                "comes from the full run named above, which measured earlier HTTP layers: its "
                "thread counts, RSS, start-up and profile reflect them.")
    behind.sort(key=lambda x: -x[0])
    kinds = {k for _, _, k in behind}
    # The serving explanations, as of this code (older ones named earlier HTTP layers).
    replace_behind(
        lines, re.compile(r"^- \*\*[^*]+\*\*: (segment|playlist|part) c\d+"),
        [f"- **{'never answered' if fac == float('inf') else f'{fac:.2f}× worse'}**: {text} "
         f"(serving run {sr['date']})" for fac, text, _ in behind],
        re.compile(r"^- \*\*(Per-request overhead|Segments cost more CPU|Segments per second)"),
        [SERVING_EXPLANATIONS[k] for k in ("serving", "serving_cpu") if k in kinds])
    with open(path, "w") as fh:
        fh.write("\n".join(lines))


LL_HEADING = "### LL-HLS: hlsd with parts against the same standard anchor"


def ll_run_text(lr):
    """The paragraph naming the separate latency-ll run the LL-HLS table comes from."""
    return (f"Measured by a separate run, `bench.py --mode {lr['mode']} --only latency-ll` on "
            f"{lr['date']} (commit `{lr.get('commit') or '?'}`, `{lr['hlsd']}`, "
            f"{lr['duration_s']:.0f} s, load average {' '.join(lr['loadavg_start'])} at the "
            f"start, {' '.join(lr['loadavg_end'])} at the end), after the table above; the "
            "column \"hlsd without parts\" comes from that earlier run.\n")


def plain_rows_from(lines):
    """Section 1's hlsd medians without parts (hls.js default rows) as latency rows, read back
    from an existing RESULTS.md: the LL table's "without parts" column when only a separate
    latency-ll run is at hand."""
    rows = []
    for line in lines:
        m = re.match(r"^\| (\d+)/(\d+)/(\d+) \| default \| [^|]* \| ([\d.]+) \|", line)
        if m:
            t, w, l = (int(x) for x in m.groups()[:3])
            rows.append({"segment_time": t, "segment_wrap": w, "list_size": l, "query": "",
                         "hlsd": {"latency_median": float(m.group(4))}})
    return rows


TTFF_EXPLANATION = (
    "- **LL-HLS time to first frame with segments over 1 s**: a playlist request without "
    "`_HLS_msn` (every player's first) waits until the segment being written completes "
    "(`hold_plain_playlists`, on by default), up to T seconds. It buys players whose "
    "low-latency mode is off (Shaka, Video.js `llhls: false`, Safari over HTTP/1.1) a start "
    "from a segment that has just completed: they stay up to T seconds closer for the whole "
    "session. With the shipped 1 s segments it costs 0.32 s on average; "
    "`hold_plain_playlists: false` answers at once.")


def update_ll(path, run):
    """The LL-HLS subsection of section 1 from a `bench.py --only latency-ll` run's JSON, in
    place, and its items of "Where hlsd is behind"; every other line stays as it was."""
    lines = open(path).read().split("\n")
    i = lines.index(LL_HEADING)
    j = next(k for k in range(i + 1, len(lines)) if lines[k].startswith("## "))
    out, behind = [LL_HEADING, ""], []
    ll = run.get("latency-ll")
    if not isinstance(ll, list):
        raise SystemExit(f"no latency-ll rows in this run: {ll}")
    out.append(ll_run_text({
        "mode": run["mode"], "date": run["date"], "commit": run["machine"].get("commit"),
        "hlsd": run["machine"]["hlsd"], "duration_s": run["durations_s"].get("latency-ll", 0),
        "loadavg_start": run["loadavg_start"], "loadavg_end": run.get("loadavg_end", ["?"])}))
    ll_section(ll, plain_rows_from(lines[:i]), out.append, behind)
    lines[i:j] = "\n".join(out).split("\n")
    replace_behind(
        lines, re.compile(r"^- \*\*[\d.]+× worse\*\*: LL-HLS "),
        [f"- **{fac:.2f}× worse**: {text} (LL run {run['date']})"
         for fac, text, _ in sorted(behind, key=lambda x: -x[0])],
        re.compile(re.escape(TTFF_EXPLANATION[:30])),
        [TTFF_EXPLANATION] if any(kind == "ttff" for _, _, kind in behind) else [])
    with open(path, "w") as fh:
        fh.write("\n".join(lines))


def update_section(path, plain=None, ll=None):
    """Rewrites the soak section of an existing RESULTS.md (inserted before Profile when there
    is none): its plain part with plain, its LL subsection with ll; a part given as None is
    kept as it was."""
    with open(path) as fh:
        lines = fh.read().split("\n")

    def split(section):
        return None if section is None else "\n".join(section).split("\n")
    plain, ll = split(plain), split(ll)
    if SOAK_HEADING in lines:
        i = lines.index(SOAK_HEADING)
        j = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("## ")), len(lines))
        old = lines[i:j]
        k = old.index(SOAK_LL_HEADING) if SOAK_LL_HEADING in old else len(old)
        lines[i:j] = (plain or old[:k]) + (ll or old[k:])
    else:
        anchors = ["## Profile (callgrind)", "## Where hlsd is behind"]
        i = next((lines.index(a) for a in anchors if a in lines), len(lines))
        lines[i:i] = (plain or [SOAK_HEADING, ""]) + (ll or [])
    with open(path, "w") as fh:
        fh.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="?", help="bench/bench.py's JSON: print the whole RESULTS.md")
    ap.add_argument("--soak", help="bench/soak.py's JSON: the soak section")
    ap.add_argument("--soak-ll", help="bench/soak.py --ll's JSON: the soak section's LL-HLS part")
    ap.add_argument("--serving", help="bench.py --only serving's JSON: section 2")
    ap.add_argument("--perf", help="bench/perf_serving.py's markdown, with --serving")
    ap.add_argument("--latency-ll", help="bench.py --only latency-ll's JSON: section 1's LL-HLS "
                    "table, with --update")
    ap.add_argument("--update", metavar="RESULTS_MD",
                    help="with --soak and/or --soak-ll, --serving or --latency-ll: rewrite "
                         "only that part of this file")
    a = ap.parse_args()
    soak = json.load(open(a.soak)) if a.soak else None
    soak_ll = json.load(open(a.soak_ll)) if a.soak_ll else None
    if a.update and a.serving:
        update_serving(a.update, json.load(open(a.serving)), a.perf)
        return
    if a.update and a.latency_ll:
        update_ll(a.update, json.load(open(a.latency_ll)))
        return
    if a.update:
        if not soak and not soak_ll:
            ap.error("--update needs --soak or --soak-ll")
        update_section(a.update, soak and soak_section(soak), soak_ll and soak_ll_section(soak_ll))
        return
    if not a.results:
        ap.error("give results.json, or --soak / --soak-ll with --update")
    r = json.load(open(a.results))
    m = r["machine"]
    out = []
    w = out.append
    behind = []  # (factor, text)

    sr = r.get("serving_run")  # section 2 re-measured by a later `bench.py --only serving`
    w("# hlsd benchmarks: results\n")
    w(f"Generated by `bench/report.py` from the JSON of one `make {'bench' if r['mode'] == 'quick' else 'bench-full'}` "
      f"run (mode **{r['mode']}**) on {r['date']}" +
      (", with section 2 from a later run (below)" if sr else "") + "; do not edit by hand. "
      f"Total run time {f(r.get('total_s', 0) / 60, 1)} min "
      f"({', '.join(f'{k} {v:.0f} s' for k, v in r['durations_s'].items())}).\n")
    if sr:
        idle_then = (r.get("footprint") or {}).get("idle", {}).get("hlsd_threads")
        w(f"**Two runs in this file.** Section 2 (serving) comes from a later, separate run, "
          f"`bench.py --mode {sr['mode']} --only serving` on {sr['date']} (commit "
          f"`{sr.get('commit', '?')}`, {sr['duration_s']:.0f} s, load average "
          f"{' '.join(sr['loadavg_start'])} at the start, {' '.join(sr['loadavg_end'])} at the "
          "end), on hlsd's HTTP connection layer at that commit (since 0ec28ba: every "
          "connection in one epoll loop, responses written from the store's buffers with "
          "sendmsg; before it: an epoll thread for idle connections and `http_threads` "
          "workers), `max_clients` (1024) counts open connections"
          + (f"; hlsd had {sr['hlsd_threads_idle']} threads before the load" if
             sr.get("hlsd_threads_idle") else "") + ". Every other section (latency, "
          f"segmenting, footprint, profile) comes from the full run on {r['date']}, which "
          "measured the earlier HTTP layer: cpp-httplib's worker thread for each connection's "
          "whole life, `max_clients` 512 worker threads"
          + (f" ({idle_then} threads idle in section 4)" if idle_then else "") + "; its "
          "thread counts, RSS, start-up and the profile reflect that layer. The full run's "
          "serving figures are superseded (their ratios are kept for comparison in section 2); "
          "the run times above are the full run's. Section 5 (soak) names its own run.\n")
    w("**This machine is noisy**: other jobs (package builds, other test suites) shared the "
      f"same cores during the run (load average {' '.join(r['loadavg_start'])} at the start, "
      f"{' '.join(r.get('loadavg_end', ['?']))} at the end" +
      (f"; the serving run: {' '.join(sr['loadavg_start'])} → {' '.join(sr['loadavg_end'])}"
       if sr else "") + "). So every comparison below is "
      "measured side by side in the same run (same window or alternating runs), cells are "
      "medians, and ratios matter more than absolute numbers. Ratios are hlsd / anchor: for "
      "latency, CPU and memory < 1 is better for hlsd; for requests/s > 1 is better for hlsd.\n")

    w("## Machine and versions\n")
    w(table(["what", "value"], [
        ["CPU", f"{m['nproc']} × {m['cpu']}"], ["memory", f"{m['mem_total_kb'] // 1024} MiB"],
        ["kernel", m["kernel"]], ["Debian", m["debian"]], ["hlsd", m["hlsd"]],
        ["git commit", m.get("commit", "not recorded") +
         (f"; serving run: `{sr.get('commit', '?')}`" if sr else "")],
        ["ffmpeg", m["ffmpeg"]], ["nginx", m["nginx"]], ["wrk", m["wrk"]],
        ["Chromium", m["chromium"]], ["hls.js", m["hls.js"]],
        ["playwright-core", m["playwright-core"]], ["node", m["node"]],
        ["python", m["python"]], ["valgrind", m["valgrind"]], ["GNU time", m["gnu_time"]],
        ["perf", f"`perf stat -e instructions true`: {m['perf_instructions']} → profiles use "
                 "callgrind"],
        ["open files limit", r.get("nofile")],
    ]))
    w("")
    w("Media (generated by the run, cached in `build/bench-media/`, never committed):\n")
    for k, v in r["media"].items():
        w(f"- `{normalize(v['command'])}` ({v['bytes'] / 1e6:.1f} MB)")
    w("")

    # ------------------------------------------------------------------ latency
    w("## 1. Live latency in a real player\n")
    lat = r.get("latency")
    if isinstance(lat, dict) and "error" in lat:
        w(f"Section failed: `{lat['error']}`\n")
    elif lat:
        w("Headless Debian Chromium + hls.js (the hlsd player page for both systems; the anchor "
          "through `?src=`), one 720p30 H.264 file (GOP 30, 2.5 Mb/s, 60 s) looped at native "
          "rate by both: hlsd `--source file:… --loop --part-duration 0` (standard HLS; "
          "LL-HLS below) vs `ffmpeg -re -stream_loop -1 -i FILE -c copy -f hls -hls_time T "
          "-hls_list_size L -hls_flags "
          "delete_segments+program_date_time+independent_segments+temp_file` behind nginx "
          "(`Cache-Control: no-cache`, CORS `*`, correct MIME types). Both servers start fresh "
          "for every cell and both players play **at the same time** in two browser processes "
          f"for {lat[0].get('hlsd', {}).get('seconds', '?')} s after the first frame. Latency = "
          "`Date.now() − hls.playingDate` (the PROGRAM-DATE-TIME of the frame on screen), "
          "sampled every 250 ms; TTFF = page load → first `playing` event. `sync=1` is "
          "`liveSyncDurationCount: 1`. Seed = the seed's Pi measurements (not this machine).\n")
        rows = []
        for row in lat:
            h, a, key, label, err = latency_cell(row)
            rows.append([
                label, row["query"] or "default", SEED.get(key, "–"),
                f(h.get("latency_median")), f(h.get("latency_p95")),
                f(a.get("latency_median")), f(a.get("latency_p95")),
                ratio(h.get("latency_median"), a.get("latency_median")),
                f"{f(h.get('time_to_first_frame'))} / {f(a.get('time_to_first_frame'))}",
                f"{h.get('stalls', '–')} / {a.get('stalls', '–')}",
                f"{h.get('target_duration', '–')} / {a.get('target_duration', '–')}",
                (err or "")[:80]])
            hm, am = h.get("latency_median"), a.get("latency_median")
            if hm and am and hm > am * 1.10 and hm - am > row["segment_time"]:
                behind.append((hm / am, f"latency {label} {row['query'] or 'default'}: hlsd "
                               f"{hm:.2f} s vs anchor {am:.2f} s", "latency"))
        w(table(["T/W/L", "hls.js", "seed (Pi)", "hlsd median s", "hlsd p95 s",
                 "anchor median s", "anchor p95 s", "ratio (median)", "TTFF s hlsd / anchor",
                 "stalls hlsd / anchor", "TARGETDURATION hlsd / anchor", "error"], rows))
        w("")
        meds = [(row["hlsd"]["latency_median"], row["anchor"]["latency_median"]) for row in lat
                if row.get("hlsd", {}).get("ok") and row.get("anchor", {}).get("ok")]
        if meds:
            hs = sorted(x for x, _ in meds)
            as_ = sorted(y for _, y in meds)
            w(f"Median over all cells: hlsd {hs[len(hs) // 2]:.2f} s, anchor "
              f"{as_[len(as_) // 2]:.2f} s. How to read it: within one session the latency "
              "hardly moves (p95 ≈ median) because hls.js picks its start point once, "
              "`liveSyncDurationCount` target durations behind the newest segment, and then "
              "plays at rate 1. Where in the segment cycle the page happened to load shifts "
              "that by up to one segment duration, so single-cell differences smaller than T "
              "are within that noise; the pattern across cells is what counts. Both origins "
              "publish a segment within a few ms of its end (hlsd: when the next keyframe is "
              "read; ffmpeg likewise), and ffmpeg stamps PROGRAM-DATE-TIME from the time its "
              "muxer started, ~0.1 s after it began reading, which flatters the anchor by about "
              "that much. hlsd marks `#EXT-X-DISCONTINUITY` when the looped file restarts "
              "(ffmpeg `-stream_loop` does not); with a 60 s file that falls outside the "
              "measured window of most cells.")
            higher = [(row, row["hlsd"]["latency_median"] - row["anchor"]["latency_median"])
                      for row in lat if row.get("hlsd", {}).get("ok") and row.get("anchor", {}).get("ok")]
            up = [(r_, d) for r_, d in higher if d > 0]
            if up:
                worst = max(up, key=lambda x: x[1])
                w(f"In this run hlsd's median was the higher one in {len(up)} of {len(higher)} "
                  f"cells; the largest gap is {worst[1]:.2f} s "
                  f"({worst[0]['segment_time']}/{worst[0]['segment_wrap']}/{worst[0]['list_size']} "
                  f"{worst[0]['query'] or 'default'}, T = {worst[0]['segment_time']} s). Gaps "
                  "smaller than T are not listed under \"where hlsd is behind\", but a direction "
                  "that repeats across cells is worth more sessions per cell (`make bench-full`, "
                  "or `python3 bench/bench.py --only latency --rows T/W/L` several times) before "
                  "concluding either way.")
            w("")

    # ------------------------------------------------------------------ LL-HLS
    ll = r.get("latency-ll")
    if ll:
        w("### LL-HLS: hlsd with parts against the same standard anchor\n")
    if isinstance(ll, dict) and "error" in ll:
        w(f"Section failed: `{ll['error']}`\n")
    elif ll:
        lr = r.get("latency-ll_run")
        if lr:
            w(ll_run_text(lr))
        ll_section(ll, lat if isinstance(lat, list) else [], w, behind)

    # ------------------------------------------------------------------ serving
    serving_section(r, sr, w, behind)

    # ------------------------------------------------------------------ segmenting
    w("## 3. Segmenting cost\n")
    sg = r.get("segmenting")
    if isinstance(sg, dict) and "error" in sg:
        w(f"Section failed: `{sg['error']}`\n")
    elif sg:
        n = len(sg["runs"]["hlsd"])
        w(f"60 s 1080p30 H.264 at 4 Mb/s (GOP 30), segmented as fast as possible into 1 s "
          f"segments on disk, `/usr/bin/time -v`, {n} runs each alternating, medians. hlsd "
          "`--source file:FILE --no-realtime --exit-on-eof --segment-time 1 --list-size 2 "
          "--output-dir DIR` (it also starts its HTTP server and its worker threads, as it "
          "always does) vs `ffmpeg -i FILE -c copy -f hls -hls_time 1 -hls_list_size 2 "
          "-hls_flags delete_segments+program_date_time+independent_segments+temp_file "
          "DIR/index.m3u8`. GNU time has 10 ms resolution; these jobs take ~0.2 CPU-seconds.\n")
        h, a = sg["hlsd"], sg["ffmpeg"]
        w(table(["", "hlsd", "ffmpeg", "ratio"], [
            ["user s", f(h["user_s"]), f(a["user_s"]), ratio(h["user_s"], a["user_s"])],
            ["sys s", f(h["sys_s"]), f(a["sys_s"]), ratio(h["sys_s"], a["sys_s"])],
            ["CPU s (user+sys)", f(h["cpu_s"]), f(a["cpu_s"]), ratio(h["cpu_s"], a["cpu_s"])],
            ["wall s", f(h["wall_s"]), f(a["wall_s"]), ratio(h["wall_s"], a["wall_s"])],
            ["peak RSS MiB", f(mb(h["peak_rss_kb"]), 1), f(mb(a["peak_rss_kb"]), 1),
             ratio(h["peak_rss_kb"], a["peak_rss_kb"])],
            ["segments made", f(h["segments"], 0), f(a["segments"], 0), ""],
            ["exit codes", h["exit_codes"], a["exit_codes"], ""],
        ]))
        w("")
        if h["cpu_s"] > a["cpu_s"] * 1.15 and h["cpu_s"] - a["cpu_s"] >= 0.03:
            behind.append((h["cpu_s"] / a["cpu_s"], f"segmenting CPU: {h['cpu_s']:.2f} vs "
                           f"ffmpeg {a['cpu_s']:.2f} s", "segmenting"))
        if h["peak_rss_kb"] > a["peak_rss_kb"] * 1.1:
            behind.append((h["peak_rss_kb"] / a["peak_rss_kb"], f"segmenting peak RSS: "
                           f"{mb(h['peak_rss_kb']):.0f} vs ffmpeg {mb(a['peak_rss_kb']):.0f} MiB",
                           "rss"))
    lv = r.get("live")
    w("### Live, at real time, with 10 viewers\n")
    if isinstance(lv, dict) and "error" in lv:
        w(f"Section failed: `{lv['error']}`\n")
    elif lv:
        w(f"The same 1080p30 file looped at native rate, 1 s segments, list size 2, for "
          f"{lv['wall_s']:.0f} s, with 10 simulated viewers on each system at the same time "
          "(`bench/viewers.py`: one keep-alive connection each, start 3 segments from the "
          "live edge, reload the playlist every target duration, fetch every new segment). "
          "hlsd (`--source file:FILE --loop --segment-time 1 --list-size 2`, serving from "
          "memory, no disk mirror) vs `ffmpeg -re -stream_loop -1 … -f hls` writing to disk + "
          "nginx serving it. CPU % is of one core.\n")
        vh, va = lv["viewers"]["hlsd"], lv["viewers"]["anchor"]
        w(table(["", "hlsd", "ffmpeg", "nginx", "ffmpeg + nginx", "ratio hlsd / (ffmpeg + nginx)"], [
            ["CPU %", f(lv["hlsd"]["cpu_percent"]), f(lv["ffmpeg"]["cpu_percent"]),
             f(lv["nginx"]["cpu_percent"]), f(lv["anchor"]["cpu_percent"]),
             ratio(lv["hlsd"]["cpu_percent"], lv["anchor"]["cpu_percent"])],
            ["peak RSS MiB", f(mb(lv["hlsd"]["peak_rss_kb"]), 1),
             f(mb(lv["ffmpeg"]["peak_rss_kb"]), 1), f(mb(lv["nginx"]["peak_rss_kb"]), 1),
             f(mb(lv["anchor"]["peak_rss_kb"]), 1),
             ratio(lv["hlsd"]["peak_rss_kb"], lv["anchor"]["peak_rss_kb"])],
            ["viewers: playlists / segments / MB / errors / missed",
             f"{vh['playlists']} / {vh['segments']} / {vh['bytes'] / 1e6:.0f} / {vh['errors']} / {vh['missed']}",
             "", "",
             f"{va['playlists']} / {va['segments']} / {va['bytes'] / 1e6:.0f} / {va['errors']} / {va['missed']}",
             ""],
        ]))
        w("")
        hc, ac = lv["hlsd"]["cpu_percent"], lv["anchor"]["cpu_percent"]
        if hc > ac * 1.15:
            behind.append((hc / ac, f"live CPU with 10 viewers: hlsd {hc:.1f} % vs ffmpeg + "
                           f"nginx {ac:.1f} %", "idle"))

    # ------------------------------------------------------------------ footprint
    w("## 4. Footprint\n")
    fp = r.get("footprint")
    if isinstance(fp, dict) and "error" in fp:
        w(f"Section failed: `{fp['error']}`\n")
    elif fp:
        idle, v = fp["idle"], fp["viewers"]
        ic = fp.get("idle_connections", {})
        st = fp["startup_s"]
        w("hlsd with the 720p file looped at real time (defaults: 1 s segments, wrap 5, list "
          "2), next to ffmpeg -re + nginx on the same file; RSS = VmRSS after 8 s idle, peak = "
          f"VmHWM during {v['seconds']} s of {v['n']} simulated viewers on each. Start-up = "
          "exec → first segment (hlsd: `/healthz` 200, polled every 10 ms; ffmpeg: its "
          f"index.m3u8 exists), median of {len(fp['startup_runs']['hlsd_file'])}.\n")
        rows = [
            ["binary size", f"{fp['binary_bytes'] / 1e6:.1f} MB (RelWithDebInfo, with debug info); "
             f"stripped {fp['stripped_bytes'] / 1e6:.2f} MB", "ffmpeg + nginx: shared Debian "
             "binaries", ""],
            ["RSS idle (file source, no viewers)", f"{f(mb(idle['hlsd_rss_kb']), 1)} MiB "
             f"({idle['hlsd_threads']} threads)", f"{f(mb(idle['anchor_rss_kb']), 1)} MiB",
             ratio(idle["hlsd_rss_kb"], idle["anchor_rss_kb"])],
            ["RSS idle, test source (libx264 inside)",
             f"{f(mb(idle.get('hlsd_test_source_rss_kb')), 1)} MiB", "–", ""],
            [f"peak RSS, {v['n']} viewers", f"{f(mb(v['hlsd_peak_rss_kb']), 1)} MiB",
             f"{f(mb(v['anchor_peak_rss_kb']), 1)} MiB",
             ratio(v["hlsd_peak_rss_kb"], v["anchor_peak_rss_kb"])],
            [f"{v['n']} viewers: segments / errors / missed",
             f"{v['hlsd_clients']['segments']} / {v['hlsd_clients']['errors']} / {v['hlsd_clients']['missed']}",
             f"{v['anchor_clients']['segments']} / {v['anchor_clients']['errors']} / {v['anchor_clients']['missed']}", ""],
        ]
        if ic:
            rows.append([f"extra CPU of {ic['hlsd']['connections']} idle keep-alive connections",
                         f"{f(ic['hlsd']['extra_cpu_percent'], 1)} %",
                         f"{f(ic['nginx']['extra_cpu_percent'], 1)} % (nginx)", ""])
        rows += [
            ["start-up to first segment, test source", f"{f(st['hlsd_test'])} s", "–", ""],
            ["start-up to first segment, file source", f"{f(st['hlsd_file'])} s",
             f"{f(st['ffmpeg_file'])} s (ffmpeg -re)", ratio(st["hlsd_file"], st["ffmpeg_file"])],
        ]
        w(table(["", "hlsd", "ffmpeg + nginx", "ratio"], rows))
        w("")
        if st["hlsd_file"] > st["ffmpeg_file"] * 1.1:
            behind.append((st["hlsd_file"] / st["ffmpeg_file"], f"start-up, file source: "
                           f"{st['hlsd_file']:.2f} vs ffmpeg {st['ffmpeg_file']:.2f} s", "startup"))
        if v["hlsd_peak_rss_kb"] > v["anchor_peak_rss_kb"] * 1.1:
            behind.append((v["hlsd_peak_rss_kb"] / v["anchor_peak_rss_kb"],
                           f"peak RSS with {v['n']} viewers", "rss"))
        if ic and ic["hlsd"]["extra_cpu_percent"] > 2 * max(0.5, ic["nginx"]["extra_cpu_percent"]):
            behind.append((ic["hlsd"]["extra_cpu_percent"] / max(0.1, ic["nginx"]["extra_cpu_percent"]),
                           f"{ic['hlsd']['connections']} idle keep-alive connections cost hlsd "
                           f"{ic['hlsd']['extra_cpu_percent']:.1f} % CPU, nginx "
                           f"{ic['nginx']['extra_cpu_percent']:.1f} %", "idle_conns"))

    # ------------------------------------------------------------------ soak
    if soak or soak_ll:
        out.extend(soak_section(soak) if soak else [f"{SOAK_HEADING}\n"])
        if soak_ll:
            out.extend(soak_ll_section(soak_ll))

    # ------------------------------------------------------------------ profile
    w("## Profile (callgrind)\n")
    pr = r.get("profile")
    if not pr or "error" in pr or "skipped" in pr:
        w(f"Not available: `{(pr or {}).get('error') or (pr or {}).get('skipped')}`\n")
    else:
        if sr:
            w(f"From the full run on {r['date']}, on the earlier HTTP layer (a worker thread "
              "per connection; the `poll`/`nanosleep` counts below are that layer's keep-alive "
              "wait), not re-measured with the serving section.\n")
        w("`perf stat -e instructions` is not supported on this VM, so hlsd ran under "
          "`valgrind --tool=callgrind --instr-atstart=no` with instrumentation switched on "
          "(`callgrind_control -i on`) only for the load. Callgrind counts user-space "
          "instructions and calls; kernel time is not in it, but the calls into the libc "
          "syscall wrappers are, and they show how often hlsd enters the kernel. Under "
          "valgrind everything runs ~50× slower, so the absolute rates are not comparable "
          "with the sections above; the proportions are.\n")
        for key, title in (("viewers", "10 simulated viewers at real time (720p, 1 s segments)"),
                           ("playlist", "wrk on the playlist, 100 connections")):
            s = pr.get(key, {})
            if "exclusive" not in s:
                w(f"### {title}\n\nNot available: `{s.get('skipped') or s.get('error')}`\n")
                continue
            load = s.get("load", {})
            secs = s.get("seconds") or 1
            w(f"### {title}\n")
            calls = s.get("syscall_calls", {})
            if key == "viewers":
                reqs = (load.get("playlists", 0) + load.get("segments", 0)) or 1
                conn_s = 10 * secs
                w(f"{load.get('playlists')} playlist and {load.get('segments')} segment requests "
                  f"in {secs:.1f} s. Calls into libc wrappers: " +
                  ", ".join(f"`{k.split('@')[0]}` {v:,}" for k, v in calls.items()) +
                  f" — that is {calls.get('poll', 0) / conn_s:.0f} `poll` and "
                  f"{(calls.get('nanosleep', 0) + calls.get('clock_nanosleep', 0)) / conn_s:.0f} "
                  f"`nanosleep` per connection-second, against {reqs / secs:.1f} requests/s.\n")
            else:
                n = load.get("requests") or 1
                w(f"{n:,} requests in {secs:.1f} s under callgrind. Calls per request: " +
                  ", ".join(f"`{k.split('@')[0]}` {v / n:.2f}" for k, v in calls.items()) + ".\n")
            w(table(["% of user-space instructions", "function (exclusive)"],
                    [[f"{x['percent']:.1f}", f"`{x['function'][:110]}`"] for x in s["exclusive"][:12]]))
            w("")

    # ------------------------------------------------------------------ behind
    w("## Where hlsd is behind\n")
    if not behind:
        w("Nowhere beyond the noise in this run.\n")
    else:
        behind.sort(key=lambda x: -x[0])
        w("Computed from the tables above (hlsd worse by more than ~10 % and more than the "
          "measurement resolution; for serving, also CPU per request more than 25 % above "
          "nginx's where the requests/s are even), worst first" +
          ("; items from the earlier full run say so" if sr else "") + ":\n")
        for factor, text, kind in behind:
            fac = "never answered" if factor == float("inf") else \
                "idle cost" if kind == "idle_conns" else f"{factor:.2f}× worse"
            when = "" if not sr or kind in ("serving", "serving_cpu", "starved") else \
                f" (full run {r['date']}, earlier HTTP layer)"
            w(f"- **{fac}**: {text}{when}")
        w("")
        kinds = {k for _, _, k in behind}
        w("Best explanations, from the profile and the counters above:\n")
        if kinds & {"idle", "idle_conns"}:
            w("- **Idle keep-alive connections.** Debian's cpp-httplib 0.11.4 waits for a "
              "keep-alive connection's next request in `detail::keep_alive()`: `poll(fd, 10 ms)` "
              "then `sleep 1 ms`, in a loop (~90 wake-ups/s per connection). hlsd no longer waits "
              "there: every connection lives in one epoll loop and holds no thread "
              "(`src/http/connection_loop.cpp`); if this row still shows, look there first.")
        if "starved" in kinds:
            w("- **A new connection not answered under load.** hlsd's event loop accepts every "
              "pending connection each turn (or answers 503 at `max_clients`) and answers a "
              "request as soon as its head is complete; a fresh viewer should therefore be "
              "served within one loop turn. If this row shows, look at "
              "`src/http/connection_loop.cpp` (accept and the write path) first.")
        for kind in ("serving", "serving_cpu"):
            if kind in kinds:
                w(SERVING_EXPLANATIONS[kind])
        if "ttff" in kinds:
            w(TTFF_EXPLANATION)
        if "segmenting" in kinds:
            w("- **Segmenting**: hlsd's top user-space function at real time is its own Annex B "
              "scanner (`h264::split`), followed by memcpy; ffmpeg's `-c copy` path does not "
              "rescan NAL units. hlsd also starts its HTTP event loops, which a one-shot "
              "segmenting job does not need.")
        if "rss" in kinds:
            w("- **Memory**: hlsd keeps `segment_wrap` segments in memory (by design: it "
              "serves from memory; the earlier HTTP layer, which the full run measured, also "
              "mapped a stack for each of its 512 workers; today's has one event thread per "
              "CPU); ffmpeg + nginx keep segments in the page cache instead, which RSS does not "
              "count.")
        if "latency" in kinds:
            w("- **Latency**: see the note under the latency table; differences smaller than "
              "one segment duration in a single session are start-phase noise.")
        if "startup" in kinds:
            w("- **Start-up**: hlsd opens its HTTP server, reads the player files and "
              "starts its HTTP threads (512 workers on the earlier HTTP layer the full run "
              "measured; one event thread per CPU now) before the source starts.")
        w("")

    # ------------------------------------------------------------------ commands
    w(f"## Commands {'these runs' if sr else 'this run'} executed\n")
    w("Ports and scratch paths normalized (`127.0.0.1:PORT`, `$TMP`); each distinct command "
      "once, in order.\n")
    seen, last = set(), None
    for section, cmd in r.get("commands", []):
        c = normalize(cmd)
        if (section, c) in seen:
            continue
        seen.add((section, c))
        if section != last:
            w(f"\n**{section}**\n")
            last = section
        w(f"- `{c}`")
    w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
