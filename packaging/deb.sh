#!/usr/bin/env bash
# Builds the Debian package from this repository: target/packages/wandb-cred_<version>_<arch>.deb.
# Installs cargo-deb into target/tools the first time (it needs the crates registry).
#   packaging/deb.sh            then: sudo dpkg -i target/packages/wandb-cred_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."

host=$(rustc -vV | sed -n 's/^host: //p')
cargo_deb=target/tools/bin/cargo-deb
if [ ! -x "$cargo_deb" ]; then
  echo "packaging/deb.sh: installing cargo-deb into target/tools (once)" >&2
  cargo install --quiet --locked --root target/tools cargo-deb
fi

cargo build --release --locked --bins
program="target/$host/release/wandb-cred"
assets=target/deb-assets
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions"
"$program" man --out-dir "$assets/man"
gzip -9n "$assets"/man/*.1
"$program" completions bash > "$assets/completions/wandb-cred"
"$program" completions zsh > "$assets/completions/_wandb-cred"
"$program" completions fish > "$assets/completions/wandb-cred.fish"
# The name git runs for `credential.helper = wandb` (README "git"), and the pages its
# two other names show.
ln -s wandb-cred "$assets/git-credential-wandb"
ln -s wandb-cred.1.gz "$assets/man/wandb-cred-full.1.gz"
ln -s wandb-cred-git-credential.1.gz "$assets/man/git-credential-wandb.1.gz"
# Debian wants a changelog; this one points to the README (dated by the commit built).
version=$(cargo metadata --no-deps --format-version 1 --locked |
  python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "wandb-cred"))')
date=$(git log -1 --format=%cD 2>/dev/null || date -R)
printf 'wandb-cred (%s-1) unstable; urgency=medium\n\n  * Built from the wandb-cred repository (see README.md).\n\n -- wandb-cred developers <wandb-cred@example.invalid>  %s\n' \
  "$version" "$date" > "$assets/changelog"

mkdir -p target/packages
"$cargo_deb" --no-build --no-strip --target "$host" --output target/packages/
