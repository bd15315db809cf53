#!/usr/bin/env python3
"""MJPEG frame-to-viewer latency: hlsd's /live/stream.mjpg against Debian's motion, one run.

    python3 bench/mjpeg.py [--out build/bench/mjpeg.json] [--clients 1,10,50,200] [--seconds 15]
    python3 bench/mjpeg.py --update bench/RESULTS.md [--json build/bench/mjpeg.json]

The first form measures and writes the JSON; the second turns that JSON into the section
"## 7. MJPEG" of RESULTS.md (replaced where it is, or put before "## Profile (callgrind)";
bench/report.py rewrites the whole file without it: run this again after it).

For every number of viewers, hlsd and the anchor run one after the other (alternating which goes
first), each started fresh, on 127.0.0.1:

- hlsd: `build/hlsd --source test --width 1280 --height 720 --listen 127.0.0.1:0`, its 720p30
  test pattern. Latency = arrival of a part's last byte - its X-Timestamp (the frame's capture
  time).
- the anchor: motion 4.5 (Debian 12's `motion`) as one sets it up to stream a network camera to
  many viewers (netcam_url, 1280x720 at framerate 30, stream_maxrate 30, stream_quality 80 like
  hlsd's mjpeg_quality, movies off), fed a 720p30 MJPEG camera: ffmpeg -re testsrc2 with the
  frame number drawn as 16 black/white blocks at the top, encoded as MJPEG (-f mpjpeg) into a
  small HTTP relay (this script, --feeder) that motion's netcam_url reads and that writes down
  when it finished sending frame n to motion. Latency = arrival of a part's last byte - that
  time, for the frame number read back from the part (TurboJPEG at 1/8 scale, first 4 viewers).

build/mjpeg_clients (bench/mjpeg_clients.cpp, built here with `cmake --build build --target
mjpeg_clients`) holds all the viewers on one epoll thread; the first 4 connections' pictures are
decoded against both servers, so the client costs the same on both sides. Per row: latency
p50/p95/max, parts/s per viewer (min, median), CPU % of the server's processes (utime+stime over
the measured window; the anchor is motion + the relay + its ffmpeg), peak RSS (VmHWM, reset at
the start of the row), and for hlsd the JPEG thread's time per picture from /metrics. Also: the
CPU each server uses with no viewer, and ffmpeg's own MJPEG encoder's CPU time per 720p frame.

Before the run and every row it waits while a heavy job runs on the machine (ctest, cmake,
make, a compiler, hlsd's test binaries, wrk). Every process it starts is stopped by its PID.
"""
import argparse
import atexit
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree for the imports below

import bench as B  # noqa: E402  (processes, /proc readers, machine description)
import players_report as P  # noqa: E402  (rewriting one section of RESULTS.md)
import soak as S  # noqa: E402  (machine CPU / steal, /metrics scrape)

CLIENT = os.path.join(B.BUILD, "mjpeg_clients")
DEFAULT_JSON = os.path.join(B.BUILD, "bench", "mjpeg.json")
HEADING = "## 7. MJPEG"
DECODE = 4  # connections whose pictures the client decodes
WARMUP = 2.0  # s of each row before the measured window
IDLE_SECONDS = 5.0
# Heavy jobs to wait for (pgrep -x names; "hlsd_integratio" is how the kernel shortens
# hlsd_integration_tests).
BUSY_NAMES = ("ctest", "cmake", "make", "gmake", "ninja", "cc1plus", "ld", "wrk",
              "hlsd_unit_tests", "hlsd_integratio")
HLSD_METRICS = ("hlsd_mjpeg_frames_encoded_total", "hlsd_mjpeg_work_seconds_total",
                "hlsd_mjpeg_frames_dropped_total", "hlsd_mjpeg_viewers")

# The camera motion reads: testsrc2 with the frame number in two rows of 16 blocks (80 x 80 px;
# bit i white in the top row and black in the row below), encoded as MJPEG.
CODE_FILTER = ("[1:v]format=gray,geq=lum='if(lt(Y\\,1)\\,255*mod(floor(N/pow(2\\,X))\\,2)\\,"
               "255-255*mod(floor(N/pow(2\\,X))\\,2))',scale=1280:160:flags=neighbor[code];"
               "[0:v][code]overlay=0:0:shortest=1")
FEED_CMD = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
            "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
            "-f", "lavfi", "-i", "color=black:size=16x2:rate=30",
            "-filter_complex", CODE_FILTER, "-c:v", "mjpeg", "-q:v", "3", "-f", "mpjpeg", "pipe:1"]

