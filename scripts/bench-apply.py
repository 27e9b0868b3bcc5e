#!/usr/bin/env python3
"""Masterless apply benchmark: `minion apply --local` against
`salt-call --local state.apply` on the same generated tree of N file.managed
states rendered from a Jinja template, alternating the two tools in each round
so both see the same machine load. Four cases per round:

  first      apply into an empty directory (N files created)
  noop       apply again (nothing changes)
  test-noop  test=True, nothing would change
  test-all   test=True after a pillar change that would change every file

Prints the median wall time and peak RSS per tool and case, and the ratio.
Needs Salt (scripts/install-salt.sh), /usr/bin/time, and a release build
(cargo build --release -p minion).

usage: scripts/bench-apply.py [-n N ...] [--rounds R]"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SALT_CALL = os.path.expanduser(os.environ.get("BRINE_SALT_VENV", "~/.cache/brine/salt-venv")) + "/bin/salt-call"
TARGET = os.environ.get("BRINE_TARGET_DIR") or os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
MINION = os.path.join(TARGET, "release", "minion")
BASELINE = None  # --baseline: an earlier build's minion, run alternated with this one
CASES = ["first", "noop", "test-noop", "test-all"]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_tree(root, n):
    salt = os.path.join(root, "salt")
    write(os.path.join(salt, "top.sls"), "base:\n  '*':\n    - files\n")
    write(os.path.join(salt, "app.conf.j2"),
          "# managed\nname = {{ name }}\nindex = {{ index }}\nversion = {{ pillar['version'] }}\n"
          "{% for k, v in settings.items() %}{{ k }} = {{ v }}\n{% endfor %}")
    write(os.path.join(salt, "files.sls"),
          "{% set target = pillar['target'] %}\n"
          f"{{% for i in range({n}) %}}\n"
          "conf_{{ i }}:\n"
          "  file.managed:\n"
          "    - name: {{ target }}/conf_{{ i }}.conf\n"
          "    - source: salt://app.conf.j2\n"
          "    - template: jinja\n"
          "    - mode: '0644'\n"
          "    - makedirs: True\n"
          "    - context:\n"
          "        name: conf_{{ i }}\n"
          "        index: {{ i }}\n"
          "        settings: {workers: 4, log: info}\n"
          "{% endfor %}\n")


def write_pillar(root, who, version):
    pillar = os.path.join(root, f"pillar-{who}")
    write(os.path.join(pillar, "top.sls"), "base:\n  '*':\n    - app\n")
    write(os.path.join(pillar, "app.sls"), f"version: {version}\ntarget: {os.path.join(root, 'out-' + who)}\n")
    return pillar


def timed(argv, env=None):
    with tempfile.NamedTemporaryFile("r") as rss_file:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file.name] + argv,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        elapsed = time.perf_counter() - start
        rss = int(rss_file.read().strip().splitlines()[-1] or 0)
    if proc.returncode not in (0,):
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr.decode()[-2000:]}")
    return elapsed, rss


def commands(root, tmp):
    salt_conf = os.path.join(tmp, "saltconf")
    write(os.path.join(salt_conf, "minion"), f"""file_client: local
id: bench
file_roots: {{base: [{root}/salt]}}
pillar_roots: {{base: [{root}/pillar-salt]}}
cachedir: {tmp}/cache
pki_dir: {tmp}/pki
log_file: {tmp}/log
sock_dir: {tmp}/sock
enable_fqdns_grains: False
enable_gpu_grains: False
""")

    def brine(minion, who):
        def argv(test):
            a = [minion, "apply", "--local", "--file-root", f"{root}/salt", "--pillar-root", f"{root}/pillar-{who}",
                 "--id", "bench", "--out", "json"]
            return a + (["--test"] if test else [])
        return argv

    def salt(test):
        argv = [SALT_CALL, "--local", "-c", salt_conf, "--out", "json", "state.apply"]
        return argv + (["test=True"] if test else [])

    cmds = {"brine": brine(MINION, "brine"), "salt": salt}
    if BASELINE:
        cmds["before"] = brine(BASELINE, "before")
    return cmds


def bench(n, rounds):
    tools = ["brine", "salt"] + (["before"] if BASELINE else [])
    results = {(tool, case): ([], []) for tool in tools for case in CASES}
    with tempfile.TemporaryDirectory(prefix=f"brine-bench-{n}-") as root:
        make_tree(root, n)
        tmp = os.path.join(root, "tmp")
        cmds = commands(root, tmp)
        for _ in range(rounds):
            for case in CASES:
                for tool in tools:
                    if case == "first":
                        shutil.rmtree(os.path.join(root, "out-" + tool), ignore_errors=True)
                    write_pillar(root, tool, "v2" if case == "test-all" else "v1")
                    t, rss = timed(cmds[tool](case.startswith("test")))
                    results[(tool, case)][0].append(t)
                    results[(tool, case)][1].append(rss)
                    write_pillar(root, tool, "v1")
    print(f"\nN={n} file.managed states with Jinja templates, {rounds} rounds, alternating")
    compare(results, "salt", 1)
    if BASELINE:
        print(f"\nthe same runs, this build against --baseline ({BASELINE})")
        compare(results, "before", 2)


def compare(results, other, decimals):
    """One line per case: this build's median time and peak RSS against `other`'s."""
    ratio = f"{other}/brine"
    print(f"{'case':10} {'brine ms':>10} {other + ' ms':>10} {ratio:>{len(ratio) + 1}} {'brine RSS':>10} {other + ' RSS':>11}")
    for case in CASES:
        b_t, b_r = results[("brine", case)]
        o_t, o_r = results[(other, case)]
        bm, om = statistics.median(b_t), statistics.median(o_t)
        print(f"{case:10} {bm * 1000:10.1f} {om * 1000:10.1f} {om / bm:{len(ratio)}.{decimals}f}x "
              f"{max(b_r) / 1024:8.1f}Mi {max(o_r) / 1024:9.1f}Mi")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, action="append", help="number of states (repeatable); default 100 and 1000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", metavar="TARGET_DIR",
                    help="also run the minion of an earlier release build (its target dir), alternated in the same rounds")
    args = ap.parse_args()
    global BASELINE
    if args.baseline:
        BASELINE = os.path.join(args.baseline, "release", "minion")
        if not os.path.exists(BASELINE):
            sys.exit(f"missing {BASELINE}")
    for path, hint in ((MINION, "cargo build --release -p minion"), (SALT_CALL, "scripts/install-salt.sh")):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: {hint}")
    for n in args.n or [100, 1000]:
        bench(n, args.rounds)


if __name__ == "__main__":
    main()
