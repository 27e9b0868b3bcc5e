#!/usr/bin/env python3
"""Which state functions the public formulas' rendered low chunks name, and the
share of those chunks Brine can apply (its state module has the function).

Usage:
    scripts/formula-state-share.py [--os NAME ...] [--minion PATH] [--json] [--tables FILE]
                                   FORMULA_DIR[:SLS[,SLS]] ...

Each formula is rendered by Brine only (`minion show --local lowstate`), with
the trees, grains presets and pillar choice of scripts/formula-compat.py: its
pillar.example, else (when that render fails) its first kitchen test pillar
that renders. Renders that fail everywhere are listed and left out of the
count. Brine's state functions are read from its signature tables
(states/src/state/signatures/tables.rs: one `pub const MODULE` per state
module, one `Signature::new("fun", ...)` per function), which debug builds
hold complete (a function the table lacks is refused when read).

Prints, over every render: chunks, chunks whose `state.fun` Brine has, and
the missing functions by chunk count; `--json` prints the same as one object.
Chunks of the database-server modules (`mysql_*`, `postgres_*`: the issue
leaves them to an issue of their own) and of a formula's own Python state
modules (`_states/*.py`, which Salt syncs to its minions and Brine does not
run) are counted apart.
"""
import argparse
import collections
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
_spec = importlib.util.spec_from_file_location("formula_compat", os.path.join(HERE, "formula-compat.py"))
fc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fc)

# Salt's database-server modules: the issue leaves them to an issue of their own.
DATABASE_MODULES = re.compile(r"^(mysql|postgres)_")


TABLES = os.path.join(REPO, "states", "src", "state", "signatures", "tables.rs")


def brine_state_functions(path=TABLES):
    """{module: {function, ...}} from the signature tables."""
    text = open(path).read()
    out = {}
    # Each table runs from its `pub const` to the next item (some close on
    # their own line, some on the line they open).
    for part in re.split(r"^(?=pub const |const |#\[)", text, flags=re.M):
        m = re.match(r"pub const ([A-Z_]+): &\[Signature\]", part)
        if m:
            out[m.group(1).lower()] = set(re.findall(r'Signature::(?:new|any)\("([a-z_]+)"', part))
    return out


def render(formula_dir, sls, pillar_file, grains, minion):
    tmp = tempfile.mkdtemp(prefix="brine-share-")
    try:
        _conf, brine_args = fc.build_tree(tmp, formula_dir, sls, pillar_file, grains)
        proc, _secs = fc.run([minion, "show", "--local", "lowstate", *brine_args, "--out", "json"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    chunks, error, _errors = fc.parse_side("brine", proc)
    return chunks, (fc.first_line(error) if error else None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("formula_dirs", metavar="FORMULA_DIR", nargs="+")
    ap.add_argument("--os", nargs="+", choices=sorted(fc.OS_GRAINS))
    ap.add_argument("--minion", help="Brine binary (default: target/debug/minion)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--tables", default=TABLES,
                    help="the signature tables to count against (e.g. an older commit's, from git show)")
    args = ap.parse_args()
    minion = fc.find_minion(args.minion)
    oses = args.os or sorted(fc.OS_GRAINS)
    have = brine_state_functions(args.tables)
    by_fun = collections.Counter()
    custom = set()
    failed = []
    renders = 0
    for spec in args.formula_dirs:
        formula_dir, _, given = spec.partition(":")
        formula_dir = os.path.abspath(formula_dir)
        name = fc.formula_name(formula_dir) if not given else given.split(".")[0]
        sls = given.split(",") if given else [name]
        states_dir = os.path.join(formula_dir, "_states")
        if os.path.isdir(states_dir):
            custom |= {f[:-3] for f in os.listdir(states_dir) if f.endswith(".py")}
        example = os.path.join(formula_dir, "pillar.example")
        pillars = ([example] if os.path.exists(example) else [None]) + fc.kitchen_pillars(formula_dir, name)
        for os_name in oses:
            grains = dict(fc.DEFAULT_GRAINS)
            grains.update(fc.OS_GRAINS[os_name])
            error = None
            for pillar in pillars:
                chunks, error = render(formula_dir, sls, pillar, grains, minion)
                if chunks is not None:
                    break
            if chunks is None:
                failed.append({"formula": name, "os": os_name, "error": error})
                continue
            renders += 1
            for c in chunks:
                by_fun[f"{c.get('state')}.{c.get('fun')}"] += 1
    total = sum(by_fun.values())
    ok = {f: n for f, n in by_fun.items() if f.split(".", 1)[1] in have.get(f.split(".", 1)[0], ())}
    missing = {f: n for f, n in by_fun.items() if f not in ok}
    db = {f: n for f, n in missing.items() if DATABASE_MODULES.match(f)}
    own = {f: n for f, n in missing.items() if f.split(".", 1)[0] in custom}
    summary = {
        "renders": renders,
        "chunks": total,
        "implemented_chunks": sum(ok.values()),
        "database_module_chunks": sum(db.values()),
        "formula_module_chunks": sum(own.values()),
        "missing": dict(sorted(missing.items(), key=lambda kv: (-kv[1], kv[0]))),
        "failed_renders": failed,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    share = 100.0 * summary["implemented_chunks"] / total if total else 0.0
    rest = total - sum(db.values()) - sum(own.values())
    share_rest = 100.0 * summary["implemented_chunks"] / rest if rest else 0.0
    print(f"{renders} renders, {total} low chunks; Brine has the state function of "
          f"{summary['implemented_chunks']} ({share:.1f}%); {share_rest:.1f}% of the {rest} left "
          f"without the {sum(db.values())} chunks of mysql_*/postgres_* modules and the "
          f"{sum(own.values())} of formulas' own _states modules ({', '.join(sorted(custom))})")
    print("\n| missing state function | chunks | kind |\n|---|---|---|")
    for f, n in summary["missing"].items():
        kind = "database server" if f in db else "formula's own _states" if f in own else "Salt core"
        print(f"| {f} | {n} | {kind} |")
    for f in failed:
        print(f"render failed: {f['formula']} {f['os']}: {f['error']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
