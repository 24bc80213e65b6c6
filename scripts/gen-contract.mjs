#!/usr/bin/env node
// native/contract.h from src/runtime/contract.json: the supervisor reads spec keys and names run-directory
// files through these constants only, so a key the engine does not declare fails to compile.
// `node scripts/gen-contract.mjs` writes the header; `--print` writes it to stdout (the contract test compares).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const table = JSON.parse(readFileSync(join(root, 'src/runtime/contract.json'), 'utf8'));

/** camelCase or snake_case to UPPER_SNAKE. */
const upper = (id) => id.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
/** text safe inside a C block comment */
const comment = (s) => s.replaceAll('*/', '* /');

/** The header's text for the given table. */
export function renderHeader(t) {
  const out = [
    '/* GENERATED from src/runtime/contract.json by scripts/gen-contract.mjs (make shim): do not edit. */',
    '/* contract: the spec keys the engine writes and the run-directory files of the supervisor (docs/supervisor.md) */',
    '#ifndef CODEX32_CONTRACT_H',
    '#define CODEX32_CONTRACT_H',
    '',
    '/* the version this supervisor reads: the spec entry SPEC_CONTRACT must carry it */',
    `#define CONTRACT_VERSION ${t.version}`,
    '',
    '/* spec keys: KEY=VALUE entries of RUNDIR/spec */',
  ];
  for (const [key, k] of Object.entries(t.spec)) {
    const form = k.form === 'fields' ? `fields "${k.fields.join(k.sep === '\t' ? '\\t' : k.sep)}"` : k.form === 'enum' ? `${k.values.join('|')}` : k.form;
    const tags = [k.repeated && 'repeated', k.step && 'mount step'].filter(Boolean).join(', ');
    out.push(`#define SPEC_${upper(key)} "${key}" /* ${comment(form)}${tags ? `; ${tags}` : ''}: ${comment(k.meaning)} */`);
  }
  out.push('', '/* files of the run directory (written to NAME.tmp and renamed when marked atomic) */');
  for (const [id, f] of Object.entries(t.files)) {
    out.push(`#define RUN_${upper(id)} "${f.name}" /* ${f.writer}${f.atomic ? ', atomic' : ''}: ${comment(f.format)} */`);
  }
  out.push('', '#endif', '');
  return out.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = renderHeader(table);
  if (process.argv.includes('--print')) process.stdout.write(text);
  else writeFileSync(join(root, 'native/contract.h'), text);
}
