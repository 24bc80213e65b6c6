# Run in the guest as its boot command (sh): copy the checkout from the share onto the guest's own disk
# (overlayfs upper directories and SQLite on 9p are not what hosts have), show what codex32 finds, run
# the chosen test files. FILES, SKIP (a regex of test names left out), CI and SLOWDOWN are prepended by the host.
set -u
echo "== guest: $(uname -r), $(systemctl --version | head -1), cgroup $(stat -fc %T /sys/fs/cgroup)"
# /srv, not /root: the rootless tests run the CLI as an ordinary user, who must reach it
mkdir -p /srv/codex32 && chmod 755 /srv/codex32 && tar -C /srv/codex32 -xf /mnt/share/checkout.tar || exit 1
cd /srv/codex32
sh scripts/rootless-user.sh
export CONTAINER_STORAGE_DIR=/var/lib/codex32-guest
node bin/codex32 info
start=$(date +%s)
if [ -n "$SKIP" ]; then set -- -t "^(?!.*($SKIP))"; else set --; fi
CI=$CI CODEX32_TEST_SLOWDOWN=$SLOWDOWN node_modules/.bin/vitest run --reporter=verbose "$@" $FILES
rc=$?
echo "== guest: the tests took $(( $(date +%s) - start )) s"
echo "== guest: cgroups left at the root's codex32 (systemd's tree): $(ls /sys/fs/cgroup/codex32 2>/dev/null | wc -l)"
exit $rc
