#!/usr/bin/env bash
# Test-only set-up: Debian's chromium for the dashboard's browser test (playwright-core drives it;
# no browser is downloaded from anywhere else). Idempotent.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing chromium for the browser test"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
  else
    echo "the browser test needs /usr/bin/chromium: apt-get install chromium" >&2
  fi
fi
