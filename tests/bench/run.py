#!/usr/bin/env python3
"""run.py - the dispatchd benchmark matrix behind `make bench`.

Runs build/dispatchd-bench against the six models and the peer servers,
one fresh server per run, BENCH_ROUNDS rounds (medians), and writes
build/bench/results.md, results.png, results.svg and raw/ (every run's
report, the servers' logs, results.jsonl).

    BENCH_QUICK=1 make bench        one short round (under 3 minutes)
    make bench                      the full matrix (under 20 minutes)
    tests/bench/run.py --only epoll,libuv --scenarios pp16,bulk   (a subset)
    tests/bench/run.py --only epoll,nginx,python-http --scenarios http1k

The HTTP file-server scenarios (http1k, http1m, http1k-close) are in
http_bench.py, run in paired rounds of their own (BENCH_HTTP_ROUNDS).

Every server is started in its own session and its whole process group is
ended after the run; an exit, an exception or a signal ends whatever is
still running.
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import http_bench  # noqa: E402  (the HTTP scenarios; init() below hands it this module)

# ---------------------------------------------------------------- servers

MODELS = ["epoll", "poll", "select", "thread", "fork", "iterative", "io_uring"]
PEERS = ["epoll-echo", "libuv", "libevent", "socat", "python-asyncio",
         "python-threading", "python-forking", "uring-echo"]
# Issue 15: io_uring against the best epoll peers and its own anchor, the
# tuned liburing echo loop.
URING_ANCHOR = "uring-echo"
EPOLL_PEERS = ["epoll-echo", "libuv"]
# One process or thread per connection: hold fewer, always measure connrate.
PER_CONNECTION = {"fork", "thread", "iterative", "socat", "python-threading",
                  "python-forking"}
# workers = 2 (issue 17), against the same model's single process.
WORKER_SERVERS = ["epoll-w2", "io_uring-w2"]
WORKER_KEYS = ["pp16", "pp256", "connrate"]
# Peers a target compares against.
CONNRATE_PEERS_FORK = ["socat", "python-forking"]

# Datagram servers: the six models on a udp: listener, and these peers.
# mmsg-echo is the anchor of every datagram ratio.
DGRAM_ANCHOR = "mmsg-echo"
DGRAM_PEERS = [DGRAM_ANCHOR, "python-udp", "python-threading-udp", "python-forking-udp",
               "python-asyncio-udp", "socat-udp", "xinetd"]
# Each blocking model and its socketserver counterpart (issue 14's target).
DGRAM_COUNTERPARTS = [("iterative", "python-udp"), ("thread", "python-threading-udp"),
                      ("fork", "python-forking-udp")]


def dgram_server_argv(name, build, handler, workdir):
    """The command that starts datagram server `name` on a free UDP port.

    handler: echo, discard or logger (dispatchd only; its records go to a
    file under workdir)."""
    py = sys.executable or "python3"
    pyudp = os.path.join(HERE, "peers", "pyudp.py")
    if name in MODELS:
        argv = [os.path.join(build, "dispatchd"), "-m", name, "-H", handler,
                "-l", "udp:127.0.0.1:0"]
        if handler == "logger":
            argv += ["--logger-output", os.path.join(workdir, "logger.out")]
        return argv
    return {
        "mmsg-echo": [os.path.join(build, "bench", "peers", "mmsg-echo"), handler, "0"],
        "python-udp": [py, pyudp, "udp", handler, "0"],
        "python-threading-udp": [py, pyudp, "threading", handler, "0"],
        "python-forking-udp": [py, pyudp, "forking", handler, "0"],
        "python-asyncio-udp": [py, pyudp, "asyncio", handler, "0"],
        "socat-udp": ["sh", os.path.join(HERE, "peers", "socat-udp.sh"), handler, "0"],
        "xinetd": ["sh", os.path.join(HERE, "peers", "xinetd-udp.sh"), handler, "0", workdir],
    }[name]


def server_argv(name, build, handler="echo", max_clients=None):
    """The command that starts server `name` on a free port."""
    peers = os.path.join(build, "bench", "peers")
    py = sys.executable or "python3"
    if name in MODELS or name in WORKER_SERVERS:
        model, _, w = name.partition("-w")
        argv = [os.path.join(build, "dispatchd"), "-m", model, "-H", handler,
                "-l", "127.0.0.1:0"]
        if w:
            argv += ["--workers", w]
        if max_clients:
            argv += ["--max-clients", str(max_clients)]
        return argv
    return {
        "epoll-echo": [os.path.join(peers, "epoll-echo"), "0"],
        "uring-echo": [os.path.join(peers, "uring-echo"), "0"],
        "libuv": [os.path.join(peers, "uv-echo"), "0"],
        "libevent": [os.path.join(peers, "ev-echo"), "0"],
        "socat": ["sh", os.path.join(HERE, "peers", "socat-echo.sh"), "0"],
        "python-asyncio": [py, os.path.join(HERE, "peers", "pyecho.py"), "asyncio", "0"],
        "python-threading": [py, os.path.join(HERE, "peers", "pyecho.py"), "threading", "0"],
        "python-forking": [py, os.path.join(HERE, "peers", "pyecho.py"), "forking", "0"],
    }[name]


# ---------------------------------------------------------------- scenarios

class Scenario:
    def __init__(self, key, title, mode, conns=1, size=None, handler="echo", unit="rt"):
        self.key, self.title, self.mode = key, title, mode
        self.conns, self.size, self.handler, self.unit = conns, size, handler, unit


def hold_count(name, quick):
    if name == "select":
        return 1000          # below FD_SETSIZE (1024) with room for the listeners
    if name in PER_CONNECTION:
        return 200 if quick else 500
    if name in ("epoll", "io_uring"):
        return 19000         # the target: RLIMIT_NOFILE's hard limit is 20,000 here
    return 5000 if quick else 19000


def scenarios_for(name, quick):
    """The scenarios server `name` runs (None: not applicable, with why)."""
    out = []
    if name in WORKER_SERVERS:
        return [Scenario("pp16", "pingpong 16", "pingpong", 16, 64),
                Scenario("pp256", "pingpong 256", "pingpong", 256, 64),
                Scenario("connrate", "connrate 16", "connrate", 16, 64, unit="conn")]
    serial = name == "iterative"
    for c in (1, 16, 256):
        if serial and c > 1:
            continue        # one connection at a time: the others wait forever
        out.append(Scenario(f"pp{c}", f"pingpong {c}", "pingpong", c, 64))
    out.append(Scenario("bulk", "bulk", "bulk", 1, None, unit="MiB"))
    if not quick or name in PER_CONNECTION or name in ("epoll", "libuv", "io_uring",
                                                         "epoll-echo", URING_ANCHOR):
        out.append(Scenario("connrate", "connrate 16", "connrate", 16, 64, unit="conn"))
    if not serial:
        out.append(Scenario("hold", "hold", "hold", hold_count(name, quick), None, unit="ping"))
    if name == "epoll":
        out.append(Scenario("lines-echo", "lines 16 echo", "lines", 16, 64, "echo", "line"))
        out.append(Scenario("lines-ts", "lines 16 timestamp", "lines", 16, 64, "timestamp",
                            "line"))
    return out


SCENARIO_ORDER = ["pp1", "pp16", "pp256", "bulk", "connrate", "hold", "lines-echo", "lines-ts"]
SCENARIO_TITLES = {
    "pp1": "pingpong 1", "pp16": "pingpong 16", "pp256": "pingpong 256",
    "bulk": "bulk", "connrate": "connrate 16", "hold": "hold",
    "lines-echo": "lines echo", "lines-ts": "lines timestamp",
    "udp1": "udp echo 1", "udp16": "udp echo 16", "flood": "flood discard",
    "flood-log": "flood logger",
    **http_bench.TITLES,
}
DGRAM_ORDER = ["udp1", "udp16", "flood", "flood-log"]


def dgram_scenarios_for(name):
    """The datagram scenarios server `name` runs: request/response echo
    with 1 and 16 clients, a flood into discard, and (dispatchd only, no
    peer has one) a flood into the logger."""
    out = [Scenario("udp1", "udp echo 1", "udp", 1, 64, "echo", "req"),
           Scenario("udp16", "udp echo 16", "udp", 16, 64, "echo", "req"),
           Scenario("flood", "flood discard", "flood", 1, 64, "discard", "dgram")]
    if name in MODELS:
        out.append(Scenario("flood-log", "flood logger", "flood", 1, 64, "logger", "dgram"))
    return out

# ---------------------------------------------------------------- processes

LIVE = {}   # pid -> description: every process group still to end


def end_group(pid, grace=3.0):
    """Ends the process group led by pid (one we started), politely first."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        LIVE.pop(pid, None)
        return
    deadline = time.time() + grace
    while time.time() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                break
        except ChildProcessError:
            break
        time.sleep(0.02)
    try:
        os.killpg(pid, signal.SIGKILL)     # children the leader left behind
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    LIVE.pop(pid, None)


