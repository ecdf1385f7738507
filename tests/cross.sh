#!/usr/bin/env bash
# macOS and Windows from this Linux machine, with Debian's second Rust (rustc-web, whose
# standard library source lets cargo build std for any target):
#   1. `cargo check` and `cargo clippy -D warnings` of the library and the binary for
#      aarch64-apple-darwin, x86_64-apple-darwin and x86_64-pc-windows-gnu;
#   2. the integration tests built for Windows and run under Wine (tests/it/main.rs says
#      which; tests needing Linux programs are reported as ignored), with the binary
#      they test. A failing Windows test fails this script.
# Called by .ci/run after the Linux suite; by hand: `tests/cross.sh` (as root on Debian,
# it installs its packages), or `tests/cross.sh windows` / `tests/cross.sh macos`.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && ! command -v /usr/lib/wine/wine64 >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    rustc-web cargo-web rust-web-src rust-web-clippy gcc-mingw-w64-x86-64 wine64 >/dev/null
fi

# Debian's toolchain, with a target folder of its own (kept between runs: the standard
# library for each target takes minutes to build the first time).
export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$PWD/target/cross"
cargo=(/usr/bin/cargo)
build_std=(-Zbuild-std=std,panic_abort --locked)

# `check` never links, so ring's C parts for Apple may be empty objects.
for target in aarch64_apple_darwin x86_64_apple_darwin; do
  export "CC_$target=$PWD/tests/cross/noop-cc" "AR_$target=$PWD/tests/cross/noop-ar"
done
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc

check() {
  local target=$1
  echo "tests/cross.sh: check and clippy for $target" >&2
  "${cargo[@]}" check "${build_std[@]}" --target "$target" --lib --bins
  "${cargo[@]}" clippy "${build_std[@]}" --target "$target" --lib --bins -- -D warnings
}

windows_suite() {
  local target=x86_64-pc-windows-gnu
  echo "tests/cross.sh: Windows test suite under Wine" >&2
  "${cargo[@]}" build "${build_std[@]}" --target "$target" --bins
  local listing
  # JSON for the executable's path; when the build fails, build again for the errors.
  listing=$("${cargo[@]}" test "${build_std[@]}" --target "$target" --test it --no-run --message-format=json) || {
    "${cargo[@]}" test "${build_std[@]}" --target "$target" --test it --no-run >&2
    exit 1
  }
  local it
  it=$(printf '%s\n' "$listing" | sed -n 's/.*"executable":"\([^"]*it-[^"]*\.exe\)".*/\1/p' | tail -1)
  [ -n "$it" ] || { echo "tests/cross.sh: no Windows test executable was built" >&2; exit 1; }
  local debug="$CARGO_TARGET_DIR/$target/debug"
  # Wine 8 lacks ProcessPrng, which Rust's std calls at start: a shim beside each .exe.
  x86_64-w64-mingw32-gcc -O2 -shared -o "$debug/bcryptprimitives.dll" \
    tests/cross/bcryptprimitives.c tests/cross/bcryptprimitives.def -ladvapi32
  cp "$debug/bcryptprimitives.dll" "$(dirname "$it")/"
  # A fresh Wine prefix each run: its Credential Manager starts empty.
  export WINEPREFIX="$CARGO_TARGET_DIR/wine-prefix" WINEDEBUG=-all
  rm -rf "$WINEPREFIX"
  /usr/lib/wine/wine64 wineboot --init >/dev/null 2>&1 || true
  # Tests that need Linux programs (Python, git, a D-Bus keyring) run in the Linux suite;
  # here they are reported as ignored, so CI's "every skip fails" does not apply.
  local status=0
  env -u WANDB_CRED_TEST_REQUIRE_ALL /usr/lib/wine/wine64 "$it" --test-threads=2 || status=$?
  /usr/lib/wine/wineserver64 -k 2>/dev/null || true
  return "$status"
}

case "$what" in
  macos) check aarch64-apple-darwin; check x86_64-apple-darwin ;;
  windows) check x86_64-pc-windows-gnu; windows_suite ;;
  all)
    check aarch64-apple-darwin
    check x86_64-apple-darwin
    check x86_64-pc-windows-gnu
    windows_suite
    ;;
  *) echo "usage: tests/cross.sh [all|macos|windows]" >&2; exit 2 ;;
esac
