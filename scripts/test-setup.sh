#!/usr/bin/env bash
# Test-only set-up, idempotent: the real components the integration tests drive, from Debian's packages:
# chromium (dashboard browser test, driven by playwright-core), docker-registry, skopeo, podman and
# buildah (images), docker.io, docker-compose and python3-docker (Docker API clients), tmux (interactive terminals).
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
