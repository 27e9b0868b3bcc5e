#!/usr/bin/env bash
# Builds the Debian bookworm root filesystem the fleet tests boot with
# systemd-nspawn (tests/src/fleet.rs), once: a no-op when a complete one exists.
#
#   scripts/build-rootfs.sh [DIR]     default: $BRINE_ROOTFS or /var/cache/brine/rootfs-bookworm
#
# The tree is cached outside the checkout and containers never write to it (each
# boots with --volatile=overlay). It is built in DIR.tmp and renamed into place; the
# stamp file DIR/.brine-rootfs is written last and names the recipe, so an
# interrupted build is never mistaken for a complete one and a changed recipe
# rebuilds. Concurrent callers wait on DIR.lock and then find it built.
#
# apt must work inside the containers (the pkg tests install nginx through it), so
# the host's apt sources, the keyrings they name, its Acquire:: settings (proxies,
# Check-Valid-Until, ...) and any /etc/hosts pins for the mirrors are copied in, and
# the package lists are fetched once here.
#
# Environment: BRINE_DEBIAN_MIRROR overrides the mirror debootstrap uses (default:
# the host's bookworm source, else http://deb.debian.org/debian).
set -euo pipefail

SUITE=bookworm
INCLUDE=systemd,systemd-sysv,dbus,ca-certificates,libnss-myhostname,iproute2,procps,curl
# Bump when anything below changes what ends up in the tree.
RECIPE="brine-rootfs v3 $SUITE minbase $INCLUDE"
STAMP=.brine-rootfs

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-${BRINE_ROOTFS:-/var/cache/brine/rootfs-bookworm}}
dir=${dir%/}
[[ $dir == /* ]] || dir=$PWD/$dir

complete() { [[ -f $dir/$STAMP && $(<"$dir/$STAMP") == "$RECIPE" ]]; }
if complete; then
  exit 0
fi

if [[ $(id -u) != 0 ]]; then
  echo "build-rootfs: must run as root (debootstrap)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null; then
  "$here/test-prereqs.sh"
fi
command -v debootstrap >/dev/null || { echo "build-rootfs: debootstrap is not installed" >&2; exit 1; }

mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if complete; then # another caller built it while we waited
  exit 0
fi

tmp=$dir.tmp
log=$dir.log
# Unmounts whatever debootstrap left mounted under $tmp (proc, sys, a bind of
# /dev), deepest first, so that removing the tree can never reach the host's.
unmount_tmp() {
  local m
  awk -v p="$tmp" '$2 == p || index($2, p "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
remove_tmp() {
  unmount_tmp
  rm -rf --one-file-system "$tmp"
}
trap 'remove_tmp' EXIT
remove_tmp

# The mirror: the host's own bookworm source, so a CI machine with a local mirror or
# a pinned snapshot uses it here too.
host_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk -v s="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
      if ($(i+1) == s) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    # deb822: paragraphs of Key: value; the first enabled "deb" paragraph for the suite.
    awk -v s="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
      { uris = ""; suites = ""; types = ""; enabled = "yes"
        for (n = 1; n <= NF; n++) {
          if ($n ~ /^URIs:/) { uris = $n; sub(/^URIs:[ \t]*/, "", uris) }
          if ($n ~ /^Suites:/) { suites = " " $n " " }
          if ($n ~ /^Types:/) { types = " " $n " " }
          if ($n ~ /^Enabled:[ \t]*no/) { enabled = "no" }
        }
        if (enabled == "yes" && types ~ / deb / && suites ~ (" " s " ")) { split(uris, u, " "); print u[1]; exit } }' "$f"
  done
}
mirror=${BRINE_DEBIAN_MIRROR:-$(host_mirror | head -n1)}
mirror=${mirror:-http://deb.debian.org/debian}

# debootstrap fetches with wget, which reads http_proxy from the environment, not
# apt's configuration.
if [[ -z ${http_proxy:-} ]]; then
  proxy=$(apt-config dump 2>/dev/null | awk -F'"' '/^Acquire::http::Proxy /{ print $2; exit }')
  [[ -n $proxy && $proxy != DIRECT ]] && export http_proxy=$proxy
fi

start=$SECONDS
echo "build-rootfs: building $dir ($SUITE from $mirror, a few minutes; log: $log)" >&2
if ! debootstrap --variant=minbase --components=main --include="$INCLUDE" \
  "$SUITE" "$tmp" "$mirror" >"$log" 2>&1; then
  echo "build-rootfs: debootstrap failed; last lines of $log:" >&2
  tail -n 25 "$log" >&2
  exit 1
fi
unmount_tmp

# apt: the host's sources (only the enabled files) and the keyrings they need.
rm -f "$tmp/etc/apt/sources.list"
mkdir -p "$tmp/etc/apt/sources.list.d" "$tmp/etc/apt/apt.conf.d" "$tmp/etc/apt/keyrings" \
  "$tmp/etc/apt/trusted.gpg.d"
copied_sources=()
if [[ -f /etc/apt/sources.list ]] && grep -qE '^[[:space:]]*deb' /etc/apt/sources.list; then
  cp /etc/apt/sources.list "$tmp/etc/apt/sources.list"
  copied_sources+=("$tmp/etc/apt/sources.list")
fi
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [[ -f $f ]] || continue
  cp "$f" "$tmp/etc/apt/sources.list.d/"
  copied_sources+=("$tmp/etc/apt/sources.list.d/$(basename "$f")")
done
if ((${#copied_sources[@]} == 0)); then
  # No usable host sources (not Debian?): fall back to the mirror debootstrap used.
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$SUITE" "$mirror" "$SUITE" \
    >"$tmp/etc/apt/sources.list"
  copied_sources+=("$tmp/etc/apt/sources.list")
fi
for d in /etc/apt/trusted.gpg.d /etc/apt/keyrings; do
  [[ -d $d ]] && cp -a "$d/." "$tmp$d/"
done
[[ -f /etc/apt/trusted.gpg ]] && cp /etc/apt/trusted.gpg "$tmp/etc/apt/trusted.gpg"
# Keyrings named by signed-by that the new tree lacks (e.g. a third-party repo's).
grep -hoiE 'signed-by[=:][[:space:]]*[^] ,]+' "${copied_sources[@]}" 2>/dev/null |
  sed -E 's/^[^=:]*[=:][[:space:]]*//' | sort -u | while read -r k; do
  if [[ $k == /* && -f $k && ! -e $tmp$k ]]; then
    mkdir -p "$(dirname "$tmp$k")"
    cp "$k" "$tmp$k"
  fi
done
# The host's Acquire:: settings: proxies, Check-Valid-Until for snapshot mirrors, ...
# (not files that hook commands into apt or add index targets: those belong to
# packages the container does not have).
for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
  [[ -f $f ]] || continue
  if grep -qE '^[[:space:]]*Acquire' "$f" && ! grep -qE 'IndexTargets|Invoke' "$f"; then
    cp "$f" "$tmp/etc/apt/apt.conf.d/$([[ $f == /etc/apt/apt.conf ]] && echo 99host-apt.conf || basename "$f")"
  fi
done
# /etc/hosts pins for the mirrors and proxies, for hosts whose resolver does not know them.
{
  grep -hoE '[a-z]+://[^/ "]+' "${copied_sources[@]}" "$tmp/etc/apt/apt.conf.d/"* 2>/dev/null || true
} | sed -E 's#^[a-z]+://##; s#^[^@]*@##; s#:[0-9]+$##' | sort -u | while read -r h; do
  awk -v h="$h" '$1 !~ /^#/ { for (i = 2; i <= NF; i++) if ($i == h) { print; next } }' /etc/hosts
done | sort -u >"$tmp/etc/hosts.mirrors"
{
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n'
  cat "$tmp/etc/hosts.mirrors"
} >"$tmp/etc/hosts"
rm -f "$tmp/etc/hosts.mirrors"

# debootstrap copied the host's hostname; without one, the container keeps the one
# systemd-nspawn --hostname gives it.
rm -f "$tmp/etc/hostname"
# Each boot gets its own machine id (systemd makes a transient one for an empty file).
: >"$tmp/etc/machine-id"
rm -f "$tmp/var/lib/dbus/machine-id"
ln -s /etc/machine-id "$tmp/var/lib/dbus/machine-id"

# Package lists, fetched once here so a container can install without an update
# first (as on any server); the tests still run `apt-get update` themselves.
cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
if ! chroot "$tmp" apt-get -q -o Dpkg::Use-Pty=0 update >>"$log" 2>&1; then
  echo "build-rootfs: apt-get update inside the new tree failed; last lines of $log:" >&2
  tail -n 25 "$log" >&2
  exit 1
fi
chroot "$tmp" apt-get clean >>"$log" 2>&1
rm -f "$tmp/etc/resolv.conf" # systemd-nspawn provides one per container
unmount_tmp

echo "$RECIPE" >"$tmp/$STAMP"
if [[ -e $dir ]]; then
  # A tree from an older recipe: swap, then remove (running containers keep theirs).
  rm -rf --one-file-system "$dir.old"
  mv "$dir" "$dir.old"
  mv "$tmp" "$dir"
  rm -rf --one-file-system "$dir.old"
else
  mv "$tmp" "$dir"
fi
trap - EXIT
echo "build-rootfs: built $dir in $((SECONDS - start))s" >&2
