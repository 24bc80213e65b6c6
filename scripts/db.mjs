// Database set-up for setup_database.sh: migrate (default) or --check (integrity and schema version).
import { join } from 'node:path';
import { loadSettings } from '../dist/config/settings.js';
import { StateStore } from '../dist/state/store.js';
import { SCHEMA_VERSION } from '../dist/state/migrations.js';

const check = process.argv.includes('--check');
const settings = loadSettings();
const path = join(settings.storageDir, 'state.db');
try {
  const store = StateStore.open(path);
  const version = store.schemaVersion();
  if (check) {
    const problems = store.integrityCheck();
    const ok = problems.length === 1 && problems[0] === 'ok';
    const n = store.db.prepare('SELECT count(*) AS n FROM containers').get().n;
    console.log(`${path}: schema v${version} (code knows v${SCHEMA_VERSION}), ${n} container(s), integrity ${ok ? 'ok' : 'FAILED'}`);
    if (!ok) {
      for (const p of problems) console.log('  ' + p);
      console.log('Recovery: see docs/state.md ("A corrupt database").');
      process.exitCode = 1;
    }
  } else {
    console.log(`${path}: schema v${version}`);
  }
  store.close();
} catch (e) {
  console.error(`codex32: ${e.message}`);
  process.exitCode = 1;
}
