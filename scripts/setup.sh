#!/usr/bin/env bash
# Installs what batchinfer needs on a fresh Debian/Ubuntu machine with Node.js:
# redis-server and openssl, and for the monitoring tests promtool/prometheus and a headless
# chromium (all from apt, each only when missing), then the npm dependencies (npm ci, unless
# node_modules already matches package-lock.json: running it again is then quick and harmless).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
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

# The exporter's tests check /metrics and the alert rules with promtool, evaluate every
# dashboard and alert expression in a real Prometheus, and load the dashboard page in
# headless Chromium.
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  echo "setup: installing prometheus (apt, for promtool and the PromQL tests)"
  apt_install prometheus
fi

if ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing chromium (apt, for the dashboard page test)"
  apt_install chromium
fi

if node scripts/deps-current.mjs; then
  echo "setup: node_modules already matches package-lock.json (npm ci skipped)"
else
  npm ci --no-audit --no-fund
fi
