"""Records real Salt's view of each compat tree into tests/compat/trees/*/expected/.

Run by scripts/record-salt-fixtures.sh with the Salt venv's python, because that
python has PyYAML (and is the same interpreter Salt itself runs on).

Each tree is rendered by `salt-call --local` with a throwaway config dir so that
nothing from this host's /etc/salt or /var/cache/salt leaks in. Only grains.yaml
and the minion id may influence the output; the recorded files are what Brine's
`minion show --local` must reproduce on any host.
"""

import json
import os
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TREES = os.path.join(ROOT, "tests", "compat", "trees")

# command name in the fixture (and in Brine's CLI) -> salt-call function
COMMANDS = [
    ("lowstate", ["state.show_lowstate"]),
    ("highstate", ["state.show_highstate"]),
    ("top", ["state.show_top"]),
    ("pillar", ["pillar.items"]),
]


def minion_config(tree, tmp, case, grains):
    config = base_config(tree, tmp, case, grains)
    # case.yaml's `config:` (environments and their keys); root directories
    # are relative to the tree.
    extra = dict(case.get("config") or {})
    for key in ("file_roots", "pillar_roots"):
        if key in extra:
            extra[key] = {
                env: [os.path.join(tree, d) for d in dirs] for env, dirs in extra[key].items()
            }
    config.update(extra)
    return config


def base_config(tree, tmp, case, grains):
    return {
        "file_client": "local",
        "id": case["id"],
        "file_roots": {"base": [os.path.join(tree, "salt")]},
        "pillar_roots": {"base": [os.path.join(tree, "pillar")]},
        "cachedir": os.path.join(tmp, "cache"),
        "pki_dir": os.path.join(tmp, "pki"),
        "sock_dir": os.path.join(tmp, "sock"),
        "log_file": os.path.join(tmp, "log"),
        "extension_modules": os.path.join(tmp, "extmods"),
        # Grain detection that does DNS or GPU probing is slow and host specific;
        # no tree may depend on it anyway.
        "enable_fqdns_grains": False,
        "enable_gpu_grains": False,
        "grains": grains,
    }


def gpg_keydir(tree, tmp):
    """A tree with gpgkey.asc (a throwaway secret key) has its pillar encrypted
    to it: the key is imported into a GnuPG home under `tmp` for Salt's gpg
    renderer (`gpg_keydir`), as the compat harness does for Brine."""
    key = os.path.join(tree, "gpgkey.asc")
    if not os.path.exists(key):
        return None
    home = os.path.join(tmp, "gpgkeys")
    os.makedirs(home, mode=0o700)
    subprocess.run(
        ["gpg", "--homedir", home, "--batch", "--no-tty", "--quiet", "--import", key],
        check=True,
        capture_output=True,
    )
    return home


def stop_gpg_agent(home):
    if home:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False)


def reindent(text):
    # Keep Salt's key order (json.loads preserves it); only the indent changes
    # so the fixtures diff nicely.
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def write_if_changed(path, content):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == content:
                return False
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8") as f:
        f.write(content)
    return True


