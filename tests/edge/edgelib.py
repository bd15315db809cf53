"""Caching edges in front of a real hlsd, for tests/edge/ and bench/edge.py.

The edges run from the configurations hlsd ships (packaging/examples/), rewritten only where
those say EDIT (origin address, listen address, certificate) plus the paths a non-root
instance needs; a shipped file that no longer has the expected lines fails loudly. Every
process is started here and stopped by PID. Loopback only.
"""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "packaging", "examples")


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(check, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


_started = []  # every Proc, stopped at exit whatever failed on the way (a failed set-up too)


@atexit.register
def _stop_all():
    for p in reversed(_started):
        p.stop()


class Proc:
    """A started process, its output in a file, stopped by PID (and its children)."""

    def __init__(self, name, cmd, workdir, env=None, stdin=subprocess.DEVNULL):
        self.name = name
        self.log = os.path.join(workdir, f"{name}.log")
        self.out = open(self.log, "wb")
        self.p = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT, env=env,
                                  stdin=stdin, start_new_session=True)
        self.pid = self.p.pid
        _started.append(self)

    def alive(self):
        return self.p.poll() is None

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.out.closed:
            return
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.p.wait()
        self.out.close()


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an env proxy


def get(url, headers=None, timeout=10):
    """(status, headers as a lower-case dict, body bytes); HTTP errors are answers, a failed
    connection is status 0."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with _opener.open(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()
    except (urllib.error.URLError, OSError) as e:
        return 0, {}, str(e).encode()


def metrics(base):
    """hlsd's /metrics as {name{labels}: value}."""
    _, _, body = get(base + "metrics")
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def requests_by_route(base):
    """hlsd's answered requests so far, by route label."""
    counts = {}
    for name, value in metrics(base).items():
        m = re.match(r'hlsd_http_requests_total\{.*route="([a-z]+)".*\}', name)
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + value
    return counts


class Hlsd:
    def __init__(self, binary, workdir, args=(), name="hlsd", stdin=subprocess.DEVNULL):
        source = [] if "--source" in args else ["--source", "test"]
        cmd = [binary, *source, "--listen", "127.0.0.1:0", "--output-dir", "",
               "--log-level", "info", *args]
        self.proc = Proc(name, cmd, workdir, stdin=stdin)
        m = wait_for(lambda: re.search(r"serving on https?://[^\s:]+:(\d+)/", self.proc.text())
                     or (not self.proc.alive() and "dead"), 30, "hlsd to listen")
        if m == "dead":
            raise RuntimeError("hlsd exited: " + self.proc.text())
        self.port = int(m.group(1))
        self.base = f"http://127.0.0.1:{self.port}/"
        wait_for(lambda: get(self.base + "healthz")[0] == 200, 30, "hlsd's first segment")

    def stop(self):
        self.proc.stop()


def rewrite(text, replacements, where):
    """Each old string must occur exactly once in the shipped file."""
    for old, new in replacements:
        n = text.count(old)
        if n != 1:
            raise RuntimeError(f"{where}: expected one {old!r}, found {n}")
        text = text.replace(old, new)
    return text


NGINX_MAIN = """worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 8192; }}
worker_rlimit_nofile 20000;
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/edge.conf;
}}
"""


class NginxEdge:
    """packaging/examples/nginx-edge.conf on `host` (TLS + HTTP/2 on .tls_port, plain HTTP/1.1
    on .port), in front of `origin` ("127.0.0.1:PORT")."""

    CONF = "nginx-edge.conf"
    NAME = "nginx-edge"

    def __init__(self, origin, workdir, cert, key, host="127.0.0.2", name=None, workers=1):
        name = name or self.NAME
        self.tmp = tempfile.mkdtemp(prefix=name + "-", dir=workdir)
        os.chmod(self.tmp, 0o755)
        self.host = host
        self.tls_port = free_port(host)
        self.port = free_port(host)
        self.base = f"http://{host}:{self.port}/"
        self.tls_base = f"https://{host}:{self.tls_port}/"
        self._before_front(origin, workdir, name)
        with open(os.path.join(EXAMPLES, self.CONF)) as f:
            conf = f.read()
        # The lines both shipped nginx files mark EDIT, then this edge's own.
        conf = rewrite(conf, [
            ("server 127.0.0.1:8080;", f"server {origin};"),
            ("listen 443 ssl http2;", f"listen {host}:{self.tls_port} ssl http2;"),
            ("listen [::]:443 ssl http2;", ""),
            ("# listen 8080;", f"listen {host}:{self.port};"),
            ("/etc/ssl/certs/ssl-cert-snakeoil.pem", cert),
            ("/etc/ssl/private/ssl-cert-snakeoil.key", key),
            *self._own_lines(),
        ], self.CONF)
        with open(os.path.join(self.tmp, "edge.conf"), "w") as f:
            f.write(conf)
        main = os.path.join(self.tmp, "nginx.conf")
        with open(main, "w") as f:
            f.write(NGINX_MAIN.format(tmp=self.tmp, workers=workers))
        self.proc = Proc(name, ["nginx", "-p", self.tmp, "-e", f"{self.tmp}/error.log", "-c", main,
                                "-g", "daemon off;"], workdir)
        wait_for(lambda: (not self.proc.alive() and "dead") or get(self.base + "healthz")[0] == 200,
                 15, "the nginx edge")
        if not self.proc.alive():
            raise RuntimeError("nginx exited: " + self.proc.text() + self.errors())
        self._after_front()

    def _before_front(self, origin, workdir, name):
        pass

    def _own_lines(self):
        return [("/var/cache/nginx-hlsd", f"{self.tmp}/cache")]

    def _after_front(self):
        pass

    def errors(self):
        try:
            with open(f"{self.tmp}/error.log") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        self.proc.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


