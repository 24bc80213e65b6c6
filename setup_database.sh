#!/usr/bin/env bash
# Create or migrate the codex32 state database; --check runs `codex32 system check` (integrity, schema
# version, counts, container directories) and exits non-zero when the database is damaged.
set -euo pipefail
cd "$(dirname "$0")"
[ -f dist/state/store.js ] || make -s build
if [ "${1:-}" = "--check" ]; then
  shift
  exec node bin/codex32 system check "$@"
fi
exec node scripts/db.mjs "$@"
