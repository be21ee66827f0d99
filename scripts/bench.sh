#!/usr/bin/env bash
# bench.sh [--smoke] [benchrun flags...]: microlb's benchmark harness.
#
# 1. Installs what the run needs when missing: wrk, nginx, haproxy and caddy
#    from Debian (apt-get update only when the package lists lack them; the
#    distro services are never started: every peer runs in the foreground
#    with its own config, pid and log paths), and bin/consul.
# 2. Builds bench/cmd/benchrun into a scratch directory and runs it. benchrun
#    builds the backends, go-micro's api, the gateway and the producer,
#    runs the eight stages and writes bench/results/latest.{md,json}
#    (--smoke: smoke.{md,json}, ~30 s, exits 1 if a stage whose inputs
#    exist produced no numbers).
# 3. Cleans up on exit, failure, Ctrl-C or SIGTERM: benchrun stops its own
#    process groups, and this script then kills any group benchrun recorded
#    that still holds a process of this run (marked by MICROLB_BENCH_RUN).
#
# Examples:
#   scripts/bench.sh --smoke
#   scripts/bench.sh --stages 2 --duration 5s --reps 2
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
GO=${GO:-go}
export PATH="$root/bin:$PATH:/usr/local/sbin:/usr/sbin:/sbin"

log() { echo "bench.sh: $*" >&2; }

# ---- tools ---------------------------------------------------------------

# install_tools installs the Debian packages whose commands are missing.
install_tools() {
	local -A pkgs=([wrk]=wrk [nginx]=nginx [haproxy]=haproxy [caddy]=caddy)
	local missing=() cmd
	for cmd in "${!pkgs[@]}"; do
		command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkgs[$cmd]}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]} from Debian"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || { log "need root (or sudo) to apt-get install ${missing[*]}"; return 1; }
		sudo=(sudo)
	fi
	# Keep the packages' postinst from starting the distro services.
	local made_policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
		"${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	local p need_update=""
	for p in "${missing[@]}"; do
		apt-cache show "$p" >/dev/null 2>&1 || need_update=1
	done
	local rc=0
	{
		if [ -n "$need_update" ]; then "${sudo[@]}" apt-get update -q; fi
		DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
	} >&2 || rc=$?
	if [ -n "$made_policy" ]; then "${sudo[@]}" rm -f /usr/sbin/policy-rc.d; fi
	return $rc
}

install_tools
[ -x bin/consul ] || scripts/consul.sh bin/consul

# ---- run -----------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/microlb-bench.XXXXXX")
pgids="$work/pgids"
runner=""

# ours PID: true if PID belongs to this run: its environment carries the
# run's marker, or (for programs such as nginx that overwrite their
# environment with a process title) its working directory is in $work.
ours() {
	local cwd
	cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || return 1
	case "$cwd/" in "$work"/*) return 0 ;; esac
	{ tr '\0' '\n' <"/proc/$1/environ" | grep -qxF "MICROLB_BENCH_RUN=$work"; } 2>/dev/null
}

# kill_leftovers SIGKILLs every recorded process group that still holds a
# process of this run.
kill_leftovers() {
	[ -f "$pgids" ] || return 0
	local g pid
	while read -r g; do
		[ -n "$g" ] || continue
		for pid in $(pgrep -g "$g" 2>/dev/null || true); do
			if ours "$pid"; then
				kill -KILL -- "-$g" 2>/dev/null || true
				break
			fi
		done
	done <"$pgids"
}

on_signal() {
	log "interrupted: stopping the run"
	exit 130 # on_exit stops benchrun and what it started
}

on_exit() {
	local rc=$?
	if [ -n "$runner" ] && kill -0 "$runner" 2>/dev/null; then
		kill -TERM "$runner" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$runner" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$runner" 2>/dev/null || true
	fi
	kill_leftovers
	if [ "$rc" -eq 0 ]; then
		rm -rf "$work"
	else
		log "exit $rc; logs and configs kept in $work"
	fi
}
trap on_exit EXIT
trap on_signal INT TERM HUP

start=$(date +%s)
log "building benchrun"
$GO build -o "$work/benchrun" ./bench/cmd/benchrun

args=("$@")
cmd="make bench"
if [ "${args[*]:-}" = "--smoke" ]; then cmd="make bench-smoke"; elif [ ${#args[@]} -gt 0 ]; then cmd="scripts/bench.sh ${args[*]}"; fi

# Run in the background and wait, so that the traps run as soon as a signal
# arrives instead of after benchrun exits.
"$work/benchrun" --repo "$root" --work "$work" --pgid-file "$pgids" --command "$cmd" "${args[@]}" &
runner=$!
rc=0
wait "$runner" || rc=$?
runner=""
log "finished in $(($(date +%s) - start)) s with exit code $rc"
exit "$rc"
