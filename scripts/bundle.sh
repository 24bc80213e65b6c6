#!/usr/bin/env bash
# The CLI as one CommonJS file (dist/codex32.cjs): Node 20 starts a single CJS file about twice as fast as
# the same code as many ESM files (docs/benchmarks.md). Native and optional packages stay outside it.
# import.meta.url is given a path two levels below the package root, as the ESM build's modules have.
# import() of an optional package becomes require(): a dynamic import has no loader in a script run from
# a V8 code cache (bin/codex32), and Node 20.19+ requires ES modules.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f dist/codex32.cjs.*.cache
node_modules/.bin/esbuild src/cli/main.ts --bundle --platform=node --format=cjs --target=node20 \
  --outfile=dist/codex32.cjs --log-level=warning \
  --external:better-sqlite3 --external:@kubernetes/client-node --external:kubernetes-models \
  --external:fastify --external:playwright-core \
  --define:import.meta.url=__c32_meta_url --supported:dynamic-import=false \
  "--banner:js=const __c32_meta_url = require('node:url').pathToFileURL(__dirname + '/runtime/bundle.js').href;"
