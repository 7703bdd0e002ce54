#!/usr/bin/env bash
# Installs what batchinfer needs on a fresh Debian/Ubuntu machine with Node.js:
# redis-server and openssl (from apt, when missing) and the npm dependencies (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v redis-server >/dev/null 2>&1; then
  echo "setup: installing redis-server (apt)"
  apt_install redis-server
fi

# openssl makes the throwaway CA and certificates of the Redis-over-TLS tests.
if ! command -v openssl >/dev/null 2>&1; then
  echo "setup: installing openssl (apt)"
  apt_install openssl
fi

npm ci --no-audit --no-fund
