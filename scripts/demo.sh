#!/usr/bin/env bash
# The main job: installs what is missing, then replays the tutorials' services.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx scripts/demo.ts
