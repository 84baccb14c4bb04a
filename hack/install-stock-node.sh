#!/usr/bin/env bash
# Installs the stock Kubernetes node that bench's BenchmarkStockNodeSideBySide
# joins to `fargo up` beside fargo's pod-nodes: Debian's containerd, runc and
# CNI plugins (bridge, host-local, loopback), upstream's kubelet built from
# the Kubernetes version fargo embeds, and upstream's pause binary (the
# sandbox image's only file) built from that version's build/pause/linux.
# The kubelet and pause land in $STOCK_NODE_BIN (default
# /var/cache/fargo/bin), where the benchmark looks for them.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${STOCK_NODE_BIN:-/var/cache/fargo/bin}"

# Debian's packages: installing them starts no daemon here (the benchmark
# runs its own containerd on a private root and socket).
packages=(containerd runc containernetworking-plugins gcc libc6-dev)
./hack/apt-install.sh "${packages[@]}"

# The Kubernetes version is fargo's; test/conformance is a module that
# already requires all of cmd/kubelet's dependencies at that version.
version="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
minor="$(echo "$version" | cut -d. -f2)"
mkdir -p "$bin"

# The kubelet reports the version it was linked with, as upstream's release
# binaries do; without it the node would claim v0.0.0.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags="$ldflags -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
if [ ! -x "$bin/kubelet" ] || [ "$("$bin/kubelet" --version 2>/dev/null)" != "Kubernetes $version" ]; then
	echo "install-stock-node: building kubelet $version into $bin (several minutes)"
	(cd test/conformance && nice -n 19 go build -ldflags "$ldflags" -o "$bin/kubelet" k8s.io/kubernetes/cmd/kubelet)
fi

# pause.c as upstream's build/pause/Makefile compiles it (static, -Os).
pause_src="$(go env GOMODCACHE)/k8s.io/kubernetes@$version/build/pause/linux/pause.c"
if [ ! -f "$pause_src" ]; then
	go mod download k8s.io/kubernetes
fi
if [ ! -x "$bin/pause" ] || [ "$pause_src" -nt "$bin/pause" ]; then
	echo "install-stock-node: building pause from $pause_src"
	tag="$(sed -n 's/^TAG ?= *//p' "$(dirname "$pause_src")/../Makefile")"
	gcc -Os -Wall -Werror -static -DVERSION="v$tag-$version" -o "$bin/pause" "$pause_src"
fi
echo "install-stock-node: kubelet and pause in $bin; containerd $(containerd --version | awk '{print $3}')"
