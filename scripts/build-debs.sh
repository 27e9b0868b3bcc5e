#!/usr/bin/env bash
# Builds the Debian packages brine-master and brine-minion and prints their paths.
#
#   scripts/build-debs.sh [--profile PROFILE] [--no-build] [--out DIR]
#
#   --profile  the cargo profile whose binaries are packaged (default: release);
#              the fleet tests package their own `dev` build (tests/src/debs.rs),
#              so what they install is the code they test (cargo-deb warns that
#              dev is meant for tests only)
#   --no-build package the binaries already built (the tests: cargo is not run)
#   --out      where the .deb files go (default: target/debian)
#
# Steps: one `cargo build` of both binaries in PROFILE; `dist_assets` (a build-time
# binary, always the dev build: it only renders the clap definitions, and a release
# build of it would be a third fat-LTO link) writes the shell completions and man
# pages into target/PROFILE/dist-assets, where the packages' assets
# (master/Cargo.toml, minion/Cargo.toml: [package.metadata.deb]) take them from;
# then `cargo deb --no-build` for each package.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release build=1 out=
while (($#)); do
  case $1 in
    --profile) profile=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: scripts/build-debs.sh [--profile PROFILE] [--no-build] [--out DIR]" >&2; exit 2 ;;
  esac
done

if ! cargo deb --version >/dev/null 2>&1; then
  cargo install --locked cargo-deb
fi

target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
case $profile in
  dev | debug) profile=dev profile_dir=$target_dir/debug ;;
  *) profile_dir=$target_dir/$profile ;;
esac
out=${out:-$target_dir/debian}

if ((build)); then
  # --workspace: the features the rest of the workspace builds with, so the
  # dev build shares the test build's artefacts.
  cargo build --locked --workspace --bin dist_assets
  if [[ $profile != dev ]]; then
    cargo build --locked --workspace --profile "$profile" --bin master --bin minion
  fi
fi

assets=$profile_dir/dist-assets
rm -rf "$assets"
"$target_dir/debug/dist_assets" "$assets"
# Debian's man pages are gzipped; -n keeps the timestamp out, so rebuilds are identical.
gzip -9nf "$assets"/man/*.1

mkdir -p "$out"
for package in master minion; do
  # --no-build: built above (or by the caller); --fast: the dev binaries are big.
  # --strip: cargo-deb would keep the line tables the release profile asks for
  # (benchmarks' profiles), a binary five times the size. The dev binaries are
  # big even stripped: compressed fast.
  fast=()
  [[ $profile == dev ]] && fast=(--fast)
  cargo deb --locked --no-build --strip --profile "$profile" -p "$package" --output "$out" "${fast[@]}" >&2
done
ls "$out"/brine-master_*.deb "$out"/brine-minion_*.deb