def end_all():
    for pid in list(LIVE):
        end_group(pid, grace=1.0)


def on_signal(signo, frame):
    end_all()
    http_bench.cleanup()
    sys.stderr.write(f"\nbench: stopped by signal {signo}; every server was ended\n")
    os._exit(128 + signo)


LISTEN_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
DGRAM_LISTEN_RE = re.compile(r"listening on udp:127\.0\.0\.1:(\d+)")


def udp_bound(port):
    """True when an unconnected socket is bound to 127.0.0.1 or * at UDP port
    (read from /proc/net/udp: a probe datagram would count as load, and
    a discard server sends nothing back)."""
    try:
        with open("/proc/net/udp") as f:
            next(f)
            for line in f:
                fields = line.split()
                laddr, lport = fields[1].split(":")
                if (int(lport, 16) == port and fields[2].endswith(":0000")
                        and laddr in ("0100007F", "00000000")):
                    return True
    except (OSError, ValueError, IndexError, StopIteration):
        pass
    return False


def start_server(argv, log_path, timeout=10.0, dgram=False, preexec_fn=None):
    """Starts a server in its own session; returns (Popen, port).
    preexec_fn: run in the child before it executes argv (http_bench.py
    moves the server into its accounting cgroup there).

    Ready means: it printed its "listening on" line and a connection to
    that port succeeded (socat-echo.sh prints just before socat listens);
    for a datagram server, that its UDP port is bound.
    """
    log = open(log_path, "wb")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True, cwd=ROOT, preexec_fn=preexec_fn)
    log.close()
    LIVE[proc.pid] = argv[0]
    deadline = time.time() + timeout
    port = None
    while time.time() < deadline and proc.poll() is None:
        with open(log_path, "rb") as f:
            m = (DGRAM_LISTEN_RE if dgram else LISTEN_RE).search(
                f.read().decode("utf-8", "replace"))
        if m:
            port = int(m.group(1))
            break
        time.sleep(0.02)
    ready = False
    while dgram and port is not None and time.time() < deadline and proc.poll() is None:
        if udp_bound(port):
            ready = True
            break
        time.sleep(0.02)
    while not dgram and port is not None and time.time() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                ready = True
                break
        except OSError:
            time.sleep(0.02)
    if not ready:
        end_group(proc.pid)
        with open(log_path, "rb") as f:
            tail = f.read().decode("utf-8", "replace").strip().splitlines()[-1:]
        raise RuntimeError(f"{os.path.basename(argv[1] if argv[0] == 'sh' else argv[0])} "
                           f"did not start: {' '.join(tail)}")
    time.sleep(0.05)
    return proc, port


def parse_result(text):
    for line in text.splitlines():
        if line.startswith("RESULT "):
            head, _, note = line[7:].partition(" note=")
            res = {"note": note.strip()}
            for tok in head.split():
                k, _, v = tok.partition("=")
                if v == "NA":
                    res[k] = None
                    continue
                try:
                    res[k] = float(v)
                except ValueError:
                    res[k] = v
            return res
    return None


