#!/usr/bin/env bash
# Installs victoria-logs, a log store with Elasticsearch-bulk and Loki push
# endpoints, into /var/cache/fargo/bin (override with FARGO_TOOLS_BIN) for the
# tests of internal/logpipe/output/es and .../loki, which skip when it is
# missing. Built from source with the local Go toolchain through the
# module proxy. Idempotent: quick when the pinned version is already there.
set -euo pipefail

version=v1.52.2
pkg=github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs
bindir="${FARGO_TOOLS_BIN:-/var/cache/fargo/bin}"
bin="$bindir/victoria-logs"

# The binary carries its module version (go version -m), so no stamp file.
if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | grep -q "mod[[:space:]]*github.com/VictoriaMetrics/VictoriaLogs[[:space:]]*$version"; then
	exit 0
fi
if ! command -v go >/dev/null 2>&1; then
	echo "install-victorialogs: go is required (Go 1.26.5 or newer, for VictoriaLogs $version)" >&2
	exit 1
fi
mkdir -p "$bindir"
echo "install-victorialogs: building victoria-logs $version into $bindir"
# Run outside the repository so fargo's go.mod plays no part; keep the
# local toolchain (VictoriaLogs $version needs Go 1.26.5).
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
GOTOOLCHAIN=local GOFLAGS= GOBIN="$bindir" go install "$pkg@$version"
