#!/usr/bin/env bash
# make demo: builds everything, starts Consul (unless one already answers),
# three producers and the gateway, runs the consumer across all strategies,
# then keeps running until Ctrl-C and stops everything it started.
#
# Settings (environment):
#   MICROLB_CONSUL_ADDR   Consul HTTP address        (default 127.0.0.1:8500)
#   MICROLB_GATEWAY_ADDR  gateway public listener    (default 127.0.0.1:8080)
#   MICROLB_ADMIN_ADDR    gateway admin + dashboard  (default 127.0.0.1:8081)
#   MICROLB_DEMO_LOGS     log directory              (default demo/logs)
#   MICROLB_DEMO_REQUESTS consumer calls per strategy (default 700)
#   MICROLB_DEMO_ONESHOT  1: stop after printing the URLs instead of waiting
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

consul_addr=${MICROLB_CONSUL_ADDR:-127.0.0.1:8500}
gateway_addr=${MICROLB_GATEWAY_ADDR:-127.0.0.1:8080}
admin_addr=${MICROLB_ADMIN_ADDR:-127.0.0.1:8081}
logs=${MICROLB_DEMO_LOGS:-demo/logs}
requests=${MICROLB_DEMO_REQUESTS:-700}
mkdir -p "$logs"
logs=$(cd "$logs" && pwd)
t0=$SECONDS

pids=()
names=()
tmpdirs=()
cleaning=0
# stopping is 1 once Ctrl-C (SIGINT) or SIGTERM arrived. The terminal sends
# SIGINT to the whole process group, so the children stop on their own at the
# same moment: their exits are then expected, not failures.
stopping=0

cleanup() {
  local code=$?
  [ "$cleaning" = 1 ] && return
  cleaning=1
  trap '' INT TERM
  if [ "${#pids[@]}" -gt 0 ]; then
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
      kill -TERM "${pids[$i]}" 2>/dev/null || true
    done
    local deadline=$((SECONDS + 10))
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
      while kill -0 "${pids[$i]}" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
      if kill -0 "${pids[$i]}" 2>/dev/null; then
        echo "    ${names[$i]} did not stop within 10 s: killing it"
        kill -KILL "${pids[$i]}" 2>/dev/null || true
      fi
      wait "${pids[$i]}" 2>/dev/null || true
    done
  fi
  for d in "${tmpdirs[@]}"; do rm -rf "$d"; done
  echo "==> stopped; logs are in $logs"
  exit "$code"
}
# interrupted: the user asked to stop (Ctrl-C or SIGTERM). That is a clean
# end: exit status 0, so that make prints no error.
interrupted() {
  [ "$stopping" = 1 ] && return
  stopping=1
  printf '\n==> stopping…\n'
  exit 0
}
trap cleanup EXIT
trap interrupted INT TERM

step() { printf '\n==> [%s/7] %s\n' "$1" "$2"; }

# fail MESSAGE [LOG]: say what failed and where its log is, then exit 1.
# When the user is stopping the demo, a child's exit is no failure: a signal
# still pending runs its trap after the sleep, before anything is reported.
fail() {
  sleep 0.3
  [ "$stopping" = 1 ] && exit 0
  echo "demo: FAILED: $1" >&2
  if [ -n "${2:-}" ]; then
    echo "demo: log: $2 (last lines below)" >&2
    tail -n 20 "$2" | sed 's/^/    /' >&2 || true
  fi
  exit 1
}

# http_get HOST:PORT PATH: prints the response body; fails if nothing answers.
http_get() {
  local hp=$1 path=$2 resp
  { exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hp" >&3
  resp=$(cat <&3) || true
  exec 3<&-
  case "$resp" in "HTTP/1."?" 200"*) ;; *) return 1 ;; esac
  printf '%s' "${resp#*$'\r\n\r\n'}"
}

