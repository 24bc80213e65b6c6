// The CLI as CommonJS bundles, one per command group (dist/bundle/GROUP.cjs), plus `version` (no group: --version)
// and `all` (help, and a name that is no command). Node 20 starts a single CJS file about twice as fast as the
// same code as many ESM files, and a command reads and compiles only its own group's code (docs/benchmarks.md).
// bin/codex32 picks the bundle from argv with dist/bundle/groups.json, written here from the CLI's own table.
// Run after tsc: the table is read from the ESM build. Native and optional packages stay outside the bundles.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const out = `${root}dist/bundle`;
const { COMMAND_GROUP } = await import(`${root}dist/cli/main.js`);
const groups = [...new Set(Object.values(COMMAND_GROUP))];

rmSync(out, { recursive: true, force: true });
rmSync(`${root}dist/codex32.cjs`, { force: true }); // the one-file bundle of earlier builds
mkdirSync(out, { recursive: true });

/**
 * commander requires child_process at load for a feature the CLI does not use (executable subcommands): it gets
 * the engine's lazy stand-ins (src/lazy.ts), so every command does not pay child_process, net and stream.
 */
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes('/node_modules/commander/') ? { path: `${root}src/lazy.ts` } : undefined,
    );
  },
};

/**
 * Packages that only some groups run, kept out of the others' bundles: each is imported on demand there
 * (tar by import(), dockerfile-ast below the engine's import() of the builder), so a command that never
 * copies, pulls or builds loads a bundle a quarter smaller, and one that does requires the package from
 * node_modules when it does.
 */
const ONLY_IN = {
  tar: ['files', 'images', 'registry', 'build', 'serve', 'system', 'bot'],
  'dockerfile-ast': ['build', 'serve', 'system', 'bot'],
};

/** One bundle; group undefined holds every group, '' none. */
async function bundle(name, group) {
  const elsewhere = group === undefined ? [] : Object.keys(ONLY_IN).filter((p) => !ONLY_IN[p].includes(group));
  await build({
    entryPoints: [`${root}src/cli/main.ts`],
    outfile: `${out}/${name}.cjs`,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
    // dead groups are dropped only when the conditions in main.ts's table fold: that needs syntax minifying
    minifySyntax: true,
    plugins: [lazyBuiltins],
    external: ['@kubernetes/client-node', 'kubernetes-models', 'fastify', 'playwright-core', ...elsewhere],
    define: {
      'process.env.CODEX32_BUNDLE_GROUP': group === undefined ? 'undefined' : JSON.stringify(group),
      // import.meta.url as the ESM build's modules see it: a path two levels below the package root
      'import.meta.url': '__c32_meta_url',
    },
    // import() of an optional package becomes require(): a dynamic import has no loader in a script run from
    // a V8 code cache (bin/codex32), and Node 20.19+ requires ES modules
    supported: { 'dynamic-import': false },
    banner: { js: "const __c32_meta_url = require('node:url').pathToFileURL(__dirname + '/bundle.js').href;" },
  });
}

const names = ['all', 'version', ...groups];
await Promise.all(names.map((n) => bundle(n, n === 'all' ? undefined : n === 'version' ? '' : n)));
// bin/codex32 reads the bundles as latin1 (no UTF-8 decoding at each start): a byte past ASCII would change
// the program (esbuild escapes strings but keeps regular expressions as written: write \u00b5, not the letter)
for (const n of names) {
  const text = readFileSync(`${out}/${n}.cjs`, 'latin1');
  const at = text.search(/[^\x00-\x7f]/);
  if (at >= 0) throw new Error(`dist/bundle/${n}.cjs has a byte past ASCII at ${at}: \`${text.slice(Math.max(0, at - 40), at + 10)}\``);
}
writeFileSync(`${out}/groups.json`, `${JSON.stringify(COMMAND_GROUP)}\n`);