MOTION_CONF = """# Debian's /etc/motion/motion.conf, with what streaming a network camera to many
# viewers needs: the camera (netcam_url, its size and rate), the stream at the camera's rate
# and hlsd's JPEG quality, and no movies or pictures written (the detection itself stays on,
# as installed)."""
MOTION_CONF += """
daemon off
setup_mode off
log_file {tmp}/motion.log
log_level 6
target_dir {tmp}/out
netcam_url http://127.0.0.1:{feed_port}/
width 1280
height 720
framerate 30
text_left CAMERA1
text_right %Y-%m-%d\\n%T-%q
emulate_motion off
threshold 1500
despeckle_filter EedDl
minimum_motion_frames 1
event_gap 60
pre_capture 3
post_capture 0
picture_output off
movie_output off
webcontrol_port 0
stream_port {stream_port}
stream_localhost on
stream_maxrate 30
stream_quality 80
"""


# ---------------------------------------------------------------- the relay (--feeder)


def feeder(port, times_path):
    """Runs FEED_CMD and relays its MJPEG parts to whoever connects to 127.0.0.1:port (motion),
    writing `<frame number> <unix time>` once frame n has been handed to every reader's
    socket. Stops its ffmpeg on SIGTERM."""
    ff = subprocess.Popen(FEED_CMD, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)

    def stop(signum, _frame):
        ff.terminate()
        try:
            ff.wait(5)
        except subprocess.TimeoutExpired:
            ff.kill()
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(8)
    readers, lock = [], threading.Lock()

    def accept():
        while True:
            conn, _ = server.accept()
            conn.settimeout(2)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 16384:
                    got = conn.recv(4096)
                    if not got:
                        break
                    head += got
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;"
                             b"boundary=ffmpeg\r\nCache-Control: no-cache\r\n\r\n")
            except OSError:
                conn.close()
                continue
            with lock:
                readers.append(conn)
    threading.Thread(target=accept, daemon=True).start()

    src = ff.stdout
    frame = 0
    with open(times_path, "w", buffering=1) as times:
        while True:
            head = b""
            while True:
                line = src.readline()
                if not line:
                    stop(signal.SIGTERM, None)
                head += line
                if line == b"\r\n" and len(head) > 2:
                    break
            m = re.search(rb"(?i)content-length:\s*(\d+)", head)
            data = src.read(int(m.group(1)))
            src.readline()  # the CRLF after the data
            part = head + data + b"\r\n"
            with lock:
                now_reading = list(readers)
            for conn in now_reading:
                try:
                    conn.sendall(part)
                except OSError:  # gone, or not reading for 2 s
                    with lock:
                        readers.remove(conn)
                    conn.close()
            if now_reading:
                times.write(f"{frame} {time.time():.6f}\n")
            frame += 1


# ---------------------------------------------------------------- machine


def busy_jobs():
    """Heavy jobs running now: [(pid, name)], from pgrep -x."""
    found = []
    for name in BUSY_NAMES:
        r = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True)
        found += [(int(p), name) for p in r.stdout.split()]
    return found


def wait_quiet(what, max_wait):
    """Waits until busy_jobs() is empty (checked every 10 s); returns the seconds waited
    (None: not checked, --no-wait)."""
    if max_wait < 0:
        return None
    t0 = time.monotonic()
    seen = busy_jobs()
    if seen:
        B.log(f"{what}: waiting for {', '.join(sorted({n for _, n in seen}))} to finish")
    while seen:
        if time.monotonic() - t0 > max_wait:
            raise RuntimeError(f"still busy after {max_wait:.0f} s: {seen}")
        time.sleep(10)
        seen = busy_jobs()
    waited = time.monotonic() - t0
    if waited > 1:
        time.sleep(5)  # let the load it left settle a little
    return round(waited, 1)


def ticks_of(pids):
    """{pid: utime+stime ticks} of those still there."""
    out = {}
    for pid in pids:
        try:
            out[pid] = B.cpu_ticks([pid])
        except (OSError, IndexError):
            pass
    return out


def thread_sched(pid):
    """{tid: (ns on a CPU, ns runnable but waiting for one)} of a process' threads, from
    schedstat (finer than the stat ticks)."""
    out = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    run_ns, wait_ns = f.read().split()[:2]
                    out[int(tid)] = (int(run_ns), int(wait_ns))
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        pass
    return out


def jpeg_thread(idle, loaded, work_s, idle_s):
    """Which of hlsd's threads made the JPEGs, from per-thread CPU deltas (ns): of the threads
    that did nothing while no one watched (the JPEG thread sleeps then), the one whose CPU time
    is nearest the JPEG thread's wall work time; None when none fits (CPU between 0.3 x the work
    time and the work time + 10 ms)."""
    quiet = [t for t in loaded if idle.get(t, 0) < 0.005 * idle_s * 1e9]
    if not quiet or work_s <= 0:
        return None
    tid = min(quiet, key=lambda t: abs(loaded[t] / 1e9 - work_s))
    cpu = loaded[tid] / 1e9
    return (tid, cpu) if 0.3 * work_s <= cpu <= work_s + 0.01 else None


def delta(before, after):
    return {k: after[k] - before.get(k, 0) for k in after}


def hwm_kb(pids):
    total = 0
    for pid in pids:
        try:
            total += B.status_kb(pid, "VmHWM")
        except OSError:
            pass
    return total