def cpu_ticks():
    """The machine's CPU ticks from /proc/stat: (total, stolen)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]), v[7]


def wait_calm(max_steal, until):
    """Waits, until the time `until` at the latest, for one second in which
    the hypervisor stole at most max_steal % of the CPU; the seconds waited."""
    t0 = time.time()
    while time.time() + 1.0 <= until:
        t1, s1 = cpu_ticks()
        time.sleep(1.0)
        t2, s2 = cpu_ticks()
        if t2 > t1 and (s2 - s1) * 100.0 / (t2 - t1) <= max_steal:
            break
    return time.time() - t0


def run_one(args, name, sc, rnd, rawdir):
    """One server, one scenario, one round: the RESULT dict (with 'ok')."""
    if sc.mode in http_bench.MODES:
        return http_bench.run_one(args, name, sc, rnd, rawdir)
    tag = f"{name}_{sc.key}_r{rnd}"
    dgram = sc.mode in ("udp", "flood")
    workdir = None
    if dgram:
        # The logger's records go to tmpfs when there is one; the
        # directory (and xinetd's generated configuration) is removed
        # after the run.
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        workdir = tempfile.mkdtemp(prefix=f"dispatchd-bench-{tag}.", dir=base)
        argv = dgram_server_argv(name, args.build, sc.handler, workdir)
    else:
        max_clients = sc.conns + 100 if sc.mode == "hold" and sc.conns >= 1000 else None
        argv = server_argv(name, args.build, sc.handler, max_clients)
    # A free port picked for socat (or xinetd) may be taken before it binds
    # it: retry.
    for attempt in range(3):
        try:
            server, port = start_server(argv, os.path.join(rawdir, "logs", tag + ".log"),
                                        dgram=dgram)
            break
        except RuntimeError:
            if attempt == 2:
                if workdir:
                    shutil.rmtree(workdir, ignore_errors=True)
                raise
    pid = server.pid
    cmd = [os.path.join(args.build, "dispatchd-bench"), "-m", sc.mode, "-p", str(port),
           "-P", str(pid), "-c", str(sc.conns), "--label", f"{name}/{sc.key}/r{rnd}"]
    if sc.size:
        cmd += ["-s", str(sc.size)]
    if sc.mode == "hold":
        cmd += ["--hold-secs", str(args.hold_secs)]
        limit = 60 + sc.conns / 300
    elif dgram:
        cmd += ["-d", str(args.dgram_secs), "-w", str(args.dgram_warmup),
                "--reply-timeout", str(args.reply_timeout)]
        limit = 60 + args.dgram_secs + args.dgram_warmup
    else:
        cmd += ["-d", str(args.secs), "-w", str(args.warmup)]
        limit = 60 + args.secs + args.warmup
    res = None
    try:
        client = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  start_new_session=True, cwd=ROOT)
        LIVE[client.pid] = "dispatchd-bench"
        try:
            out, _ = client.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            end_group(client.pid)
            out, _ = client.communicate()
            out += b"\nbench: client timed out\n"
        LIVE.pop(client.pid, None)
        text = out.decode("utf-8", "replace")
        with open(os.path.join(rawdir, tag + ".txt"), "w") as f:
            f.write("$ " + " ".join(argv) + "\n$ " + " ".join(cmd) + "\n" + text)
        res = parse_result(text) or {"note": text.strip().splitlines()[-1:] or ["no result"]}
        alive = server.poll() is None
        res["ok"] = client.returncode == 0 and alive
        if not alive:
            res["note"] = (res.get("note") or "") + " [server died]"
    finally:
        end_group(pid)
        if workdir:
            out_file = os.path.join(workdir, "logger.out")
            if res is not None and os.path.exists(out_file):
                res["logger_bytes"] = os.path.getsize(out_file)
            shutil.rmtree(workdir, ignore_errors=True)
    res.update({"server": name, "scenario": sc.key, "round": rnd})
    return res


# ---------------------------------------------------------------- summary

def median(vals):
    vals = [v for v in vals if isinstance(v, (int, float)) and not math.isnan(v)]
    return statistics.median(vals) if vals else None


def summarize(runs):
    """(server, scenario) -> medians of the successful rounds, plus flags."""
    table = {}
    keys = ["rate", "p50_us", "p99_us", "p999_us", "cpu_us_per_op", "syscalls_per_op",
            "kib_per_conn", "kib_per_conn_idle", "pss_kib_per_conn", "held", "answered", "connect_s",
            "server_cpu_pct", "client_cpu_us_per_op", "steal_pct", "conns", "procs",
            "threads", "sent", "lost", "late", "bad", "kdrops", "ops",
            "sqes_per_op", "cqes_per_op", "rss_before_kib",
            "cpu_proc_us_per_op", "req_per_s", "errors"]
    groups = {}
    for r in runs:
        groups.setdefault((r["server"], r["scenario"]), []).append(r)
    for k, rs in groups.items():
        good = [r for r in rs if r.get("ok")]
        cell = {"rounds": len(rs), "good": len(good),
                "notes": sorted({str(r.get("note")) for r in rs if not r.get("ok") and r.get("note")})}
        for key in keys:
            cell[key] = median([r.get(key) for r in good])
        cell["conns"] = median([r.get("conns") for r in rs])
        table[k] = cell
    return table


def fmt_rate(v):
    if v is None:
        return "–"
    if v >= 100000:
        return f"{v / 1000:.0f}k"
    if v >= 10000:
        return f"{v / 1000:.1f}k"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.1f}"


def fmt_num(v, prec=2):
    return "–" if v is None else f"{v:.{prec}f}"


def fmt_us(v):
    if v is None:
        return "–"
    return f"{v / 1000:.1f} ms" if v >= 10000 else f"{v:.0f} µs"


def ratio(v, base):
    if v is None or base is None or base == 0:
        return ""
    return f" ({v / base:.2f}×)"


def cell_value(table, name, key, field):
    c = table.get((name, key))
    if c is None:
        return None
    return c.get(field)


def cell_text(table, name, key, field, fmt, with_ratio):
    c = table.get((name, key))
    if c is None:
        return "n/a"
    v = c.get(field)
    if c["good"] == 0:
        return "ERR"
    text = fmt(v)
    if with_ratio and name != "libuv":
        text += ratio(v, cell_value(table, "libuv", key, field))
    if c["good"] < c["rounds"]:
        text += f" ({c['good']}/{c['rounds']} ok)"
    return text


def md_table(table, servers, scen_keys, field, fmt, with_ratio):
    lines = ["| server | " + " | ".join(SCENARIO_TITLES[k] for k in scen_keys) + " |",
             "|---|" + "---:|" * len(scen_keys)]
    for name in servers:
        row = [cell_text(table, name, k, field, fmt, with_ratio) for k in scen_keys]
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def check_targets(table, quick):
    """[(target, measured, verdict)] for the issue's figures."""
    out = []
    v = lambda n, k, f: cell_value(table, n, k, f)
    # Issue 4 compared epoll with the readiness-era peers; io_uring's
    # anchor has targets of its own (uring_targets).
    peers_all = [p for p in PEERS if p != URING_ANCHOR]

    for k in ("pp1", "pp16", "pp256"):
        e = v("epoll", k, "cpu_us_per_op")
        peer_vals = [(v(p, k, "cpu_us_per_op"), p) for p in peers_all]
        peer_vals = [(x, p) for x, p in peer_vals if x is not None]
        if e is None or not peer_vals:
            out.append((f"epoll CPU/rt ≤ every peer's, {SCENARIO_TITLES[k]}", "not measured", "–"))
            continue
        best, bp = min(peer_vals)
        uv = v("libuv", k, "cpu_us_per_op")
        out.append((f"epoll CPU/rt ≤ every peer's, {SCENARIO_TITLES[k]}",
                    f"epoll {e:.2f} µs; best peer {bp} {best:.2f} µs; libuv {fmt_num(uv)} µs",
                    "MET" if e <= best else "NOT MET"))
    s = v("epoll", "pp16", "syscalls_per_op")
    out.append(("epoll ≤ 2.2 system calls/rt, pingpong 16",
                "not counted" if s is None else f"{s:.2f}",
                "–" if s is None else ("MET" if s <= 2.2 else "NOT MET")))
    e = v("epoll", "bulk", "rate")
    pv = [(v(p, "bulk", "rate"), p) for p in peers_all]
    pv = [(x, p) for x, p in pv if x is not None]
    if e is not None and pv:
        best, bp = max(pv)
        out.append(("epoll bulk throughput ≥ best peer's",
                    f"epoll {e:.0f} MiB/s; best peer {bp} {best:.0f} MiB/s",
                    "MET" if e >= best else "NOT MET"))
    e = v("epoll", "pp16", "cpu_us_per_op")
    for m in ("select", "poll"):
        x = v(m, "pp16", "cpu_us_per_op")
        if e is not None and x is not None:
            out.append((f"{m} CPU/rt within 15% of epoll, pingpong 16",
                        f"{m} {x:.2f} µs vs epoll {e:.2f} µs ({x / e:.2f}×)",
                        "MET" if x <= 1.15 * e else "NOT MET"))
    c = table.get(("epoll", "hold"))
    if c is not None:
        held, ans, kib = c.get("held"), c.get("answered"), c.get("kib_per_conn")
        n = int(c.get("conns") or 0)
        ok = c["good"] > 0 and held == n and ans == n and kib is not None and kib <= 0.25
        out.append(("epoll holds 19,000, all answer, ≤ 0.25 KiB RSS each",
                    f"{fmt_num(held, 0)} held, {fmt_num(ans, 0)} answered of {n}; "
                    f"{fmt_num(kib, 3)} KiB/conn",
                    ("MET" if ok and n >= 19000 else "NOT MET") if c["good"] else "NOT MET"))
    f = v("fork", "connrate", "rate")
    pv = [(v(p, "connrate", "rate"), p) for p in CONNRATE_PEERS_FORK]
    pv = [(x, p) for x, p in pv if x is not None]
    if f is not None and pv:
        best, bp = max(pv)
        out.append(("fork conn/s ≥ 1.5× best per-connection peer",
                    f"fork {f:.0f}/s; best {bp} {best:.0f}/s ({f / best:.2f}×)",
                    "MET" if f >= 1.5 * best else "NOT MET"))
        fc = v("fork", "connrate", "cpu_us_per_op")
        pc = [(v(p, "connrate", "cpu_us_per_op"), p) for p in CONNRATE_PEERS_FORK]
        pc = [(x, p) for x, p in pc if x is not None]
        if fc is not None and pc:
            lo, lp = min(pc)
            out.append(("fork CPU/conn below socat's and python-forking's",
                        f"fork {fc:.0f} µs; lowest {lp} {lo:.0f} µs",
                        "MET" if fc < lo else "NOT MET"))
    t = v("thread", "connrate", "rate")
    pt = v("python-threading", "connrate", "rate")
    if t is not None and pt:
        out.append(("thread conn/s ≥ 3× python-threading",
                    f"thread {t:.0f}/s; python-threading {pt:.0f}/s ({t / pt:.2f}×)",
                    "MET" if t >= 3 * pt else "NOT MET"))
        tc = v("thread", "connrate", "cpu_us_per_op")
        pc = v("python-threading", "connrate", "cpu_us_per_op")
        if tc is not None and pc is not None:
            out.append(("thread CPU/conn below python-threading's",
                        f"thread {tc:.0f} µs; python-threading {pc:.0f} µs",
                        "MET" if tc < pc else "NOT MET"))
    for m, peers in (("fork", CONNRATE_PEERS_FORK), ("thread", ["python-threading"])):
        x = v(m, "pp16", "cpu_us_per_op")
        pc = [(v(p, "pp16", "cpu_us_per_op"), p) for p in peers]
        pc = [(y, p) for y, p in pc if y is not None]
        if x is not None and pc:
            lo, lp = min(pc)
            out.append((f"{m} CPU/rt below {'/'.join(peers)}, pingpong 16",
                        f"{m} {x:.2f} µs; lowest {lp} {lo:.2f} µs",
                        "MET" if x < lo else "NOT MET"))
    te = v("epoll", "lines-echo", "cpu_us_per_op")
    tt = v("epoll", "lines-ts", "cpu_us_per_op")
    if te and tt:
        out.append(("timestamp CPU/line ≤ 1.3× echo's (epoll, lines 16)",
                    f"timestamp {tt:.2f} µs vs echo {te:.2f} µs ({tt / te:.2f}×)",
                    "MET" if tt <= 1.3 * te else "NOT MET"))
    return out


