#!/usr/bin/env bash
# Runs a command with Node.js >= 24 and the repository's node_modules/.bin first on PATH.
# Usage: scripts/run.sh <command> [args...]   (e.g. scripts/run.sh tsc -b)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
nodebin="$(bash "$root/scripts/ensure-node.sh")"
export PATH="$nodebin:$root/node_modules/.bin:$PATH"
exec "$@"