# ---------------------------------------------------------------- the two servers


class Hlsd:
    name = "hlsd"

    def __init__(self):
        self.proc = B.Proc("hlsd", [B.HLSD, "--source", "test", "--width", "1280", "--height",
                                    "720", "--listen", "127.0.0.1:0"])
        m = B.wait_for(lambda: re.search(r"serving on http://[^\s:]+:(\d+)/",
                                         self.proc.log_text()) or
                       (not self.proc.alive() and "exited"), 20, "hlsd to listen")
        if m == "exited":
            raise RuntimeError(f"hlsd exited: {self.proc.log_text()[-2000:]}")
        self.base = f"http://127.0.0.1:{m.group(1)}/"
        self.url = self.base + "live/stream.mjpg"
        self.client_args = []
        time.sleep(3)  # the test pattern and its H.264 encoder up to speed

    def pids(self):
        return {"hlsd": [self.proc.pid]}

    def metrics(self):
        return S.scrape_metrics(self.base, HLSD_METRICS)

    def stop(self):
        self.proc.stop()


class Motion:
    name = "motion"

    def __init__(self):
        tmp = B.scratch_dir("motion-")
        os.makedirs(os.path.join(tmp, "out"))
        self.times = os.path.join(tmp, "frame-times.txt")
        feed_port, stream_port = B.free_port(), B.free_port()
        B.record(FEED_CMD)  # run by the relay below
        self.feeder = B.Proc("feeder", [sys.executable, os.path.abspath(__file__), "--feeder",
                                        str(feed_port), "--frame-times", self.times])
        B.wait_for(lambda: self._listening(feed_port), 10, "the MJPEG relay")
        conf = os.path.join(tmp, "motion.conf")
        with open(conf, "w") as f:
            f.write(MOTION_CONF.format(tmp=tmp, feed_port=feed_port, stream_port=stream_port))
        self.conf_text = MOTION_CONF
        self.log_path = os.path.join(tmp, "motion.log")
        self.motion = B.Proc("motion", ["motion", "-n", "-c", conf])
        # motion reads the camera: a second of frames handed to it
        B.wait_for(lambda: self._frames_sent() >= 30 or (not self.motion.alive() and "exited"),
                   30, "motion to read the camera")
        if not self.motion.alive():
            raise RuntimeError(f"motion exited: {self._log()[-2000:]}")
        self.url = f"http://127.0.0.1:{stream_port}/"
        self.client_args = ["--frame-times", self.times]
        time.sleep(2)

    @staticmethod
    def _listening(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    def _frames_sent(self):
        try:
            with open(self.times) as f:
                return sum(1 for _ in f)
        except OSError:
            return 0

    def _log(self):
        try:
            return open(self.log_path, errors="replace").read()
        except OSError:
            return self.motion.log_text()

    def pids(self):
        return {"motion": [self.motion.pid],
                "feeder": [self.feeder.pid, *B.children(self.feeder.pid)]}

    def metrics(self):
        return {}

    def stop(self):
        self.motion.stop()
        self.feeder.stop()


# ---------------------------------------------------------------- measuring


def measure(system, clients, seconds):
    """One row: `clients` viewers of `system` (0 = none, CPU and RSS only)."""
    groups = system.pids()
    pids = [p for g in groups.values() for p in g]
    B.reset_peak(pids)
    row = {"server": system.name, "clients": clients, "loadavg_start": B.loadavg()}
    client = None
    t0 = time.monotonic()
    if clients:
        client = B.Proc("clients", [CLIENT, "--clients", clients, "--seconds", seconds,
                                    "--warmup", WARMUP, "--url", system.url,
                                    "--decode", DECODE, *system.client_args])
        time.sleep(max(0.0, t0 + WARMUP - time.monotonic()))
    ta = time.monotonic()
    c0, m0, sys0 = ticks_of(pids), system.metrics(), S.system_cpu()
    cc0 = ticks_of([client.pid]) if client else {}
    th0 = thread_sched(pids[0])
    time.sleep(max(0.0, ta + seconds - time.monotonic()))
    tb = time.monotonic()
    c1, m1, sys1 = ticks_of(pids), system.metrics(), S.system_cpu()
    cc1 = ticks_of([client.pid]) if client else {}
    th1 = thread_sched(pids[0])
    threads = delta({t: v[0] for t, v in th0.items()}, {t: v[0] for t, v in th1.items()})
    waits = delta({t: v[1] for t, v in th0.items()}, {t: v[1] for t, v in th1.items()})
    peak = {g: hwm_kb(p) for g, p in groups.items()}
    dt = tb - ta

    def pct(before, after, which):
        return round(100.0 * sum(after.get(p, 0) - before.get(p, 0) for p in which) / B.HZ / dt,
                     1)
    row["cpu_percent"] = pct(c0, c1, pids)
    row["cpu_percent_by"] = {g: pct(c0, c1, p) for g, p in groups.items()}
    row["peak_rss_kb"] = sum(peak.values())
    row["peak_rss_kb_by"] = peak
    row["machine_busy_percent"] = round(100.0 * (sys1[0] - sys0[0]) / max(1, sys1[1] - sys0[1]),
                                        1)
    row["steal_percent"] = S.steal_percent(sys0, sys1)
    row["window_s"] = round(dt, 2)
    if m0 and m1 and None not in m0.values() and None not in m1.values():
        pictures = m1["hlsd_mjpeg_frames_encoded_total"] - m0["hlsd_mjpeg_frames_encoded_total"]
        work = m1["hlsd_mjpeg_work_seconds_total"] - m0["hlsd_mjpeg_work_seconds_total"]
        row["hlsd_pictures"] = int(pictures)
        row["hlsd_pictures_per_s"] = round(pictures / dt, 2)
        row["hlsd_jpeg_ms_per_picture"] = round(1000 * work / pictures, 2) if pictures else None
        row["hlsd_jpeg_thread_percent"] = round(100 * work / dt, 1)
        row["hlsd_dropped"] = int(m1["hlsd_mjpeg_frames_dropped_total"] -
                                  m0["hlsd_mjpeg_frames_dropped_total"])
        if clients and getattr(system, "idle_threads", None) is not None and pictures:
            found = jpeg_thread(system.idle_threads, threads, work, system.idle_seconds)
            if found:
                row["hlsd_jpeg_thread"] = {"tid": found[0], "cpu_s": round(found[1], 3),
                                           "runqueue_wait_s": round(waits[found[0]] / 1e9, 3),
                                           "work_s": round(work, 3)}
                row["hlsd_jpeg_runqueue_ms_per_picture"] = round(
                    waits[found[0]] / 1e6 / pictures, 2)
                row["hlsd_jpeg_cpu_ms_per_picture"] = round(1000 * found[1] / pictures, 2)
    if not clients:
        system.idle_threads, system.idle_seconds = threads, dt
    row["threads_cpu_ms"] = {str(t): round(ns / 1e6, 1) for t, ns in sorted(
        threads.items(), key=lambda x: -x[1])[:8]}
    if client:
        row["client_cpu_percent"] = pct(cc0, cc1, [client.pid])
        try:
            client.p.wait(30)
        except subprocess.TimeoutExpired:
            pass
        client.stop()
        lines = [l for l in client.log_text().splitlines() if l.startswith("{")]
        if not lines:
            raise RuntimeError(f"mjpeg_clients printed no result: {client.log_text()[-2000:]}")
        row["client"] = json.loads(lines[-1])
    row["loadavg_end"] = B.loadavg()
    return row


def ffmpeg_cpu(reps=2):
    """CPU seconds per 720p frame of ffmpeg's MJPEG encoder: testsrc2 -> full-range yuvj420p ->
    mjpeg -q:v 5 (and -q:v 3, about hlsd's JPEG size at quality 80), and the same frames made
    but not encoded; the difference is the range conversion and the encoding, what hlsd's JPEG
    thread does to each raw test-pattern picture (also testsrc2). The least of `reps` runs."""
    base = ["ffmpeg", "-hide_banner", "-nostdin", "-f", "lavfi",
            "-i", "testsrc2=size=1280x720:rate=30", "-t", "20"]
    cmds = {"mjpeg": base + ["-c:v", "mjpeg", "-q:v", "5", "-f", "null", "-"],
            "mjpeg_q3": base + ["-c:v", "mjpeg", "-q:v", "3", "-f", "null", "-"],
            "frames_only": base + ["-f", "null", "-"]}
    out = {}
    for name, cmd in cmds.items():
        runs = []
        for _ in range(reps):
            B.record(cmd)
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
            B.RUNNING.append(_Popened(p))
            err = p.stderr.read().decode(errors="replace")
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            B.RUNNING[:] = [r for r in B.RUNNING if getattr(r, "p", None) is not p]
            frames = re.findall(r"frame=\s*(\d+)", err)
            size = re.search(r"video:(\d+)kB", err)
            runs.append({"cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                         "frames": int(frames[-1]) if frames else None,
                         "video_kb": int(size.group(1)) if size else None})
        best = min(runs, key=lambda r: r["cpu_s"])
        best["ms_per_frame"] = round(1000 * best["cpu_s"] / best["frames"], 3) \
            if best["frames"] else None
        out[name] = {"command": " ".join(cmd), "runs": runs, **best}
    for name in ("mjpeg", "mjpeg_q3"):
        if out[name]["ms_per_frame"] and out["frames_only"]["ms_per_frame"]:
            out[name]["encode_ms_per_frame"] = round(out[name]["ms_per_frame"] -
                                                     out["frames_only"]["ms_per_frame"], 3)
            out[name]["kb_per_frame"] = round(out[name]["video_kb"] / out[name]["frames"], 1)
    out["encode_ms_per_frame"] = out["mjpeg"].get("encode_ms_per_frame")
    return out


class _Popened:
    """A plain Popen in B.RUNNING, so that B.cleanup() stops it by its PID on an error."""

    def __init__(self, p):
        self.p, self.pid, self.name = p, p.pid, "ffmpeg"

    def stop(self, timeout=5):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout)


