// Container names and ids: validated before they touch a path, a cgroup or the database.
import { randomBytes, randomInt } from '../lazy.js';
import { NAME_RE } from './schema.js';
import { EngineError } from '../errors.js';

/** Refuse anything but [a-zA-Z0-9][a-zA-Z0-9_.-]* of at most 63 characters. */
export function validateName(name: string): string {
  if (!NAME_RE.test(name))
    throw new EngineError(
      'INVALID_NAME',
      `Expected the name to match [a-zA-Z0-9][a-zA-Z0-9_.-]* with at most 63 characters, got \`${name.length > 80 ? name.slice(0, 80) + '…' : name}\``,
      { context: { container: name } },
    );
  return name;
}

/** True when ref could name a container (a valid name or a hex id prefix). */
export function isValidRef(ref: string): boolean {
  return NAME_RE.test(ref) || /^[0-9a-f]{3,64}$/.test(ref);
}

/** A new random 64-hex-digit container id. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

/** The words generated names are made of. */
export const ADJECTIVES = ['brave', 'calm', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'keen', 'lively', 'merry', 'nimble', 'proud', 'quick', 'quiet', 'sharp', 'swift', 'tidy', 'witty', 'bold', 'clever'];
export const NOUNS = ['otter', 'falcon', 'badger', 'heron', 'lynx', 'panda', 'raven', 'tiger', 'walrus', 'yak', 'beaver', 'cobra', 'dingo', 'gecko', 'ibis', 'koala', 'lemur', 'moose', 'newt', 'puffin'];

/** A readable generated name such as brave_otter_4821. */
export function generateName(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}_${randomInt(10000)}`;
}
