// better-sqlite3, its addon found once and by path. Every CLI command opens the database once, so how the
// package is loaded counts: its JavaScript is part of the CLI bundle (and its code cache), and the addon is
// handed to it by path, which skips the `bindings` package's search (it builds a stack trace and tries a
// dozen paths): together 5-15 ms of each command here (docs/benchmarks.md).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

export type SqliteDatabase = Database.Database;
export type SqliteStatement = Database.Statement;

const ADDON = 'build/Release/better_sqlite3.node';
let addon: string | null | undefined;

/**
 * The addon's path: beside this install's own node_modules (two levels above this module: dist/state/ in
 * the ESM build, dist/bundle/ for the CLI bundles), else where Node resolves the package (a hoisted
 * install), else null and better-sqlite3 searches itself.
 */
function addonPath(): string | null {
  const local = new URL(`../../node_modules/better-sqlite3/${ADDON}`, import.meta.url).pathname;
  if (existsSync(local)) return local;
  try {
    const found = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), ADDON);
    return existsSync(found) ? found : null;
  } catch {
    return null;
  }
}

/** Open an SQLite database with better-sqlite3. */
export function openSqlite(path: string, options: Database.Options): SqliteDatabase {
  if (addon === undefined) addon = addonPath();
  return new Database(path, addon && !options.nativeBinding ? { ...options, nativeBinding: addon } : options);
}