def record(salt_call, tree):
    name = os.path.basename(tree)
    with open(os.path.join(tree, "case.yaml"), encoding="utf-8") as f:
        case = yaml.safe_load(f) or {}
    grains_file = os.path.join(tree, "grains.yaml")
    grains = {}
    if os.path.exists(grains_file):
        with open(grains_file, encoding="utf-8") as f:
            grains = yaml.safe_load(f) or {}
    expected = os.path.join(tree, "expected")
    os.makedirs(expected, exist_ok=True)

    commands = list(COMMANDS)
    # Trees of harmless states (test.*, echo) are also applied, dry and real:
    # Salt's results are the oracle for the executor's requisite truth table.
    for mode in case.get("apply") or []:
        if mode == "test":
            commands.append(("apply_test", ["state.apply", "test=True"]))
        elif mode == "real":
            commands.append(("apply", ["state.apply"]))
    if case.get("sls"):
        commands.append(("sls", ["state.show_sls", ",".join(case["sls"])]))

    changed = []
    statuses = {}
    leaks = []
    rendered_errors = False
    # Words after every command, as Salt spells them (`saltenv=prod`).
    extra_args = [str(a) for a in case.get("args") or []]
    # A tree's minion.yaml holds config keys both Salt and Brine read.
    extra = {}
    extra_file = os.path.join(tree, "minion.yaml")
    if os.path.exists(extra_file):
        with open(extra_file, encoding="utf-8") as f:
            extra = yaml.safe_load(f) or {}
    with tempfile.TemporaryDirectory(prefix="brine-record-") as tmp:
        conf = os.path.join(tmp, "conf")
        os.makedirs(conf)
        config = minion_config(tree, tmp, case, grains)
        keydir = gpg_keydir(tree, tmp)
        if keydir:
            config["gpg_keydir"] = keydir
        with open(os.path.join(conf, "minion"), "w", encoding="utf-8") as f:
            # A tree with environments keeps its config's order: Salt reads
            # the saltenvs of file_roots in that order (the others keep the
            # sorted dump they were recorded with).
            yaml.safe_dump({**config, **extra}, f, sort_keys=not case.get("config"))
        if extra.get("mine_functions"):
            # salt-call --local mine.get reads what the last mine.update stored.
            subprocess.run(
                [salt_call, "--local", "-c", conf, "mine.update"],
                capture_output=True,
                check=True,
                env=dict(os.environ, LC_ALL="C.UTF-8"),
            )
        for cmd, args in commands:
            proc = subprocess.run(
                [salt_call, "--local", "-c", conf, "--out", "json", *args, *extra_args],
                capture_output=True,
                text=True,
                env=dict(os.environ, LC_ALL="C.UTF-8"),
            )
            out = proc.stdout
            # Error messages may name the tree or the temp dir; fixtures must not.
            for path, token in ((tree, "TREE"), (tmp, "TMP")):
                if path in out:
                    leaks.append(cmd)
                    out = out.replace(path, token)
            try:
                content = reindent(out)
            except ValueError:
                sys.exit(f"{name}: {cmd}: salt-call printed no JSON:\n{proc.stdout}{proc.stderr}")
            if cmd == "lowstate":
                # show_lowstate exits 0 even when rendering fails; its answer is
                # then a list of error strings instead of chunks.
                low = json.loads(content).get("local")
                rendered_errors = isinstance(low, list) and any(isinstance(c, str) for c in low)
            if write_if_changed(os.path.join(expected, f"{cmd}.json"), content):
                changed.append(cmd)
            if proc.returncode != 0:
                statuses[cmd] = proc.returncode
        stop_gpg_agent(keydir)
    status_file = os.path.join(expected, "status.json")
    if statuses:
        if write_if_changed(status_file, json.dumps(statuses, indent=2) + "\n"):
            changed.append("status")
    elif os.path.exists(status_file):
        os.remove(status_file)
        changed.append("status")
    note = f"changed: {' '.join(changed)}" if changed else "unchanged"
    if statuses:
        note += f"; salt exit {statuses}"
    if leaks:
        note += f"; paths replaced in {' '.join(leaks)}"
    if rendered_errors != bool(case.get("error_contains")):
        note += (
            "; WARNING: Salt refused this tree but case.yaml has no error_contains"
            if rendered_errors
            else "; WARNING: case.yaml has error_contains but Salt compiled the tree"
        )
    print(f"{name}: {note}")


def main():
    salt_call = sys.argv[1]
    names = sys.argv[2:] or sorted(
        d for d in os.listdir(TREES) if os.path.isfile(os.path.join(TREES, d, "case.yaml"))
    )
    for name in names:
        name = name.rstrip("/")
        # A tree outside trees/ (tests/compat/pending/...) is named by its path.
        if os.path.isfile(os.path.join(name, "case.yaml")) and os.sep in name:
            record(salt_call, os.path.abspath(name))
        else:
            record(salt_call, os.path.join(TREES, os.path.basename(name)))


if __name__ == "__main__":
    main()
