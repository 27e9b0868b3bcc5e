#!/usr/bin/env python3
"""The crate rules of ARCHITECTURE.md, checked against `cargo metadata`.

Run by scripts/test.sh, so a forbidden edge fails CI. Each rule says which
workspace crates a crate may depend on (directly, normal or build dependency)
and which third-party crates must never be in its resolved dependency tree.
Dev-dependencies are allowed anything: tests may start real daemons.
"""
import json
import subprocess
import sys

# Workspace crate -> the workspace crates it may depend on.
ALLOWED = {
    "common": set(),
    "durable": set(),
    "transport": {"common", "durable"},
    "process_tuning": set(),
    "pillar": {"common"},
    # Runs python3 and gpg for the renderers; the binaries hand it to theirs.
    "external_render": {"common"},
    "states": {"common", "durable", "pillar"},
    # The two binaries are siblings over the libraries: neither links the other.
    "master": {"common", "durable", "transport", "pillar", "states", "process_tuning", "external_render"},
    "minion": {"common", "durable", "transport", "pillar", "states", "process_tuning", "external_render"},
    "tests": {"common", "transport"},
    # Build-time only (scripts/build-debs.sh): completions and man pages from
    # both binaries' clap definitions. Nothing links it.
    "dist_assets": {"master", "minion"},
}

# Crates whose whole (non-dev) dependency tree must leave these out: the
# language and the state engine link no sockets, async runtime or cryptography
# of the wire, and neither library links a command-line parser or an allocator.
NEVER_BELOW = {
    "common": {"tokio", "zeromq", "snow", "transport", "clap", "mimalloc"},
    "pillar": {"tokio", "zeromq", "snow", "transport", "clap", "mimalloc"},
    "states": {"tokio", "zeromq", "snow", "transport", "mimalloc"},
    "external_render": {"tokio", "zeromq", "snow", "transport", "clap", "mimalloc"},
}


def main() -> int:
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    members = set(meta["workspace_members"])
    by_id = {p["id"]: p for p in meta["packages"]}
    names = {by_id[m]["name"] for m in members}
    errors = []

    unknown = names - set(ALLOWED)
    for n in sorted(unknown):
        errors.append(f"{n}: a workspace crate with no rule in scripts/check-crate-graph.py")

    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}

    def normal_deps(node_id):
        for d in nodes[node_id]["deps"]:
            kinds = {k["kind"] for k in d["dep_kinds"]}
            if kinds - {"dev"}:
                yield d["pkg"]

    for m in sorted(members, key=lambda i: by_id[i]["name"]):
        name = by_id[m]["name"]
        for dep in normal_deps(m):
            dname = by_id[dep]["name"]
            if dep in members and dname not in ALLOWED.get(name, set()):
                errors.append(f"{name} depends on {dname}: not allowed (ARCHITECTURE.md, Crates)")
        banned = NEVER_BELOW.get(name)
        if banned:
            seen, stack = set(), [m]
            while stack:
                cur = stack.pop()
                for dep in normal_deps(cur):
                    if dep not in seen:
                        seen.add(dep)
                        stack.append(dep)
            for dep in sorted(seen, key=lambda i: by_id[i]["name"]):
                if by_id[dep]["name"] in banned:
                    errors.append(f"{name} links {by_id[dep]['name']} (through its dependency tree): not allowed")

    for e in errors:
        print(f"crate graph: {e}", file=sys.stderr)
    if not errors:
        print(f"crate graph: {len(names)} workspace crates follow the rules")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
