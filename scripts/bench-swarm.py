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

Needs release binaries (cargo build --release --bins; BRINE_TARGET_DIR
overrides where they are looked for). Salt's figures at the sizes Salt
reaches here come from scripts/bench-daemons.py (BENCHMARKS.md).

usage: scripts/bench-swarm.py [--minions 100,1000,10000] [--runs 3]
                              [--apply-minions 1000] [--keep]"""
import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("bench_daemons", os.path.join(HERE, "bench-daemons.py"))
bd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bd)

STATES = 20
MIB = 1024 * 1024


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


class Fleet:
    def __init__(self, root, n, procs):
        self.root, self.n, self.procs = root, n, procs
        self.ret_port, self.op_port = bd.free_ports(2)
        bd.write(os.path.join(root, "salt", "top.sls"), "base:\n  '*':\n    - app\n")
        bd.write(os.path.join(root, "salt", "app.sls"), sls())
        os.makedirs(os.path.join(root, "pillar"), exist_ok=True)
        bd.write(os.path.join(root, "master.yaml"),
                 f"interface: 127.0.0.1\nret_port: {self.ret_port}\noperator_port: {self.op_port}\n"
                 f"file_roots:\n  base: [{root}/salt]\npillar_roots:\n  base: [{root}/pillar]\n"
                 f"pki_dir: {root}/pki\ncachedir: {root}/cache\nauto_accept: True\ntimeout: 60\n")
        bd.write(os.path.join(root, "minion.yaml"),
                 f"master: 127.0.0.1\nmaster_port: {self.ret_port}\n")
        self.master = None
        self.swarm = None
        self.ids = [f"swarm-{i:0{len(str(max(n - 1, 1)))}d}" for i in range(n)]

    def start_master(self):
        self.master = self.procs.start(
            [bd.MASTER, "serve", "--config", os.path.join(self.root, "master.yaml")],
            os.path.join(self.root, "master.log"), env=dict(os.environ, BRINE_LOG="warn"))
        bd.wait_for("the master's operator port",
                    lambda: self.cli(["keys", "list"], check=False)[1].returncode == 0, 30)

    def start_swarm(self):
        self.swarm = self.procs.start(
            [bd.MINION, "swarm", "--config", os.path.join(self.root, "minion.yaml"),
             "--count", str(self.n), "--dir", os.path.join(self.root, "swarm")],
            os.path.join(self.root, "swarm.log"), env=dict(os.environ, BRINE_LOG="error"))

    def cli(self, args, check=True, timeout=600):
        return bd.run([bd.MASTER, *args[:1], "--config", os.path.join(self.root, "master.yaml"),
                       *args[1:]], timeout=timeout, check=check)

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


def wait_all_answer(fleet, timeout, log_every=5.0):
    """Pings every second until all answer; returns (seconds, refused pings,
    the longest stretch between two pings that got any answer)."""
    start = time.monotonic()
    refused, last_ok, worst_gap, last_log = 0, start, 0.0, 0.0
    while True:
        _, code, ok = fleet.ping(timeout=5)
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


def bench(n, runs, apply_minions, keep, procs):
    root = tempfile.mkdtemp(prefix=f"brine-swarm-{n}-")
    fleet = Fleet(root, n, procs)
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
        r["swarm_rss"] = bd.vmrss(fleet.swarm.pid)
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
            import shutil
            shutil.rmtree(root, ignore_errors=True)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minions", default="100,1000,10000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--apply-minions", type=int, default=1000)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    for b in (bd.MASTER, bd.MINION):
        if not os.path.exists(b):
            sys.exit(f"{b} missing: run cargo build --release --bins")
    procs = bd.Procs()
    results = []
    try:
        for n in [int(x) for x in a.minions.split(",")]:
            results.append(bench(n, a.runs, a.apply_minions, a.keep, procs))
    finally:
        procs.stop()
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
