"""http_bench.py - the HTTP file-server scenarios of `make bench` (run.py).

dispatchd's `files` handler under four models against Python's http.server
(ThreadingHTTPServer), busybox httpd (a child forked per connection),
lighttpd and nginx (one worker), each serving the same directory:

    http1k        1 KiB file, keep-alive:         wrk -t1 -c16 -dNs
    http1m        1 MiB file, keep-alive:         wrk -t1 -c4 -dNs    (MiB/s)
    http1k-close  1 KiB file, one connection
                  per request:                    ab -t N -c 8        (no -k)

The servers run in paired rounds like the datagram scenarios (run.py's
paired_plan: each round runs one scenario on every server back to back,
reversed in even rounds), and every target is a paired ratio with its 95%
bootstrap interval against a bound (run.py's boot_median, bound_verdict).

Server CPU covers the server's whole process tree over the load tool's run,
from a cgroup of its own (class Cgroup: accounting only, no controller
enabled) that the server enters before it executes: the kernel charges every
process and thread the server ever makes as it runs, to its last
instruction, whether or not anybody waits for it.  That matters for busybox
httpd, which ignores SIGCHLD: the kernel reaps its children itself and their
CPU never reaches its cutime/cstime.  Two other figures are kept beside it in
raw/results.jsonl, and stand in when no cgroup can be made (in this order):
perf's task-clock (cpu_perf_us_per_op), inherited by the processes and
threads born in the window but short by about 30 us of every child that
exits (measured: fork+exit children of a parent pinned to one CPU, cgroup
and /proc near the loop's wall time, perf 25% lower), and /proc's
utime+stime+cutime+cstime of the tree (cpu_proc_us_per_op; none for a server
that ignores SIGCHLD).
System calls: `perf stat -e raw_syscalls:sys_enter` attached to every
process of the tree before the window (started disabled, enabled and
disabled through its control FIFO at the window's edges); the counters are
inherited by processes and threads born later.

run.py calls init(itself) before anything else here.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
R = None   # run.py, the module: start_server, end_group, LIVE, boot_median, ...
TEMP = set()   # directories made here and not yet removed (cleanup() removes them)
TEMP_CGROUPS = set()   # accounting cgroups not yet removed


def init(run_module):
    global R
    R = run_module


MODELS = ["epoll", "io_uring", "thread", "fork"]
PEERS = ["nginx", "lighttpd", "busybox-httpd", "python-http"]
SERVERS = MODELS + PEERS
ANCHOR = "nginx"          # every ratio in the tables is to nginx
ORDER = ["http1k", "http1m", "http1k-close"]
TITLES = {"http1k": "1 KiB keep-alive", "http1m": "1 MiB keep-alive",
          "http1k-close": "1 KiB conn/request"}
FILES = {"http1k": ("1k.bin", 1024), "http1m": ("1m.bin", 1 << 20),
         "http1k-close": ("1k.bin", 1024)}
MODES = ("wrk", "ab")
# What each peer needs installed (Debian packages in bench.mk).
PEER_TOOLS = {"nginx": "nginx", "lighttpd": "lighttpd", "busybox-httpd": "busybox"}
LOAD_TOOLS = {"wrk": "wrk (Debian package wrk)", "ab": "ab (Debian package apache2-utils)"}


def scenarios_for(name):
    S = R.Scenario
    return [S("http1k", TITLES["http1k"], "wrk", 16, 1024, "files", "req"),
            S("http1m", TITLES["http1m"], "wrk", 4, 1 << 20, "files", "MiB"),
            S("http1k-close", TITLES["http1k-close"], "ab", 8, 1024, "files", "req")]


def configure(args):
    """Sets args.http_*: rounds (BENCH_HTTP_ROUNDS), window, warm-up."""
    args.http_rounds = int(os.environ.get("BENCH_HTTP_ROUNDS") or (2 if args.quick else 5))
    # wrk and ab take whole seconds.
    args.http_secs = int(os.environ.get("BENCH_HTTP_SECS") or (1 if args.quick else 2))
    args.http_root = None


def missing_tools(servers, only_sc):
    """Drops the servers whose program is missing (with a line saying so);
    returns a list of what is missing for the scenarios asked for."""
    for name, prog in PEER_TOOLS.items():
        if name in servers and shutil.which(prog) is None:
            print(f"bench: {prog} not installed (make bench-deps): no {name} rows",
                  file=sys.stderr)
            servers.remove(name)
    keys = [k for k in ORDER if only_sc is None or k in only_sc]
    need = set()
    if any(k != "http1k-close" for k in keys):
        need.add("wrk")
    if "http1k-close" in keys:
        need.add("ab")
    return [LOAD_TOOLS[t] for t in sorted(need) if shutil.which(t) is None]


def docroot(args):
    """The directory every server serves (made once per bench run): 1k.bin
    and 1m.bin, random bytes, readable by anybody (nginx's worker runs as
    nobody when the bench runs as root)."""
    if args.http_root is None:
        d = mkdtemp("dispatchd-bench-http.")
        os.chmod(d, 0o755)
        for fname, size in set(FILES.values()):
            path = os.path.join(d, fname)
            with open(path, "wb") as f:
                f.write(os.urandom(size))
            os.chmod(path, 0o644)
        args.http_root = d
    return args.http_root


def mkdtemp(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    TEMP.add(d)
    return d


def rmtree(d):
    shutil.rmtree(d, ignore_errors=True)
    TEMP.discard(d)


def cleanup(args=None):
    """Removes the document root and whatever a run interrupted left."""
    for d in list(TEMP):
        rmtree(d)
    for d in list(TEMP_CGROUPS):
        try:
            os.rmdir(d)
        except OSError:
            pass
        TEMP_CGROUPS.discard(d)
    if args is not None:
        args.http_root = None


def server_argv(name, build, root, workdir):
    py = sys.executable or "python3"
    peers = os.path.join(HERE, "peers")
    if name in MODELS:
        return [os.path.join(build, "dispatchd"), "-m", name, "-H", "files",
                "-l", "127.0.0.1:0", "--files-root", root]
    return {
        "nginx": ["sh", os.path.join(peers, "nginx-http.sh"), root, "0", workdir],
        "lighttpd": ["sh", os.path.join(peers, "lighttpd-http.sh"), root, "0", workdir],
        "busybox-httpd": ["sh", os.path.join(peers, "busybox-httpd.sh"), root, "0", workdir],
        "python-http": [py, os.path.join(peers, "pyhttp.py"), root, "0"],
    }[name]


# ---------------------------------------------------------------- the server's CPU

TICK_NS = 1e9 / os.sysconf("SC_CLK_TCK")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def pstat(pid):
    """(ppid, utime+stime ticks, cutime+cstime ticks) of pid, or None."""
    s = read(f"/proc/{pid}/stat")
    if s is None:
        return None
    f = s[s.rfind(")") + 2:].split()
    try:
        return int(f[1]), int(f[11]) + int(f[12]), int(f[13]) + int(f[14])
    except (IndexError, ValueError):
        return None


def tree_pids(root):
    """root and its descendants, root first ([] when root is gone)."""
    par = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            p = pstat(int(d))
            if p is not None:
                par[int(d)] = p[0]
    if root not in par:
        return []
    out = [root]
    i = 0
    while i < len(out):
        out += [p for p, pp in par.items() if pp == out[i]]
        i += 1
    return out


def snap(root):
    """The tree's CPU at one instant from /proc: (utime+stime+cutime+cstime
    of its processes in ns, the set of live tasks, processes).  Ticks (10 ms)
    and not schedstat: a process's utime and stime keep its exited threads'
    time, and a thread per connection may come and go between two snaps that
    see the same tasks (run.py's probe takes schedstat then)."""
    stat_t = 0
    tasks = set()
    pids = tree_pids(root)
    for pid in pids:
        p = pstat(pid)
        if p is None:
            continue
        stat_t += p[1] + p[2]
        try:
            tasks.update(int(t) for t in os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return stat_t * TICK_NS, frozenset(tasks), len(pids)


def proc_cpu_ns(s0, s1):
    """(ns, method) between two snaps."""
    if s1[2] == 0:
        return None, "none"
    return s1[0] - s0[0], "stat"


def ignores_sigchld(pid):
    s = read(f"/proc/{pid}/status") or ""
    m = re.search(r"^SigIgn:\s*([0-9a-fA-F]+)", s, re.M)
    return bool(m and int(m.group(1), 16) & (1 << (signal.SIGCHLD - 1)))


class Cgroup:
    """A cgroup of its own for one server, used for accounting only: made
    under the bench's own cgroup, in cgroup v2 (its cpu.stat is there
    without any controller, and none is enabled for it) or else in v1's
    cpuacct hierarchy.  The server enters it before it executes (enter(),
    a preexec_fn), so every process and thread it ever makes is in it, and
    the kernel charges their run time to it as they run, up to their last
    instruction, whether or not anybody waits for them.  usable is False
    when no such cgroup can be made (not root, no cgroup file system)."""

    def __init__(self, tag):
        self.dir = self.kind = None
        if os.environ.get("BENCH_HTTP_NO_CGROUP"):
            return
        for kind, mount, rel in self.candidates():
            d = os.path.join(mount, rel.lstrip("/"), f"dispatchd-bench-{tag}-{os.getpid()}")
            try:
                os.mkdir(d)
            except OSError:
                continue
            if os.path.exists(os.path.join(d, "cpu.stat" if kind == 2 else "cpuacct.usage")):
                self.dir, self.kind = d, kind
                TEMP_CGROUPS.add(d)
                return
            os.rmdir(d)

    @staticmethod
    def candidates():
        mounts = {}
        for line in (read("/proc/self/mounts") or "").splitlines():
            f = line.split()
            if len(f) >= 4 and f[2] == "cgroup2":
                mounts.setdefault(2, f[1])
            elif (len(f) >= 4 and f[2] == "cgroup" and "cpuacct" in f[3].split(",")
                  and "cpu" not in f[3].split(",")):
                # cpuacct alone: accounting only (mounted with cpu, a group
                # of its own would get a CPU share of its own too).
                mounts.setdefault(1, f[1])
        out = []
        for line in (read("/proc/self/cgroup") or "").splitlines():
            hid, ctrls, path = line.split(":", 2)
            if hid == "0" and 2 in mounts:
                out.insert(0, (2, mounts[2], path))
            elif "cpuacct" in ctrls.split(",") and 1 in mounts:
                out.append((1, mounts[1], path))
        return out

    @property
    def usable(self):
        return self.dir is not None

    def enter(self):
        """In the server's process, before it executes."""
        if self.dir:
            with open(os.path.join(self.dir, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def usage_ns(self):
        if self.kind == 2:
            m = re.search(r"^usage_usec (\d+)", read(os.path.join(self.dir, "cpu.stat")) or "",
                          re.M)
            return int(m.group(1)) * 1000.0 if m else None
        if self.kind == 1:
            v = read(os.path.join(self.dir, "cpuacct.usage"))
            return float(v) if v else None
        return None

    def remove(self):
        """Once the server's processes are gone (a zombie or an exiting
        task still holds it for a moment)."""
        if self.dir is None:
            return
        for _ in range(100):
            try:
                os.rmdir(self.dir)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)
        TEMP_CGROUPS.discard(self.dir)
        self.dir = None


class Perf:
    """perf stat on a process tree, events disabled until start(): the
    tree's CPU (task-clock) and system calls between start() and stop()."""

    EVENTS = "task-clock,raw_syscalls:sys_enter"

    def __init__(self, root, log):
        self.proc = None
        self.counts = {}
        self.dir = mkdtemp("dispatchd-bench-perf.")
        self.out = os.path.join(self.dir, "perf.out")
        ctl, ack = os.path.join(self.dir, "ctl"), os.path.join(self.dir, "ack")
        os.mkfifo(ctl, 0o600)
        os.mkfifo(ack, 0o600)
        self.ctl = os.open(ctl, os.O_RDWR | os.O_CLOEXEC)
        self.ack = os.open(ack, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        if shutil.which("perf") is None:
            return
        # A process listed that is gone before perf attaches makes perf
        # fail: list the tree again, then the root alone.
        for attempt in range(3):
            pids = tree_pids(root) if attempt < 2 else [root]
            if not pids:
                return
            if self.spawn(pids, log):
                return

    def spawn(self, pids, log):
        argv = ["perf", "stat", "-D", "-1", "-e", self.EVENTS, "-x", ",", "-o", self.out,
                "-p", ",".join(map(str, pids)), "--control",
                f"fifo:{os.path.join(self.dir, 'ctl')},{os.path.join(self.dir, 'ack')}"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     start_new_session=True)
        R.LIVE[self.proc.pid] = "perf"
        if self.command("disable"):     # its ack says perf has attached
            return True
        self.end()
        return False

    def command(self, cmd, wait=15.0):
        if self.proc is None:
            return False
        os.write(self.ctl, (cmd + "\n").encode())
        deadline = time.time() + wait
        buf = b""
        while time.time() < deadline:
            try:
                buf += os.read(self.ack, 64)
                if b"ack" in buf:
                    return True
            except BlockingIOError:
                pass
            if self.proc.poll() is not None:
                return False
            time.sleep(0.002)
        return False

    def end(self):
        if self.proc is None:
            return
        try:
            self.proc.send_signal(signal.SIGINT)   # perf writes its counts on SIGINT
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            R.end_group(self.proc.pid)
        except ProcessLookupError:
            pass
        R.LIVE.pop(self.proc.pid, None)
        self.proc = None

    def start(self):
        if self.proc is not None and not self.command("enable"):
            self.end()

    def stop(self):
        """{event: count} over the window; task-clock in ns."""
        counted = self.proc is not None and self.command("disable")
        self.end()
        if counted:
            for line in (read(self.out) or "").splitlines():
                f = line.split(",")
                if len(f) < 3 or not f[0] or not (f[0][0].isdigit()):
                    continue
                v = float(f[0])
                if f[2] == "task-clock":
                    v *= {"msec": 1e6, "usec": 1e3, "nsec": 1.0, "sec": 1e9}.get(f[1], 1e6)
                self.counts[f[2]] = v
        return self.counts

    def close(self):
        self.end()
        os.close(self.ctl)
        os.close(self.ack)
        rmtree(self.dir)


# ---------------------------------------------------------------- one run

WRK_RE = re.compile(r"^WRK (.*)$", re.M)


def parse_wrk(text, size):
    m = WRK_RE.search(text)
    if not m:
        return None
    v = {k: float(x) for k, x in (t.split("=") for t in m.group(1).split())}
    secs = v["duration_us"] / 1e6
    n = v["requests"]
    errs = v["connect"] + v["read"] + v["write"] + v["status"] + v["timeout"]
    return {"requests": n, "secs": secs, "errors": errs, "bytes": v["bytes"],
            "p50_us": v["p50_us"], "p99_us": v["p99_us"], "p999_us": v["p999_us"],
            "note": (f"wrk: {int(v['connect'])} connect, {int(v['read'])} read, "
                     f"{int(v['write'])} write, {int(v['status'])} status, "
                     f"{int(v['timeout'])} timeout errors" if errs else "")}


def parse_ab(text, size):
    def num(label):
        m = re.search(r"^" + re.escape(label) + r":\s+([0-9.]+)", text, re.M)
        return float(m.group(1)) if m else None
    n, secs = num("Complete requests"), num("Time taken for tests")
    if n is None or secs is None:
        return None
    failed = (num("Failed requests") or 0) + (num("Non-2xx responses") or 0)
    body = num("HTML transferred") or 0

    def pct(q):
        m = re.search(r"^\s+" + q + r"%\s+(\d+)", text, re.M)
        return float(m.group(1)) * 1000 if m else None
    return {"requests": n, "secs": secs, "errors": failed, "bytes": body,
            "p50_us": pct("50"), "p99_us": pct("99"), "p999_us": None,
            "note": f"ab: {failed:.0f} failed or non-2xx" if failed else ""}


def load_argv(sc, url, secs):
    if sc.mode == "wrk":
        return ["wrk", "-t1", f"-c{sc.conns}", f"-d{secs}s", "--timeout", "5s",
                "-s", os.path.join(HERE, "peers", "wrk-report.lua"), url]
    # -t: a time limit; -n: the most requests (ab keeps a record of each,
    # so no more than a fast server makes in the window).
    return ["ab", "-q", "-t", str(secs), "-n", "400000", "-c", str(sc.conns), url]


def warm_argv(sc, url):
    """A short burst before the window (file in the page cache, the server's
    first-request work done).  Without -k: ab's keep-alive waits for a
    "Connection: keep-alive" in the response, which HTTP/1.1 servers such
    as Python's need not send, until its 30 s timeout."""
    n = 40 if sc.size >= (1 << 20) else 400
    return ["ab", "-q", "-n", str(n), "-c", str(sc.conns), url]


def run_tool(argv, limit):
    """(returncode, output) of a load tool run in its own session."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True, cwd=R.ROOT)
    R.LIVE[p.pid] = argv[0]
    try:
        out, _ = p.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        R.end_group(p.pid)
        out, _ = p.communicate()
        out += f"\nbench: {argv[0]} timed out\n".encode()
    R.LIVE.pop(p.pid, None)
    return p.returncode, out.decode("utf-8", "replace")


def settle(pid, baseline, limit=3.0):
    """Waits (at most limit s) until the tree is back to its processes and
    threads after start-up: the warm-up's children and threads gone."""
    deadline = time.time() + limit
    while time.time() < deadline:
        s = snap(pid)
        if s[2] <= baseline[0] and len(s[1]) <= baseline[1]:
            return True
        time.sleep(0.02)
    return False


def run_one(args, name, sc, rnd, rawdir):
    """One server, one HTTP scenario, one round: the result dict (with 'ok')."""
    tag = f"{name}_{sc.key}_r{rnd}"
    root = docroot(args)
    workdir = mkdtemp(f"dispatchd-bench-{tag}.")
    os.chmod(workdir, 0o755)
    argv = server_argv(name, args.build, root, workdir)
    log_path = os.path.join(rawdir, "logs", tag + ".log")
    cg = Cgroup(tag)
    for attempt in range(3):    # a free port picked for a peer may be taken first
        try:
            server, port = R.start_server(argv, log_path,
                                          preexec_fn=cg.enter if cg.usable else None)
            break
        except RuntimeError:
            if attempt == 2:
                rmtree(workdir)
                cg.remove()
                raise
    pid = server.pid
    fname, size = FILES[sc.key]
    url = f"http://127.0.0.1:{port}/{fname}"
    res = {"ok": False}
    transcript = ["$ " + " ".join(argv)]
    perf = None
    try:
        # Its processes and threads once it serves (nginx: the master and
        # its worker), before any connection came.
        s = snap(pid)
        baseline = (s[2], len(s[1]))
        warm = warm_argv(sc, url)
        rc, out = run_tool(warm, 60)
        transcript += ["$ " + " ".join(warm), out.strip()]
        if rc != 0:
            res["note"] = "warm-up failed: " + (out.strip().splitlines() or ["?"])[-1]
            return res
        settle(pid, baseline)
        with open(log_path, "ab") as plog:
            perf = Perf(pid, plog)
        cmd = load_argv(sc, url, args.http_secs)
        t0, st0 = R.cpu_ticks()
        perf.start()
        s0 = snap(pid)
        c0 = cg.usage_ns()
        w0 = time.time()
        rc, out = run_tool(cmd, 60 + args.http_secs)
        wall = time.time() - w0
        c1 = cg.usage_ns()
        s1 = snap(pid)
        counts = perf.stop()
        t1, st1 = R.cpu_ticks()
        transcript += ["$ " + " ".join(cmd), out.strip()]
        r = (parse_wrk if sc.mode == "wrk" else parse_ab)(out, size)
        if r is None:
            res["note"] = f"{cmd[0]} exit {rc}: " + (out.strip().splitlines() or ["no output"])[-1]
            return res
        n = r["requests"]
        ops = n * size / (1 << 20) if sc.unit == "MiB" else n
        proc_ns, _ = proc_cpu_ns(s0, s1)
        if ignores_sigchld(pid):
            proc_ns = None      # its children's CPU went nowhere /proc shows
        cg_ns = c1 - c0 if c0 is not None and c1 is not None else None
        perf_ns = counts.get("task-clock")
        # The cgroup's figure when there is one.  Else perf's for every
        # server alike: it misses about 30 µs of each short-lived child
        # (README), but of busybox's as of dispatchd's fork model, where
        # /proc would count the one's children and not the other's.  /proc
        # last (none for a server that ignores SIGCHLD).
        cpu_ns, method = next(((x, m) for x, m in ((cg_ns, "cgroup"),
                                                   (perf_ns, "perf task-clock"),
                                                   (proc_ns, "/proc"))
                               if x is not None), (None, "none"))
        sysc = counts.get("raw_syscalls:sys_enter")
        res.update({
            "rate": ops / r["secs"] if r["secs"] > 0 else None,
            "req_per_s": n / r["secs"] if r["secs"] > 0 else None,
            "ops": ops, "requests": n,
            "cpu_us_per_op": cpu_ns / 1e3 / ops if cpu_ns is not None and ops else None,
            "cpu_cg_us_per_op": cg_ns / 1e3 / ops if cg_ns is not None and ops else None,
            "cpu_proc_us_per_op": proc_ns / 1e3 / ops if proc_ns is not None and ops else None,
            "cpu_perf_us_per_op": perf_ns / 1e3 / ops if perf_ns is not None and ops else None,
            "syscalls_per_op": sysc / ops if sysc is not None and ops else None,
            "server_cpu_pct": 100.0 * cpu_ns / 1e9 / wall if cpu_ns is not None else None,
            "steal_pct": round(100.0 * (st1 - st0) / (t1 - t0), 1) if t1 > t0 else 0.0,
            "p50_us": r["p50_us"], "p99_us": r["p99_us"], "p999_us": r["p999_us"],
            "errors": r["errors"], "bytes_per_req": r["bytes"] / n if n else None,
            "procs": s1[2], "threads": len(s1[1]), "cpu_method": method,
            "conns": sc.conns, "note": r["note"],
        })
        # Every response whole: wrk counts the bytes it read (heads
        # included), ab the bodies.
        whole = n > 0 and r["bytes"] >= n * size
        if not whole and not res["note"]:
            res["note"] = f"short responses: {r['bytes']:.0f} bytes for {n:.0f}"
        res["ok"] = rc == 0 and r["errors"] == 0 and whole
        transcript.append(f"# server CPU {fmt(cpu_ns)} ns ({method}): cgroup {fmt(cg_ns)}, "
                          f"/proc {fmt(proc_ns)}, perf {fmt(perf_ns)}; system calls "
                          f"{fmt(sysc)}; {n:.0f} requests in {r['secs']:.3f} s")
    finally:
        if perf is not None:
            perf.close()
        alive = server.poll() is None
        if not alive:
            res["ok"] = False
            res["note"] = (res.get("note") or "") + " [server died]"
        R.end_group(pid)
        cg.remove()
        rmtree(workdir)
        with open(os.path.join(rawdir, tag + ".txt"), "w") as f:
            f.write("\n".join(transcript) + "\n")
        res.update({"server": name, "scenario": sc.key, "round": rnd})
    return res


def fmt(v):
    return "–" if v is None else f"{v:.0f}"


# ---------------------------------------------------------------- targets, report

def targets(table, runs):
    """[(target, measured, verdict)] of the issue, each a paired ratio (the
    median of the rounds' ratios, its 95% bootstrap interval) against a
    bound: MET when the whole interval is on the right side, NOT MET when
    all of it is on the wrong side, else TIE."""
    out = []
    v = lambda n, k, f: R.cell_value(table, n, k, f)

    def one(title, a, b, key, field, bound, below, fmtv):
        ci = R.boot_median(R.paired_ratios(runs, a, key, field, b))
        out.append((title, f"{a} {fmtv(v(a, key, field))}, {b} {fmtv(v(b, key, field))};"
                    f"{R.fmt_ci(ci) or ' not paired'}", R.bound_verdict(ci, bound, below)))

    us = lambda x: "–" if x is None else f"{x:.2f} µs"
    rps = lambda x: "–" if x is None else f"{R.fmt_rate(x)}/s"
    mibs = lambda x: "–" if x is None else f"{x:.0f} MiB/s"
    one("epoll CPU/request ≤ 1.1× nginx's, 1 KiB keep-alive", "epoll", "nginx", "http1k",
        "cpu_us_per_op", 1.1, True, us)
    one("epoll CPU/request ≤ 0.1× python-http's, 1 KiB keep-alive", "epoll", "python-http",
        "http1k", "cpu_us_per_op", 0.1, True, us)
    one("fork CPU/request < busybox-httpd's, 1 KiB conn/request", "fork", "busybox-httpd",
        "http1k-close", "cpu_us_per_op", 1.0, True, us)
    one("thread requests/s ≥ 10× python-http's, 1 KiB keep-alive", "thread", "python-http",
        "http1k", "rate", 10.0, False, rps)
    one("thread requests/s ≥ 10× python-http's, 1 KiB conn/request", "thread", "python-http",
        "http1k-close", "rate", 10.0, False, rps)
    one("epoll MiB/s ≥ nginx's, 1 MiB keep-alive", "epoll", "nginx", "http1m", "rate", 1.0,
        False, mibs)
    return out


def markdown(args, table, runs, servers):
    keys = [k for k in ORDER if any((s, k) in table for s in servers)]
    if not keys:
        return []
    A = ANCHOR
    shown = [s for s in servers if any((s, k) in table for k in keys)]
    hdr = ["| server | " + " | ".join(TITLES[k] for k in keys) + " |",
           "|---|" + "---:|" * len(keys)]

    def tab(field, fmtf, with_ci):
        L = list(hdr)
        for name in shown:
            row = [R.dgram_cell(table, runs, name, k, field, fmtf, A if with_ci else name)
                   for k in keys]
            L.append(f"| {name} | " + " | ".join(row) + " |")
        return "\n".join(L)

    L = ["## HTTP file server\n",
         f"- {args.http_rounds} paired round(s) (`BENCH_HTTP_ROUNDS`): each round runs one "
         "scenario on every server back to back, in reverse order in even rounds; a fresh "
         f"server per run, warmed by a short `ab` burst, then a {args.http_secs} s window",
         "- 1 KiB keep-alive: `wrk -t1 -c16`; 1 MiB keep-alive: `wrk -t1 -c4` (MiB/s of "
         "bodies); 1 KiB conn/request: `ab -c 8` without `-k` (HTTP/1.0, a connection per "
         "request); every response checked for status and length (wrk's error counts and "
         "bytes read, ab's failed and non-2xx counts)",
         "- servers: dispatchd `-H files` under each model; nginx and lighttpd (one process "
         "serving; sendfile on; no access log; keep-alive requests per connection 100000); "
         "busybox httpd (a child forked per connection, one request each: it answers "
         "`Connection: close`, so wrk reconnects for every request); Python's "
         "ThreadingHTTPServer (HTTP/1.1, TCP_NODELAY, no request log; it has no sendfile); "
         "see tests/bench/README.md",
         "- server CPU: the whole process tree over the load tool's run, from a cgroup the "
         "server enters before it executes (every process and thread it makes, busybox's "
         "kernel-reaped children included); system calls: `perf stat -e "
         "raw_syscalls:sys_enter` on the tree, inherited by the processes and threads "
         "born in the window; per request, per MiB for 1 MiB" + (
             "" if all(r.get("cpu_method") in (None, "cgroup") for r in runs
                       if r.get("scenario") in ORDER) else
             " (CPU method per run: `cpu_method` in raw/results.jsonl; not every run had "
             "a cgroup)"),
         f"- `(0.95× [0.90, 1.01])` = the median over the rounds of the ratio to {A} measured "
         "in the same round, with its 95% bootstrap interval\n",
         "### Rate\n", "requests/s (1 KiB), MiB/s (1 MiB)\n",
         tab("rate", R.fmt_rate, True) + "\n",
         "### Server CPU per request (µs)\n", "per MiB for 1 MiB (one request)\n",
         tab("cpu_us_per_op", lambda x: R.fmt_num(x, 2), True) + "\n",
         "### Server system calls per request\n",
         tab("syscalls_per_op", lambda x: R.fmt_num(x, 2), False) + "\n",
         "### p99 latency\n",
         tab("p99_us", R.fmt_us, False) + "\n",
         "### Targets (HTTP)\n",
         "| target | measured | verdict |", "|---|---|---|"]
    for t, m, w in targets(table, runs):
        L.append(f"| {t} | {m} | {w} |")
    L.append("")
    return L