# ---------------------------------------------------------------- datagrams

BOOT_RESAMPLES = 4000


def paired_ratios(runs, name, key, field, anchor):
    """name's figure over anchor's, round by round: both measured in the
    same round, seconds apart (only rounds where both succeeded)."""
    by = {}
    for r in runs:
        if r.get("scenario") == key and r.get("ok") and r.get(field) is not None:
            by.setdefault(r["server"], {})[r["round"]] = r[field]
    a, b = by.get(name, {}), by.get(anchor, {})
    return [a[k] / b[k] for k in sorted(a) if k in b and b[k]]


def boot_median(vals, seed=14):
    """(median, low, high): the median and its 95% percentile-bootstrap
    interval (rounds resampled with replacement); None when no values."""
    import random
    if not vals:
        return None
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(vals, k=len(vals)))
                  for _ in range(BOOT_RESAMPLES))
    return (statistics.median(vals), meds[int(0.025 * len(meds))],
            meds[min(len(meds) - 1, int(0.975 * len(meds)))])


def ci_verdict(ci, better_low):
    """'better', 'worse' or 'tie' from a ratio's interval: a tie when the
    interval holds 1 (or only one round was paired)."""
    if ci is None:
        return "–"
    _, lo, hi = ci
    if lo == hi:
        return "tie (1 round)" if lo == 1 else ("better" if (lo < 1) == better_low
                                                  else "worse") + " (1 round)"
    if lo <= 1 <= hi:
        return "tie"
    return "better" if (hi < 1) == better_low else "worse"


def fmt_ci(ci):
    if ci is None:
        return ""
    m, lo, hi = ci
    return f" ({m:.2f}× [{lo:.2f}, {hi:.2f}])"


def dgram_cell(table, runs, name, key, field, fmt, anchor):
    c = table.get((name, key))
    if c is None:
        return "n/a"
    if c["good"] == 0:
        return "ERR"
    text = fmt(c.get(field))
    if name != anchor:
        text += fmt_ci(boot_median(paired_ratios(runs, name, key, field, anchor)))
    if c["good"] < c["rounds"]:
        text += f" ({c['good']}/{c['rounds']} ok)"
    return text


def loss_cell(table, name, key):
    c = table.get((name, key))
    if c is None:
        return "n/a"
    if c["good"] == 0:
        return "ERR"
    sent = c.get("sent") or 0
    if key.startswith("flood"):
        d = c.get("kdrops")
        return "–" if d is None or not sent else f"{100.0 * d / sent:.1f}%"
    lost, bad = c.get("lost") or 0, c.get("bad") or 0
    text = "0" if not lost else f"{100.0 * lost / sent:.2f}%" if sent else "–"
    if bad:
        text += f", {bad:.0f} wrong"
    return text


def dgram_targets(table, runs):
    """[(target, measured, verdict)] for issue 14's figures, each a paired
    ratio with its 95% bootstrap interval: MET, TIE or NOT MET."""
    out = []
    v = lambda n, k, f: cell_value(table, n, k, f)
    A = DGRAM_ANCHOR

    def judge(ci, better_low):
        w = ci_verdict(ci, better_low)
        return "MET" if w.startswith("better") else "TIE" if w.startswith("tie") else (
            "–" if w == "–" else "NOT MET")

    for k in ("udp1", "udp16", "flood"):
        ci = boot_median(paired_ratios(runs, "epoll", k, "cpu_us_per_op", A))
        e, m = v("epoll", k, "cpu_us_per_op"), v(A, k, "cpu_us_per_op")
        j = judge(ci, True)
        out.append((f"epoll CPU/datagram ≤ {A}'s, {SCENARIO_TITLES[k]}",
                    f"epoll {fmt_num(e)} µs, {A} {fmt_num(m)} µs;{fmt_ci(ci)}", j))
    s = v("epoll", "flood", "syscalls_per_op")
    out.append(("epoll < 1 system call per datagram, flood discard",
                "not counted" if s is None else f"{s:.2f}",
                "–" if s is None else ("MET" if s < 1 else "NOT MET")))
    for k in ("udp1", "udp16", "flood"):
        for model, peer in DGRAM_COUNTERPARTS:
            ci = boot_median(paired_ratios(runs, model, k, "rate", peer))
            out.append((f"{model} datagrams/s > {peer}'s, {SCENARIO_TITLES[k]}",
                        f"{model} {fmt_rate(v(model, k, 'rate'))}/s, {peer} "
                        f"{fmt_rate(v(peer, k, 'rate'))}/s;{fmt_ci(ci)}", judge(ci, False)))
    return out


def bound_verdict(ci, bound, below):
    """MET when the whole 95% interval of the paired ratio is on the right
    side of bound (below it when below, else above), NOT MET when it is all
    on the wrong side, else TIE."""
    if ci is None:
        return "–"
    _, lo, hi = ci
    if below:
        return "MET" if hi <= bound else "NOT MET" if lo > bound else "TIE"
    return "MET" if lo >= bound else "NOT MET" if hi < bound else "TIE"


