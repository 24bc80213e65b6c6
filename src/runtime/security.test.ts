// strict's capability set and writable directories as the engine decides them, before any container runs.
import { describe, expect, it } from 'vitest';
import { CAPS } from '../config/parse-security.js';
import { schemas } from '../config/schema.js';
import { checkSecurity, securityMask, STRICT_CAPS, writableEntries } from './security.js';

const config = (isolation: 'standard' | 'strict', capAdd: string[], capDrop: string[] = []) =>
  schemas().ContainerConfigSchema.parse({ name: 'sec', image: 'host', command: ['true'], isolation, network: isolation === 'strict' ? 'none' : 'private', capAdd, capDrop });
const strict = (capAdd: string[], capDrop: string[] = []) => config('strict', capAdd, capDrop);

describe('strict --cap-add', () => {
  it('holds exactly what was added, and what --cap-drop ALL leaves to add', () => {
    expect(securityMask(strict([]))).toBe(0n);
    expect(securityMask(strict(['CHOWN', 'SETUID', 'SETGID'], ['ALL']))).toBe((1n << 0n) | (1n << 6n) | (1n << 7n));
  });

  it('takes every capability of its set and refuses the rest, each refusal with its reason', () => {
    for (const name of STRICT_CAPS) expect(() => checkSecurity(strict([name])), name).not.toThrow();
    const refused = Object.keys(CAPS).filter((n) => !STRICT_CAPS.includes(n));
    expect(refused).toEqual(expect.arrayContaining(['NET_RAW', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE', 'DAC_READ_SEARCH', 'SYS_MODULE']));
    for (const name of [...refused, 'ALL']) expect(() => checkSecurity(strict([name])), name).toThrow(new RegExp(`got \`${name}\`: ${name} stays refused at strict because \\w`));
  });

  it('is strict\'s own set: a subset of docker\'s default, without NET_RAW', () => {
    expect(STRICT_CAPS).not.toContain('NET_RAW');
    expect(() => checkSecurity(config('standard', STRICT_CAPS))).not.toThrow();
  });
});

describe('strict\'s writable directories', () => {
  const dirs = (home: string | undefined, isolation: 'standard' | 'strict' = 'strict') => writableEntries({ isolation }, home).map((e) => e.slice('writable='.length));

  it('are the app, /root, /home and a HOME of its own; none below standard', () => {
    expect(dirs('/srv/me/')).toEqual(['/app', '/root', '/home', '/srv/me']);
    expect(dirs('/srv/me', 'standard')).toEqual([]);
  });

  it('leave out a HOME already among them, in a system directory, relative or climbing', () => {
    for (const home of ['/app', '/root/x', '/home/app', '/usr/local', '/etc', '/var/lib/x', '/', 'rel', '/srv/../usr', undefined])
      expect(dirs(home), String(home)).toEqual(['/app', '/root', '/home']);
  });
});
