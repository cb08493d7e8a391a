#!/usr/bin/env bash
# The distributed topology of docker-compose.yml's `distributed` profile, as local processes against
# the MariaDB/MySQL, Redis and NATS (JetStream) already running on this machine:
#
#   scripts/local-stack.sh [start] [--with-mock]   control plane, accounting, two relays (and the mock)
#   scripts/local-stack.sh stop                    SIGTERM each (they drain), SIGKILL after 40 s
#   scripts/local-stack.sh status                  which are running
#
# Build first (`npm run build`). State (tokens, pids, logs) lives in LOCAL_STACK_DIR, by default
# data/local-stack/ (git-ignored). Tokens are generated there on the first start and reused after,
# unless SWITCHYARD_INTERNAL_TOKEN / SWITCHYARD_ADMIN_TOKEN / SWITCHYARD_SECRET_KEY are set.
#
# Ports (defaults): relay 1 LOCAL_STACK_RELAY1_PORT (8080), control plane admin
# LOCAL_STACK_CONTROL_PLANE_PORT (8081), accounting LOCAL_STACK_ACCOUNTING_PORT (8082), relay 2
# LOCAL_STACK_RELAY2_PORT (8083), control plane gRPC LOCAL_STACK_GRPC_PORT (50051), mock upstream
# LOCAL_STACK_MOCK_PORT (9090). LOCAL_STACK_BASE_PORT=N sets them to N, N+1, N+2, N+3, N+4 (gRPC),
# N+5 (mock); an individual variable still wins. LOCAL_STACK_HOST (127.0.0.1) is where they listen.
#
# Services: LOCAL_STACK_MYSQL_URL (mysql://root@127.0.0.1:3306, the server) and LOCAL_STACK_DATABASE
# (switchyard_local, created if missing); SWITCHYARD_REDIS_URL, SWITCHYARD_REDIS_PREFIX,
# SWITCHYARD_NATS_URL, SWITCHYARD_NATS_STREAM and SWITCHYARD_LOG_LEVEL are passed through (defaults:
# the local Redis and NATS, the gateway's own defaults for the rest). LOCAL_STACK_READY_TIMEOUT (30 s)
# bounds the wait for each role's /readyz.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/services/switchyard/bin/switchyard"
helper="$root/scripts/local-stack-helper.mjs"
state="${LOCAL_STACK_DIR:-$root/data/local-stack}"
nodebin="$(bash "$root/scripts/ensure-node.sh")"
node="$nodebin/node"

base="${LOCAL_STACK_BASE_PORT:-}"
offset() { if [ -n "$base" ]; then echo $((base + $1)); else echo "$2"; fi; }
relay1_port="${LOCAL_STACK_RELAY1_PORT:-$(offset 0 8080)}"
cp_port="${LOCAL_STACK_CONTROL_PLANE_PORT:-$(offset 1 8081)}"
accounting_port="${LOCAL_STACK_ACCOUNTING_PORT:-$(offset 2 8082)}"
relay2_port="${LOCAL_STACK_RELAY2_PORT:-$(offset 3 8083)}"
grpc_port="${LOCAL_STACK_GRPC_PORT:-$(offset 4 50051)}"
mock_port="${LOCAL_STACK_MOCK_PORT:-$(offset 5 9090)}"
host="${LOCAL_STACK_HOST:-127.0.0.1}"
mysql_url="${LOCAL_STACK_MYSQL_URL:-mysql://root@127.0.0.1:3306}"
mysql_url="${mysql_url%/}"
database="${LOCAL_STACK_DATABASE:-switchyard_local}"
ready_timeout="${LOCAL_STACK_READY_TIMEOUT:-30}"

# The order processes are started in; `stop` goes through it backwards (relays drain first).
NAMES=(mock control-plane accounting relay-1 relay-2)

