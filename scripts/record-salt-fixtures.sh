#!/usr/bin/env bash
# Records real Salt's compile output for the differential tests:
#   scripts/record-salt-fixtures.sh [TREE ...]   (TREE = tests/compat/trees/NNN-slug or NNN-slug)
#   (a tree elsewhere, e.g. tests/compat/pending/NNN-slug, is named by its path)
# Writes tests/compat/trees/*/expected/{lowstate,highstate,top,pillar[,sls]}.json and
# status.json (non-zero salt-call exits). Files are rewritten only when Salt's answer changed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${BRINE_SALT_VENV:-$HOME/.cache/brine/salt-venv}
# Quiet unless something goes wrong: the installer says "already in ..." on every run.
log=$(bash scripts/install-salt.sh 2>&1) || { echo "$log" >&2; exit 1; }
exec "$VENV/bin/python" scripts/record_salt_fixtures.py "$VENV/bin/salt-call" "$@"
