#!/usr/bin/env python3
"""The "6. Players" section of bench/RESULTS.md from tests/browser/players.mjs --json files.

    bench/players_report.py [--update bench/RESULTS.md] [--note TEXT] build/players-fmp4.json \
        build/players-mpegts.json build/players-busy.json

(`make test` writes those three files.) Without --update it prints the section; with it, the
section replaces the one in the file, or goes before "## Profile (callgrind)" (bench/report.py
rewrites the whole file and leaves it out: run this again after it).

One row per player and run: container, whether both cores were busy while it started (--hog),
first frame, share of time playing, `waiting` events, seeks from 1 s after the first frame on
(a player correcting its own position), median and p90 latency (now -
PROGRAM-DATE-TIME of the frame on screen), parts and blocking reloads fetched, errors, and the
CPU time stolen from this VM and left idle while it played."""
import argparse
import json

NAMES = {
    "shaka-ll": "Shaka Player 5.2.12, `lowLatencyMode: true`",
    "shaka": "Shaka Player 5.2.12, low-latency mode off",
    "videojs-ll": "Video.js 8.24.1 (VHS), `llhls: true`",
    "videojs": "Video.js 8.24.1 (VHS), `llhls: false`",
    "hlsjs": "hls.js 1.7.4, defaults",
    "hlsjs-mainsail": "hls.js 1.7.4, Mainsail/Fluidd settings",
    "hlsd-page": "hlsd's page (hls.js 1.7.4)",
}


def row(r):
    busy = f"{r['hog']} s" if r.get("hog") else "no"
    head = f"| {NAMES.get(r['player'], r['player'])} | {r['container']}, {r['seconds']} s | {busy} | "
    if r.get("failed"):
        return head + f"{r['failed']} |" + " |" * 9
    errors = len(r.get("errors", [])) if isinstance(r.get("errors"), list) else r.get("errors", 0)
    return (head + f"{r['first_frame_s']:.2f} s | {100 * r['playing_share']:.1f} % | {r['waits']} | "
            f"{r.get('seeks', '?')} | "
            f"{r['latency_median']:.2f} s | {r['latency_p90']:.2f} s | "
            f"{r.get('parts', '?')} / {r.get('blocking', '?')} | {errors} | "
            f"{r.get('steal_pct', '?')} % / {r.get('idle_pct', '?')} % | {goal(r)} |")


def goal(r):
    m = r.get("goal_misses")
    if m is None:
        return "?"
    return "met" if not m else "missed: " + "; ".join(x.split(" [")[0] for x in m)


HEADING = "## 6. Players"


def section(paths, note):
    out = [HEADING, "", note, "",
           "| player | container, played | busy start | first frame | playing | waiting | seeks | latency median "
           "| p90 | parts / blocking reloads | errors | CPU steal / idle | the issue's goal |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for path in paths:
        with open(path) as f:
            out += [row(r) for r in json.load(f)]
    return out + [""]


def update(path, lines, heading=HEADING):
    """Replaces the section `heading` of RESULTS.md with `lines` (a new one goes before the
    profile section)."""
    with open(path) as f:
        text = f.read().split("\n")
    if heading in text:
        i = text.index(heading)
        j = next((k for k in range(i + 1, len(text)) if text[k].startswith("## ")), len(text))
    else:
        i = j = next((k for k, t in enumerate(text) if t == "## Profile (callgrind)"), len(text))
    text[i:j] = lines
    with open(path, "w") as f:
        f.write("\n".join(text))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json", nargs="+")
    ap.add_argument("--update", metavar="RESULTS_MD")
    ap.add_argument("--note", default="", help="a paragraph before the table: when, what, how")
    a = ap.parse_args()
    lines = section(a.json, a.note)
    if a.update:
        update(a.update, lines)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
