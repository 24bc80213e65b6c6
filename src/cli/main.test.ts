// The CLI loads only the module of the command it runs: the table that says which module registers which
// command must name every command and alias, or a command would be missing when run on its own.
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMAND_GROUP } from './main.js';

describe('command groups', () => {
  it('names every command and alias of the full program, and each one alone registers it', async () => {
    const all = await buildProgram(['node', 'codex32']);
    const names = all.commands.flatMap((c) => [c.name(), ...c.aliases()]);
    expect(names.length).toBeGreaterThan(30);
    expect(Object.keys(COMMAND_GROUP).sort()).toEqual([...names].sort());
    for (const name of names) {
      const one = await buildProgram(['node', 'codex32', '--storage', '/nonexistent', name]);
      expect(one.commands.some((c) => c.name() === name || c.aliases().includes(name))).toBe(true);
      expect(one.commands.length).toBeLessThan(all.commands.length);
    }
  });

  it('registers nothing for --version and every command for help or an unknown name', async () => {
    expect((await buildProgram(['node', 'codex32', '--version'])).commands).toHaveLength(0);
    const all = (await buildProgram(['node', 'codex32'])).commands.length;
    expect((await buildProgram(['node', 'codex32', 'bogus'])).commands).toHaveLength(all);
    expect((await buildProgram(['node', 'codex32', '--help'])).commands).toHaveLength(all);
  });
});