def uring_targets(table, runs):
    """[(target, measured, verdict)] for issue 15, each a paired ratio (the
    rounds' median and its 95% bootstrap interval) against a bound."""
    out = []
    v = lambda n, k, f: cell_value(table, n, k, f)
    U = "io_uring"

    def one(title, key, field, other, bound, below):
        ci = boot_median(paired_ratios(runs, U, key, field, other))
        a, b = v(U, key, field), v(other, key, field)
        out.append((title, f"{fmt_num(a)} vs {fmt_num(b)};{fmt_ci(ci) or ' not paired'}",
                    bound_verdict(ci, bound, below)))

    for k in ("pp16", "pp256"):
        for p in EPOLL_PEERS:
            one(f"io_uring CPU/rt ≤ 0.9× {p}'s, {SCENARIO_TITLES[k]}", k, "cpu_us_per_op", p,
                0.9, True)
        one(f"io_uring CPU/rt ≤ 1.05× {URING_ANCHOR}'s, {SCENARIO_TITLES[k]}", k,
            "cpu_us_per_op", URING_ANCHOR, 1.05, True)
        one(f"io_uring CPU/rt vs dispatchd epoll's (< 1), {SCENARIO_TITLES[k]}", k,
            "cpu_us_per_op", "epoll", 1.0, True)
    for p in EPOLL_PEERS + [URING_ANCHOR]:
        one(f"io_uring CPU/rt ≤ 1.05× {p}'s, pingpong 1", "pp1", "cpu_us_per_op", p, 1.05, True)
    s16 = v(U, "pp16", "syscalls_per_op")
    out.append(("io_uring ≤ 0.35 system calls/rt, pingpong 16",
                "not counted" if s16 is None else f"{s16:.3f} (median of the rounds)",
                "–" if s16 is None else ("MET" if s16 <= 0.35 else "NOT MET")))
    for p in EPOLL_PEERS:
        one(f"io_uring bulk MiB/s ≥ 1.2× {p}'s", "bulk", "rate", p, 1.2, False)
    one(f"io_uring bulk MiB/s vs {URING_ANCHOR}'s (≥ 1)", "bulk", "rate", URING_ANCHOR, 1.0,
        False)
    for p in EPOLL_PEERS + [URING_ANCHOR, "epoll"]:
        one(f"io_uring CPU/connection < {p}'s, connrate 16", "connrate", "cpu_us_per_op", p,
            1.0, True)
    c = table.get((U, "hold"))
    if c is not None:
        held, ans, kib = c.get("held"), c.get("answered"), c.get("kib_per_conn")
        n = int(c.get("conns") or 0)
        ok = c["good"] > 0 and held == n and ans == n and kib is not None and kib <= 0.5
        out.append(("io_uring holds 19,000, all answer, ≤ 0.5 KiB RSS each beyond its pool",
                    f"{fmt_num(held, 0)} held, {fmt_num(ans, 0)} answered of {n}; "
                    f"{fmt_num(kib, 3)} KiB/conn (RSS before connecting "
                    f"{fmt_num(c.get('rss_before_kib'), 0)} KiB, the pool included)",
                    "MET" if ok and n >= 19000 else "NOT MET"))
    ci = boot_median(paired_ratios(runs, "epoll", "pp1", "cpu_us_per_op", "epoll-echo"))
    out.append(("epoll CPU/rt within 3% of epoll-echo's, pingpong 1",
                f"{fmt_num(v('epoll', 'pp1', 'cpu_us_per_op'))} vs "
                f"{fmt_num(v('epoll-echo', 'pp1', 'cpu_us_per_op'))};"
                f"{fmt_ci(ci) or ' not paired'}", bound_verdict(ci, 1.03, True)))
    return out


def workers_markdown(table, runs, servers):
    """1 against 2 workers (issue 17): each model's workers = 2 against its
    single process, paired ratios of the rate and of the CPU per operation."""
    pairs = [(w, w.partition("-w")[0]) for w in WORKER_SERVERS
             if w in servers and any((w, k) in table for k in WORKER_KEYS)]
    if not pairs:
        return []
    L = ["## workers = 2 against 1 (issue 17)\n",
         "Each round runs the model alone and with `--workers 2` back to back; the ratio is "
         "2 workers' figure to 1's (median of the rounds [95% bootstrap interval]).  The "
         "client shares the 2 cores, so a second worker can only take what the client "
         "leaves.\n",
         "| servers | figure | " + " | ".join(SCENARIO_TITLES[k] for k in WORKER_KEYS) + " |",
         "|---|---|" + "---:|" * len(WORKER_KEYS)]
    for w, one in pairs:
        for field, what in (("rate", "rate"), ("cpu_us_per_op", "CPU/op")):
            row = []
            for k in WORKER_KEYS:
                a, b = cell_value(table, w, k, field), cell_value(table, one, k, field)
                ci = boot_median(paired_ratios(runs, w, k, field, one))
                row.append(f"{fmt_num(a)} vs {fmt_num(b)}{fmt_ci(ci)}")
            L.append(f"| {w} vs {one} | {what} | " + " | ".join(row) + " |")
    L.append("")
    return L


def uring_markdown(table, runs, servers):
    """The io_uring section of results.md: submissions and completions per
    operation, the paired ratios, issue 15's targets."""
    if not any(("io_uring", k) in table for k in SCENARIO_ORDER):
        return []
    keys = [k for k in ("pp1", "pp16", "pp256", "bulk", "connrate")
            if ("io_uring", k) in table]
    L = ["## io_uring (issue 15)\n",
         "Submissions (`io_uring:io_uring_submit_req`) / completions "
         "(`io_uring:io_uring_complete`) per operation, counted by the same perf stat as "
         "the system calls (tracepoints: they fire only in servers that use io_uring), "
         "then system calls:\n",
         "| server | " + " | ".join(SCENARIO_TITLES[k] for k in keys) + " |",
         "|---|" + "---:|" * len(keys)]
    for name in ("io_uring", URING_ANCHOR):
        if not any((name, k) in table for k in keys):
            continue
        row = []
        for k in keys:
            sq, cq, sc = (cell_value(table, name, k, f) for f in
                          ("sqes_per_op", "cqes_per_op", "syscalls_per_op"))
            row.append(f"{fmt_num(sq)} / {fmt_num(cq)}; {fmt_num(sc)}")
        L.append(f"| {name} | " + " | ".join(row) + " |")
    L.append("\nPaired ratios of io_uring's figure to each server's in the same round "
             "(median [95% bootstrap interval]); CPU per operation, and rate for bulk:\n")
    L.append("| against | " + " | ".join(SCENARIO_TITLES[k] for k in keys) + " |")
    L.append("|---|" + "---:|" * len(keys))
    for other in ["epoll"] + EPOLL_PEERS + [URING_ANCHOR]:
        if other not in servers:
            continue
        row = []
        for k in keys:
            field = "rate" if k == "bulk" else "cpu_us_per_op"
            ci = boot_median(paired_ratios(runs, "io_uring", k, field, other))
            row.append(fmt_ci(ci).strip(" ()") or "–")
        L.append(f"| {other} | " + " | ".join(row) + " |")
    L += ["", "### Targets (issue 15)\n", "| target | measured | verdict |", "|---|---|---|"]
    for t, m, w in uring_targets(table, runs):
        L.append(f"| {t} | {m} | {w} |")
    L.append("")
    return L


