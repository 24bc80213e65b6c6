// Database set-up for setup_database.sh: create or migrate the state database (--check is `codex32 system check`).
import { join } from 'node:path';
import { loadSettings } from '../dist/config/settings.js';
import { StateStore } from '../dist/state/store.js';

const settings = loadSettings();
const path = join(settings.storageDir, 'state.db');
try {
  const store = StateStore.open(path);
  console.log(`${path}: schema v${store.schemaVersion()}`);
  store.close();
} catch (e) {
  console.error(`codex32: ${e.message}${e.code ? ` [${e.code}]` : ''}`);
  process.exitCode = 1;
}
