#!/usr/bin/env bash
# codex32 set-up, idempotent: system tools, npm dependencies, build, storage directory, database.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# 1. Node 20 or newer
if ! command -v node >/dev/null; then
  echo "codex32 needs Node.js 20 or newer: install it (e.g. apt-get install nodejs) and run ./setup.sh again" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "codex32 needs Node.js 20 or newer, found $(node --version)" >&2
  exit 1
fi

# 2. System tools: util-linux (unshare, nsenter, prlimit, setpriv), a C compiler and libseccomp for the
#    supervisor, procps (ps, used by tests and docs), tar (import), a static busybox (cp, export),
#    iproute2 and nftables (ip, tc, nft: private networks, published ports, bandwidth limits), pasta (passt: rootless
#    private networks), uidmap (newuidmap, newgidmap: rootless user namespaces over /etc/subuid and /etc/subgid),
#    attr (setfattr: overlay's opaque directories in image layers), zstd (zstd-compressed layers) and e2fsprogs
#    (mkfs.ext4: the file system of a --storage-opt size disk quota).
missing=()
for tool in unshare nsenter prlimit setpriv mount cc make tar ps ip tc nft pasta newuidmap newgidmap setfattr zstd mkfs.ext4; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -e /usr/include/seccomp.h ] || missing+=("libseccomp-dev")
# cp and export run the host's static busybox as tar inside a container's root
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=("busybox-static")
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing system packages for: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq util-linux mount gcc libc6-dev make tar procps busybox-static iproute2 nftables passt uidmap libseccomp-dev pkg-config attr zstd e2fsprogs >/dev/null
  else
    echo "missing tools: ${missing[*]}. Install util-linux, gcc, make, tar, procps, busybox-static, iproute2, nftables, passt, uidmap, libseccomp-dev, attr, zstd and e2fsprogs, then run ./setup.sh again" >&2
    exit 1
  fi
fi

# 3. npm dependencies and the build (TypeScript to dist/, the C supervisor to build/)
say "installing npm dependencies and building"
make -s build

# 4. Storage directory and database
storage="${CONTAINER_STORAGE_DIR:-$( [ "$(id -u)" = 0 ] && echo /var/lib/codex32 || echo "$HOME/.local/share/codex32")}"
mkdir -p "$storage"
CONTAINER_STORAGE_DIR="$storage" ./setup_database.sh >/dev/null
say "ready: storage in $storage"
cat <<TXT
Next steps:
  node bin/codex32 info                      what isolation this host supports
  node bin/codex32 run --rm host echo hello  a first container
  make run                                   the bot runner with the sample bots and its dashboard
  make demo                                  a sample bot in a container, from the CLI
  make test                                  the test suite
TXT
