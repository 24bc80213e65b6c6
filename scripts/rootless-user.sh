#!/bin/sh
# The rootless tests' user (test/rootless.test.ts): an ordinary system user with its own home and one
# subordinate uid and gid range, far above the strict containers' default pool (100000 up, 1024 ranges).
# Run as root by scripts/test-setup.sh on the host and by the guest pass (scripts/guest/inside.sh).
set -eu
getent passwd codex32-rootless >/dev/null ||
  useradd --system --create-home --home-dir /var/lib/codex32-rootless --shell /usr/sbin/nologin codex32-rootless
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  grep -q '^codex32-rootless:' "$f" || echo 'codex32-rootless:3000000000:65536' >>"$f"
done
