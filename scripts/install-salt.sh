#!/usr/bin/env bash
# Installs Salt 3007.8 (the differential-test oracle) into a venv outside the checkout.
# Idempotent: does nothing when the venv already answers with the pinned version.
set -euo pipefail
SALT_VERSION=3007.8
VENV=${BRINE_SALT_VENV:-$HOME/.cache/brine/salt-venv}
if [ -x "$VENV/bin/salt-call" ] && "$VENV/bin/python" -c "import salt.version as v; assert v.__version__ == '$SALT_VERSION'" 2>/dev/null; then
  echo "salt $SALT_VERSION already in $VENV"
  exit 0
fi
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "salt==$SALT_VERSION" PyYAML Jinja2 msgpack pyzmq tornado looseversion \
  packaging psutil requests distro jmespath cryptography pycryptodomex aiohttp markupsafe \
  python-dateutil croniter setproctitle
"$VENV/bin/salt-call" --version
