#!/usr/bin/env bash
# consul.sh TARGET: put a Consul binary (>= 1.13) at TARGET.
#
# 1. TARGET already reports >= 1.13: nothing to do.
# 2. A consul on PATH (other than TARGET) reports >= 1.13: symlink it.
# 3. Otherwise build the pinned github.com/hashicorp/consul v1.13.9 from the
#    separate module in tools/consul (keeps the main go.mod clean).
set -euo pipefail

MIN_MAJOR=1
MIN_MINOR=13
PINNED=v1.13.9

target=${1:?usage: scripts/consul.sh TARGET}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GO=${GO:-go}

log() { echo "consul.sh: $*" >&2; }

# version_ok BIN: true if BIN runs and reports a version >= MIN_MAJOR.MIN_MINOR.
version_ok() {
	local out ver major minor
	out=$("$1" version 2>/dev/null) || return 1
	ver=$(sed -n 's/^Consul v\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p' <<<"$out" | head -n1)
	[ -n "$ver" ] || return 1
	read -r major minor <<<"$ver"
	((major > MIN_MAJOR || (major == MIN_MAJOR && minor >= MIN_MINOR)))
}

if [ -x "$target" ] && version_ok "$target"; then
	exit 0
fi

mkdir -p "$(dirname "$target")"
target_abs=$(cd "$(dirname "$target")" && pwd)/$(basename "$target")

# A consul on PATH, excluding the target itself (the Makefile puts bin/ first).
while IFS= read -r cand; do
	[ -n "$cand" ] || continue
	if [ "$(readlink -f "$cand")" = "$(readlink -f "$target_abs" 2>/dev/null || echo "$target_abs")" ]; then
		continue
	fi
	if version_ok "$cand"; then
		log "using $cand ($("$cand" version | head -n1))"
		rm -f "$target_abs"
		ln -s "$(readlink -f "$cand")" "$target_abs"
		exit 0
	fi
	log "ignoring $cand: $("$cand" version 2>/dev/null | head -n1 || echo 'no version') is older than $MIN_MAJOR.$MIN_MINOR"
done < <(type -aP consul 2>/dev/null | awk '!seen[$0]++' || true)

log "building consul $PINNED from the Go module proxy (the first build takes minutes: 2.5 on a quiet 2-core machine)…"
start=$SECONDS
rm -f "$target_abs"
# The build is silent for minutes: say every 15 s that it is still going.
(
	while sleep 15; do log "still building consul ($((SECONDS - start)) s so far)…"; done
) &
ticker=$!
trap 'kill "$ticker" 2>/dev/null || true' EXIT
if ! (cd "$root/tools/consul" && GOWORK=off "$GO" build -o "$target_abs" github.com/hashicorp/consul); then
	log "ERROR: building consul $PINNED in tools/consul failed (see the go output above)."
	log "Or put consul >= $MIN_MAJOR.$MIN_MINOR on PATH and run this again."
	exit 1
fi
if ! version_ok "$target_abs"; then
	log "ERROR: built $target_abs but '$target_abs version' does not report >= $MIN_MAJOR.$MIN_MINOR"
	exit 1
fi
kill "$ticker" 2>/dev/null || true
log "built $target_abs ($("$target_abs" version | head -n1)) in $((SECONDS - start))s"
