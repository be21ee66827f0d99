#!/usr/bin/env bash
# Regenerates proto/**/*.pb.go and *.pb.micro.go from proto/**/*.proto.
# Uses Debian's protoc and the plugins pinned in tools/proto/go.mod. Run from the repo root (`make proto`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$root/bin

if ! command -v protoc >/dev/null 2>&1; then
	echo "proto: protoc not found; installing Debian's protobuf-compiler"
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends protobuf-compiler; then
		echo "proto: install failed; running apt-get update and retrying"
		$sudo apt-get update
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends protobuf-compiler
	fi
fi
echo "proto: $(protoc --version)"

echo "proto: building protoc-gen-go and protoc-gen-micro (tools/proto) into bin/"
mkdir -p "$bin"
(
	cd tools/proto
	go build -o ../../bin/ google.golang.org/protobuf/cmd/protoc-gen-go github.com/asim/go-micro/cmd/protoc-gen-micro/v3
)

mapfile -t protos < <(find proto -name '*.proto' -type f | LC_ALL=C sort)
if [ "${#protos[@]}" -eq 0 ]; then
	echo "proto: no .proto files under proto/" >&2
	exit 1
fi

protoc \
	--plugin=protoc-gen-go="$bin/protoc-gen-go" \
	--plugin=protoc-gen-micro="$bin/protoc-gen-micro" \
	--proto_path=proto \
	--go_out=proto --go_opt=paths=source_relative \
	--micro_out=proto --micro_opt=paths=source_relative \
	"${protos[@]}"

outs=()
for p in "${protos[@]}"; do
	outs+=("${p%.proto}.pb.go" "${p%.proto}.pb.micro.go")
done

# protoc-gen-micro v4 is not on the module proxy, so we pin the v3 generator; its output only differs
# from v4's in the import path, so point github.com/asim/go-micro/v3 at go-micro.dev/v4.
for f in "${outs[@]}"; do
	case $f in *.pb.micro.go) sed -i 's#github\.com/asim/go-micro/v3#go-micro.dev/v4#g' "$f" ;; esac
done

gofmt -w "${outs[@]}"

echo "proto: wrote"
printf '  %s\n' "${outs[@]}"
