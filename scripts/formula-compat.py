#!/usr/bin/env python3
"""Compare Brine's lowstate with Salt's on a real Salt formula.

Usage:
    scripts/formula-compat.py FORMULA_DIR [--sls NAME ...] [--os NAME] [--grains FILE]
                              [--pillar FILE] [--json] [--keep]
                              [--salt-call PATH] [--minion PATH]
    scripts/formula-compat.py --batch [--mapdata] [--os NAME ...] [--json]
                              FORMULA_DIR[:SLS[,SLS]] ...

`--os debian12|rocky9|ubuntu2204` picks the grains preset (OS_GRAINS below;
default debian12). `--batch` runs every FORMULA_DIR for every `--os` (default:
all three) and prints one markdown row per render and a count per OS, with
Salt's and Brine's render times (`--json`: one JSON summary per line instead).
There, where Salt fails on pillar.example, that row is kept and the formula's
first kitchen test pillar (test/**/pillar/*.sls) Salt renders gives a second
row. `--mapdata` adds a render of each template-formula's `NAME._mapdata`,
whose dump shows the map/pillar merge with its key order. `DIR:SLS` names the
SLS of a formula with no init.sls (nfs-formula: `nfs:nfs.server`).
Timestamps `%y-%m-%d_%H:%M:%S` (status.time in postgres-formula's pillar) are
masked on both sides, since the two renders run seconds apart.

FORMULA_DIR is a checkout of a formula repository (for example
saltstack-formulas/nginx-formula), whose root holds the formula's top-level
directory (nginx/) and usually a pillar.example.

The script builds a throwaway tree under a temp dir:

- state tree: file_roots = [TMP/salt, FORMULA_DIR], where TMP/salt holds only a
  generated top.sls giving minion `minion1` the formula's main SLS (the
  `top_level_dir` / `name` of its FORMULA file, else the one directory at the
  root with an init.sls) or the `--sls` names. `salt://<formula>/...` thus
  resolves into the checkout.
- pillar tree: TMP/pillar/top.sls assigning `example` to '*', and
  example.sls = FORMULA_DIR/pillar.example (or `--pillar FILE`).
- grains: fixed Debian 12 defaults (DEFAULT_GRAINS below) with the YAML/JSON
  map of `--grains FILE` merged over them (top-level keys replaced). The same map is given to
  both sides: to Salt as the minion config's `grains` (which override detected
  grains), to Brine as `--grains`. Grains not set here are detected on this host
  by both.

Then it runs

    salt-call --local --config-dir TMP/conf --out json state.show_lowstate
    minion show --local lowstate --file-root TMP/salt --file-root FORMULA_DIR \\
        --pillar-root TMP/pillar --grains TMP/grains.json --id minion1 --out json

and compares the two chunk lists: the number of chunks on each side, how many
are equal (chunks are matched by `__id__` + `state` + `fun` + `name`, compared
as whole JSON values with key order ignored), whether the order of the chunks
is identical, and a compact diff for every chunk that differs or exists on one
side only. If either side fails (a non-zero exit, or Salt's list of render
error strings instead of chunks), its error output is printed.

The verdict (`status` in the JSON summary) is one of: identical (same chunks
in the same order), same-errors (both refuse the tree with the same list of
error strings), differs, salt-fails, brine-fails, both-fail (different errors).

`--json` prints a machine-readable summary instead of the report. The exit
status is 0 for identical and same-errors, 1 otherwise, 2 on bad usage.

Needs: Python 3.8+ (standard library only), Salt's `salt-call` (default: on
PATH, else ~/.cache/brine/salt-venv/bin/salt-call, see scripts/install-salt.sh)
and a built Brine (default: target/debug/minion of this repo; `cargo build -p
minion`). Nothing on the host is changed; Salt's cache, pki and logs go into
the temp dir, which is removed unless `--keep` is given.

Example:
    scripts/formula-compat.py /tmp/formulas/nginx-formula
    scripts/formula-compat.py /tmp/formulas/openssh-formula --sls openssh openssh.config
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MINION_ID = "minion1"

# A Debian 12 amd64 host. Formulas key their map.jinja on these.
DEFAULT_GRAINS = {
    "id": MINION_ID,
    "fqdn": MINION_ID,
    "host": MINION_ID,
    "nodename": MINION_ID,
    "localhost": MINION_ID,
    "domain": "",
    "os": "Debian",
    "os_family": "Debian",
    "osfullname": "Debian GNU/Linux",
    "osmajorrelease": 12,
    "osrelease": "12",
    "osrelease_info": [12],
    "oscodename": "bookworm",
    "lsb_distrib_id": "Debian",
    "lsb_distrib_codename": "bookworm",
    "lsb_distrib_release": "12",
    "osfinger": "Debian-12",
    "osarch": "amd64",
    "cpuarch": "x86_64",
    "kernel": "Linux",
    "kernelrelease": "6.1.0-18-amd64",
    "init": "systemd",
    "num_cpus": 2,
    "mem_total": 2000,
    "virtual": "physical",
    "selinux": {"enabled": False, "enforced": "Disabled"},
    "ipv4": ["127.0.0.1", "192.0.2.10"],
    "ipv6": ["::1"],
    "fqdn_ip4": ["192.0.2.10"],
    "fqdn_ip6": [],
    "saltversion": "3007.8",
    "saltversioninfo": [3007, 8],
    "pythonversion": [3, 11, 2, "final", 0],
    # Salt detects this on any systemd host; formulas test for it
    # (openvpn-formula's grains.has_value('systemd')).
    "systemd": {"version": "252", "features": "+PAM +AUDIT +SELINUX +APPARMOR +SECCOMP +ACL"},
}

# `--os NAME`: the grains Salt 3007.8 reports on that distribution, laid over
# DEFAULT_GRAINS (which is debian12).
OS_GRAINS = {
    "debian12": {},
    "rocky9": {
        "os": "Rocky",
        "os_family": "RedHat",
        "osfullname": "Rocky Linux",
        "osmajorrelease": 9,
        "osrelease": "9.3",
        "osrelease_info": [9, 3],
        "oscodename": "Blue Onyx",
        "lsb_distrib_id": "Rocky Linux",
        "lsb_distrib_codename": "Blue Onyx",
        "lsb_distrib_release": "9.3",
        "osfinger": "Rocky Linux-9",
        "osarch": "x86_64",
        "kernelrelease": "5.14.0-362.8.1.el9_3.x86_64",
        "selinux": {"enabled": True, "enforced": "Enforcing"},
        "pythonversion": [3, 9, 18, "final", 0],
    },
    "ubuntu2204": {
        "os": "Ubuntu",
        "os_family": "Debian",
        "osfullname": "Ubuntu",
        "osmajorrelease": 22,
        "osrelease": "22.04",
        "osrelease_info": [22, 4],
        "oscodename": "jammy",
        "lsb_distrib_id": "Ubuntu",
        "lsb_distrib_codename": "jammy",
        "lsb_distrib_release": "22.04",
        "osfinger": "Ubuntu-22.04",
        "kernelrelease": "5.15.0-91-generic",
        "pythonversion": [3, 10, 12, "final", 0],
        "systemd": {"version": "249", "features": "+PAM +AUDIT +SELINUX +APPARMOR +SECCOMP +ACL"},
    },
}

LIMIT = 300  # characters of one value shown in a diff line


def load_map(path):
    """A YAML or JSON mapping from PATH (YAML needs PyYAML, which Salt's python has)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        data = json.loads(text)
    except ValueError:
        try:
            import yaml  # noqa: PLC0415
        except ImportError:
            sys.exit(f"{path}: not JSON, and PyYAML is not installed to read it as YAML")
        data = yaml.safe_load(text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        sys.exit(f"{path}: expected a mapping of grains")
    return data


def formula_name(formula_dir):
    """The formula's top-level directory: FORMULA's top_level_dir/name, else the one dir with init.sls."""
    meta = os.path.join(formula_dir, "FORMULA")
    if os.path.exists(meta):
        fields = {}
        with open(meta, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^(\w+):\s*(.*?)\s*$", line)
                if m:
                    fields[m.group(1)] = m.group(2).strip("'\"")
        for key in ("top_level_dir", "name"):
            name = fields.get(key)
            if name and os.path.isdir(os.path.join(formula_dir, name)):
                return name
    candidates = [
        d
        for d in sorted(os.listdir(formula_dir))
        if d not in ("test", "tests", "docs", "_pillar")
        and os.path.isfile(os.path.join(formula_dir, d, "init.sls"))
    ]
    if len(candidates) == 1:
        return candidates[0]
    sys.exit(f"{formula_dir}: cannot tell the formula's main SLS ({candidates or 'none found'}); give --sls")


def find_salt_call(given):
    if given:
        return given
    on_path = shutil.which("salt-call")
    if on_path:
        return on_path
    venv = os.path.expanduser("~/.cache/brine/salt-venv/bin/salt-call")
    if os.path.exists(venv):
        return venv
    sys.exit("salt-call not found: put it on PATH, give --salt-call, or run scripts/install-salt.sh")


def find_minion(given):
    path = given or os.path.join(ROOT, "target", "debug", "minion")
    if not os.path.exists(path):
        sys.exit(f"{path}: no Brine binary; run `cargo build -p minion` or give --minion")
    return path


def git_commit(formula_dir):
    # An exported checkout (git archive) carries its commit in .formula-commit.
    recorded = os.path.join(formula_dir, ".formula-commit")
    if os.path.exists(recorded):
        with open(recorded, encoding="utf-8") as f:
            return f.read().strip()[:12]
    try:
        out = subprocess.run(
            ["git", "-C", formula_dir, "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def build_tree(tmp, formula_dir, sls, pillar_file, grains):
    """Writes TMP/{salt,pillar,conf}; returns the Salt config dir and Brine's arguments."""
    salt_root = os.path.join(tmp, "salt")
    pillar_root = os.path.join(tmp, "pillar")
    conf = os.path.join(tmp, "conf")
    for d in (salt_root, pillar_root, conf):
        os.makedirs(d)
    with open(os.path.join(salt_root, "top.sls"), "w", encoding="utf-8") as f:
        f.write("base:\n  %s:\n%s" % (json.dumps(MINION_ID), "".join(f"    - {s}\n" for s in sls)))
    with open(os.path.join(pillar_root, "top.sls"), "w", encoding="utf-8") as f:
        f.write("base:\n  '*':\n    - example\n" if pillar_file else "base: {}\n")
    if pillar_file:
        shutil.copyfile(pillar_file, os.path.join(pillar_root, "example.sls"))
    grains_file = os.path.join(tmp, "grains.json")
    with open(grains_file, "w", encoding="utf-8") as f:
        json.dump(grains, f, indent=2)
    file_roots = [salt_root, os.path.abspath(formula_dir)]
    config = {
        "file_client": "local",
        "id": MINION_ID,
        "file_roots": {"base": file_roots},
        "pillar_roots": {"base": [pillar_root]},
        "cachedir": os.path.join(tmp, "cache"),
        "pki_dir": os.path.join(tmp, "pki"),
        "sock_dir": os.path.join(tmp, "sock"),
        "log_file": os.path.join(tmp, "log"),
        "extension_modules": os.path.join(tmp, "extmods"),
        "enable_fqdns_grains": False,
        "enable_gpu_grains": False,
        "grains": grains,
    }
    # JSON is YAML: the config needs no PyYAML to write.
    with open(os.path.join(conf, "minion"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    brine_args = []
    for r in file_roots:
        brine_args += ["--file-root", r]
    brine_args += ["--pillar-root", pillar_root, "--grains", grains_file, "--id", MINION_ID]
    return conf, brine_args


def run(cmd):
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, LC_ALL="C.UTF-8"))
    return proc, time.monotonic() - start


def parse_side(name, proc):
    """(chunks, error text, error list). Chunks is None when the side failed;
    the error list is the list of error strings a side answered with, if any."""
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        data = None
    low = data.get("local") if isinstance(data, dict) else None
    err = None
    if not isinstance(low, list):
        err = "no lowstate in the output"
    elif any(not isinstance(c, dict) for c in low):
        # Salt answers render errors with a list of strings (and may exit 0).
        err = "\n".join(str(c) for c in low if not isinstance(c, dict))
    elif proc.returncode != 0:
        err = f"exit status {proc.returncode}"
    if err is None:
        return low, None, None
    errors = [str(c) for c in low if not isinstance(c, dict)] if isinstance(low, list) else None
    text = f"{name}: {err}\n(exit status {proc.returncode})"
    if not (isinstance(low, list) and low) and proc.stdout.strip():
        text += "\n--- stdout ---\n" + tail(proc.stdout)
    # Brine repeats its error list on stderr: print that only when it says more.
    if proc.stderr.strip() and not (err and err.strip() in proc.stderr):
        text += "\n--- stderr ---\n" + tail(proc.stderr)
    return None, text, errors or None


def tail(text, lines=40):
    """The end of TEXT; a Python traceback is cut to its last (innermost) frames."""
    text = text.strip()
    # salt-call logs a traceback and then raises it again: keep the last one.
    last = text.rfind("Traceback (most recent call last)")
    if last > 0:
        text = text[last:]
    kept = text.splitlines()
    if len(kept) > lines:
        kept = ["[...]"] + kept[-lines:]
    return "\n".join(kept)


def chunk_key(c):
    return (str(c.get("__id__")), str(c.get("state")), str(c.get("fun")), json.dumps(c.get("name"), sort_keys=True))


def key_label(k):
    return f"{k[1]}.{k[2]} id={k[0]!r} name={k[3]}"


def short(v):
    s = json.dumps(v, sort_keys=True, ensure_ascii=False)
    return s if len(s) <= LIMIT else s[: LIMIT - 3] + "..."


def value_diff(a, b, path=""):
    """Lines naming where two JSON values differ (key order ignored)."""
    if a == b:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        lines = []
        for k in list(a) + [k for k in b if k not in a]:
            p = f"{path}.{k}" if path else str(k)
            if k not in b:
                lines.append(f"{p}: salt only = {short(a[k])}")
            elif k not in a:
                lines.append(f"{p}: brine only = {short(b[k])}")
            else:
                lines += value_diff(a[k], b[k], p)
        return lines
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        lines = []
        for i, (x, y) in enumerate(zip(a, b)):
            lines += value_diff(x, y, f"{path}[{i}]")
        return lines
    if isinstance(a, list) and isinstance(b, list):
        # Different lengths: name the items one side has more of.
        rest_b = list(b)
        salt_only = []
        for x in a:
            if x in rest_b:
                rest_b.remove(x)
            else:
                salt_only.append(x)
        line = f"{path or '(chunk)'}: salt has {len(a)} items, brine {len(b)}"
        if salt_only:
            line += f"; salt only: {short(salt_only)}"
        if rest_b:
            line += f"; brine only: {short(rest_b)}"
        if not salt_only and not rest_b:
            line += "; same items, other order"
        return [line]
    return [f"{path or '(chunk)'}: salt = {short(a)}  |  brine = {short(b)}"]


def compare(salt_low, brine_low):
    salt_by, brine_by = {}, {}
    for c in salt_low:
        salt_by.setdefault(chunk_key(c), []).append(c)
    for c in brine_low:
        brine_by.setdefault(chunk_key(c), []).append(c)
    equal = 0
    diffs = []
    for k in list(salt_by) + [k for k in brine_by if k not in salt_by]:
        s, b = salt_by.get(k, []), brine_by.get(k, [])
        for i in range(max(len(s), len(b))):
            if i >= len(b):
                diffs.append({"key": key_label(k), "kind": "salt only", "lines": [short(s[i])]})
            elif i >= len(s):
                diffs.append({"key": key_label(k), "kind": "brine only", "lines": [short(b[i])]})
            elif s[i] == b[i]:
                equal += 1
            else:
                diffs.append({"key": key_label(k), "kind": "differs", "lines": value_diff(s[i], b[i])})
    salt_order = [chunk_key(c) for c in salt_low]
    brine_order = [chunk_key(c) for c in brine_low]
    first_divergence = None
    for i, (x, y) in enumerate(zip(salt_order, brine_order)):
        if x != y:
            first_divergence = {"index": i, "salt": key_label(x), "brine": key_label(y)}
            break
    if first_divergence is None and len(salt_order) != len(brine_order):
        i = min(len(salt_order), len(brine_order))
        first_divergence = {
            "index": i,
            "salt": key_label(salt_order[i]) if i < len(salt_order) else None,
            "brine": key_label(brine_order[i]) if i < len(brine_order) else None,
        }
    # Order of the chunks both sides have, ignoring missing/extra ones.
    common = set(salt_order) & set(brine_order)
    common_order_identical = [k for k in salt_order if k in common] == [k for k in brine_order if k in common]
    # Key order too, as both print it: map keys within every chunk, recursively.
    key_order_identical = [json.dumps(c) for c in salt_low] == [json.dumps(c) for c in brine_low]
    return {
        "key_order_identical": key_order_identical,
        "equal_chunks": equal,
        "order_identical": salt_order == brine_order,
        "common_order_identical": common_order_identical,
        "first_order_divergence": first_divergence,
        "diffs": diffs,
    }


def kitchen_pillars(formula_dir, name):
    """The formula's kitchen test pillar files (test/**/pillar/*.sls), NAME.sls and default.sls first."""
    found = []
    for root, _dirs, files in os.walk(os.path.join(formula_dir, "test")):
        if os.path.basename(root) == "pillar":
            found += [os.path.join(root, f) for f in files if f.endswith(".sls") and f != "top.sls"]
    rank = {f"{name}.sls": 0, "default.sls": 1}
    return sorted(found, key=lambda p: (rank.get(os.path.basename(p), 2), p))


def mask_times(low):
    """Chunks with status.time's %y-%m-%d_%H:%M:%S stamps made TIME: the two
    renders run seconds apart, so a pillar that stamps backups with the render
    time (postgres-formula) would never compare equal otherwise."""
    text = json.dumps(low)
    masked = re.sub(r"\b\d\d-\d\d-\d\d_\d\d:\d\d:\d\d\b", "TIME", text)
    return json.loads(masked), masked != text


def compare_formula(formula_dir, sls, pillar_file, grains, salt_call, minion, keep=False, grains_file=None):
    """Renders FORMULA_DIR on both sides; the summary dict (see the module doc)."""
    tmp = tempfile.mkdtemp(prefix="brine-formula-")
    try:
        conf, brine_args = build_tree(tmp, formula_dir, sls, pillar_file, grains)
        salt_proc, salt_secs = run([salt_call, "--local", "--config-dir", conf, "--out", "json", "state.show_lowstate"])
        brine_proc, brine_secs = run([minion, "show", "--local", "lowstate", *brine_args, "--out", "json"])
        # Error texts may name the temp dir; show it as TMP so runs compare.
        for proc in (salt_proc, brine_proc):
            proc.stdout = proc.stdout.replace(tmp, "TMP")
            proc.stderr = proc.stderr.replace(tmp, "TMP")
    finally:
        if keep:
            print(f"temp dir kept: {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    salt_low, salt_err, salt_errors = parse_side("salt", salt_proc)
    brine_low, brine_err, brine_errors = parse_side("brine", brine_proc)
    times_masked = False
    if salt_low is not None and brine_low is not None:
        salt_low, masked_s = mask_times(salt_low)
        brine_low, masked_b = mask_times(brine_low)
        times_masked = masked_s or masked_b
    summary = {
        "formula": os.path.basename(formula_dir.rstrip("/")),
        "commit": git_commit(formula_dir),
        "sls": sls,
        "pillar": os.path.relpath(pillar_file, formula_dir) if pillar_file else None,
        "grains_file": grains_file,
        "salt_seconds": round(salt_secs, 2),
        "brine_seconds": round(brine_secs, 2),
        "salt_chunks": len(salt_low) if salt_low is not None else None,
        "brine_chunks": len(brine_low) if brine_low is not None else None,
        "salt_error": salt_err,
        "brine_error": brine_err,
        "times_masked": times_masked,
    }
    if salt_low is not None and brine_low is not None:
        summary.update(compare(salt_low, brine_low))
    same_chunks = (
        salt_err is None
        and brine_err is None
        and not summary.get("diffs")
        and summary.get("order_identical", False)
        and summary.get("key_order_identical", False)
    )
    # Both refusing the tree with the same error list is agreement too.
    same_errors = salt_errors is not None and sorted(salt_errors) == sorted(brine_errors or [])
    if same_chunks:
        status = "identical"
    elif same_errors:
        status = "same-errors"
    elif salt_err and brine_err:
        status = "both-fail"
    elif salt_err:
        status = "salt-fails"
    elif brine_err:
        status = "brine-fails"
    else:
        status = "differs"
    summary["status"] = status
    summary["identical"] = same_chunks or same_errors
    return summary


def print_report(summary):
    sls = summary["sls"]
    print(f"formula: {summary['formula']} @ {summary['commit'] or '?'}  sls: {' '.join(sls)}  pillar: {summary['pillar']}")
    print(f"salt chunks:  {summary['salt_chunks']}  ({summary['salt_seconds']}s)")
    print(f"brine chunks: {summary['brine_chunks']}  ({summary['brine_seconds']}s)")
    for err in (summary["salt_error"], summary["brine_error"]):
        if err:
            print()
            print(err)
    if "diffs" in summary:
        print(f"equal chunks: {summary['equal_chunks']}")
        order = "yes" if summary["order_identical"] else "no"
        if not summary["order_identical"]:
            d = summary["first_order_divergence"]
            order += f" (first at #{d['index']}: salt {d['salt']} / brine {d['brine']}"
            order += "; order of common chunks identical)" if summary["common_order_identical"] else ")"
        print(f"order identical: {order}")
        for d in summary["diffs"]:
            print()
            print(f"[{d['kind']}] {d['key']}")
            for line in d["lines"]:
                print(f"    {line}")
    print()
    status = summary["status"]
    verdicts = {"identical": "IDENTICAL", "same-errors": "IDENTICAL (both refuse the tree with the same errors)"}
    print(verdicts.get(status, f"DIFFERENT ({status})"))


def first_line(text):
    """The first informative line of a side's error text, for a table cell."""
    if not text:
        return ""
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    # Skip the "salt: ..." header when it only repeats that the side failed.
    for x in lines:
        if x.startswith(("salt:", "brine:", "(exit status", "---")):
            continue
        return x[:160]
    return lines[0][:160] if lines else ""


def batch(args, salt_call, minion):
    """Every formula x every OS; prints a table (or JSON lines with --json)."""
    oses = args.os or ["debian12", "rocky9", "ubuntu2204"]
    rows = []
    jobs = []
    for spec in args.formula_dirs:
        # DIR:SLS[,SLS] names the SLS of a formula without an init.sls (nfs).
        formula_dir, _, given = spec.partition(":")
        formula_dir = os.path.abspath(formula_dir)
        name = formula_name(formula_dir) if not given else given.split(".")[0]
        sls = args.sls or (given.split(",") if given else [name])
        jobs.append((formula_dir, name, sls))
        # The template-formula's map dump: where map/pillar merge order shows.
        if args.mapdata and os.path.isfile(os.path.join(formula_dir, name, "_mapdata", "init.sls")):
            jobs.append((formula_dir, name, [f"{name}._mapdata"]))
    for formula_dir, name, sls in jobs:
        for os_name in oses:
            grains = dict(DEFAULT_GRAINS)
            grains.update(OS_GRAINS[os_name])
            if args.grains:
                grains.update(load_map(args.grains))
            example = os.path.join(formula_dir, "pillar.example")
            pillars = [args.pillar] if args.pillar else ([example] if os.path.exists(example) else [None])
            summary = compare_formula(formula_dir, sls, pillars[0], grains, salt_call, minion)
            done = [summary]
            # Where Salt itself fails on pillar.example, the kitchen test pillar is the formula's
            # own working example (the rule): the first one Salt renders is a second row.
            if summary["salt_error"] and not args.pillar:
                for kitchen in kitchen_pillars(formula_dir, name):
                    retry = compare_formula(formula_dir, sls, kitchen, grains, salt_call, minion)
                    if not retry["salt_error"]:
                        done.append(retry)
                        break
            for summary in done:
                summary["os"] = os_name
                summary["name"] = name
                rows.append(summary)
                if args.json:
                    print(json.dumps(summary, ensure_ascii=False), flush=True)
                else:
                    print(f"{name:<12} {' '.join(sls):<18} {os_name:<11} {summary['status']}", file=sys.stderr, flush=True)
    if not args.json:
        print_table(rows, oses)
    return 0 if all(r["identical"] for r in rows) else 1


def print_table(rows, oses):
    print("| formula | commit | SLS | OS | pillar | Salt chunks | Brine chunks | verdict | Salt s | Brine s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        verdict = r["status"]
        if verdict in ("brine-fails", "both-fail"):
            verdict += ": " + first_line(r["brine_error"]).replace("|", "\\|")
        elif verdict == "salt-fails":
            verdict += ": " + first_line(r["salt_error"]).replace("|", "\\|")
        elif verdict == "identical" and r.get("times_masked"):
            verdict += " (status.time stamps masked)"
        elif verdict == "differs" and not r.get("diffs") and r.get("order_identical"):
            verdict += " (map key order only)"
        elif verdict == "differs":
            verdict += f" ({r.get('equal_chunks')} equal, order {'same' if r.get('order_identical') else 'differs'})"
        print(
            f"| {r['name']} | {r['commit'] or '?'} | {' '.join(r['sls'])} | {r['os']} | {r['pillar']} | {r['salt_chunks']} "
            f"| {r['brine_chunks']} | {verdict} | {r['salt_seconds']:.2f} | {r['brine_seconds']:.2f} |"
        )
    print()
    print("| OS | renders | identical | both refuse | Brine differs | Brine fails | Salt fails | Salt s | Brine s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for os_name in oses + ["total"]:
        sel = [r for r in rows if os_name == "total" or r["os"] == os_name]
        count = lambda *st: sum(1 for r in sel if r["status"] in st)  # noqa: E731
        print(
            f"| {os_name} | {len(sel)} | {count('identical')} | {count('same-errors', 'both-fail')} "
            f"| {count('differs')} | {count('brine-fails')} | {count('salt-fails')} "
            f"| {sum(r['salt_seconds'] for r in sel):.1f} | {sum(r['brine_seconds'] for r in sel):.1f} |"
        )


def main():
    ap = argparse.ArgumentParser(
        description="Compare `minion show --local lowstate` with salt-call's state.show_lowstate on a formula.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Example:")[1] if "Example:" in __doc__ else None,
    )
    ap.add_argument("formula_dirs", metavar="FORMULA_DIR", nargs="+")
    ap.add_argument("--sls", nargs="+", metavar="NAME", help="SLS names for top.sls (default: the formula's main SLS)")
    ap.add_argument("--os", nargs="+", choices=sorted(OS_GRAINS), help="grains preset(s) (default: debian12)")
    ap.add_argument("--grains", metavar="FILE", help="YAML/JSON grains merged over the OS preset")
    ap.add_argument("--pillar", metavar="FILE", help="pillar SLS to use instead of FORMULA_DIR/pillar.example")
    ap.add_argument("--batch", action="store_true", help="every FORMULA_DIR x every --os (default: all three); a table")
    ap.add_argument("--mapdata", action="store_true", help="with --batch: also render each formula's _mapdata SLS")
    ap.add_argument("--json", action="store_true", help="print a machine-readable summary")
    ap.add_argument("--keep", action="store_true", help="keep (and name) the temp dir")
    ap.add_argument("--salt-call", metavar="PATH", help="salt-call to run")
    ap.add_argument("--minion", metavar="PATH", help="Brine binary (default: target/debug/minion)")
    args = ap.parse_args()

    for d in args.formula_dirs:
        if not os.path.isdir(d.partition(":")[0]):
            ap.error(f"{d}: not a directory")
    salt_call = find_salt_call(args.salt_call)
    minion = find_minion(args.minion)
    if args.batch:
        return batch(args, salt_call, minion)
    if len(args.formula_dirs) != 1 or (args.os and len(args.os) != 1):
        ap.error("one FORMULA_DIR and one --os without --batch")

    formula_dir = os.path.abspath(args.formula_dirs[0])
    sls = args.sls or [formula_name(formula_dir)]
    pillar_file = args.pillar or os.path.join(formula_dir, "pillar.example")
    if not os.path.exists(pillar_file):
        if args.pillar:
            ap.error(f"{pillar_file}: no such file")
        pillar_file = None
    grains = dict(DEFAULT_GRAINS)
    grains.update(OS_GRAINS[args.os[0] if args.os else "debian12"])
    if args.grains:
        grains.update(load_map(args.grains))
    summary = compare_formula(formula_dir, sls, pillar_file, grains, salt_call, minion, args.keep, args.grains)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print_report(summary)
    return 0 if summary["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
