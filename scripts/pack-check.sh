#!/usr/bin/env bash
# Check that the package installs as an app builder installs it: `npm pack`, then `npm install` of the
# tarball into a scratch project without the optional packages, and `import { ContainerEngine } from 'codex32'`
# creating, running and removing a container there. Needs `make build` first and the npm registry (or cache).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d /tmp/codex32-pack-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
tgz=$(npm pack --silent --pack-destination "$scratch" | tail -1)
cd "$scratch"
npm init -y >/dev/null
npm pkg set type=module >/dev/null
npm install --no-audit --no-fund --loglevel=error --prefer-offline "./$tgz" >/dev/null
for opt in fastify @kubernetes/client-node kubernetes-models; do
  if [ -e "node_modules/$opt" ]; then echo "pack-check: optional package $opt was installed" >&2; exit 1; fi
done
cat > check.mjs <<'JS'
import { ContainerEngine, EngineError } from 'codex32';
const engine = new ContainerEngine({ storageDir: process.argv[2], isolation: 'minimal' });
const c = await engine.create({ image: 'host', command: ['sh', '-c', 'echo packed'] });
await c.start();
await c.wait();
const lines = [];
for await (const r of c.logs()) lines.push(r.data.toString());
await c.remove();
engine.close();
console.log(`import ok: ${typeof EngineError}, container said ${JSON.stringify(lines)}`);
JS
node check.mjs "$scratch/storage"
echo "pack-check: $(du -sh node_modules | cut -f1) installed, $(ls node_modules | wc -l) top-level packages"