# port_busy HOST:PORT: true when something listens there.
port_busy() {
  local hp=$1
  { (exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}"); } 2>/dev/null
}

# free_port: a loopback port nothing listens on, from a high range.
free_port() {
  local p
  for ((p = 20000 + RANDOM % 20000; ; p++)); do
    port_busy "127.0.0.1:$p" || { echo "$p"; return; }
  done
}

# start NAME LOG CMD...: runs CMD in the background, logging to LOG.
start() {
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  pids+=("$!")
  names+=("$name")
}

# run_logged NAME LOG CMD...: runs CMD to completion with its output in LOG
# and returns its status. It runs in the background so that Ctrl-C ends the
# wait at once, and make's own "Interrupt" lines stay in LOG.
run_logged() {
  local name=$1 log=$2 rc=0
  shift 2
  "$@" >"$log" 2>&1 &
  pids+=("$!")
  names+=("$name")
  wait "$!" || rc=$?
  unset 'pids[-1]' 'names[-1]'
  return "$rc"
}

# wait_for WHAT LOG SECONDS COND...: polls COND until true; fails with LOG.
wait_for() {
  local what=$1 log=$2 limit=$3
  shift 3
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || fail "$what: not within ${limit}s" "$log"
    local i
    for i in "${!pids[@]}"; do
      kill -0 "${pids[$i]}" 2>/dev/null || fail "$what: ${names[$i]} exited" "$log"
    done
    sleep 0.2
  done
}

step 1 "build (Go binaries and Consul; the first Consul build takes a few minutes)"
run_logged build "$logs/build.log" make --no-print-directory build || fail "go build" "$logs/build.log"
consul_bin=$(command -v consul || true)
if [ -z "$consul_bin" ] || ! "$consul_bin" version 2>/dev/null | grep -Eq 'Consul v1\.(1[3-9]|[2-9][0-9])'; then
  run_logged consul-build "$logs/consul-build.log" make --no-print-directory consul || fail "make consul" "$logs/consul-build.log"
  consul_bin=$root/bin/consul
fi
echo "    binaries ready in $((SECONDS - t0)) s"

step 2 "Consul at $consul_addr"
has_leader() { local l; l=$(http_get "$consul_addr" /v1/status/leader 2>/dev/null) && [ -n "$l" ] && [ "$l" != '""' ]; }
if has_leader; then
  echo "    using the Consul agent already answering at $consul_addr"
elif port_busy "$consul_addr"; then
  fail "$consul_addr is in use by something that is not a Consul agent: set MICROLB_CONSUL_ADDR to a free host:port"
else
  data=$(mktemp -d "${TMPDIR:-/tmp}/microlb-demo-consul.XXXXXX")
  tmpdirs+=("$data")
  echo "    starting $consul_bin agent -dev (data in $data, log $logs/consul.log)"
  start consul "$logs/consul.log" "$consul_bin" agent -dev -node microlb-demo \
    -bind 127.0.0.1 -client 127.0.0.1 -data-dir "$data" \
    -http-port "${consul_addr##*:}" -dns-port -1 -grpc-port "$(free_port)" \
    -serf-lan-port "$(free_port)" -serf-wan-port "$(free_port)" -server-port "$(free_port)"
  wait_for "Consul leader election" "$logs/consul.log" 30 has_leader
fi

step 3 "three producers: weights 5, 1, 1 in zones a, a, b; the third adds 20 ms; and one gRPC producer"
producer_args=(--registry consul --registry_address "$consul_addr" --server_address 127.0.0.1:0
  --http_address 127.0.0.1:0 --version v1 --register_ttl 10 --register_interval 5)
start producer-1 "$logs/producer-1.log" bin/producer "${producer_args[@]}" --weight 5 --zone a
start producer-2 "$logs/producer-2.log" bin/producer "${producer_args[@]}" --weight 1 --zone a
start producer-3 "$logs/producer-3.log" bin/producer "${producer_args[@]}" --weight 1 --zone b --latency 20ms
registered() {
  local body
  body=$(http_get "$consul_addr" "/v1/health/service/$1?passing=1") || return 1
  [ "$(grep -o '"ServiceID"' <<<"$body" | wc -l)" -ge 3 ]
}
wait_for "producers registering as greeter" "$logs/producer-1.log" 30 registered greeter
wait_for "producers registering as greeter-http" "$logs/producer-1.log" 30 registered greeter-http
echo "    3 producers registered (logs $logs/producer-{1,2,3}.log)"
# One more service, served by go-micro's gRPC server plugin: the gateway
# calls it over HTTP/2 with go-micro's gRPC client.
start producer-grpc "$logs/producer-grpc.log" bin/producer "${producer_args[@]}" --server grpc --server_name greeter-grpc
registered_one() {
  local body
  body=$(http_get "$consul_addr" "/v1/health/service/$1?passing=1") || return 1
  grep -q '"ServiceID"' <<<"$body"
}
wait_for "the gRPC producer registering as greeter-grpc" "$logs/producer-grpc.log" 30 registered_one greeter-grpc
echo "    1 gRPC producer registered as greeter-grpc (log $logs/producer-grpc.log)"

step 4 "gateway on $gateway_addr, admin and dashboard on $admin_addr"
for addr in "$gateway_addr" "$admin_addr"; do
  port_busy "$addr" && fail "$addr is already in use: set MICROLB_GATEWAY_ADDR / MICROLB_ADMIN_ADDR to free addresses"
done
start gateway "$logs/gateway.log" bin/api-gateway --address "$gateway_addr" --admin_address "$admin_addr" \
  --registry consul --registry_address "$consul_addr"
gateway_up() { http_get "$admin_addr" /healthz >/dev/null; }
wait_for "gateway health" "$logs/gateway.log" 30 gateway_up
gateway_ready() { http_get "$gateway_addr" /greeter/greeter/hello?name=demo >/dev/null; }
wait_for "first call through the gateway" "$logs/gateway.log" 30 gateway_ready

step 5 "consumer: $requests calls per strategy through the microlb selector"
# In the background, so that `wait` returns as soon as a signal arrives.
bin/consumer --registry consul --registry_address "$consul_addr" --strategy all -n "$requests" --keys 100 \
  2>"$logs/consumer.log" &
pids+=("$!")
names+=(consumer)
wait "$!" || fail "consumer run" "$logs/consumer.log"
unset 'pids[-1]' 'names[-1]'

step 6 "ready in $((SECONDS - t0)) s"
cat <<MSG
    dashboard:  http://$admin_addr/
    services:   http://$admin_addr/admin/api/services
    metrics:    http://$admin_addr/metrics

    try:
      curl -s 'http://$gateway_addr/greeter/greeter/hello?name=Ada'
      curl -s -X POST -H 'Content-Type: application/json' -d '{"name":"Bo"}' http://$gateway_addr/greeter/greeter/hello
      curl -sN -H 'Accept: text/event-stream' 'http://$gateway_addr/greeter/greeter/stream?name=Cy&count=3'
      curl -s 'http://$gateway_addr/greeter-grpc/greeter/hello?name=Di'    # a go-micro gRPC server
      curl -s http://$gateway_addr/greeter-http/
      bin/consumer --registry_address $consul_addr --strategy hash --keys 1000 -n 2000
MSG
if [ "${MICROLB_DEMO_ONESHOT:-0}" = 1 ]; then
  exit 0
fi

step 7 "running; press Ctrl-C to stop everything"
# wait -n returns when a child exits or a signal arrives (its trap then runs).
while :; do
  wait -n "${pids[@]}" 2>/dev/null || true
  for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2>/dev/null || fail "${names[$i]} exited unexpectedly" "$logs/${names[$i]}.log"
  done
done
