#!/usr/bin/env python3
"""Scale benchmark: one `master serve` and a swarm of minions in one process
(`minion swarm`), speaking the real protocol over loopback on this machine.

For each swarm size (--minions 100,1000,10000) the master starts with
`auto_accept: True` and fresh dirs, the swarm connects, and then:

  up        seconds from starting the swarm until every minion answers a ping
  ping      `master run '*' test.ping` to every minion (median of --runs)
  apply     a 20-state file.managed no-op `master apply` to at most
            --apply-minions of them (applied once first; each measured run is
            checked: every state True, nothing changed)
  rss       VmRSS of the master with every minion connected (and the swarm's)
  plan      `master plan '*' --tree CANDIDATE` over every minion, the candidate
            changing one argument of each of the 20 states (median of --runs;
            each checked: exit 4, 20 changed chunks per minion), and the
            master's VmRSS after it. Salt's nearest equivalent is
            `salt '*' state.apply test=True` (scripts/bench-daemons.py), which
            runs on every minion where a plan compiles on the master only
  restart   the master is stopped and started again on the same dirs: seconds
            until every minion answers again, while pings sent every second
            meanwhile must never be refused (exit 1); the worst gap between
            two answered pings is printed too

With --two-masters (issue 13) the swarm lists two masters that share a
private PostgreSQL (`master_job_cache: postgres`, `key_store: postgres`, and
`cache: postgres` with --pg-cache), started by this script as
tests/src/postgres.rs starts one (initdb into a temp dir, a unix socket only,
as the user `brine-pgtest` that scripts/test-prereqs.sh creates), and then:

  up        seconds until every minion answers a ping through each master
  ping      `master run '*' test.ping` through master A, then through B
  apply     the 20-state no-op apply to --apply-minions of them through A
  rss       VmRSS of each master and the swarm, and PostgreSQL's PSS (its
            processes' proportional set: shared buffers counted once)
  survivor  master A is killed (SIGKILL): seconds until every minion answers
            a ping through B (pinged every second, each ping waiting up to
            twice a ping's median time; refused pings counted),
            then one no-op apply through B, checked
  back      A started again on its dirs: seconds until every minion answers
            through A as well

The swarm keeps a session with both masters (`master_type: str`, Salt's
default). With --master-type failover each minion holds one, the first that
answered it (a start-up burst leaves part of them with B; there is no
failback): up counts answers through A and B together, then A is killed and
survivor is the time until every minion answers through B.

Needs release binaries (cargo build --release --bins; BRINE_TARGET_DIR
overrides where they are looked for). Salt's figures at the sizes Salt
reaches here come from scripts/bench-daemons.py (BENCHMARKS.md).

usage: scripts/bench-swarm.py [--minions 100,1000,10000] [--runs 3] [--swarms K]
                              [--apply-minions 1000] [--keep]
                              [--two-masters [--master-type str|failover]
                               [--pg-cache] [--pg-setting KEY=VALUE ...]]"""
import argparse
import importlib.util
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pg_private import PrivatePostgres, pss_tree  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_daemons", os.path.join(HERE, "bench-daemons.py"))
bd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bd)

STATES = 20
MIB = 1024 * 1024
# As SQLite's `synchronous=NORMAL` in the default job cache: a commit
# survives the master's crash, not a power cut; the disk is the same.
PG_SETTINGS = ["synchronous_commit=off"]


def sls():
    return (f"{{% for i in range({STATES}) %}}\n"
            "/srv/app/conf-{{ i }}.conf:\n"
            "  file.managed:\n"
            "    - contents: |\n"
            "        # managed for {{ grains['id'] }}\n"
            "        index = {{ i }}\n"
            "    - makedirs: True\n"
            "{% endfor %}\n")


def candidate(root):
    """The tree a plan compares with: every state's contents changed."""
    d = os.path.join(root, "candidate")
    bd.write(os.path.join(d, "top.sls"), "base:\n  '*':\n    - app\n")
    bd.write(os.path.join(d, "app.sls"), sls().replace("index = {{ i }}", "index = {{ i }} # candidate"))
    return d


def check_plan(out, ids):
    if not isinstance(out, dict) or len(out) != len(ids):
        return f"not a map of {len(ids)} minions: {str(out)[:200]}"
    for i in ids:
        r = out.get(i)
        if not isinstance(r, dict) or len(r.get("changed", [])) != STATES or r.get("errors"):
            return f"{i}: {str(r)[:300]}"
    return None


