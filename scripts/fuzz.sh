#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time (docs/fuzzing.md).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 20)
#
# Installs what it needs, idempotently: a C++ compiler (libfuzzer-sys builds
# libFuzzer from source) and cargo-fuzz. Only stable Rust is installed here and
# cargo-fuzz passes -Z flags, so the build runs with RUSTC_BOOTSTRAP=1 (stable
# rustc ships the ASan runtime). Targets are built optimised, with debug
# assertions, overflow checks and AddressSanitizer (for the C and unsafe code
# underneath: ring, libFuzzer, MiniJinja's self-referential cells);
# FUZZ_SANITIZER=none builds without it (faster builds and runs).
#
# For each target it first replays fuzz/regressions/<target>/ (every crash
# found and fixed so far), then fuzzes from the committed fuzz/corpus/<target>/
# plus a scratch corpus kept in the target dir: new inputs go there, never into
# git. Any crash, timeout (-timeout, FUZZ_UNIT_TIMEOUT seconds per input, default
# 20) or memory blow-up (-rss_limit_mb) fails
# the run and its reproducer path is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
[[ $secs =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2; }
sanitizer=${FUZZ_SANITIZER:-address}
# libFuzzer's timeout is wall-clock time. The slowest committed reproducer (a
# runaway loop stopped by the render fuel) takes 1.2 s under ASan on an idle
# machine; 20 s still catches a hang, without failing on a busy CI machine.
unit_timeout=${FUZZ_UNIT_TIMEOUT:-20}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export RUSTC_BOOTSTRAP=1
# Its own target dir: the fuzz build's flags would rebuild the main one.
out=${CARGO_TARGET_DIR:-$PWD/target}/fuzz
export CARGO_TARGET_DIR=$out

if ! command -v c++ >/dev/null; then
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "fuzz: no C++ compiler, and cannot install g++ (needs root and apt-get)" >&2
    exit 1
  fi
  echo "fuzz: installing g++" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends g++ >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends g++ >/dev/null; }
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi

cargo fmt --manifest-path fuzz/Cargo.toml -- --check
# Fails if fuzz/Cargo.lock would change (cargo fuzz build has no --locked):
# after a dependency of common changes, `cargo update -w` in fuzz/ records it.
if ! cargo metadata --locked --manifest-path fuzz/Cargo.toml --format-version 1 >/dev/null; then
  echo "fuzz: fuzz/Cargo.lock is out of date; run: (cd fuzz && cargo update -w) and commit it" >&2
  exit 1
fi
(cd fuzz && cargo fuzz build --sanitizer "$sanitizer")
bin=$out/$(rustc -vV | sed -n 's/^host: //p')/release

mapfile -t targets < <(cd fuzz && cargo fuzz list)
# Scratch files the targets write (sls_render's state tree), gone next run.
export TMPDIR=$out/tmp
rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"
failed=()
for t in "${targets[@]}"; do
  artifacts=$out/artifacts/$t
  scratch=$out/corpus/$t
  mkdir -p "$artifacts" "$scratch"
  regressions=(fuzz/regressions/"$t"/*)
  if [[ -e ${regressions[0]} ]]; then
    echo "fuzz: $t: replaying ${#regressions[@]} reproducer(s) from fuzz/regressions/$t"
    if ! "$bin/$t" -rss_limit_mb=2048 -timeout="$unit_timeout" "${regressions[@]}" >"$out/$t.replay.log" 2>&1; then
      tail -n 40 "$out/$t.replay.log" >&2
      echo "fuzz: $t: a fixed crash is back; the reproducers are in fuzz/regressions/$t" >&2
      failed+=("$t")
      continue
    fi
  fi
  echo "fuzz: $t: fuzzing for ${secs}s"
  log=$out/$t.log
  if ! "$bin/$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout="$unit_timeout" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$scratch" "fuzz/corpus/$t" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz: $t: FAILED; reproducer(s):" >&2
    grep -o "Test unit written to .*" "$log" | sed 's/^Test unit written to /  /' >&2 || true
    echo "  replay: $bin/$t <file>; once fixed, copy it to fuzz/regressions/$t/" >&2
    failed+=("$t")
    continue
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz: $t: ok, ${runs:-?} runs, scratch corpus $(find "$scratch" -type f | wc -l) new input(s)"
done

if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]} (logs in $out)" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ok"
