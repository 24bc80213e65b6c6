// Reading bot files: codex32's own (`bots:`) or PM2's ecosystem (`apps:`), as JSON, YAML or JavaScript.
// JavaScript is evaluated as PM2 does, by loading the module, but in a child node process with a timeout.
import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { EngineError } from '../errors.js';
import type { BotInput } from './bot.js';
import { fromPm2 } from './pm2.js';

const JS_TIMEOUT_MS = 10_000;

// prints the module's export as JSON (functions and undefined dropped, as PM2's own JSON view would)
const LOADER = `
const { pathToFileURL } = require('node:url');
const file = process.argv[1];
const load = async () => { try { return require(file); } catch (e) { if (e.code !== 'ERR_REQUIRE_ESM') throw e; return (await import(pathToFileURL(file).href)).default; } };
load().then(async (m) => { m = await m; process.stdout.write(JSON.stringify(m && m.default && !m.apps ? m.default : m) ?? 'null'); })
  .catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

async function evaluateJs(path: string, timeoutMs = JS_TIMEOUT_MS): Promise<unknown> {
  const { execa } = await import('execa');
  // the file runs with the user's environment less codex32's own settings, in its own directory
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CODEX32_')));
  const r = await execa(process.execPath, ['-e', LOADER, path], { cwd: dirname(path), env, extendEnv: false, timeout: timeoutMs, reject: false, stdin: 'ignore' });
  if (r.timedOut) throw new EngineError('INVALID_CONFIG', `Expected ${path} to finish loading within ${timeoutMs / 1000} s; it did not (PM2 evaluates ecosystem files the same way)`);
  if (r.exitCode !== 0) {
    const first = String(r.stderr).split('\n').find((l) => /Error|error/.test(l)) ?? String(r.stderr).split('\n')[0];
    throw new EngineError('INVALID_CONFIG', `Expected ${path} to load as a JavaScript module: ${first.trim()}`);
  }
  return JSON.parse(String(r.stdout));
}

async function parseDoc(path: string, text: string, timeoutMs?: number): Promise<unknown> {
  const ext = extname(path);
  if (ext === '.js' || ext === '.cjs' || ext === '.mjs') return evaluateJs(path, timeoutMs);
  try {
    // YAML 1.1's merge keys (`<<: *defaults`), which PM2 files written in YAML use to share settings
    return ext === '.json' ? JSON.parse(text) : (await import('yaml')).parse(text, { merge: true });
  } catch (e) {
    throw new EngineError('INVALID_CONFIG', `Expected ${path} to be valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
}

/** Read a bot file: codex32's `bots:` list, or PM2's `apps:` translated for the environment `env` (`--env NAME`). */
export async function readBotFile(file: string, options: { env?: string; timeoutMs?: number } = {}): Promise<{ bots: BotInput[]; format: 'codex32' | 'pm2' }> {
  const path = resolve(file);
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new EngineError('INVALID_CONFIG', `Expected a readable bot file, got \`${file}\``);
  }
  const doc = (await parseDoc(path, text, options.timeoutMs)) as { bots?: unknown; apps?: unknown } | unknown[] | null;
  // PM2 also takes a bare list of apps, or a single app object
  const apps = Array.isArray(doc) ? doc : doc && typeof doc === 'object' && !('bots' in doc) ? (doc.apps ?? ('script' in doc ? [doc] : undefined)) : undefined;
  if (apps !== undefined) {
    if (!Array.isArray(apps)) throw new EngineError('INVALID_CONFIG', `Expected ${file} to hold a list under \`apps:\``);
    const r = fromPm2(apps, dirname(path), options.env);
    if (r.issues.length) throw new EngineError('INVALID_CONFIG', `Invalid bot file ${file}:\n  ${r.issues.join('\n  ')}`, { context: { issues: r.issues } });
    return { bots: r.bots, format: 'pm2' };
  }
  const bots = (doc as { bots?: unknown } | null)?.bots;
  if (!Array.isArray(bots)) throw new EngineError('INVALID_CONFIG', `Expected ${file} to hold a list under \`bots:\` (codex32) or \`apps:\` (PM2)`);
  if (options.env) throw new EngineError('INVALID_CONFIG', `Expected \`--env\` only with a PM2 ecosystem file (apps: with env_${options.env}); ${file} is a codex32 bot file`);
  return { bots: bots as BotInput[], format: 'codex32' };
}