def build_client():
    B.log("building build/mjpeg_clients")
    r = subprocess.run(["cmake", "--build", B.BUILD, "--target", "mjpeg_clients"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"cmake --build build --target mjpeg_clients failed:\n{r.stdout}"
                           f"{r.stderr}")


def run(a):
    clients = [int(x) for x in a.clients.split(",")]
    if not shutil.which("motion"):
        raise SystemExit("motion is not installed: apt-get install motion (Debian 12: 4.5.1)")
    wait_quiet("build", a.max_wait)
    build_client()
    started = time.time()
    res = {"date": datetime.datetime.now(datetime.timezone.utc).strftime(
               "%Y-%m-%d %H:%M:%S UTC"),
           "machine": {**B.host(),
                       "commit": B.first_line(["git", "-C", B.ROOT, "describe", "--always",
                                               "--dirty"]),
                       "ffmpeg": B.first_line(["ffmpeg", "-version"]),
                       "motion": B.first_line(["sh", "-c", "motion -h 2>&1 | head -1"]),
                       "turbojpeg": B.first_line(["sh", "-c", "dpkg-query -W libturbojpeg0"]),
                       "hlsd_built": "built " + datetime.datetime.fromtimestamp(
                           os.path.getmtime(B.HLSD), datetime.timezone.utc).strftime(
                           "%Y-%m-%d %H:%M:%S UTC")},
           "config": {"clients": clients, "seconds": a.seconds, "warmup_s": WARMUP,
                      "decode": DECODE, "idle_seconds": IDLE_SECONDS,
                      "motion_conf": MOTION_CONF, "feed": " ".join(FEED_CMD)},
           "waited_s": {}, "rows": [], "idle": []}
    res["waited_s"]["start"] = wait_quiet("start", a.max_wait)
    res["loadavg_start"] = B.loadavg()
    B.log("ffmpeg's MJPEG encoder, CPU per frame")
    res["ffmpeg_mjpeg"] = ffmpeg_cpu()
    systems = [Hlsd, Motion]
    for i, n in enumerate(clients):
        order = systems if i % 2 == 0 else systems[::-1]
        for cls in order:
            key = f"{cls.name} {n}"
            res["waited_s"][key] = wait_quiet(key, a.max_wait)
            B.log(f"{cls.name}: {n} viewer(s), {a.seconds:.0f} s")
            system = cls()
            try:
                # the server alone, no viewer (hlsd makes no JPEG then)
                idle = measure(system, 0, IDLE_SECONDS)
                idle["before_row"] = n
                res["idle"].append(idle)
                B.log(f"  no viewer: CPU {idle['cpu_percent']} % {idle['cpu_percent_by']}")
                row = measure(system, n, a.seconds)
            except Exception as e:
                import traceback
                traceback.print_exc()
                row = {"server": cls.name, "clients": n, "error": f"{type(e).__name__}: {e}"}
            finally:
                system.stop()
            res["rows"].append(row)
            if "client" in row:
                c = row["client"]
                B.log(f"  latency p50 {c['latency_ms']['p50']} p95 {c['latency_ms']['p95']} max "
                      f"{c['latency_ms']['max']} ms, parts/s {c['parts_per_second_per_client']}, "
                      f"CPU {row['cpu_percent']} % {row['cpu_percent_by']}, "
                      f"RSS {row['peak_rss_kb'] / 1024:.1f} MiB, "
                      f"JPEG {row.get('hlsd_jpeg_ms_per_picture', '-')} ms/picture")
            with open(a.out, "w") as f:
                json.dump(dict(res, commands=B.COMMANDS), f, indent=1)
    res["loadavg_end"] = B.loadavg()
    res["total_s"] = round(time.time() - started, 1)
    res["commands"] = B.COMMANDS
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    B.log(f"done in {res['total_s']:.0f} s: {a.out}")


# ---------------------------------------------------------------- RESULTS.md


def fmt(x, d=1):
    return "–" if x is None else f"{x:,.{d}f}"


def commands_of(res):
    """The commands, once each, with ports and scratch paths made generic."""
    out = []
    for _, line in res.get("commands", []):
        line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line)
        line = re.sub(r"(--feeder) \d+", r"\1 PORT", line)
        line = re.sub(r"/tmp/hlsd-bench-\w+/(\w+-)\w+", r"$TMP/\1XXXX", line)
        line = re.sub(r"--clients \d+", "--clients N", line)
        line = line.replace(B.ROOT + "/", "").replace(sys.executable, "python3")
        if line not in out:
            out.append(line)
    return out


