// better-sqlite3, loaded on first use: the CLI's start-up snapshot (scripts/snapshot.cjs) holds the engine's
// code without it (a native addon cannot be part of a V8 heap snapshot), and commands that never open the
// database never load it.
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

export type SqliteDatabase = BetterSqlite3.Database;
export type SqliteStatement = BetterSqlite3.Statement;

let ctor: typeof BetterSqlite3 | undefined;

/** Open an SQLite database with better-sqlite3, loading the addon the first time. */
export function openSqlite(path: string, options: BetterSqlite3.Options): SqliteDatabase {
  ctor ??= createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  return new ctor(path, options);
}
