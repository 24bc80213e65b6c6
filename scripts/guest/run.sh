#!/usr/bin/env bash
# The guest test pass (make test-guest): a Debian 12 guest with systemd and cgroup v2 under qemu runs
# the chosen test files against a copy of this checkout; prints vitest's report and exits with its
# status. Where qemu cannot run it skips with the reason; with CI=true a skip for a missing tool fails.
# GUEST_FILES="test/a.test.ts ..." runs other files; GUEST_SKIP is a regex of test names left out
# (default: lifecycle's concurrency block, fifty parallel starts and removal races, and its two blocks
# of refused input: minutes under TCG and nothing there differs between v1 and v2, or under systemd);
# GUEST_TIMEOUT (s) bounds the boot.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$here/../.." && pwd)
skip() {
  echo "guest pass skipped: $1"
  echo " Tests  0 passed | 1 skipped (1)"
  if [ "${CI:-}" = true ] && [ "${2:-}" = tool ]; then echo "guest pass: in CI a missing tool is a failure (scripts/test-setup.sh installs it)" >&2; exit 1; fi
  exit 0
}
[ "$(uname -m)" = x86_64 ] || skip "the guest is an x86_64 Debian; this host is $(uname -m)"
[ "$(id -u)" = 0 ] || skip "building the guest image needs root (mmdebstrap, mkfs.ext4 -d)"
for t in qemu-system-x86_64 mmdebstrap zstd mkfs.ext4; do command -v "$t" >/dev/null || skip "$t is not installed" tool; done
start=$(date +%s)
img=$("$here/image.sh")
echo "== guest image ready in $(( $(date +%s) - start )) s: $img"
share=$(mktemp -d /var/tmp/codex32-guest-share.XXXXXX)
# the guest's output outlives the share: /var/tmp/codex32-guest/last.out, whatever ended the pass
trap 'cp -f "$share/out" "${CODEX32_GUEST_WORK:-/var/tmp/codex32-guest}/last.out" 2>/dev/null; rm -rf "$share"' EXIT
files=${GUEST_FILES:-$(grep -v '^#' "$here/files" | paste -sd' ' -)}
# the checkout as built here (dist/, build/, node_modules/), not its git history or local storage
tar -C "$checkout" --exclude=./.git --exclude=./.codex32 --exclude=./coverage --exclude=./test-artifacts --exclude=./bench/results -cf "$share/checkout.tar" .
# under TCG the guest runs about 7.6 times slower than the host: the tests' waits stretch by 8
case "$("$here/accel.sh")" in *tcg*) slow=8 ;; *) slow=1 ;; esac
{ echo "FILES='$files'"; echo "SKIP='${GUEST_SKIP-concurrency|bad input is refused|more bad input}'"; echo "CI='${CI:-}'"; echo "SLOWDOWN=${CODEX32_TEST_SLOWDOWN:-$slow}"; cat "$here/inside.sh"; } > "$share/cmd.sh"
echo "== booting ($("$here/accel.sh")); running: $files"
boot=$(date +%s)
"$here/boot.sh" "$img" "$share/cmd.sh" "$share" "$share/out" "${GUEST_TIMEOUT:-2700}" || echo "== qemu ended with status $?"
sed 's/\r$//' "$share/out"
echo "== guest pass: $(( $(date +%s) - boot )) s from boot to power-off, $(( $(date +%s) - start )) s in all"
rc=$(grep -aoE '^guest-exit: [0-9]+' "$share/out" | tail -1 | grep -oE '[0-9]+$' || true)
if [ -z "$rc" ]; then
  echo "guest pass: the guest never reported (see the console log below)" >&2
  tail -40 "$share/out.console" >&2 || true
  echo " Tests  1 failed (1)"
  exit 1
fi
exit "$rc"