def kb_per_part(row):
    c = row["client"]
    parts = c["parts_per_client"]["median"] * row["clients"]
    return c["bytes"] / 1024 / parts if parts else None


def section(res):
    rows = {(r["server"], r["clients"]): r for r in res["rows"]}
    clients = res["config"]["clients"]
    m = res["machine"]
    ff = res.get("ffmpeg_mjpeg", {})
    waited = [w for w in res["waited_s"].values() if w is not None]
    out = [HEADING, "",
           f"Measured by `bench/mjpeg.py` on {res['date']} (commit `{m.get('commit')}`, "
           f"{res.get('total_s', 0) / 60:.1f} min, load average {' '.join(res['loadavg_start'])} "
           f"at the start, {' '.join(res.get('loadavg_end', ['?']))} at the end; "
           + (f"before the run and every row it checked that no ctest, build or wrk was running "
              f"and waited {sum(waited):.0f} s in all for them to finish). " if waited else
              "run with --no-wait: other jobs were not checked for). ")
           + f"{m['hlsd']} (build/hlsd: {m.get('hlsd_built', '?')}); "
           f"{m.get('motion', '?').split(',')[0]}; "
           f"{m.get('ffmpeg', '?').split(' Copyright')[0]}; TurboJPEG "
           f"{m.get('turbojpeg', '?').split()[-1]}. Written into this file by "
           "`python3 bench/mjpeg.py --update bench/RESULTS.md` from the run's JSON.", "",
           "**What is measured.** A viewer's latency is the wall clock when the last byte of a "
           "part (one JPEG of the multipart/x-mixed-replace stream) reached it minus the time "
           "its frame was made available to the server. *hlsd*: `build/hlsd --source test "
           "--width 1280 --height 720 --listen 127.0.0.1:0` (720p30 testsrc2 test pattern, "
           "`mjpeg_quality` 80, `/live/stream.mjpg`); the frame's time is the part's "
           "`X-Timestamp`, when the test pattern made the raw picture that hlsd then converts to "
           "full range and JPEG-encodes. *Anchor*: Debian 12's motion 4.5.1, the packaged "
           "program people run to stream a camera as MJPEG to several viewers, set up as a user "
           "would for that (configuration below: the camera's URL, size and rate, "
           "`stream_maxrate 30`, `stream_quality 80` like hlsd's, no movies written; motion "
           "detection stays on, as installed). Its camera is a 720p30 MJPEG network camera made "
           "by ffmpeg (`-re` testsrc2 with the frame number drawn as 16 black/white blocks at "
           "the top, `-f mpjpeg`) through a relay in bench/mjpeg.py that motion's `netcam_url` "
           "reads and that logs when it finished handing frame n to motion's socket; the client "
           "reads the number back from 4 viewers' JPEGs (TurboJPEG at 1/8 scale) and subtracts "
           "that time. Both latencies thus run from *the raw frame is at the server* to *the "
           "JPEG is at the viewer*, on the same testsrc2 picture size and rate: hlsd converts "
           "and encodes the frame; motion decodes the camera's JPEG (the price of a network "
           "camera), runs its detection and text overlay, waits for its next capture tick "
           "(`framerate` 30) and re-encodes. One C++ client (`build/mjpeg_clients`, one epoll "
           "thread, on the same 2 cores) holds all viewers of a row and decodes the first 4 "
           "viewers' pictures against both servers (the same client load); hlsd's latency "
           "covers every part of every viewer (those 4 alone: *sampled*), motion's the 4 "
           "viewers' parts. Each row: both servers started fresh, one after the other (order "
           f"alternating per row); {res['config']['idle_seconds']:.0f} s without viewers, then "
           f"the viewers for {res['config']['warmup_s']:.0f} s of warm-up (not counted) and "
           f"{res['config']['seconds']:.0f} s measured.", "",
           "CPU % = utime+stime of the server's processes over the measured window (100 % = one "
           "core; the anchor = motion + the relay + its ffmpeg camera, motion alone in "
           "parentheses); peak RSS = VmHWM summed over them (reset at the row's start; motion "
           "alone in parentheses); kB/part = bytes received / parts. JPEG ms/picture: "
           "Δ`hlsd_mjpeg_work_seconds_total` / Δ`hlsd_mjpeg_frames_encoded_total`, the time "
           "hlsd's JPEG thread spent per picture (its CPU time since commit 6d1db83; "
           "wall time before, which counted time the thread was preempted), "
           "and in parentheses that thread's CPU time per picture (schedstat of the one thread "
           "that was idle without viewers and whose CPU time matches the work time). Busy = the "
           "whole machine's non-idle share during the window; load = 1-minute load average at "
           "the row's start → end.", "",
           "| viewers | server | latency p50 ms | p95 ms | max ms | parts/s per viewer min / "
           "median | CPU % | peak RSS MiB | kB/part | JPEG ms/picture | sampled p50 / p95 ms | "
           "other | busy % | load |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in clients:
        for server in ("hlsd", "motion"):
            r = rows.get((server, n))
            label = "hlsd" if server == "hlsd" else "motion (anchor)"
            if r is None:
                continue
            if "error" in r:
                out.append(f"| {n} | {label} | {r['error']} |" + " |" * 11)
                continue
            c = r["client"]
            lat, pps = c["latency_ms"], c["parts_per_second_per_client"]
            sampled = c["latency_ms_decoded"]
            cpu = fmt(r["cpu_percent"], 0)
            rss = fmt(r["peak_rss_kb"] / 1024)
            other, jpeg = [], "–"
            if server == "motion":
                cpu += f" ({fmt(r['cpu_percent_by'].get('motion'), 0)})"
                rss += f" ({fmt(r['peak_rss_kb_by'].get('motion', 0) / 1024)})"
                dec = c["decoded"]
                if dec["ok"]:
                    other.append(f"{100 * dec['repeats'] / dec['ok']:.0f} % of parts repeat "
                                 "the frame before")
                if dec["failed"] or dec["unmatched"]:
                    other.append(f"{dec['failed'] + dec['unmatched']} parts unread")
            else:
                jpeg = fmt(r.get("hlsd_jpeg_ms_per_picture"), 2)
                if r.get("hlsd_jpeg_cpu_ms_per_picture") is not None:
                    jpeg += f" ({fmt(r['hlsd_jpeg_cpu_ms_per_picture'], 2)})"
                if r.get("hlsd_dropped"):
                    other.append(f"{r['hlsd_dropped']:,} pictures skipped by viewers")
            if c["closed_early"]:
                other.append(f"{c['closed_early']} closed: {c['errors']}")
            if c["connected"] < n:
                other.append(f"{c['connected']} connected")
            out.append(
                f"| {n} | {label} | {fmt(lat['p50'])} | {fmt(lat['p95'])} | {fmt(lat['max'])} | "
                f"{fmt(pps['min'])} / {fmt(pps['median'])} | {cpu} | {rss} | "
                f"{fmt(kb_per_part(r))} | {jpeg} | {fmt(sampled['p50'])} / "
                f"{fmt(sampled['p95'])} | {'; '.join(other) or '–'} | "
                f"{fmt(r['machine_busy_percent'], 0)} | {r['loadavg_start'][0]} → "
                f"{r['loadavg_end'][0]} |")
    out.append("")

    idle = [r for r in res.get("idle", []) if "cpu_percent" in r]

    def idle_range(server, group=None):
        v = [r["cpu_percent_by"][group] if group else r["cpu_percent"] for r in idle
             if r["server"] == server]
        if not v:
            return "?"
        lo, hi = fmt(min(v), 0), fmt(max(v), 0)
        return lo if lo == hi else f"{lo}–{hi}"
    if idle:
        out += [f"Without viewers ({res['config']['idle_seconds']:.0f} s before each row), CPU: "
                f"hlsd {idle_range('hlsd')} % (the test pattern and its H.264 encoder for HLS; "
                "no JPEG is made), the anchor "
                f"{idle_range('motion')} % (motion {idle_range('motion', 'motion')} %: "
                "decoding the camera's JPEGs and detecting motion; the camera "
                f"{idle_range('motion', 'feeder')} %). What a row "
                "adds to these is what serving MJPEG to its viewers costs.", ""]

    hl = [rows[("hlsd", n)] for n in clients if ("hlsd", n) in rows and
          rows[("hlsd", n)].get("hlsd_jpeg_ms_per_picture")]
    if ff.get("encode_ms_per_frame") is not None and hl:
        wall = [r["hlsd_jpeg_ms_per_picture"] for r in hl]
        cpu = [r["hlsd_jpeg_cpu_ms_per_picture"] for r in hl
               if r.get("hlsd_jpeg_cpu_ms_per_picture") is not None]
        kb = [kb_per_part(r) for r in hl]
        out += ["JPEG path against ffmpeg's MJPEG encoder on the same frames (720p testsrc2 in "
                "yuv420p, converted to full-range yuvj420p and encoded, as hlsd does with its "
                "test pattern's raw pictures: nothing to decode on either side). ffmpeg: CPU "
                "time of the whole process (wait4), the least of 2 runs of 600 frames; the "
                "conversion + encoding is the difference to the same frames made and not "
                "encoded:", "",
                "| what | ms per 720p frame | kB per frame |", "|---|---|---|"]
        for name, label in (("mjpeg", "`-q:v 5`"), ("mjpeg_q3", "`-q:v 3` (about hlsd's size)")):
            x = ff.get(name)
            if x and x.get("encode_ms_per_frame") is not None:
                out.append(f"| ffmpeg {label}: conversion + encoding (whole command "
                           f"{fmt(x['ms_per_frame'], 2)} ms: `{x['command']}`) | "
                           f"{fmt(x['encode_ms_per_frame'], 2)} | {fmt(x['kb_per_frame'])} |")
        out.append(f"| the same frames made, not encoded: `{ff['frames_only']['command']}` | "
                   f"{fmt(ff['frames_only']['ms_per_frame'], 2)} | – |")
        out.append(f"| hlsd, JPEG thread time per picture from the metric (rows above) | "
                   f"{fmt(min(wall), 2)}–{fmt(max(wall), 2)} | "
                   f"{fmt(min(kb))}–{fmt(max(kb))} (parts) |")
        if cpu:
            rq = [r["hlsd_jpeg_runqueue_ms_per_picture"] for r in hl
                  if r.get("hlsd_jpeg_runqueue_ms_per_picture") is not None]
            out.append(f"| hlsd, JPEG thread CPU time per picture (schedstat; rows above where "
                       f"the thread was identified: {len(cpu)} of {len(hl)}) | "
                       f"{fmt(min(cpu), 2)}–{fmt(max(cpu), 2)} | |")
            if rq:
                out.append(f"| hlsd, JPEG thread runnable but waiting for a core, per picture "
                           f"(schedstat: hlsd's own H.264 threads and the client share the 2 "
                           f"cores) | {fmt(min(rq), 2)}–{fmt(max(rq), 2)} | |")
        out.append("")

    goal = []
    g = rows.get(("hlsd", 50))
    if g and "client" in g:
        lat = g["client"]["latency_ms"]
        ok = lat["p50"] is not None and lat["p50"] <= 50 and lat["p95"] <= 100
        goal.append(f"p50 ≤ 50 ms and p95 ≤ 100 ms at 50 viewers on 720p30: "
                    f"{'**met**' if ok else '**missed**'} (p50 {fmt(lat['p50'])} ms, "
                    f"p95 {fmt(lat['p95'])} ms)")
    if ff.get("encode_ms_per_frame") is not None and hl:
        enc = ff["encode_ms_per_frame"]
        best, worst = min(wall), max(wall)
        if cpu:
            verdict = ("**met**" if max(cpu) <= enc else
                       "**met** in some rows, not all" if min(cpu) <= enc else "**missed**")
            verdict += (f" by the JPEG thread's CPU time ({fmt(min(cpu), 2)}–"
                        f"{fmt(max(cpu), 2)} ms per picture, in {len(cpu)} of {len(hl)} rows)")
            verdict += (f"; the metric's time ({fmt(best, 2)}–{fmt(worst, 2)} ms) "
                        + ("is below it too" if worst <= enc else
                           "is above it, by the time the thread waited for a core"))
        else:
            verdict = ("**met**" if worst <= enc else "**met** in some rows" if best <= enc
                       else "**missed**") + (f" by the metric's time ({fmt(best, 2)}–"
                                             f"{fmt(worst, 2)} ms per picture)")
        goal.append(f"the JPEG path's CPU ≤ ffmpeg `-c:v mjpeg` on the same frames (`-q:v 5`: "
                    f"{fmt(enc, 2)} ms of CPU per frame for conversion + encoding, at "
                    f"{fmt(ff['mjpeg'].get('kb_per_frame'))} kB against hlsd's "
                    f"{fmt(min(kb))}–{fmt(max(kb))} kB): {verdict}")
    if goal:
        out += ["**Goals.** " + "; ".join(goal) + ".", ""]
    out += ["motion's configuration (ports and `$TMP` filled in per run):", "", "```",
            res["config"]["motion_conf"].rstrip().replace("{tmp}", "$TMP/motion-XXXX")
            .replace("{feed_port}", "FEED_PORT").replace("{stream_port}", "PORT"), "```", "",
            "Commands:", ""]
    out += [f"- `{c}`" for c in commands_of(res)]
    return out + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_JSON, help="where the measurement's JSON goes")
    ap.add_argument("--clients", default="1,10,50,200", help="viewers per row")
    ap.add_argument("--seconds", type=float, default=15, help="measured seconds per row")
    ap.add_argument("--max-wait", type=float, default=3600,
                    help="s to wait for other heavy jobs before giving up")
    ap.add_argument("--no-wait", dest="max_wait", action="store_const", const=-1,
                    help="do not wait for other jobs (a trial run: its figures are not fit "
                         "for RESULTS.md)")
    ap.add_argument("--update", metavar="RESULTS_MD",
                    help="write the section from --json into RESULTS_MD (measures nothing)")
    ap.add_argument("--json", default=DEFAULT_JSON, help="with --update: the run's JSON")
    ap.add_argument("--feeder", type=int, metavar="PORT", help=argparse.SUPPRESS)
    ap.add_argument("--frame-times", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.feeder:
        shutil_rmtree_scratch()
        feeder(a.feeder, a.frame_times)
        return
    if a.update:
        shutil_rmtree_scratch()
        with open(a.json) as f:
            P.update(a.update, section(json.load(f)), HEADING)
        B.log(f"{a.update}: {HEADING} from {a.json}")
        return
    atexit.register(B.cleanup)
    signal.signal(signal.SIGTERM, B.on_signal)
    signal.signal(signal.SIGINT, B.on_signal)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    run(a)


def shutil_rmtree_scratch():
    """bench.py makes a scratch directory when imported; modes that start nothing remove it."""
    shutil.rmtree(B.SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    main()
