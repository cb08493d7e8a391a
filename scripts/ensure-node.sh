#!/usr/bin/env bash
# Prints the directory holding a Node.js >= 24 binary, provisioning one when the machine's is older.
# The project targets Node 24 LTS; machines here ship Node 20 (end-of-life), so the official binary
# is installed from the npm registry (package node-<os>-<arch>) into .tools/ of the repository.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_major=24
want_version="${SWITCHYARD_NODE_VERSION:-24.9.0}"

major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null 2>&1 && [ "$(major_of node)" -ge "$want_major" ]; then
  dirname "$(command -v node)"
  exit 0
fi

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "ensure-node: unsupported OS $(uname -s); install Node.js >= $want_major yourself" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "ensure-node: unsupported CPU $(uname -m); install Node.js >= $want_major yourself" >&2; exit 1 ;;
esac
pkg="node-$os-$arch"
dir="$root/.tools/node"
bin="$dir/node_modules/$pkg/bin"
if [ -x "$bin/node" ] && [ "$(major_of "$bin/node")" -ge "$want_major" ]; then
  echo "$bin"
  exit 0
fi
echo "ensure-node: machine Node is older than $want_major; installing $pkg@$want_version from the npm registry into .tools/node" >&2
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name":"switchyard-tools-node","private":true}' >"$dir/package.json"
npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "$pkg@$want_version" >&2
if [ ! -x "$bin/node" ]; then
  echo "ensure-node: installing $pkg@$want_version failed; install Node.js >= $want_major yourself" >&2
  exit 1
fi
echo "$bin"
