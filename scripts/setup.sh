#!/usr/bin/env bash
# Installs whatever is missing for svcmgr on a Debian machine (run as root):
# the Debian packages the drivers and tests use, the npm packages, the build.
# Idempotent: a machine that has everything is left alone in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package that provides it
declare -A NEED=(
  [dockerd]=docker.io
  [busybox]=busybox-static
  [ip]=iproute2
  [vgs]=lvm2
  [e2fsck]=e2fsprogs
  [losetup]=util-linux
  [arping]=arping
  [docker-registry]=docker-registry
  [fuser]=psmisc
  [chromium]=chromium   # the dashboard's browser tests (playwright-core drives it; no browser download)
  [openssl]=openssl
)
missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || [ -x "/usr/bin/$cmd" ] || missing+=("${NEED[$cmd]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building"
npx tsc -p tsconfig.json
# the launchers load this bundle (fast start-up) when it is newer than the tsc build
node --import tsx scripts/bundle.ts
