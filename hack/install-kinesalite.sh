#!/usr/bin/env bash
# Installs kinesalite, a local Kinesis server, into /var/cache/fargo/npm
# (override with FARGO_NPM_PREFIX) for the tests of
# internal/logpipe/output/kinesis, which skip when it is missing.
# Idempotent: quick when the pinned version is already there.
set -euo pipefail

version=3.3.3
prefix="${FARGO_NPM_PREFIX:-/var/cache/fargo/npm}"
pkg="$prefix/node_modules/kinesalite/package.json"

if [ -f "$pkg" ] && grep -q "\"version\": \"$version\"" "$pkg"; then
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-kinesalite: npm is required: run as root, or apt-get install nodejs npm (Node 18 or newer)" >&2
		exit 1
	fi
	echo "install-kinesalite: installing nodejs and npm"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
fi
mkdir -p "$prefix"
echo "install-kinesalite: installing kinesalite@$version into $prefix"
# --no-audit/--no-fund: no extra registry calls or noise in CI logs.
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "kinesalite@$version"