def dgram_markdown(args, table, runs, servers):
    """The datagram section of results.md."""
    keys = [k for k in DGRAM_ORDER if any((s, k) in table for s in servers)]
    if not keys:
        return []
    A = DGRAM_ANCHOR
    hdr = ["| server | " + " | ".join(SCENARIO_TITLES[k] for k in keys) + " |",
           "|---|" + "---:|" * len(keys)]

    def tab(field, fmt, with_ci):
        lines = list(hdr)
        for name in servers:
            if not any((name, k) in table for k in keys):
                continue
            row = [dgram_cell(table, runs, name, k, field, fmt, A if with_ci else name)
                   for k in keys]
            lines.append(f"| {name} | " + " | ".join(row) + " |")
        return "\n".join(lines)

    def losses():
        lines = list(hdr)
        for name in servers:
            if any((name, k) in table for k in keys):
                lines.append(f"| {name} | " + " | ".join(loss_cell(table, name, k)
                                                         for k in keys) + " |")
        return "\n".join(lines)

    n = args.dgram_rounds
    L = ["## Datagrams\n",
         f"- {n} paired round(s): each round runs one scenario on every server back to "
         f"back, in reverse order in even rounds; window {args.dgram_secs} s after "
         f"{args.dgram_warmup} s warm-up; a fresh server per run",
         "- udp echo N: N clients (one connected UDP socket each) with one 64-byte request "
         f"outstanding each, every reply verified; a request unanswered for "
         f"{args.reply_timeout:g} s is lost and the next one sent; rate = requests answered "
         "per second, CPU and system calls per request answered",
         "- flood: one socket sends 64-byte datagrams at full speed (sendmmsg, 32 at a "
         "time); the window starts and ends on an empty server queue, so the datagrams "
         "the server took = sent − dropped by the kernel at its full socket (its "
         "`drops` in /proc/net/udp); rate, CPU and system calls per datagram taken. "
         "flood logger: dispatchd's logger writing one record per datagram to a file on "
         "tmpfs (no peer has one)",
         f"- `(0.95× [0.90, 1.01])` = the median over the rounds of the ratio to {A} "
         "measured in the same round, with its 95% bootstrap interval; an interval "
         "that holds 1 is a tie\n",
         "### Rate\n",
         "requests answered/s (udp echo), datagrams taken/s (flood)\n",
         tab("rate", fmt_rate, True) + "\n",
         "### Server CPU per datagram (µs)\n",
         "per request answered (udp echo: one datagram in, one out), per datagram taken "
         "(flood)\n",
         tab("cpu_us_per_op", lambda x: fmt_num(x, 2), True) + "\n",
         "### Server system calls per datagram\n",
         tab("syscalls_per_op", lambda x: fmt_num(x, 2), False) + "\n",
         "### Losses\n",
         "udp echo: requests lost (no reply in time), and wrong replies; flood: datagrams "
         "the kernel dropped at the server's full socket, of those sent\n",
         losses() + "\n",
         "### Targets (issue 14)\n",
         "| target | measured | verdict |", "|---|---|---|"]
    for t, m, w in dgram_targets(table, runs):
        L.append(f"| {t} | {m} | {w} |")
    L.append("")
    return L


def write_chart(table, servers, outdir):
    """results.png and results.svg: CPU per round trip and round trips/s by connections."""
    gp = shutil.which("gnuplot")
    dat = os.path.join(outdir, "chart.dat")
    with open(dat, "w") as f:
        f.write("# conns " + " ".join(f"{s}_cpu {s}_rate" for s in servers) + "\n")
        for c in (1, 16, 256):
            row = [str(c)]
            for s in servers:
                for field in ("cpu_us_per_op", "rate"):
                    x = cell_value(table, s, f"pp{c}", field)
                    row.append("NaN" if x is None else f"{x:.4f}")
            f.write(" ".join(row) + "\n")
    if gp is None:
        return "gnuplot not found: no chart"
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
               "#17becf", "#e377c2", "#7f7f7f", "#bcbd22", "#000000", "#aec7e8", "#98df8a"]
    plots_cpu, plots_rate = [], []
    for i, s in enumerate(servers):
        col = colours[i % len(colours)]
        style = (f"lp lw 2 pt 7 lc rgb '{col}'" if s in MODELS
                 else f"lp lw 1.5 dt 2 pt 6 lc rgb '{col}'")
        plots_cpu.append(f"'{dat}' using 1:{2 + 2 * i} with {style} title '{s}'")
        plots_rate.append(f"'{dat}' using 1:{3 + 2 * i} with {style} title '{s}'")
    body = f"""
set datafile missing 'NaN'
set logscale x 2
set xtics (1, 16, 256)
set xrange [0.8:320]
set grid
set key outside right top
set multiplot layout 1,2 title "dispatchd vs peers: 64-byte echo ping-pong (medians)"
set title "server CPU per round trip"
set xlabel "connections"
set ylabel "µs CPU per round trip"
set logscale y
plot {", ".join(plots_cpu)}
set title "round trips per second"
set ylabel "round trips / s"
unset logscale y
set yrange [0:*]
plot {", ".join(plots_rate)}
unset multiplot
"""
    errs = []
    for term, name in (("pngcairo size 1500,600 font 'sans,10'", "results.png"),
                       ("svg size 1500,600 dynamic font 'sans,10'", "results.svg")):
        script = f"set terminal {term}\nset output '{os.path.join(outdir, name)}'\n" + body
        p = subprocess.run([gp], input=script.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            errs.append(p.stderr.decode(errors="replace").strip()[-300:])
    return "; ".join(errs)


def machine_line():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, "
            f"RLIMIT_NOFILE {resource.getrlimit(resource.RLIMIT_NOFILE)[1]}")