class VarnishEdge(NginxEdge):
    """packaging/examples/varnish-edge.vcl behind nginx-varnish-edge.conf on `host`: the same
    addresses as NginxEdge (TLS + HTTP/2 on .tls_port, plain on .port)."""

    CONF = "nginx-varnish-edge.conf"
    NAME = "varnish-edge"

    def _before_front(self, origin, workdir, name):
        origin_host, origin_port = origin.rsplit(":", 1)
        self.varnish_port = free_port()
        with open(os.path.join(EXAMPLES, "varnish-edge.vcl")) as f:
            vcl = rewrite(f.read(), [
                ('.host = "127.0.0.1";', f'.host = "{origin_host}";'),
                ('.port = "8080";', f'.port = "{origin_port}";'),
            ], "varnish-edge.vcl")
        with open(os.path.join(self.tmp, "edge.vcl"), "w") as f:
            f.write(vcl)
        os.chmod(os.path.join(self.tmp, "edge.vcl"), 0o644)
        self.varnish = Proc(name + "-varnishd", [
            "varnishd", "-F", "-n", os.path.join(self.tmp, "varnish"),
            "-a", f"127.0.0.1:{self.varnish_port}", "-T", f"127.0.0.1:{free_port()}",
            "-f", os.path.join(self.tmp, "edge.vcl"), "-s", "malloc,128m"], workdir)

    def _own_lines(self):
        return [("server 127.0.0.1:6081;", f"server 127.0.0.1:{self.varnish_port};")]

    def _after_front(self):
        wait_for(lambda: (not self.varnish.alive() and "dead") or
                 get(self.base + "live/index.m3u8")[0] in (200, 401), 20, "Varnish behind nginx")
        if not self.varnish.alive():
            raise RuntimeError("varnishd exited: " + self.varnish.text())

    def stop(self):
        self.varnish.stop()
        super().stop()


def make_test_ca(workdir):
    d = os.path.join(workdir, "ca")
    subprocess.run([os.path.join(ROOT, "tests", "support", "make-test-ca.sh"), d, "hlsd edge"],
                   check=True)
    os.chmod(d, 0o755)
    for f in ("cert.pem", "key.pem", "ca.pem"):
        os.chmod(os.path.join(d, f), 0o644)  # nginx's workers are not root; this key is a test's
    return {k: os.path.join(d, k + ".pem") for k in ("ca", "cert", "key")}


def curl(args):
    r = subprocess.run(["curl", "-sS", "--max-time", "15", *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def print_json(tag, data):
    print(tag, json.dumps(data, sort_keys=True))


def main():
    """For tests in other languages (tests/browser/edge.mjs): starts edges in front of an hlsd
    already running, prints one line `EDGES {json}` with their addresses, and stops them when
    stdin closes or on SIGTERM.

        python3 tests/edge/edgelib.py --origin 127.0.0.1:PORT --workdir DIR [--tiers 2]
    """
    import argparse
    import sys
    ap = argparse.ArgumentParser()
    ap.add_argument("--origin", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--tiers", type=int, default=1, help="edges in a chain, the first nearest hlsd")
    ap.add_argument("--engine", choices=("nginx", "varnish"), default="nginx")
    a = ap.parse_args()
    ca = make_test_ca(a.workdir)
    edges = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        upstream = a.origin
        for tier in range(a.tiers):
            kind = VarnishEdge if a.engine == "varnish" else NginxEdge
            e = kind(upstream, a.workdir, ca["cert"], ca["key"], host=f"127.0.0.{2 + tier}",
                     name=f"{a.engine}-tier{tier + 1}")
            edges.append(e)
            upstream = f"{e.host}:{e.port}"
        print("EDGES", json.dumps({"ca": ca, "edges": [
            {"base": e.base, "tls_base": e.tls_base, "pid": e.proc.pid} for e in edges]}),
              flush=True)
        sys.stdin.read()
    finally:
        for e in reversed(edges):
            e.stop()


if __name__ == "__main__":
    main()
