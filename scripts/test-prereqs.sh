#!/usr/bin/env bash
# Installs what the test suite needs on the host, quietly and idempotently (a quick
# no-op when everything is there), so scripts/test.sh can call it on every run:
#
#   1. Debian packages, when their files are missing:
#      debootstrap            builds the container rootfs
#      debian-archive-keyring verifies what debootstrap downloads
#      systemd-container      systemd-nspawn, which boots the fleet's containers
#      util-linux             nsenter and setpriv, to run commands in them and tie
#                             their lifetime to the test process
#      iproute2               `ip`, for private-network veth pairs
#      tar                    copies directory trees into containers
#      time                   /usr/bin/time, for peak RSS in the benchmarks
#      python3                runs #!py SLS files (external_render's tests)
#      gnupg                  gpg, which the gpg renderer runs (encrypted pillar)
#                             and its tests use to make a throwaway keyring
#      libxml2-utils          xmllint, which validates `--out junit` against the
#                             JUnit schemas (fetched by fetch-junit-xsd.py)
#      python3-markdown-it    a real Markdown parser for `--out markdown`
#      python3-venv           `python3 -m venv` with ensurepip's pip, which the pip
#                             and virtualenv states' tests run
#      locales                locale-gen's sources (/usr/share/i18n), which the
#                             locale.present tests compile into a temp root
#      ruby                   gem, which the gem state's tests build and install
#                             a tiny local gem with
#      npm                    npm, which the npm state's tests pack and install a
#                             tiny local package with
#      debconf-utils          debconf-get-selections, which debconf.set reads
#                             answers with
#      git                    git and git-daemon, which the gitfs tests build and
#                             serve their remotes with
#      openssh-server         sshd, which the gitfs tests serve a remote over ssh
#                             with (its own config and keys in a temp dir)
#      openssl                makes the throwaway CA and certificate of the gitfs
#                             tests' https remote
#      binutils               strip, which cargo-deb runs on the binaries it
#                             packages (scripts/build-debs.sh)
#      postgresql             initdb/pg_ctl for the masters' shared store tests
#                             (tests/src/postgres.rs), run as the system user
#                             brine-pgtest, created here
#   2. cargo-deb (crates.io), which scripts/build-debs.sh makes the .deb packages
#      with; the fleet tests install the minion from its package.
#   3. The fleet's container rootfs (scripts/build-rootfs.sh: minutes the first time,
#      cached outside the checkout, then a no-op), so its build shows in the log
#      rather than inside the first fleet test.
#
# Without root it installs nothing and says so (the fleet tests then print why they
# skip). As root, a failure is an error: a CI machine that should run the fleet tests
# must not have them skip unnoticed. BRINE_FLEET=0 leaves out the rootfs (and makes
# the fleet tests skip).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# package:file that proves it is installed
want=(
  debootstrap:/usr/sbin/debootstrap
  debian-archive-keyring:/usr/share/keyrings/debian-archive-keyring.gpg
  systemd-container:/usr/bin/systemd-nspawn
  util-linux:/usr/bin/nsenter
  util-linux:/usr/bin/setpriv
  iproute2:/usr/sbin/ip
  tar:/usr/bin/tar
  time:/usr/bin/time
  python3:/usr/bin/python3
  gnupg:/usr/bin/gpg
  libxml2-utils:/usr/bin/xmllint
  python3-markdown-it:/usr/lib/python3/dist-packages/markdown_it/__init__.py
  python3-venv:/usr/share/doc/python3-venv/copyright
  openssh-client:/usr/bin/ssh-keygen
  locales:/usr/share/i18n/SUPPORTED
  ruby:/usr/bin/gem
  npm:/usr/bin/npm
  debconf-utils:/usr/bin/debconf-get-selections
  git:/usr/lib/git-core/git-daemon
  openssh-server:/usr/sbin/sshd
  openssl:/usr/bin/openssl
  binutils:/usr/bin/strip
  postgresql:/usr/share/doc/postgresql/copyright
)

missing=()
for w in "${want[@]}"; do
  pkg=${w%%:*} file=${w#*:}
  [[ -e $file || " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
done

if [[ $(id -u) != 0 ]]; then
  if ((${#missing[@]})); then
    echo "test-prereqs: not root, cannot install: ${missing[*]} (the fleet tests will skip)" >&2
  fi
  exit 0
fi

if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null; then
    echo "test-prereqs: no apt-get to install ${missing[*]}" >&2
    exit 1
  fi
  echo "test-prereqs: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp /tmp/test-prereqs.XXXXXX.log)
  apt_install() { apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}"; }
  # Update the package lists only when installing from the present ones fails.
  if ! apt_install >"$log" 2>&1; then
    apt-get update -q -o Dpkg::Use-Pty=0 >>"$log" 2>&1 || true
    if ! apt_install >>"$log" 2>&1; then
      echo "test-prereqs: installing ${missing[*]} failed; last lines of $log:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
  fi
  rm -f "$log"
fi

# cargo-deb, which scripts/build-debs.sh packages brine-master and brine-minion
# with (the fleet tests install the minion from its package), from crates.io once.
if ! cargo deb --version >/dev/null 2>&1; then
  echo "test-prereqs: installing cargo-deb" >&2
  cargo install --locked --quiet cargo-deb
fi

# PostgreSQL refuses to run as root: the test clusters run as this user.
id brine-pgtest >/dev/null 2>&1 ||
  useradd --system --no-create-home --shell /usr/sbin/nologin brine-pgtest

# The JUnit schemas `--out junit` is validated against (from PyPI, once).
/usr/bin/python3 "$here/fetch-junit-xsd.py"

if [[ ${BRINE_FLEET:-} != 0 ]]; then
  "$here/build-rootfs.sh"
fi