def write_markdown(args, table, servers, dgram_servers, runs, elapsed, outdir, chart_err):
    present = [k for k in SCENARIO_ORDER if any((s, k) in table for s in servers)]
    pp = [k for k in present if k.startswith("pp") or k == "connrate" or k == "bulk"]
    steal = median([r.get("steal_pct") for r in runs])
    lines = []
    lines.append("# dispatchd benchmark results\n")
    lines.append(f"- run: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
                 f"{'quick' if args.quick else 'full'} mode, {args.rounds} round(s) "
                 f"(medians), window {args.secs} s after {args.warmup} s warm-up; datagrams "
                 f"{args.dgram_rounds} paired round(s), window {args.dgram_secs} s after "
                 f"{args.dgram_warmup} s; HTTP {args.http_rounds} paired round(s), window "
                 f"{args.http_secs} s; {elapsed / 60:.1f} min in all")
    lines.append(f"- machine: {machine_line()}; median CPU stolen by the hypervisor "
                 f"during the windows: {fmt_num(steal, 0)}% (a run with more than "
                 f"{args.max_steal:g}% stolen is run again after the whole plan, up to "
                 f"{args.max_attempts} attempts within a budget, and the least disturbed "
                 f"attempt kept: stolen time is charged to the server's CPU); "
                 f"{sum(1 for r in runs if r.get('attempt', 1) > 1)} run(s) were run again, "
                 f"{sum(1 for r in runs if r.get('ok') and (r.get('steal_pct') or 0) > args.max_steal)} "
                 f"kept more than {args.max_steal:g}% stolen; after a disturbed run the next "
                 f"waited for a calm second ({args.calm_waited:.0f} s of waiting in all)")
    lines.append("- reproduce: `make bench` (full) or `BENCH_QUICK=1 make bench` "
                 "(quick); raw reports in `build/bench/raw/`")
    lines.append("- client: `build/dispatchd-bench` (epoll, one thread) on the same 2 cores; "
                 "64-byte messages; connrate = connect, one 64-byte exchange, close, 16 at a "
                 "time; bulk = one connection streaming 256 KiB writes, every byte verified; "
                 "hold = N idle connections (each answered once), then one ping on each")
    lines.append("- server figures cover the server's whole process tree over the measured "
                 "window: CPU from /proc (schedstat, or stat ticks when processes come and "
                 "go), system calls from `perf stat -e raw_syscalls:sys_enter` (attached "
                 "during the window; it adds a little CPU to every server alike)")
    lines.append("- `(0.95×)` = ratio to the libuv peer in the same run; `n/a` = not run "
                 "(iterative serves one connection at a time); `ERR` = every round failed\n")
    if pp or "hold" in present:
        lines.append("![chart](results.png)\n")
        lines.append("## Rate\n")
        lines.append("round trips/s (pingpong), MiB/s (bulk), connections/s (connrate), "
                     "pings/s (hold)\n")
        lines.append(md_table(table, servers, pp, "rate", fmt_rate, True) + "\n")
        lines.append("## Server CPU per operation (µs)\n")
        lines.append("per round trip, per MiB (bulk), per connection (connrate)\n")
        lines.append(md_table(table, servers, pp, "cpu_us_per_op", lambda x: fmt_num(x, 2),
                              True) + "\n")
        lines.append("## System calls per operation\n")
        lines.append(md_table(table, servers, pp, "syscalls_per_op", lambda x: fmt_num(x, 2),
                              False) + "\n")
        lines.append("## p99 latency\n")
        lines.append(md_table(table, servers, pp, "p99_us", fmt_us, False) + "\n")
        if "hold" in present:
            lines.append("## Held connections\n")
            lines.append("| server | held | answered | connect s | RSS KiB/conn | RSS KiB/conn "
                         "before the pings | PSS KiB/conn | ping p99 |")
            lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
            for s in servers:
                c = table.get((s, "hold"))
                if c is None:
                    lines.append(f"| {s} | n/a | | | | | | |")
                    continue
                if c["good"] == 0:
                    lines.append(f"| {s} | ERR of {fmt_num(c['conns'], 0)} | | | | | | |")
                    continue
                lines.append(f"| {s} | {fmt_num(c['held'], 0)} | {fmt_num(c['answered'], 0)} | "
                             f"{fmt_num(c['connect_s'], 2)} | {fmt_num(c['kib_per_conn'], 3)} | "
                             f"{fmt_num(c['kib_per_conn_idle'], 3)} | "
                             f"{fmt_num(c['pss_kib_per_conn'], 3)} | {fmt_us(c['p99_us'])} |")
            lines.append("\nPer connection: (server memory after the pings − before connecting) / "
                         "connections held. RSS is summed over the server's processes, so "
                         "process-per-connection servers count their shared pages once per "
                         "process; PSS splits shared pages among the processes. Connect time "
                         "includes one answered ping per connection (64 in flight).\n")
        if "lines-ts" in present:
            lines.append("## Lines under epoll: timestamp vs echo (16 connections)\n")
            lines.append("| handler | lines/s | CPU µs/line | syscalls/line | p99 |")
            lines.append("|---|---:|---:|---:|---:|")
            for k in ("lines-echo", "lines-ts"):
                c = table.get(("epoll", k))
                if c:
                    lines.append(f"| {'echo' if k == 'lines-echo' else 'timestamp'} | "
                                 f"{fmt_rate(c['rate'])} | {fmt_num(c['cpu_us_per_op'])} | "
                                 f"{fmt_num(c['syscalls_per_op'])} | {fmt_us(c['p99_us'])} |")
            lines.append("")
        lines.append("## Targets (issue 4)\n")
        lines.append("| target | measured | verdict |")
        lines.append("|---|---|---|")
        for t, m, verdict in check_targets(table, args.quick):
            lines.append(f"| {t} | {m} | {verdict} |")
        lines.append("")
    lines += workers_markdown(table, runs, servers)
    lines += uring_markdown(table, runs, servers)
    lines += dgram_markdown(args, table, runs, dgram_servers)
    lines += http_bench.markdown(args, table, runs, args.http_servers)
    bad = [(k, c) for k, c in sorted(table.items()) if c["good"] < c["rounds"]]
    if bad or chart_err:
        lines.append("## Failures\n")
        for (s, k), c in bad:
            lines.append(f"- {s} {k}: {c['rounds'] - c['good']} of {c['rounds']} rounds failed: "
                         + "; ".join(c["notes"])[:300])
        if chart_err:
            lines.append(f"- chart: {chart_err}")
        lines.append("")
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(lines))


