// Registry credentials for login and logout, kept in a file only root can read (docker's auth.json shape).
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.js';

export interface Credentials {
  username: string;
  password: string;
}

type AuthFile = { auths: Record<string, { auth: string }> };

/** Where credentials are kept: inside the storage directory, mode 0600. */
export function authPath(storageDir: string): string {
  return join(storageDir, 'auth.json');
}

function readAuth(storageDir: string): AuthFile {
  const p = authPath(storageDir);
  if (!existsSync(p)) return { auths: {} };
  try {
    const doc = JSON.parse(readFileSync(p, 'utf8')) as AuthFile;
    return doc && typeof doc.auths === 'object' ? doc : { auths: {} };
  } catch (cause) {
    throw new EngineError('INVALID_CONFIG', `The credentials file ${p} is not valid JSON. Remove it and log in again.`, { cause });
  }
}

function writeAuth(storageDir: string, doc: AuthFile): void {
  const p = authPath(storageDir);
  const tmp = `${p}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, p);
}

/** The stored credentials for a registry, if any. */
export function getCredentials(storageDir: string, registry: string): Credentials | undefined {
  const entry = readAuth(storageDir).auths[registry];
  if (!entry?.auth) return undefined;
  const text = Buffer.from(entry.auth, 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? undefined : { username: text.slice(0, i), password: text.slice(i + 1) };
}

/** Store credentials for a registry. */
export function saveCredentials(storageDir: string, registry: string, c: Credentials): void {
  const doc = readAuth(storageDir);
  doc.auths[registry] = { auth: Buffer.from(`${c.username}:${c.password}`).toString('base64') };
  writeAuth(storageDir, doc);
}

/** Forget a registry's credentials; false when there were none. */
export function removeCredentials(storageDir: string, registry: string): boolean {
  const doc = readAuth(storageDir);
  if (!doc.auths[registry]) return false;
  delete doc.auths[registry];
  if (Object.keys(doc.auths).length) writeAuth(storageDir, doc);
  else rmSync(authPath(storageDir), { force: true });
  return true;
}
