#!/usr/bin/env bash
# Installs whatever a fresh clone is missing (Node 24, npm dependencies) and builds the workspaces.
# Idempotent and quick when nothing changed: npm ci runs only when package-lock.json changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
nodebin="$(bash scripts/ensure-node.sh)"
export PATH="$nodebin:$root/node_modules/.bin:$PATH"
stamp="node_modules/.switchyard-install-stamp"
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json "$stamp"
fi
echo "setup: building workspaces (tsc -b)" >&2
tsc -b >&2