def paired_plan(rounds, servers, order, only_sc, scenarios):
    """[(server, scenario, round)]: each round runs one scenario on every
    server back to back, the servers in reverse order in even rounds."""
    plan = []
    for rnd in range(1, rounds + 1):
        names = servers if rnd % 2 else servers[::-1]
        for key in order:
            if only_sc is not None and key not in only_sc:
                continue
            for name in names:
                plan += [(name, sc, rnd) for sc in scenarios(name) if sc.key == key]
    return plan


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")))
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--only", default="", help="comma-separated servers")
    ap.add_argument("--scenarios", default="", help="comma-separated scenario keys")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    args.out = os.path.abspath(args.out or os.path.join(args.build, "bench"))
    if args.rounds is None:
        args.rounds = 1 if args.quick else int(os.environ.get("BENCH_ROUNDS") or 3)
    args.secs, args.warmup = (0.6, 0.3) if args.quick else (2.0, 0.5)
    args.hold_secs = 0.3 if args.quick else 1.0
    # Datagram scenarios: more, shorter paired rounds, so that each ratio
    # gets a bootstrap interval from one run (BENCH_DGRAM_ROUNDS).
    args.dgram_rounds = int(os.environ.get("BENCH_DGRAM_ROUNDS") or (2 if args.quick else 5))
    args.dgram_secs, args.dgram_warmup = (0.5, 0.3) if args.quick else (1.2, 0.4)
    args.reply_timeout = 0.2
    # HTTP scenarios: paired rounds of their own (BENCH_HTTP_ROUNDS, 5; 2 in
    # quick mode), windows of BENCH_HTTP_SECS (2 s; 1 in quick mode).
    http_bench.init(sys.modules[__name__])
    http_bench.configure(args)
    # Re-runs of windows with more than max_steal % stolen CPU: a budget
    # that keeps quick under 3 minutes and full under 20.  Even 7% stolen
    # inflated a window's CPU per round trip by 20% or more on these
    # machines, while most windows see under 2%.
    args.max_steal = 3.0
    args.max_attempts = 5
    args.retries = 8 if args.quick else 60
    # The re-runs get this long after the plan (seconds).
    args.retry_budget = 40 if args.quick else 180
    # After a disturbed run, the next one waits (up to calm_wait seconds,
    # calm_budget in all) for a second with little stolen: the theft comes
    # in bursts, and a run inside one is a run to repeat.
    args.calm_wait = 5 if args.quick else 30
    args.calm_budget = 20 if args.quick else 150

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    servers = MODELS + PEERS + WORKER_SERVERS
    dgram_servers = MODELS + DGRAM_PEERS
    http_servers = list(http_bench.SERVERS)
    if args.only:
        servers = [s for s in servers if s in args.only.split(",")]
        dgram_servers = [s for s in dgram_servers if s in args.only.split(",")]
        http_servers = [s for s in http_servers if s in args.only.split(",")]
    args.http_servers = http_servers
    only_sc = set(args.scenarios.split(",")) if args.scenarios else None
    rawdir = os.path.join(args.out, "raw")
    shutil.rmtree(rawdir, ignore_errors=True)
    os.makedirs(os.path.join(rawdir, "logs"), exist_ok=True)
    for tool in ("dispatchd", "dispatchd-bench", "bench/peers/epoll-echo",
                 "bench/peers/uv-echo", "bench/peers/ev-echo", "bench/peers/mmsg-echo",
                 "bench/peers/uring-echo"):
        if not os.access(os.path.join(args.build, tool), os.X_OK):
            sys.exit(f"bench: {args.build}/{tool} missing: run `make bench-tools` first")
    if shutil.which("socat") is None:
        for name, lst in (("socat", servers), ("socat-udp", dgram_servers)):
            if name in lst:
                print(f"bench: socat not installed: no {name} rows", file=sys.stderr)
                lst.remove(name)
    if shutil.which("xinetd") is None and "xinetd" in dgram_servers:
        print("bench: xinetd not installed: no xinetd rows", file=sys.stderr)
        dgram_servers.remove("xinetd")
    if shutil.which("perf") is None:
        print("bench: perf not installed: no system call counts", file=sys.stderr)
    if http_servers and (only_sc is None or only_sc & set(http_bench.ORDER)):
        lacking = http_bench.missing_tools(http_servers, only_sc)
        if lacking and only_sc is not None:
            sys.exit(f"bench: the HTTP scenarios need {', '.join(lacking)}: "
                     "run `make bench-deps`")
        if lacking:
            print(f"bench: {', '.join(lacking)} not installed (make bench-deps): "
                  "no HTTP scenarios", file=sys.stderr)
            http_servers.clear()

    # Each round runs one scenario on every server back to back, so the
    # servers a target compares are measured seconds apart, not minutes:
    # the host's load drifts and comes in bursts, and this way a burst
    # lands on both sides of a comparison or on neither.  Even rounds run
    # the servers in reverse, so no server always goes first or last.
    plan = paired_plan(args.rounds, servers, SCENARIO_ORDER, only_sc,
                       lambda name: scenarios_for(name, args.quick))
    # The datagram scenarios after the stream ones, in rounds of their own.
    plan += paired_plan(args.dgram_rounds, dgram_servers, DGRAM_ORDER, only_sc,
                        dgram_scenarios_for)
    # The HTTP file-server scenarios last, in paired rounds of their own.
    plan += paired_plan(args.http_rounds, http_servers, http_bench.ORDER, only_sc,
                        http_bench.scenarios_for)
    print(f"bench: {len(plan)} runs, {args.rounds} round(s) of streams, "
          f"{args.dgram_rounds} of datagrams, {args.http_rounds} of HTTP, "
          f"{'quick' if args.quick else 'full'} mode; results in {args.out}", flush=True)
    t_start = time.time()
    runs = []
    jsonl = open(os.path.join(rawdir, "results.jsonl"), "w")

    def attempt(name, sc, rnd, n):
        try:
            res = run_one(args, name, sc, rnd, rawdir)
        except (RuntimeError, OSError) as e:
            res = {"server": name, "scenario": sc.key, "round": rnd, "ok": False,
                   "note": str(e)}
        res["attempt"] = n
        jsonl.write(json.dumps(res) + "\n")
        jsonl.flush()
        return res

    def disturbed(res):
        # hold is judged on memory, and no target looks at iterative:
        # the retry budget goes to the figures the targets compare.
        return (res.get("ok") and (res.get("steal_pct") or 0.0) > args.max_steal
                and res.get("scenario") != "hold" and res.get("server") != "iterative")

    def report(tag, name, sc, rnd, res):
        unit = sc.unit if sc.mode in http_bench.MODES else {
            "pingpong": "rt", "lines": "line", "bulk": "MiB", "connrate": "conn",
            "hold": "ping", "udp": "req", "flood": "dgram"}[sc.mode]
        extra = ""
        if sc.mode == "hold" and res.get("kib_per_conn") is not None:
            extra = (f", {res.get('answered', 0):.0f}/{sc.conns} answered, "
                     f"{res['kib_per_conn']:.3f} KiB/conn")
        if sc.mode == "udp" and res.get("sent"):
            extra = f", {res.get('lost') or 0:.0f} lost, {res.get('bad') or 0:.0f} wrong"
        if sc.mode == "flood" and res.get("sent"):
            extra = f", {100.0 * (res.get('kdrops') or 0) / res['sent']:.1f}% dropped"
        status = "ok" if res.get("ok") else f"FAILED: {res.get('note')}"
        if disturbed(res):
            status += f" ({res.get('steal_pct')}% stolen: to run again)"
        elif res.get("attempt", 1) > 1:
            status += f" (attempt {res['attempt']}, {res.get('steal_pct')}% stolen)"
        print(f"[{tag} {time.time() - t_start:5.0f}s] {name:16} {sc.key:10} r{rnd}: "
              f"{fmt_rate(res.get('rate'))} {unit}/s, "
              f"{fmt_num(res.get('cpu_us_per_op'))} µs CPU/{unit}, "
              f"{fmt_num(res.get('syscalls_per_op'))} syscalls/{unit}{extra} {status}",
              flush=True)

    waited = 0.0

    def calm(limit):
        nonlocal waited
        waited += wait_calm(args.max_steal, limit)

    try:
        pending = []
        for i, (name, sc, rnd) in enumerate(plan):
            if runs and (runs[-1].get("steal_pct") or 0.0) > args.max_steal:
                calm(time.time() + min(args.calm_wait, args.calm_budget - waited))
            res = attempt(name, sc, rnd, 1)
            runs.append(res)
            report(f"{i + 1}/{len(plan)}", name, sc, rnd, res)
            if disturbed(res):
                pending.append(i)
        # A window the hypervisor stole much of inflates every CPU figure
        # (the stolen time is charged to whoever was running), and the
        # theft comes in bursts of a minute or more: such runs are run
        # again after the whole plan, pass after pass, within a budget,
        # and the least disturbed attempt is kept.
        retries_left = args.retries
        args.retry_until = time.time() - t_start + args.retry_budget
        while pending and retries_left > 0 and time.time() - t_start < args.retry_until:
            again = []
            for i in pending:
                name, sc, rnd = plan[i]
                if retries_left <= 0 or time.time() - t_start >= args.retry_until:
                    break
                retries_left -= 1
                calm(min(time.time() + args.calm_wait, t_start + args.retry_until))
                res = attempt(name, sc, rnd, runs[i]["attempt"] + 1)
                if res.get("ok") and (res.get("steal_pct") or 0.0) < (runs[i].get("steal_pct") or 0.0):
                    runs[i] = res
                else:
                    runs[i]["attempt"] = res["attempt"]
                report(f"again {args.retries - retries_left}/{args.retries}", name, sc, rnd,
                       runs[i])
                if disturbed(runs[i]) and runs[i]["attempt"] < args.max_attempts:
                    again.append(i)
            pending = again
    finally:
        jsonl.close()
        end_all()
        http_bench.cleanup(args)
    elapsed = time.time() - t_start
    args.calm_waited = waited
    table = summarize(runs)
    # The chart is of the pingpong scenarios: none when none ran (a
    # datagram or HTTP subset).
    chart_err = (write_chart(table, servers, args.out)
                 if any(k.startswith("pp") for _, k in table) else "")
    write_markdown(args, table, servers, dgram_servers, runs, elapsed, args.out, chart_err)
    print(f"bench: done in {elapsed / 60:.1f} min: {os.path.join(args.out, 'results.md')}")
    if any(sc.key in SCENARIO_ORDER for _, sc, _ in plan):
        for t, m, w in check_targets(table, args.quick):
            print(f"  {w:8} {t}: {m}")
        if "io_uring" in servers:
            for t, m, w in uring_targets(table, runs):
                print(f"  {w:8} {t}: {m}")
    if any(sc.key in DGRAM_ORDER for _, sc, _ in plan):
        for t, m, w in dgram_targets(table, runs):
            print(f"  {w:8} {t}: {m}")
    if any(sc.key in http_bench.ORDER for _, sc, _ in plan):
        for t, m, w in http_bench.targets(table, runs):
            print(f"  {w:8} {t}: {m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