# True while the process runs and is one of ours (a reused pid or an unreaped zombie is not).
alive() {
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/stat" ]; then
    [ "$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'dist/cli.js' || return 1
  fi
}

pid_of() { cat "$state/$1.pid" 2>/dev/null || true; }

stop_all() {
  local name pid deadline waiting=()
  for ((i = ${#NAMES[@]} - 1; i >= 0; i--)); do
    name="${NAMES[i]}"
    pid="$(pid_of "$name")"
    if [ -n "$pid" ] && alive "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      waiting+=("$name:$pid")
    fi
  done
  # The roles drain in-flight requests for up to 30 s on SIGTERM.
  deadline=$((SECONDS + 40))
  for entry in "${waiting[@]}"; do
    name="${entry%%:*}"
    pid="${entry#*:}"
    while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if alive "$pid"; then
      echo "$name ($pid) still running after 40 s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "stopped $name ($pid)"
  done
  for name in "${NAMES[@]}"; do rm -f "$state/$name.pid"; done
}

status() {
  local any=1 name pid
  for name in "${NAMES[@]}"; do
    pid="$(pid_of "$name")"
    if [ -n "$pid" ] && alive "$pid"; then
      echo "$name: running (pid $pid)"
      any=0
    elif [ -n "$pid" ]; then
      echo "$name: not running (stale pid $pid)"
    fi
  done
  return $any
}

# start_role NAME ARGS... : starts `switchyard ARGS` in the background with its own log and pid file.
start_role() {
  local name="$1"
  shift
  # setsid: its own session, so a Ctrl-C in the terminal that ran this script does not reach it.
  if command -v setsid >/dev/null; then
    setsid "$bin" "$@" </dev/null >"$state/$name.log" 2>&1 &
  else
    "$bin" "$@" </dev/null >"$state/$name.log" 2>&1 &
  fi
  echo $! >"$state/$name.pid"
}

wait_ready() {
  local name="$1" url="$2"
  if ! "$node" "$helper" wait-ready "$url" "$(pid_of "$name")" "$ready_timeout" "$state/$name.log"; then
    echo "--- last lines of $state/$name.log:" >&2
    tail -n 20 "$state/$name.log" >&2 || true
    stop_all >/dev/null
    exit 1
  fi
}

load_tokens() {
  local file="$state/tokens.env"
  if [ ! -f "$file" ]; then
    (
      umask 077
      {
        echo "SWITCHYARD_INTERNAL_TOKEN=$("$node" "$helper" token 24)"
        echo "SWITCHYARD_ADMIN_TOKEN=sy-admin-$("$node" "$helper" token 24)"
        echo "SWITCHYARD_SECRET_KEY=$("$node" "$helper" token 32)"
      } >"$file"
    )
  fi
  local internal admin secret
  internal="$(sed -n 's/^SWITCHYARD_INTERNAL_TOKEN=//p' "$file")"
  admin="$(sed -n 's/^SWITCHYARD_ADMIN_TOKEN=//p' "$file")"
  secret="$(sed -n 's/^SWITCHYARD_SECRET_KEY=//p' "$file")"
  export SWITCHYARD_INTERNAL_TOKEN="${SWITCHYARD_INTERNAL_TOKEN:-$internal}"
  export SWITCHYARD_ADMIN_TOKEN="${SWITCHYARD_ADMIN_TOKEN:-$admin}"
  export SWITCHYARD_SECRET_KEY="${SWITCHYARD_SECRET_KEY:-$secret}"
  # A local stack talks to local upstreams (the mock, Ollama): loopback is allowed unless set otherwise.
  export SWITCHYARD_UPSTREAM_ALLOW="${SWITCHYARD_UPSTREAM_ALLOW:-loopback}"
}

start() {
  local with_mock=0 arg
  for arg in "$@"; do
    case "$arg" in
      --with-mock) with_mock=1 ;;
      *)
        echo "local-stack: unknown option $arg" >&2
        exit 2
        ;;
    esac
  done
  if [ ! -f "$root/services/switchyard/dist/cli.js" ]; then
    echo "local-stack: services/switchyard/dist is missing: run \`npm run build\` first" >&2
    exit 1
  fi
  mkdir -p "$state"
  if status >/dev/null; then
    echo "local-stack: already running (scripts/local-stack.sh stop first):" >&2
    status >&2 || true
    exit 1
  fi
  load_tokens
  "$node" "$helper" db-create "$mysql_url" "$database"

  export SWITCHYARD_DATABASE_URL="$mysql_url/$database"
  export SWITCHYARD_REDIS_URL="${SWITCHYARD_REDIS_URL:-redis://127.0.0.1:6379}"
  export SWITCHYARD_NATS_URL="${SWITCHYARD_NATS_URL:-nats://127.0.0.1:4222}"
  export SWITCHYARD_HTTP_HOST="$host"
  export SWITCHYARD_GRPC_PORT="$grpc_port"
  export SWITCHYARD_CONTROL_PLANE_URL="127.0.0.1:$grpc_port"
  unset SWITCHYARD_DATA_DIR

  local url_host="$host"
  [ "$url_host" = 0.0.0.0 ] && url_host=127.0.0.1

  if [ "$with_mock" = 1 ]; then
    start_role mock mock-upstream --port "$mock_port" --host "$host"
  fi
  # The control plane migrates the database; the others start once it is ready (relays need its gRPC).
  start_role control-plane serve --role control-plane --port "$cp_port"
  [ "$with_mock" = 1 ] && wait_ready mock "http://$url_host:$mock_port/_mock/faults"
  wait_ready control-plane "http://$url_host:$cp_port/readyz"
  start_role accounting serve --role accounting --port "$accounting_port"
  start_role relay-1 serve --role relay --port "$relay1_port"
  start_role relay-2 serve --role relay --port "$relay2_port"
  wait_ready accounting "http://$url_host:$accounting_port/readyz"
  wait_ready relay-1 "http://$url_host:$relay1_port/readyz"
  wait_ready relay-2 "http://$url_host:$relay2_port/readyz"

  cat <<EOF
Switchyard local stack is up (state, pids and logs in $state):
  relay 1        http://$url_host:$relay1_port/v1
  relay 2        http://$url_host:$relay2_port/v1
  control plane  http://$url_host:$cp_port/admin/v1 (gRPC 127.0.0.1:$grpc_port)
  accounting     http://$url_host:$accounting_port/metrics
EOF
  [ "$with_mock" = 1 ] && echo "  mock upstream  http://$url_host:$mock_port/v1"
  cat <<EOF
  database       $database on ${mysql_url#*@}; NATS stream ${SWITCHYARD_NATS_STREAM:-SWITCHYARD_USAGE}
Admin token: $SWITCHYARD_ADMIN_TOKEN
Stop with: scripts/local-stack.sh stop
EOF
}

case "${1:-start}" in
  start)
    shift || true
    start "$@"
    ;;
  --with-mock) start "$@" ;;
  stop) stop_all ;;
  status) status ;;
  -h | --help | help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' ;;
  *)
    echo "usage: scripts/local-stack.sh [start [--with-mock] | stop | status]" >&2
    exit 2
    ;;
esac
