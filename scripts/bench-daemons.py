#!/usr/bin/env python3
"""Daemon benchmark: Brine's `master serve` + N `minion serve` against Salt's
salt-master + N salt-minions, all on loopback in this machine, each side with
its own temp dirs, ports and configs (Salt runs as the current user with
`root_dir` and `user` set, so nothing touches /etc/salt).

For each minion count (--minions 1,50) both fleets are started, keys admitted
(Brine: `master keys accept --all` once every minion is pending; Salt:
`auto_accept: True`) and every minion must answer a ping before anything is
measured. Then, alternating the two tools in each round (and which one goes
first), the wall time of the operator command for:

  ping    `master run '*' test.ping`  vs  `salt '*' test.ping`
  noop    `master apply '*'`          vs  `salt '*' state.apply`
          of a 100-state (--states) file.managed tree already applied once, so every
          measured run is a no-op (checked: every state True, no changes)
  run_all     `master run '*' cmd.run_all 'echo hi'` vs `salt '*' cmd.run_all 'echo hi'`
  list_pkgs   `master run '*' pkg.list_pkgs`  vs  `salt '*' pkg.list_pkgs`
              (Brine's minions apply under a state root; its dpkg status is this
              host's, linked in, so both read the same package list)
  disk_usage  `master run '*' disk.usage`     vs  `salt '*' disk.usage`
  dryrun  `master apply '*' --test`   vs  `salt '*' state.apply test=True`
          of the same applied tree (every state True, nothing pending)
  plan    `master plan '*' --tree DIR` vs `salt '*' state.apply test=True`:
          Brine compiles the candidate tree (here the same tree, so the plan is
          empty and exits 0) beside the current one from cached grains, touching
          no minion; Salt has no plan, its nearest answer is a fleet dry run
  (--cases picks them; default ping,noop)

and the idle RSS (VmRSS from /proc) of the master (Brine: one process; Salt:
salt-master and all its descendants) and of one minion (Salt: salt-minion and
its descendants), once after start-up and once after the measured runs.

Needs Salt (scripts/install-salt.sh) and release binaries (cargo build
--release --bins; BRINE_TARGET_DIR overrides where they are looked for).

usage: scripts/bench-daemons.py [--minions 1,50] [--runs N] [--states 100] [--skip-salt] [--keep]"""
import argparse
import getpass
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SALT_VENV = os.path.expanduser(os.environ.get("BRINE_SALT_VENV", "~/.cache/brine/salt-venv"))
SALT_BIN = os.path.join(SALT_VENV, "bin")
TARGET = os.environ.get("BRINE_TARGET_DIR") or os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
MASTER = os.path.join(TARGET, "release", "master")
MINION = os.path.join(TARGET, "release", "minion")
STATES = 100
CASES = ["ping", "noop"]
# Execution functions timed with --cases: name -> (argv after the target, check).
EXEC_CASES = {
    "run_all": (["cmd.run_all", "echo hi"],
                lambda r: isinstance(r, dict) and r.get("retcode") == 0 and r.get("stdout") == "hi"),
    "list_pkgs": (["pkg.list_pkgs"], lambda r: isinstance(r, dict) and len(r) > 10),
    "disk_usage": (["disk.usage"], lambda r: isinstance(r, dict) and len(r) > 0),
}
TOOLS = ["brine", "salt"]
MIB = 1024 * 1024


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def free_ports(n):
    """n distinct free TCP ports on loopback (bound, read, released)."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

class Procs:
    """Every daemon this script starts, each in its own process group so it and
    its children can be ended by that group's id (and nothing else)."""

    def __init__(self):
        self.procs = []

    def start(self, argv, logpath, env=None):
        out = open(logpath, "ab")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, env=env)
        out.close()
        self.procs.append(p)
        return p

    def stop(self, procs=None):
        procs = list(self.procs if procs is None else procs)
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in procs:
            # The group may outlive its leader (Salt's worker processes).
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            if p in self.procs:
                self.procs.remove(p)


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid, kids=None):
    kids = children_map() if kids is None else kids
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def vmrss(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def threads(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_tree(pid):
    """(bytes summed over pid and its descendants, number of processes)."""
    pids = tree(pid)
    return sum(vmrss(p) for p in pids), len(pids)


def run(argv, timeout=600, check=True):
    start = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                       timeout=timeout)
    elapsed = time.perf_counter() - start
    if check and p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {' '.join(argv)}\n{p.stdout.decode()[-1500:]}"
                           f"\n{p.stderr.decode()[-1500:]}")
    return elapsed, p


