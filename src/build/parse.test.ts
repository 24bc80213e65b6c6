// The Dockerfile parser's own rules: stages, flags, the exec form, refusals by line, and variable expansion.
import { describe, expect, it } from 'vitest';
import { expandVars, parseDockerfile } from './parse.js';

describe('parseDockerfile', () => {
  it('splits stages, keeps global ARGs, flags, the exec form and KEY=VALUE pairs', () => {
    const p = parseDockerfile('ARG V=1\nFROM base:${V} AS one\nRUN ["sh", "-c", "echo a b"]\nENV A=1 B="two words"\nFROM one\nCOPY --from=one --chown=1:2 /x /y\n');
    expect(p.globalArgs).toEqual([['V', '1']]);
    expect(p.stages.map((s) => [s.image, s.name])).toEqual([['base:${V}', 'one'], ['one', undefined]]);
    expect(p.stages[0].steps[0].json).toEqual(['sh', '-c', 'echo a b']);
    expect(p.stages[0].steps[1].pairs).toEqual([['A', '1'], ['B', 'two words']]);
    expect(p.stages[1].steps[0]).toMatchObject({ line: 6, keyword: 'COPY', args: '/x /y', flags: { from: 'one', chown: '1:2' } });
  });

  it('refuses unsupported instructions and flags by name and line, and an unknown --target', () => {
    expect(() => parseDockerfile('FROM a\n\nONBUILD RUN x\n')).toThrow(/Dockerfile line 3: ONBUILD is not supported/);
    expect(() => parseDockerfile('FROM a\nRUN --mount=type=cache,target=/c make\n')).toThrow(/line 2: RUN --mount is not supported/);
    expect(() => parseDockerfile('FROM a\nCOPY --chmod=644 x /y\n')).toThrow(/line 2: COPY --chmod is not supported/);
    expect(() => parseDockerfile('RUN x\n')).toThrow(/line 1: expected FROM before RUN/);
    expect(() => parseDockerfile('FROM a AS s\n', 'nope')).toThrow(/Expected --target to name a stage of the Dockerfile \(s\), got `nope`/);
    expect(parseDockerfile('FROM a AS s\nFROM b\n', 'S').stages).toHaveLength(1);
  });
});

describe('expandVars', () => {
  it('expands $V, ${V}, ${V:-word}, ${V:+word} and keeps \\$ literal', () => {
    const vars = { A: 'x', E: '' };
    expect(expandVars('$A/${A}/${B:-def}/${E:-empty}/${A:+set}/${B:+unset}/\\$A/$NONE.', vars)).toBe('x/x/def/empty/set//$A/.');
  });
});
