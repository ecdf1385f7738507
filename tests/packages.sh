#!/usr/bin/env bash
# Builds what users install, for the packaging tests (tests/it/packages.rs), into
# target/packages: the wheel (maturin), the sdist and a wheel built from that sdist
# (pip, as `pip install wandb-cred` from source would), the .deb
# (packaging/deb.sh), and a venv where the README's install command ran. The tools come from the registries into target/: maturin,
# auditwheel, uv and pipx (PyPI) into target/packaging-tools; cargo-deb into
# target/tools. Prints the folder on the last line; exit status 1 when something
# could not be built (the tests then say so).
set -euo pipefail
cd "$(dirname "$0")/.."

tools=target/packaging-tools
if ! "$tools/bin/python" -c 'import maturin, auditwheel, uv, pipx' 2>/dev/null; then
  echo "tests/packages.sh: installing maturin, auditwheel, uv and pipx into $tools (once)" >&2
  rm -rf "$tools"
  python3 -m venv "$tools"
  timeout 900 "$tools/bin/pip" install -q "maturin>=1.9,<2" auditwheel uv pipx
fi
export PATH="$PWD/$tools/bin:$PATH"

out=target/packages
rm -rf "$out"
mkdir -p "$out/from-sdist"
maturin build --quiet --release --locked --out "$out" >&2
maturin sdist --out "$out" >&2
# From the sdist, as pip builds it, tagged for any glibc >= 2.17 as the release wheels
# are. It shares the repo's target folder: cargo keys a package's artifacts by its source
# path, so wandb-cred and its proto crate are compiled again from the unpacked sdist
# (which is what this proves), while the registry crates, the same either way, are not.
CARGO_TARGET_DIR="$PWD/target" pip wheel --quiet --no-deps --no-build-isolation \
  -C maturin.build-args="--compatibility manylinux2014" \
  -w "$out/from-sdist" "$out"/wandb_cred-*.tar.gz >&2
packaging/deb.sh >&2
# The README's install command, exactly as written there, run in the clone with a fresh
# venv active (tests/it/packages.rs checks what it installed and that it is the
# README's command). It shares the target folder, so cargo reuses this script's build.
readme_install=$(awk '/<!-- recipe: install -->/ {m=1; next} m && /^```/ {if (b) exit; b=1; next} b' README.md)
python3 -m venv "$out/readme-venv"
(. "$out/readme-venv/bin/activate" && CARGO_TARGET_DIR="$PWD/target" bash -euc "$readme_install") >&2
printf '%s\n' "$readme_install" > "$out/readme-install.txt"
echo "$PWD/$out"