def wait_for(what, cond, timeout, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        r = cond()
        if r:
            return r
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(interval)


def parse_json(p):
    text = p.stdout.decode()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        # Salt prints one document per minion (--static would make it
        # run as a batch: a ping round first, and it hung at 50 minions).
        out = {}
        dec = json.JSONDecoder()
        i = 0
        while i < len(text):
            while i < len(text) and text[i].isspace():
                i += 1
            if i >= len(text):
                break
            v, i = dec.raw_decode(text, i)
            out.update(v)
        return out


def check_ping(out, ids):
    return isinstance(out, dict) and all(out.get(i) is True for i in ids)


def check_apply(out, ids, noop):
    """Every minion ran all STATES states, every one True, and (noop) none changed."""
    if not isinstance(out, dict):
        return f"not a map: {str(out)[:200]}"
    for i in ids:
        ret = out.get(i)
        if not isinstance(ret, dict):
            return f"{i}: {str(ret)[:300]}"
        if len(ret) != STATES:
            return f"{i}: {len(ret)} states, expected {STATES}"
        for key, r in ret.items():
            if r.get("result") is not True:
                return f"{i}: {key}: {r.get('result')} {r.get('comment')}"
            if noop and r.get("changes"):
                return f"{i}: {key} changed: {r.get('changes')}"
    return None


# ---------------------------------------------------------------- the tree

def sls(prefix):
    """STATES file.managed states; `prefix` is the directory the files go in."""
    return (f"{{% for i in range({STATES}) %}}\n"
            "noop_{{ i }}:\n"
            "  file.managed:\n"
            f"    - name: {prefix}/f{{{{ i }}}}.conf\n"
            "    - contents: |\n"
            "        # managed by the daemon benchmark\n"
            "        index = {{ i }}\n"
            "        minion = {{ grains['id'] }}\n"
            "    - mode: '0644'\n"
            "    - makedirs: True\n"
            "{% endfor %}\n")


def write_tree(root, prefix):
    write(os.path.join(root, "salt", "top.sls"), "base:\n  '*':\n    - noop\n")
    write(os.path.join(root, "salt", "noop.sls"), sls(prefix))
    write(os.path.join(root, "pillar", "top.sls"), "base:\n  '*':\n    - common\n")
    write(os.path.join(root, "pillar", "common.sls"), "bench: true\n")


# ---------------------------------------------------------------- Brine

class Brine:
    name = "brine"

    def __init__(self, base, n, procs):
        self.base = os.path.join(base, "brine")
        self.n = n
        self.procs = procs
        self.ids = [f"b{i:03d}" for i in range(n)]
        self.minions = {}
        ret_port, op_port = free_ports(2)
        self.ret_port = ret_port
        self.config = os.path.join(self.base, "master.yaml")
        write_tree(self.base, "/out")
        write(self.config, f"""interface: 127.0.0.1
ret_port: {ret_port}
operator_port: {op_port}
file_roots: {{base: [{self.base}/salt]}}
pillar_roots: {{base: [{self.base}/pillar]}}
pki_dir: {self.base}/master/pki
cachedir: {self.base}/master/cache
timeout: 120
""")

    def start(self):
        os.makedirs(os.path.join(self.base, "log"), exist_ok=True)
        self.master = self.procs.start([MASTER, "serve", "--config", self.config],
                                       os.path.join(self.base, "log", "master.log"))
        wait_for("the Brine master's operator key",
                 lambda: os.path.exists(os.path.join(self.base, "master", "pki", "operator.key")), 30, 0.1)
        for i in self.ids:
            d = os.path.join(self.base, "minions", i)
            os.makedirs(os.path.join(d, "root", "var", "lib", "dpkg"), exist_ok=True)
            status = os.path.join(d, "root", "var", "lib", "dpkg", "status")
            if os.path.exists("/var/lib/dpkg/status") and not os.path.lexists(status):
                os.symlink("/var/lib/dpkg/status", status)
            write(os.path.join(d, "minion.yaml"), f"""id: {i}
master: 127.0.0.1
master_port: {self.ret_port}
pki_dir: {d}/pki
cachedir: {d}/cache
state_root: {d}/root
acceptance_wait_time: 1
enable_fqdns_grains: False
""")
            self.minions[i] = self.procs.start([MINION, "serve", "--config", os.path.join(d, "minion.yaml")],
                                               os.path.join(self.base, "log", f"{i}.log"))
        wait_for("Brine minions pending", self.all_pending, 120)
        run(self.master_cmd("keys", "accept", "--all"))
        wait_for("Brine minions answering test.ping", self.all_ping, 120, 1)

    def keys(self):
        _, p = run(self.master_cmd("keys", "list", "--out", "json"))
        return json.loads(p.stdout)

    def all_pending(self):
        k = self.keys()
        return len(k.get("minions_pre", [])) + len(k.get("minions", [])) >= self.n

    def all_ping(self):
        _, p = run(self.ping_cmd() + ["-t", "5"], check=False)
        try:
            return check_ping(parse_json(p), self.ids)
        except json.JSONDecodeError:
            return False

    def master_cmd(self, *args):
        return [MASTER, *args, "--config", self.config]

    def ping_cmd(self):
        return self.master_cmd("run", "*", "test.ping", "--out", "json")

    def apply_cmd(self):
        return self.master_cmd("apply", "*", "--out", "json")

    def dryrun_cmd(self):
        return self.master_cmd("apply", "*", "--test", "--out", "json")

    def plan_cmd(self):
        return self.master_cmd("plan", "*", "--tree", os.path.join(self.base, "salt"), "--out", "json")

    def exec_cmd(self, words):
        return self.master_cmd("run", "*", *words, "--out", "json")

    def master_rss(self):
        return vmrss(self.master.pid), 1, threads(self.master.pid)

    def minion_rss(self):
        p = self.minions[self.ids[0]].pid
        return vmrss(p), 1, threads(p)


# ---------------------------------------------------------------- Salt

class Salt:
    name = "salt"

    def __init__(self, base, n, procs):
        self.base = os.path.join(base, "salt")
        self.n = n
        self.procs = procs
        self.ids = [f"s{i:03d}" for i in range(n)]
        self.minions = {}
        self.user = getpass.getuser()
        pub_port, ret_port = free_ports(2)
        self.pub_port, self.ret_port = pub_port, ret_port
        write_tree(self.base, os.path.join(self.base, "out", "{{ grains['id'] }}"))
        self.confdir = os.path.join(self.base, "master", "conf")
        write(os.path.join(self.confdir, "master"), f"""root_dir: {self.base}/master/root
user: {self.user}
interface: 127.0.0.1
publish_port: {pub_port}
ret_port: {ret_port}
auto_accept: True
file_roots: {{base: [{self.base}/salt]}}
pillar_roots: {{base: [{self.base}/pillar]}}
log_file: {self.base}/master/root/master.log
log_level_logfile: warning
""")
        self.env = dict(os.environ, PATH=SALT_BIN + os.pathsep + os.environ.get("PATH", ""))

    def start(self):
        os.makedirs(os.path.join(self.base, "log"), exist_ok=True)
        self.master = self.procs.start([os.path.join(SALT_BIN, "salt-master"), "-c", self.confdir,
                                        "-l", "warning"],
                                       os.path.join(self.base, "log", "master.log"), env=self.env)
        for i in self.ids:
            d = os.path.join(self.base, "m", i)
            conf = os.path.join(d, "conf")
            write(os.path.join(conf, "minion"), f"""root_dir: {d}
user: {self.user}
id: {i}
master: 127.0.0.1
master_port: {self.ret_port}
publish_port: {self.pub_port}
log_file: {d}/minion.log
log_level_logfile: warning
enable_fqdns_grains: False
enable_gpu_grains: False
""")
            self.minions[i] = self.procs.start([os.path.join(SALT_BIN, "salt-minion"), "-c", conf,
                                                "-l", "warning"],
                                               os.path.join(self.base, "log", f"{i}.log"), env=self.env)
        wait_for("Salt minions answering test.ping", self.all_ping, 600, 2)

    def all_ping(self):
        _, p = run(self.salt_cmd("-t", "10", "*", "test.ping"), check=False)
        try:
            return check_ping(parse_json(p), self.ids)
        except json.JSONDecodeError:
            return False

    def salt_cmd(self, *args):
        return [os.path.join(SALT_BIN, "salt"), "-c", self.confdir, "--out", "json", *args]

    # Salt's default timeout (5 s), as an operator runs it. A long `-t` makes
    # it worse: at 50 minions the last return events often sit unread in the
    # CLI until the next event arrives, which with `-t 600` is the find_job
    # ping ten minutes later (all 50 returns in the job cache, CLI waiting).
    def ping_cmd(self):
        return self.salt_cmd("*", "test.ping")

    def apply_cmd(self):
        return self.salt_cmd("*", "state.apply")

    def dryrun_cmd(self):
        return self.salt_cmd("*", "state.apply", "test=True")

    plan_cmd = dryrun_cmd

    def exec_cmd(self, words):
        return self.salt_cmd("*", *words)

    def master_rss(self):
        rss, n = rss_tree(self.master.pid)
        return rss, n, threads(self.master.pid)

    def minion_rss(self):
        rss, n = rss_tree(self.minions[self.ids[0]].pid)
        return rss, n, threads(self.minions[self.ids[0]].pid)


# ---------------------------------------------------------------- measuring

def measure_rss(sides, label, settle):
    time.sleep(settle)
    out = {}
    for s in sides:
        out[s.name] = {"master": s.master_rss(), "minion": s.minion_rss()}
        m, mn = out[s.name]["master"], out[s.name]["minion"]
        log(f"{label} RSS {s.name}: master {m[0] / MIB:.1f} MiB over {m[1]} process(es), {m[2]} threads; "
            f"minion {mn[0] / MIB:.1f} MiB over {mn[1]} process(es), {mn[2]} threads")
    return out


def timed_case(side, case):
    if case in EXEC_CASES:
        words, good = EXEC_CASES[case]
        argv = side.exec_cmd(words)
    else:
        argv = {"ping": side.ping_cmd, "noop": side.apply_cmd, "dryrun": side.dryrun_cmd,
                "plan": side.plan_cmd}[case]()
    elapsed, p = run(argv, check=False)
    out = parse_json(p) if p.stdout.strip() else None
    if case in EXEC_CASES:
        bad = [i for i in side.ids if not good((out or {}).get(i))]
        err = f"{bad[0]}: {str((out or {}).get(bad[0]))[:300]}" if bad else None
    elif case == "ping":
        ok = check_ping(out, side.ids)
        err = None if ok else f"not every minion answered: {str(out)[:300]}"
    elif case == "plan" and side.name == "brine":
        missing = [i for i in side.ids if not isinstance(out, dict) or i not in out]
        err = f"no plan for {missing[0]}: {str(out)[:300]}" if missing else None
    else:
        err = check_apply(out, side.ids, noop=True)
    if p.returncode != 0 and err is None:
        err = f"exit {p.returncode}"
    if err:
        raise RuntimeError(f"{side.name} {case}: {err}\n{p.stderr.decode()[-1500:]}")
    return elapsed


def bench(n, runs, skip_salt, keep, procs, skip_brine=False):
    # Short: Salt puts its unix sockets under root_dir, and a socket path
    # is limited to 108 bytes.
    base = tempfile.mkdtemp(prefix="bd-", dir="/tmp")
    sides = []
    try:
        if not skip_brine:
            sides.append(Brine(base, n, procs))
        if not skip_salt:
            sides.append(Salt(base, n, procs))
        for s in sides:
            t = time.perf_counter()
            s.start()
            log(f"{s.name}: {n} minion(s) up and answering in {time.perf_counter() - t:.1f} s")
        rss_start = measure_rss(sides, "after start-up", 5)
        for s in sides:
            # The first apply writes every file; a second makes sure the
            # measured runs start from a settled no-op (and warms caches).
            for k in range(2):
                _, p = run(s.apply_cmd(), check=False)
                err = check_apply(parse_json(p) if p.stdout.strip() else None, s.ids, noop=k == 1)
                if err:
                    raise RuntimeError(f"{s.name} warm-up apply {k + 1}: {err}\n{p.stderr.decode()[-1500:]}")
            log(f"{s.name}: tree applied")
        times = {(s.name, c): [] for s in sides for c in CASES}
        for r in range(runs):
            order = sides if r % 2 == 0 else sides[::-1]
            for case in CASES:
                for s in order:
                    times[(s.name, case)].append(timed_case(s, case))
            log(f"round {r + 1}/{runs}: " + ", ".join(
                f"{k[0]} {k[1]} {v[-1] * 1000:.0f} ms" for k, v in times.items()))
        rss_end = measure_rss(sides, "after the runs", 5)
        return {"n": n, "times": times, "rss_start": rss_start, "rss_end": rss_end}
    finally:
        procs.stop()
        if keep:
            log(f"kept {base}")
        else:
            for _ in range(5):
                shutil.rmtree(base, ignore_errors=True)
                if not os.path.exists(base):
                    break
                time.sleep(1)


def report(results, runs, skip_salt):
    print(f"\nmedians of {runs} runs, Brine and Salt alternating in each round\n")
    print(f"{'minions':>7} {'case':6} {'brine ms':>10} {'salt ms':>10} {'ratio':>8}")
    for res in results:
        for case in CASES:
            b = statistics.median(res["times"][("brine", case)])
            line = f"{res['n']:>7} {case:6} {b * 1000:10.1f}"
            if not skip_salt:
                s = statistics.median(res["times"][("salt", case)])
                line += f" {s * 1000:10.1f} {s / b:7.1f}x"
            print(line)
    print("\nidle RSS (MiB; processes) after start-up / after the runs")
    print(f"{'minions':>7} {'who':14} {'brine':>20} {'salt':>26}")
    for res in results:
        for who in ("master", "minion"):
            cells = []
            for tool in TOOLS:
                if tool == "salt" and skip_salt:
                    continue
                a = res["rss_start"][tool][who]
                z = res["rss_end"][tool][who]
                cells.append(f"{a[0] / MIB:.1f} / {z[0] / MIB:.1f} ({z[1]}p)")
            print(f"{res['n']:>7} {who:14} " + " ".join(f"{c:>22}" for c in cells))
    print("\nraw (seconds):")
    for res in results:
        for k, v in res["times"].items():
            print(f"  n={res['n']} {k[0]} {k[1]}: " + " ".join(f"{x:.3f}" for x in v))


def main():
    global STATES
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minions", default="1,50", help="comma-separated minion counts (default 1,50)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip-salt", action="store_true", help="measure Brine only")
    ap.add_argument("--skip-brine", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs (logs) for inspection")
    ap.add_argument("--cases", default=",".join(CASES),
                    help="comma-separated cases: ping, noop, dryrun, plan, " + ", ".join(EXEC_CASES)
                    + " (default ping,noop)")
    ap.add_argument("--states", type=int, default=STATES,
                    help=f"file.managed states in the applied tree (default {STATES}; "
                    "bench-swarm.py applies 20)")
    args = ap.parse_args()
    STATES = args.states
    CASES[:] = [c for c in args.cases.split(",") if c]
    unknown = [c for c in CASES if c not in ("ping", "noop", "dryrun", "plan") and c not in EXEC_CASES]
    if unknown:
        sys.exit(f"unknown case(s): {', '.join(unknown)}")
    need = [(MASTER, "cargo build --release --bins"), (MINION, "cargo build --release --bins")]
    if not args.skip_salt:
        need.append((os.path.join(SALT_BIN, "salt-master"), "scripts/install-salt.sh"))
    for path, hint in need:
        if not os.path.exists(path):
            sys.exit(f"missing {path}: {hint}")

    procs = Procs()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    results = []
    try:
        for n in [int(x) for x in args.minions.split(",") if x]:
            results.append(bench(n, args.runs, args.skip_salt, args.keep, procs, args.skip_brine))
    except KeyboardInterrupt:
        sys.exit("interrupted")
    finally:
        procs.stop()
    report(results, args.runs, args.skip_salt)


if __name__ == "__main__":
    main()
