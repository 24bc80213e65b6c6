#!/usr/bin/env bash
# Test-only set-up, idempotent: the real components the integration tests drive, from Debian's packages:
# chromium (dashboard browser test, driven by playwright-core), docker-registry, skopeo, podman and
# buildah (images), docker.io, docker-compose and python3-docker (Docker API clients), tmux (interactive terminals),
# clang with libclang-rt-dev (libFuzzer: the supervisor's fuzz targets, make fuzz), qemu-system-x86,
# qemu-utils and mmdebstrap (the systemd + cgroup v2 guest pass, make test-guest), uidmap and passt (rootless), and the
# rootless tests' user.
# Nothing is downloaded from anywhere but Debian's archive.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v skopeo >/dev/null || need+=(skopeo)
command -v podman >/dev/null || need+=(podman)
command -v buildah >/dev/null || need+=(buildah)
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
/usr/bin/python3 -c 'import docker' 2>/dev/null || need+=(python3-docker)
command -v tmux >/dev/null || need+=(tmux)
command -v newuidmap >/dev/null || need+=(uidmap)
command -v pasta >/dev/null || need+=(passt)
command -v clang >/dev/null || need+=(clang)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
# libFuzzer is in clang's runtime libraries, packaged apart from clang (the default version's)
compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a' >/dev/null || need+=(libclang-rt-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing test components: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
  else
    echo "the integration tests need: ${need[*]} (apt-get install them as root)" >&2
  fi
fi

# The rootless tests' user (test/rootless.test.ts)
if [ "$(id -u)" = 0 ]; then "$(dirname "$0")/rootless-user.sh"; fi
