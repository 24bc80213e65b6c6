#!/usr/bin/env bash
# make native-sanitize: the tests that drive the supervisor most (its run, exec, launcher, terminal and
# archive subcommands), with the engine pointed (CODEX32_SHIM) at build/sanitize/codex32-shim, built
# with AddressSanitizer and UndefinedBehaviorSanitizer.
# A finding aborts the process that made it and leaves its report in a directory of this run: the run
# fails when a test fails or when that directory is not empty, so no finding can pass unseen.
# detect_leaks=0: the one-shot subcommands return from main holding buffers that exit frees, and the
# supervisor keeps its spec and vectors for its whole life, by design; LeakSanitizer would report
# those at every exit (it also stops the process with ptrace, which a process in a container's user
# namespace may not do). The fuzz targets keep leak checks on, over the log and attach framing.
set -uo pipefail
cd "$(dirname "$0")/.."
tests=${SANITIZE_TESTS:-test/lifecycle.test.ts test/supervision.test.ts test/launcher.test.ts test/terminal.test.ts test/isolation.test.ts test/files.test.ts test/library-exec.test.ts test/bots-unattended.test.ts}
reports=$(mktemp -d /tmp/codex32-sanitize-XXXXXX)
trap 'rm -rf "$reports"' EXIT
export CODEX32_SHIM=$PWD/build/sanitize/codex32-shim
# one report file per process (REPORT.PID) for both sanitizers, whichever set of options it reads last
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$reports/report
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$reports/report
# shellcheck disable=SC2086
node_modules/.bin/vitest run $tests
rc=$?
if [ -n "$(ls -A "$reports")" ]; then
  echo "sanitizer findings in the supervisor:"
  for f in "$reports"/*; do echo "== $f"; cat "$f"; done
  # the supervisor runs from a detached view of its binary, so frames show as (/+0xOFFSET): name them
  for off in $(cat "$reports"/* | grep -oE '\(/\+0x[0-9a-f]+\)' | grep -oE '0x[0-9a-f]+' | sort -u); do
    echo "$off: $(addr2line -f -C -e "$CODEX32_SHIM" "$off" | paste -sd ' ')"
  done
  rc=1
fi
[ "$rc" -eq 0 ] && echo "native-sanitize: ok, no sanitizer finding ($tests)"
exit "$rc"