def check_apply(out, ids):
    if not isinstance(out, dict):
        return f"not a map: {str(out)[:200]}"
    for i in ids:
        ret = out.get(i)
        if not isinstance(ret, dict) or len(ret) != STATES:
            return f"{i}: {str(ret)[:300]}"
        for key, r in ret.items():
            if r.get("result") is not True or r.get("changes"):
                return f"{i}: {key}: {r.get('result')} {r.get('changes')}"
    return None


def swarm_parts(n, swarms):
    """The swarm processes' (prefix, count): one `swarm` of n, or n split
    over `swarm0`, `swarm1`, ... (each process has its own fd limit)."""
    if swarms == 1:
        return [("swarm", n)]
    return [(f"swarm{k}", n // swarms + (1 if k < n % swarms else 0)) for k in range(swarms)]


def swarm_ids(prefix, count):
    """The ids `minion swarm` gives (`SwarmSpec::id`: zero-padded)."""
    return [f"{prefix}-{i:0{len(str(max(count - 1, 1)))}d}" for i in range(count)]


class Fleet:
    def __init__(self, root, n, procs, name="master", swarms=1):
        self.root, self.n, self.procs, self.name = root, n, procs, name
        self.parts = swarm_parts(n, swarms)
        self.ret_port, self.op_port = bd.free_ports(2)
        bd.write(os.path.join(root, "salt", "top.sls"), "base:\n  '*':\n    - app\n")
        bd.write(os.path.join(root, "salt", "app.sls"), sls())
        os.makedirs(os.path.join(root, "pillar"), exist_ok=True)
        bd.write(self.config,
                 f"interface: 127.0.0.1\nret_port: {self.ret_port}\noperator_port: {self.op_port}\n"
                 f"file_roots:\n  base: [{root}/salt]\npillar_roots:\n  base: [{root}/pillar]\n"
                 f"pki_dir: {root}/pki\ncachedir: {root}/cache\nauto_accept: True\ntimeout: 60\n")
        bd.write(os.path.join(root, "minion.yaml"),
                 f"master: 127.0.0.1\nmaster_port: {self.ret_port}\n")
        self.master = None
        self.swarms = []
        self.ids = [i for prefix, count in self.parts for i in swarm_ids(prefix, count)]

    @property
    def config(self):
        return os.path.join(self.root, f"{self.name}.yaml")

    def start_master(self):
        self.master = self.procs.start(
            [bd.MASTER, "serve", "--config", self.config],
            os.path.join(self.root, f"{self.name}.log"), env=dict(os.environ, BRINE_LOG=os.environ.get("BENCH_MASTER_LOG", "warn")))
        bd.wait_for("the master's operator port", self.answers, 30)

    def answers(self):
        if self.master.poll() is not None:
            with open(os.path.join(self.root, f"{self.name}.log"), errors="replace") as f:
                raise RuntimeError(f"{self.name} exited {self.master.returncode}: {f.read()[-800:]}")
        return self.cli(["keys", "list"], check=False)[1].returncode == 0

    def start_swarm(self):
        env = dict(os.environ, BRINE_LOG=os.environ.get("BENCH_SWARM_LOG", "error"))
        self.swarms = [self.procs.start(
            [bd.MINION, "swarm", "--config", os.path.join(self.root, "minion.yaml"), "--count", str(count),
             "--prefix", prefix, "--dir", os.path.join(self.root, prefix)],
            os.path.join(self.root, f"{prefix}.log"), env=env) for prefix, count in self.parts]

    def swarm_rss(self):
        return sum(bd.vmrss(p.pid) for p in self.swarms)

    def cli(self, args, check=True, timeout=600):
        return bd.run([bd.MASTER, *args[:1], "--config", self.config, *args[1:]],
                      timeout=timeout, check=check)

    def ping(self, timeout=60):
        """(seconds, exit code, minions that answered True)."""
        t, p = self.cli(["run", "*", "test.ping", "--out", "json", "-t", str(timeout)], check=False)
        try:
            out = json.loads(p.stdout.decode() or "{}")
        except json.JSONDecodeError:
            out = {}
        return t, p.returncode, sum(1 for v in out.values() if v is True) if isinstance(out, dict) else 0

    def plan(self, tree):
        t, p = self.cli(["plan", "*", "--tree", tree, "--out", "json", "-t", "3600"], check=False)
        return t, p, bd.parse_json(p)

    def apply(self, ids):
        t, p = self.cli(["apply", "-L", ",".join(ids), "--out", "json"], check=False)
        return t, p, bd.parse_json(p)


def wait_all_answer(fleet, timeout, log_every=5.0, ping_timeout=5):
    """Pings every second until all answer; returns (seconds, refused pings,
    the longest stretch between two pings that got any answer). A ping
    waits up to ping_timeout for minions not yet connected: the figure's
    resolution."""
    start = time.monotonic()
    refused, last_ok, worst_gap, last_log = 0, start, 0.0, 0.0
    while True:
        _, code, ok = fleet.ping(timeout=ping_timeout)
        now = time.monotonic()
        if code == 1:
            refused += 1
        if ok > 0:
            worst_gap = max(worst_gap, now - last_ok)
            last_ok = now
        if now - start - last_log >= log_every:
            last_log = now - start
            bd.log(f"  {ok}/{fleet.n} answering after {now - start:.0f} s")
        if ok == fleet.n:
            return now - start, refused, worst_gap
        if now - start > timeout:
            raise RuntimeError(f"only {ok} of {fleet.n} minions answer after {timeout} s")
        time.sleep(1)


def bench(n, runs, apply_minions, keep, procs, swarms):
    root = tempfile.mkdtemp(prefix=f"brine-swarm-{n}-")
    fleet = Fleet(root, n, procs, swarms=swarms)
    r = {"n": n}
    try:
        fleet.start_master()
        t0 = time.monotonic()
        fleet.start_swarm()
        bd.wait_for(f"{n} accepted keys", lambda: len(os.listdir(os.path.join(root, "pki", "minions")))
                    >= n if os.path.isdir(os.path.join(root, "pki", "minions")) else False, 600, 1)
        up, _, _ = wait_all_answer(fleet, 600)
        r["up"] = time.monotonic() - t0
        bd.log(f"n={n}: all up in {r['up']:.1f} s")
        pings = []
        for i in range(runs):
            t, code, ok = fleet.ping()
            if code != 0 or ok != n:
                raise RuntimeError(f"ping: exit {code}, {ok} of {n} answered")
            pings.append(t)
            bd.log(f"  ping {i + 1}/{runs}: {t * 1000:.0f} ms")
        r["ping"] = pings
        ids = fleet.ids[:apply_minions]
        t, p, out = fleet.apply(ids)
        if p.returncode != 0:
            raise RuntimeError(f"first apply: exit {p.returncode}: {p.stderr.decode()[-800:]}")
        bd.log(f"  first apply to {len(ids)}: {t:.2f} s")
        applies = []
        for i in range(runs):
            t, p, out = fleet.apply(ids)
            bad = check_apply(out, ids)
            if p.returncode != 0 or bad:
                raise RuntimeError(f"no-op apply: exit {p.returncode}: {bad}")
            applies.append(t)
            bd.log(f"  no-op apply {i + 1}/{runs} to {len(ids)}: {t:.2f} s")
        r["apply"], r["apply_n"] = applies, len(ids)
        r["master_rss"] = bd.vmrss(fleet.master.pid)
        r["swarm_rss"] = fleet.swarm_rss()
        bd.log(f"  RSS master {r['master_rss'] / MIB:.1f} MiB, swarm {r['swarm_rss'] / MIB:.1f} MiB")
        tree = candidate(root)
        plans = []
        for i in range(runs):
            t, p, out = fleet.plan(tree)
            bad = check_plan(out, fleet.ids)
            if p.returncode != 4 or bad:
                raise RuntimeError(f"plan: exit {p.returncode}: {bad}: {p.stderr.decode()[-800:]}")
            plans.append(t)
            bd.log(f"  plan {i + 1}/{runs} of {n}: {t:.2f} s")
        r["plan"], r["plan_rss"] = plans, bd.vmrss(fleet.master.pid)
        bd.log(f"  RSS master after plans {r['plan_rss'] / MIB:.1f} MiB")
        procs.stop([fleet.master])
        fleet.start_master()
        back, refused, gap = wait_all_answer(fleet, 300)
        r["restart"], r["refused"], r["gap"] = back, refused, gap
        bd.log(f"  after a master restart all {n} answer in {back:.1f} s "
               f"({refused} pings refused, longest gap {gap:.1f} s)")
    finally:
        procs.stop()
        if keep:
            bd.log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return r


def raise_fd_limit(want):
    """Raises this process's open-file limit (inherited by the masters and
    the swarm) to `want`: root may raise the hard limit too. The soft limit
    after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    for new in ((want, max(hard, want)), (min(want, hard), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, new)
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ------------------------------------------------ two masters on PostgreSQL

class SharedMaster(Fleet):
    """One of two masters on one PostgreSQL: its own ports, key, pki_dir and
    cachedir, the same file roots, jobs and keys in the shared store."""

    def __init__(self, root, n, procs, name, stores, swarms):
        super().__init__(root, n, procs, name, swarms)
        bd.write(self.config,
                 f"interface: 127.0.0.1\nret_port: {self.ret_port}\noperator_port: {self.op_port}\n"
                 f"file_roots:\n  base: [{root}/salt]\npillar_roots:\n  base: [{root}/pillar]\n"
                 f"pki_dir: {root}/{name}/pki\ncachedir: {root}/{name}/cache\nauto_accept: True\n"
                 f"timeout: 60\n{stores}")


class EitherMaster:
    """Pings through both masters: under failover each minion answers the
    one it holds (a start-up burst leaves part of them with B)."""

    def __init__(self, a, b):
        self.a, self.b, self.n = a, b, a.n

    def ping(self, timeout=60):
        (ta, ca, oa), (tb, cb, ob) = self.a.ping(timeout), self.b.ping(timeout)
        return ta + tb, 1 if 1 in (ca, cb) else max(ca, cb), oa + ob


def checked_apply(fleet, ids, what):
    t, p, out = fleet.apply(ids)
    bad = check_apply(out, ids)
    if p.returncode != 0 or bad:
        raise RuntimeError(f"{what}: exit {p.returncode}: {bad}: {p.stderr.decode()[-800:]}")
    return t


def bench_two(n, a, procs):
    root = tempfile.mkdtemp(prefix=f"brine-swarm2-{n}-")
    pg = None
    r = {"n": n}
    try:
        pg = PrivatePostgres(a.pg_setting or PG_SETTINGS, a.keep, bd.log)
        stores = ("master_job_cache: postgres\nkey_store: postgres\n"
                  + ("cache: postgres\n" if a.pg_cache else "")
                  + f'postgres:\n  dsn: "{pg.dsn}"\n')
        ma = SharedMaster(root, n, procs, "master-a", stores, a.swarms)
        mb = SharedMaster(root, n, procs, "master-b", stores, a.swarms)
        failover = a.master_type == "failover"
        bd.write(os.path.join(root, "minion.yaml"),
                 f"master:\n  - 127.0.0.1:{ma.ret_port}\n  - 127.0.0.1:{mb.ret_port}\n"
                 + ("master_type: failover\n" if failover else ""))
        ma.start_master()
        mb.start_master()
        t0 = time.monotonic()
        ma.start_swarm()
        # Under failover each minion holds one master: the first that
        # answered it (no failback), so the counts are summed.
        sides = [("A or B", EitherMaster(ma, mb))] if failover else [("A", ma), ("B", mb)]
        for name, m in sides:
            bd.log(f"n={n}: waiting for every minion through {name}")
            wait_all_answer(m, 900)
        r["up"] = time.monotonic() - t0
        bd.log(f"n={n}: all up in {r['up']:.1f} s")
        if failover:
            return failover_survivor(n, r, ma, mb, procs)
        for name, m in sides:
            pings = []
            for i in range(a.runs):
                t, code, ok = m.ping()
                if code != 0 or ok != n:
                    raise RuntimeError(f"ping through {name}: exit {code}, {ok} of {n} answered")
                pings.append(t)
                bd.log(f"  ping {i + 1}/{a.runs} through {name}: {t * 1000:.0f} ms")
            r[f"ping_{name}"] = pings
        ids = ma.ids[:a.apply_minions]
        t, p, _ = ma.apply(ids)
        if p.returncode != 0:
            raise RuntimeError(f"first apply: exit {p.returncode}: {p.stderr.decode()[-800:]}")
        bd.log(f"  first apply to {len(ids)} through A: {t:.2f} s")
        applies = []
        for i in range(a.runs):
            applies.append(checked_apply(ma, ids, "no-op apply through A"))
            bd.log(f"  no-op apply {i + 1}/{a.runs} to {len(ids)} through A: {applies[-1]:.2f} s")
        r["apply"], r["apply_n"] = applies, len(ids)
        r["rss_A"], r["rss_B"] = bd.vmrss(ma.master.pid), bd.vmrss(mb.master.pid)
        r["swarm_rss"] = ma.swarm_rss()
        r["pg_pss"], r["pg_procs"] = pss_tree(bd.tree(pg.pid()))
        bd.log(f"  RSS A {r['rss_A'] / MIB:.1f} MiB, B {r['rss_B'] / MIB:.1f} MiB, swarm "
               f"{r['swarm_rss'] / MIB:.1f} MiB; PostgreSQL PSS {r['pg_pss'] / MIB:.1f} MiB "
               f"({r['pg_procs']} processes)")
        os.killpg(ma.master.pid, signal.SIGKILL)
        procs.stop([ma.master])
        bd.log("  master A killed")
        # Twice a full ping's time, so one taken while some minions are
        # still moving to B ends soon after it could.
        r["survivor_t"] = max(2, int(2 * statistics.median(r["ping_A"]) + 1))
        back, refused, gap = wait_all_answer(mb, 600, ping_timeout=r["survivor_t"])
        r["survivor"], r["refused"], r["gap"] = back, refused, gap
        bd.log(f"  every minion answers through B {back:.2f} s after A died "
               f"({refused} pings refused, longest gap {gap:.1f} s)")
        r["apply_B"] = checked_apply(mb, ids, "no-op apply through B after A died")
        bd.log(f"  no-op apply to {len(ids)} through B: {r['apply_B']:.2f} s")
        r["rss_B_after"] = bd.vmrss(mb.master.pid)
        ma.start_master()
        r["back"], _, _ = wait_all_answer(ma, 600)
        bd.log(f"  A started again: every minion answers through A in {r['back']:.1f} s")
    finally:
        procs.stop()
        if pg is not None:
            pg.stop()
        if a.keep:
            bd.log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return r


def failover_survivor(n, r, ma, mb, procs):
    """Under failover: how the minions split, then A killed and the time
    until every one answers through B (A's share handshakes with B)."""
    r["on_A"] = ma.ping()[2]
    r["rss_A"], r["rss_B"] = bd.vmrss(ma.master.pid), bd.vmrss(mb.master.pid)
    r["swarm_rss"] = ma.swarm_rss()
    bd.log(f"  {r['on_A']} of {n} minions hold A, the rest B; RSS A {r['rss_A'] / MIB:.1f} MiB, "
           f"B {r['rss_B'] / MIB:.1f} MiB")
    os.killpg(ma.master.pid, signal.SIGKILL)
    procs.stop([ma.master])
    bd.log("  master A killed")
    back, refused, gap = wait_all_answer(mb, 900)
    r["survivor"], r["refused"], r["gap"] = back, refused, gap
    r["rss_B_after"] = bd.vmrss(mb.master.pid)
    bd.log(f"  every minion answers through B {back:.2f} s after A died "
           f"({refused} pings refused, longest gap {gap:.1f} s); RSS B {r['rss_B_after'] / MIB:.1f} MiB")
    return r


def report_two(results, a):
    med = statistics.median
    print(f"\nBrine, two masters on one PostgreSQL and a swarm listing both "
          f"(master_type {a.master_type}{', cache: postgres' if a.pg_cache else ''}; "
          f"{os.cpu_count()} cores); medians of {a.runs} runs\n")
    if a.master_type == "failover":
        for r in results:
            print(f"{r['n']:>8} minions: up {r['up']:.1f} s, {r['on_A']} on A; A killed: all answer "
                  f"through B in {r['survivor']:.2f} s ({r['refused']} refused); RSS A "
                  f"{r['rss_A'] / MIB:.1f} MiB, B {r['rss_B'] / MIB:.1f} -> {r['rss_B_after'] / MIB:.1f} MiB")
        return
    ping_b = True
    print(f"{'minions':>8} {'up s':>7} {'ping A ms':>10} {'ping B ms':>10} {'no-op apply A':>16} "
          f"{'RSS A':>10} {'RSS B':>10} {'swarm RSS':>10} {'postgres PSS':>13}")
    for r in results:
        pb = f"{med(r['ping_B']) * 1000:>10.0f}" if ping_b else f"{'-':>10}"
        print(f"{r['n']:>8} {r['up']:>7.1f} {med(r['ping_A']) * 1000:>10.0f} {pb} "
              f"{med(r['apply']):>9.2f} s ({r['apply_n']}) {r['rss_A'] / MIB:>6.1f} MiB "
              f"{r['rss_B'] / MIB:>6.1f} MiB {r['swarm_rss'] / MIB:>6.0f} MiB {r['pg_pss'] / MIB:>9.1f} MiB")
    print(f"\n{'minions':>8} {'all through B after A killed':>29} {'refused':>8} {'longest gap':>12} "
          f"{'apply via B':>12} {'RSS B after':>12} {'A back':>8}")
    for r in results:
        print(f"{r['n']:>8} {r['survivor']:>27.2f} s {r['refused']:>8} {r['gap']:>10.1f} s "
              f"{r['apply_B']:>10.2f} s {r['rss_B_after'] / MIB:>8.1f} MiB {r['back']:>6.1f} s")
    print("\nraw (seconds):")
    for r in results:
        for side in ("A", "B") if ping_b else ("A",):
            print(f"  n={r['n']} ping through {side}: {' '.join(f'{x:.3f}' for x in r['ping_' + side])}")
        print(f"  n={r['n']} apply({r['apply_n']}) through A: {' '.join(f'{x:.3f}' for x in r['apply'])}")
        print(f"  n={r['n']} pings while waiting for B: -t {r['survivor_t']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minions", default="100,1000,10000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--apply-minions", type=int, default=1000)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--swarms", type=int,
                    help="swarm processes the minions are split over (default: as many as the "
                    "open-file limit needs; ids swarm0-..., swarm1-... when more than one)")
    ap.add_argument("--two-masters", action="store_true",
                    help="two masters sharing a private PostgreSQL, the swarm listing both")
    ap.add_argument("--master-type", choices=["str", "failover"], default="str",
                    help="the swarm's master_type with --two-masters (default str)")
    ap.add_argument("--pg-cache", action="store_true",
                    help="with --two-masters, also `cache: postgres` (grains and mine)")
    ap.add_argument("--pg-setting", action="append", metavar="KEY=VALUE",
                    help=f"a PostgreSQL server setting (default {' '.join(PG_SETTINGS)})")
    a = ap.parse_args()
    for b in (bd.MASTER, bd.MINION):
        if not os.path.exists(b):
            sys.exit(f"{b} missing: run cargo build --release --bins")
    sizes = [int(x) for x in a.minions.split(",")]
    sockets = max(sizes) * (2 if a.two_masters and a.master_type == "str" else 1)
    # A member also holds a few files (its job log); a process of the swarm
    # past its limit fails connects, and its minions flap.
    limit = raise_fd_limit(sockets + 4096)
    if a.swarms is None:
        a.swarms = -(-sockets // max(limit - 4096, 1024))
    per_process = -(-sockets // a.swarms)
    bd.log(f"open-file limit {limit}; {a.swarms} swarm process(es) of up to {per_process} sockets")
    if limit < per_process + 1024:
        bd.log(f"warning: the open-file limit {limit} is below a swarm process's {per_process} sockets")

    def on_signal(signum, _frame):
        # A second signal must not cut the clean-up short (PostgreSQL).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    procs = bd.Procs()
    results = []
    try:
        for n in sizes:
            if a.two_masters:
                results.append(bench_two(n, a, procs))
            else:
                results.append(bench(n, a.runs, a.apply_minions, a.keep, procs, a.swarms))
    except KeyboardInterrupt:
        sys.exit("interrupted")
    finally:
        procs.stop()
    if a.two_masters:
        report_two(results, a)
        return
    med = statistics.median
    print(f"\nBrine, one master and a swarm on this machine ({os.cpu_count()} cores); "
          f"medians of {a.runs} runs\n")
    print(f"{'minions':>8} {'up s':>7} {'ping ms':>8} {'no-op apply':>18} {'master RSS':>11} "
          f"{'swarm RSS':>10} {'back after restart':>19} {'refused':>8}")
    for r in results:
        apply = f"{med(r['apply']):.2f} s ({r['apply_n']})"
        print(f"{r['n']:>8} {r['up']:>7.1f} {med(r['ping']) * 1000:>8.0f} {apply:>18} "
              f"{r['master_rss'] / MIB:>8.1f} MiB {r['swarm_rss'] / MIB:>6.0f} MiB "
              f"{r['restart']:>17.1f} s {r['refused']:>8}")
    print(f"\n{'minions':>8} {'plan s':>8} {'master RSS after':>17}")
    for r in results:
        print(f"{r['n']:>8} {med(r['plan']):>8.2f} {r['plan_rss'] / MIB:>13.1f} MiB")
    print("\nraw (seconds):")
    for r in results:
        print(f"  n={r['n']} ping: {' '.join(f'{x:.3f}' for x in r['ping'])}")
        print(f"  n={r['n']} apply({r['apply_n']}): {' '.join(f'{x:.3f}' for x in r['apply'])}")
        print(f"  n={r['n']} plan: {' '.join(f'{x:.3f}' for x in r['plan'])}")


if __name__ == "__main__":
    main()
