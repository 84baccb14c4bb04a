#!/usr/bin/env bash
# Installs what fargo needs to build and run on a fresh Debian machine:
# Debian packages that are missing, and the Go modules of go.mod.
set -euo pipefail
cd "$(dirname "$0")/.."

need_go="$(sed -n 's/^go \([0-9.]*\)$/\1/p' go.mod)"
if ! command -v go >/dev/null 2>&1; then
	echo "install-deps: Go $need_go or newer is required (Debian's golang is too old): install it from go.dev/dl into /usr/local/go and put /usr/local/go/bin on PATH" >&2
	exit 1
fi

# Packages fargo's runtime and tests use (runc: the default sandbox tier,
# crun and runsc the other OCI tiers;
# busybox-static, bash-static: the tests build their images from them;
# tmux: the tests drive `kubectl exec -it` through a real terminal;
# nftables: kube-proxy programs Services with the nft command;
# qemu-system-x86, erofs-utils, e2fsprogs: the microvm tier's VMM and its
# image and scratch disks);
# installed only when missing.
packages=(ca-certificates git make iproute2 nftables procps runc crun runsc busybox-static bash-static tmux qemu-system-x86 erofs-utils e2fsprogs)
./hack/apt-install.sh "${packages[@]}"

go mod download
