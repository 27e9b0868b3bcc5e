#!/usr/bin/env python3
"""Whole-process compile benchmark: `minion show --local lowstate` against
`salt-call --local state.show_lowstate` on the same tree (benches/tree50 by
default), alternating the two in one run so both see the same machine load.
Prints medians, the ratio, and peak RSS of each. Needs Salt
(scripts/install-salt.sh), /usr/bin/time (Debian package `time`) and a release
build (cargo build --release -p minion).

usage: scripts/bench-compile.py [--runs N] [--tree DIR]"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SALT_CALL = os.path.expanduser(os.environ.get("BRINE_SALT_VENV", "~/.cache/brine/salt-venv")) + "/bin/salt-call"


def timed(argv):
    """Runs argv under /usr/bin/time (so peak RSS is the command's own, not that
    of the forked Python parent); returns (seconds, peak RSS KiB, stdout)."""
    with tempfile.NamedTemporaryFile("r") as rss_file:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file.name] + argv,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}")
        rss = int(rss_file.read().strip().splitlines()[-1])
    return elapsed, rss, proc.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--tree", default=os.path.join(REPO, "benches", "tree50"))
    args = ap.parse_args()
    tree = os.path.abspath(args.tree)
    minion = os.path.join(REPO, "target", "release", "minion")
    if not os.path.exists(minion):
        sys.exit("build first: cargo build --release -p minion")
    if not os.path.exists(SALT_CALL):
        sys.exit("install Salt first: scripts/install-salt.sh")
    grains = open(os.path.join(tree, "grains.yaml")).read()
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "minion"), "w") as f:
            f.write(f"""file_client: local
id: bench01
file_roots: {{base: [{tree}/salt]}}
pillar_roots: {{base: [{tree}/pillar]}}
cachedir: {tmp}/cache
pki_dir: {tmp}/pki
log_file: {tmp}/log
sock_dir: {tmp}/sock
grains:
""" + "".join(f"  {line}\n" for line in grains.splitlines() if line and not line.startswith("#")))
        salt = [SALT_CALL, "--config-dir", tmp, "--local", "--out", "json", "state.show_lowstate"]
        brine = [minion, "show", "--local", "--file-root", f"{tree}/salt", "--pillar-root", f"{tree}/pillar",
                 "--grains", f"{tree}/grains.yaml", "--id", "bench01", "--out", "json", "lowstate"]
        # One untimed run each: warms the page cache and checks both agree.
        _, _, s_out = timed(salt)
        _, _, b_out = timed(brine)
        same = json.loads(s_out) == json.loads(b_out)
        chunks = len(json.loads(b_out)["local"])
        b_times, s_times, b_rss, s_rss = [], [], [], []
        for _ in range(args.runs):
            t, r, _ = timed(brine)
            b_times.append(t)
            b_rss.append(r)
            t, r, _ = timed(salt)
            s_times.append(t)
            s_rss.append(r)
    bm, sm = statistics.median(b_times), statistics.median(s_times)
    print(f"tree: {tree} ({chunks} chunks; outputs {'identical' if same else 'DIFFER'})")
    print(f"runs: {args.runs}, alternating")
    print(f"brine  minion show --local lowstate : median {bm * 1000:8.2f} ms  peak RSS {max(b_rss) / 1024:6.1f} MiB")
    print(f"salt   salt-call state.show_lowstate: median {sm * 1000:8.2f} ms  peak RSS {max(s_rss) / 1024:6.1f} MiB")
    print(f"ratio  salt / brine = {sm / bm:.1f}x")


if __name__ == "__main__":
    main()
