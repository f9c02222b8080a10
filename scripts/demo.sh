#!/usr/bin/env bash
# The main job: installs what is missing, then replays the tutorials' services.
set -euo pipefail
cd "$(dirname "$0")/.."
# npm run demo -- --clean ROOT: what a --keep run left, stopped and removed
if [ "${1:-}" = "--clean" ]; then exec node --import tsx scripts/demo-keep.ts "$@"; fi
bash scripts/setup.sh
exec node --import tsx scripts/demo.ts "$@"   # --keep: leave the services, the agent and the dashboard running
