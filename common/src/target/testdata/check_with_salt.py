"""Re-derives cases.json's expectations from Salt's own matchers.

Run with the Python of a Salt 3007 install (not needed by the Rust tests):

    $SALT_VENV/bin/python common/src/target/testdata/check_with_salt.py

For each case [kind, expr, minion, expected, divergence?] it calls
salt.matchers.<kind>_match.match with a minimal __opts__ and checks:
- expected true/false: Salt returns that truth value without raising;
- expected "error": Salt raises, or returns a false value and logs an error
  (Brine turns these into errors);
- a divergence {"salt": value} documents where Brine deliberately differs:
  Salt's own result must then be `value` ("raise" for an exception).
"""
import json
import logging
import os
import sys

import salt.matchers.compound_match as compound_match
import salt.matchers.glob_match as glob_match
import salt.matchers.grain_match as grain_match
import salt.matchers.grain_pcre_match as grain_pcre_match
import salt.matchers.ipcidr_match as ipcidr_match
import salt.matchers.list_match as list_match
import salt.matchers.nodegroup_match as nodegroup_match
import salt.matchers.pcre_match as pcre_match
import salt.matchers.pillar_exact_match as pillar_exact_match
import salt.matchers.pillar_match as pillar_match
import salt.matchers.pillar_pcre_match as pillar_pcre_match

MODULES = {
    "glob": glob_match,
    "pcre": pcre_match,
    "list": list_match,
    "grain": grain_match,
    "grain_pcre": grain_pcre_match,
    "pillar": pillar_match,
    "pillar_pcre": pillar_pcre_match,
    "pillar_exact": pillar_exact_match,
    "ipcidr": ipcidr_match,
    "compound": compound_match,
    "nodegroup": nodegroup_match,
}


class Errors(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record):
        self.count += 1


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "cases.json"), encoding="utf-8") as f:
        data = json.load(f)
    nodegroups = data["nodegroups"]
    errors = Errors()
    # Salt's import installs a console handler; the errors are counted, not shown.
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.CRITICAL + 1)
    logging.getLogger("salt").addHandler(errors)
    logging.getLogger("salt").setLevel(logging.ERROR)
    # The compound matcher calls the others through the loader's dict.
    matchers = {f"{k}_match.match": m.match for k, m in MODULES.items()}
    failures = 0
    for case in data["cases"]:
        kind, expr, minion, expected = case[:4]
        divergence = case[4] if len(case) > 4 else None
        fixture = data["minions"].get(minion, {})
        opts = {
            "id": minion,
            "grains": fixture.get("grains", {}),
            "pillar": fixture.get("pillar", {}),
            "nodegroups": nodegroups,
        }
        for module in MODULES.values():
            module.__opts__ = opts
            module.__context__ = {"matchers": matchers}
        errors.count = 0
        try:
            if kind == "nodegroup":
                result = nodegroup_match.match(expr, nodegroups, opts=opts, minion_id=minion)
            else:
                result = MODULES[kind].match(expr, opts=opts, minion_id=minion)
            raised = False
        except Exception as exc:  # pylint: disable=broad-except
            result, raised = exc, True
        if divergence is not None:
            want = divergence["salt"]
            ok = raised if want == "raise" else (not raised and bool(result) == want)
        elif expected == "error":
            ok = raised or (not result and errors.count > 0)
        else:
            ok = not raised and bool(result) == expected
        if not ok:
            failures += 1
            print(f"MISMATCH {case!r}: salt gave {result!r} (raised={raised}, errors logged={errors.count})")
    print(f"{len(data['cases'])} cases, {failures} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
