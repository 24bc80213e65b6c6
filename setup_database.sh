#!/usr/bin/env bash
# Create or migrate the codex32 state database; --check runs SQLite's integrity check and reports.
set -euo pipefail
cd "$(dirname "$0")"
[ -f dist/state/store.js ] || make -s build
exec node scripts/db.mjs "$@"
