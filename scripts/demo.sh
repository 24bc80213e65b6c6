#!/usr/bin/env bash
# The main job (`make run`): a sample bot in a container, shown with ps, logs and inspect, then stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
c32() { node bin/codex32 "$@"; }
name="demo-heartbeat"
c32 rm -f "$name" >/dev/null 2>&1 || true

level=$(c32 info --json | node -e 'const i=JSON.parse(require("fs").readFileSync(0));console.log(i.levels.standard.supported?"standard":"minimal")')
echo "==> codex32 run -d --name $name --isolation $level --memory 64m --pids 32 --restart on-failure:3 ./bots/heartbeat.py"
c32 run -d --name "$name" --isolation "$level" --memory 64m --pids 32 --restart on-failure:3 -e INTERVAL=0.5 ./bots/heartbeat.py
sleep 2
echo "==> codex32 ps"
c32 ps
echo "==> codex32 logs --tail 3 $name"
c32 logs --tail 3 "$name"
echo "==> codex32 inspect -f '{{.State.Status}} pid={{.State.Pid}} isolation={{.HostConfig.Isolation}}' $name"
c32 inspect -f '{{.State.Status}} pid={{.State.Pid}} isolation={{.HostConfig.Isolation}}' "$name"
echo "==> codex32 stop $name"
c32 stop "$name"
c32 ps -a --json | node -e 'for (const c of JSON.parse(require("fs").readFileSync(0))) if (c.Name==="'"$name"'") console.log(`${c.Name}: ${c.State}`)'
c32 logs --tail 2 "$name"
c32 rm "$name" >/dev/null
echo "==> done: the container ran detached, was shown, stopped cleanly and removed"
