// The native front end (native/cli/) and the Node CLI print the same bytes from the same database, and the
// native side hands over to Node whenever it cannot be sure: another schema version, a row to reconcile.
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/state/migrations.js';
import { BIN, ROOT, fakeNode, missing, sandbox } from './helpers.js';

const NATIVE = join(ROOT, 'build', 'codex32-cli');
const why = missing({ standard: true }) ?? (existsSync(NATIVE) || process.env.CI === 'true' ? undefined : 'build/codex32-cli is not built (make build)');

describe.skipIf(why)('native ps', () => {
  const sb = sandbox('c32-native-');
  // a `node` first on the PATH that fails loudly: a command that reaches Node exits 97
  const noNode = fakeNode();
  const direct = (args: string[], env: Record<string, string> = {}) =>
    execa(BIN, args, { reject: false, env: { ...sb.env, ...env }, stripFinalNewline: false, timeout: 60_000 });
  const both = async (args: string[]) => {
    const native = await direct(args, { PATH: noNode.path });
    const node = await direct(args, { CODEX32_NATIVE: '0' });
    return { native, node };
  };
  const port = 20000 + (process.pid % 20000);

  beforeAll(async () => {
    const run = async (args: string[]) => expect((await sb.cli(args)).exitCode).toBe(0);
    await run(['run', '-d', '--name', 'web', '-p', `${port}:8080`, '--label', 'team=bots', '--label', 'tier=front', 'host', 'sleep', '300']);
    await run(['run', '-d', '--name', 'quiet-one', '--network', 'none', 'host', 'sh', '-c', 'sleep 300; echo "a command longer than the column" \\ done']);
    await run(['run', '-d', '--name', 'hostnet', '--network', 'host', '--restart', 'always', 'host', 'sleep', '300']);
    await sb.cli(['run', '--name', 'failed', 'host', 'sh', '-c', 'exit 3']);
    await run(['run', '--name', 'ok', '--network', 'none', 'host', 'true']);
    await run(['create', '--name', 'later', '-e', 'A=1', 'host', 'echo', 'tab\there', 'quote"d']);
    await run([
      'create', '--name', 'rich', '-v', `${noNode.dir}:/data:ro`, '-v', '/etc:/e2', '-u', '1000:1000', '--dns', '1.1.1.1', '--add-host', 'foo:10.0.0.5',
      '-w', '/data', '--hostname', 'richhost', '--port', '3000', '--cap-add', 'NET_RAW', '--cap-drop', 'CHOWN', '--read-only', '--memory', '64m',
      '--pids', '50', '--nofile', '1024', '--restart', 'on-failure:3', '--timeout', '60', '--shm-size', '32m', '--network-bandwidth', '1m',
      '--stop-signal', 'SIGINT', '-p', `127.0.0.1:${port + 1}:3000`, '-p', `${port + 2}:3000`, '-p', `${port + 3}:53/udp`,
      '-l', 'z=1', '-l', 'a=ü"x', '-e', 'B=2', '-e', 'UNI=日本', 'host', 'sh', '-c', 'echo hi',
    ]);
    await run(['create', '--name', 'minimal', '--isolation', 'minimal', '--network', 'host', '--port', '4000', 'host', 'sleep', '1']);
    await run(['create', '--name', 'checked', '--health-cmd', 'true', 'host', 'sleep', '1']);
    // the first look after a start records the supervisor's mark (a write): Node's to make
    await run(['ps', '-a']);
    // fixed ages far from any rounding step, so the two runs below print the same durations
    const db = new Database(join(sb.storage, 'state.db'));
    const rows = db.prepare('SELECT id, created_at FROM containers ORDER BY created_at').all() as Array<{ id: string; created_at: number }>;
    const now = Date.now();
    rows.forEach((r, i) =>
      db
        .prepare("UPDATE containers SET created_at = CAST(? AS INTEGER), state = json_set(state, '$.startedAt', CAST(? AS INTEGER), '$.finishedAt', CAST(? AS INTEGER)) WHERE id = ?")
        .run(now - 3 * 86_400_000 + i * 60_000, now - 5 * 3_600_000, now - 7 * 60_000, r.id),
    );
    db.close();
  }, 120_000);
  afterAll(async () => {
    await sb.clean();
    noNode.clean();
  });

  it('is built for the schema the Node side migrates to', () => {
    const header = readFileSync(join(ROOT, 'native', 'cli', 'store.h'), 'utf8');
    expect(Number(/#define CODEX32_SCHEMA_VERSION (\d+)/.exec(header)?.[1])).toBe(SCHEMA_VERSION);
  });

  it.each([['ps'], ['ps', '-a'], ['ps', '-a', '--json'], ['ps', '--json'], ['ps', '-aq'], ['ps', '-q'], ['ls', '--all', '--quiet'], ['list', '-qa']])(
    '%s %s %s prints what the Node CLI prints, without starting Node',
    async (...args: string[]) => {
      const { native, node } = await both(args);
      expect(node.exitCode).toBe(0);
      expect(native.exitCode).toBe(0);
      expect(native.stdout).toBe(node.stdout);
      expect(native.stderr).toBe(node.stderr);
    },
  );

  it.each([['web'], ['quiet-one'], ['hostnet'], ['failed'], ['ok'], ['later'], ['rich'], ['minimal'], ['rich', 'web', 'failed']])(
    'inspect %s %s %s prints what the Node CLI prints, without starting Node',
    async (...refs: string[]) => {
      const { native, node } = await both(['inspect', ...refs.filter(Boolean)]);
      expect(node.exitCode).toBe(0);
      expect(native.exitCode).toBe(0);
      expect(String(native.stdout).split('\n')).toEqual(String(node.stdout).split('\n'));
    },
  );

  it('inspect finds a container by a unique id prefix as Node does', async () => {
    const id = JSON.parse(String((await direct(['inspect', 'rich'])).stdout))[0].Id as string;
    const { native, node } = await both(['inspect', id.slice(0, 5)]);
    expect(native.exitCode).toBe(0);
    expect(native.stdout).toBe(node.stdout);
  });

  it.each([[['inspect', 'checked']], [['inspect', 'no-such-container']], [['inspect', '-f', '{{.State.Status}}', 'web']], [['inspect', 'web', 'checked']]])(
    '%j goes to Node',
    async (args: string[]) => {
      expect((await direct(args, { PATH: noNode.path })).exitCode).toBe(97);
      const { node } = await both(args);
      const r = await direct(args);
      expect(r.exitCode).toBe(node.exitCode);
      expect(r.stdout).toBe(node.stdout);
    },
  );

  it('exec runs the command through the supervisor as Node does: output, exit code, the exec event', async () => {
    const args = ['exec', 'web', 'sh', '-c', 'echo "out $0"; echo err >&2; exit 7', 'x y'];
    const events = () => {
      const db = new Database(join(sb.storage, 'state.db'), { readonly: true });
      const rows = db.prepare("SELECT name, attrs FROM events WHERE type = 'exec' ORDER BY id").all();
      db.close();
      return rows;
    };
    const before = events().length;
    const { native, node } = await both(args);
    expect(node.exitCode).toBe(7);
    expect(native.exitCode).toBe(7);
    expect(native.stdout).toBe('out x y\n');
    expect(native.stdout).toBe(node.stdout);
    expect(native.stderr).toBe(node.stderr);
    const added = events().slice(before);
    expect(added).toHaveLength(2);
    expect(added[0]).toEqual(added[1]);
    expect(added[0]).toEqual({ name: 'web', attrs: JSON.stringify({ command: args.slice(2).join(' ') }) });
  });

  it('exec gives the command no stdin, and passes everything after the name on as the command', async () => {
    for (const args of [['exec', 'web', 'cat'], ['exec', 'web', '--', 'true'], ['exec', 'web', 'echo', '-e', 'x']]) {
      const native = await execa(BIN, args, { reject: false, env: { ...sb.env, PATH: noNode.path }, input: 'typed\n' });
      const node = await execa(BIN, args, { reject: false, env: { ...sb.env, CODEX32_NATIVE: '0' }, input: 'typed\n' });
      expect([native.exitCode, native.stdout, native.stderr]).toEqual([node.exitCode, node.stdout, node.stderr]);
    }
  });

  it.each([[['exec', '-e', 'A=1', 'web', 'env']], [['exec', 'later', 'true']], [['exec', 'no-such-container', 'true']], [['exec', 'web']]])(
    '%j goes to Node',
    async (args: string[]) => {
      expect((await direct(args, { PATH: noNode.path })).exitCode).toBe(97);
      const { node } = await both(args);
      const r = await direct(args);
      expect([r.exitCode, r.stdout, r.stderr]).toEqual([node.exitCode, node.stdout, node.stderr]);
    },
  );

  it('inspect leaves a container with a setting it does not know to Node', async () => {
    await sb.cli(['create', '--name', 'future', 'host', 'true']);
    const db = new Database(join(sb.storage, 'state.db'));
    db.prepare("UPDATE containers SET config = json_set(config, '$.limits.futureLimit', 1) WHERE name = 'future'").run();
    db.close();
    expect((await direct(['inspect', 'future'], { PATH: noNode.path })).exitCode).toBe(97);
    const { native, node } = await both(['inspect', 'later']);
    expect(native.exitCode).toBe(0);
    expect(native.stdout).toBe(node.stdout);
  });

  it('takes the global --storage as Node does', async () => {
    const args = ['--storage', sb.storage, 'ps', '-a', '--json'];
    const { native, node } = await both(args);
    expect(native.exitCode).toBe(0);
    expect(String(native.stdout).split('\n')).toEqual(String(node.stdout).split('\n'));
    expect(JSON.parse(String(native.stdout)).map((c: { Name: string }) => c.Name)).toContain('later');
  });

  it('hands options it does not know to Node', async () => {
    expect((await direct(['ps', '--no-such-flag'], { PATH: noNode.path })).exitCode).toBe(97);
    const r = await direct(['ps', '--no-such-flag']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('unknown option');
  });

  it('hands a running row whose supervisor is gone to Node, which reconciles it', async () => {
    await sb.cli(['run', '-d', '--name', 'orphan', 'host', 'sleep', '300']);
    const db = new Database(join(sb.storage, 'state.db'), { readonly: true });
    const { pid } = JSON.parse((db.prepare("SELECT json_extract(state, '$.shim') AS s FROM containers WHERE name = 'orphan'").get() as { s: string }).s);
    db.close();
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    expect((await direct(['ps', '-a'], { PATH: noNode.path })).exitCode).toBe(97);
    const r = await direct(['ps', '-a']);
    expect(r.stdout).toMatch(/Dead \(supervisor-lost\) .*orphan/);
    // the row is settled now: the native side answers again
    expect((await direct(['ps', '-a'], { PATH: noNode.path })).exitCode).toBe(0);
  });

  it('hands a database of another schema version to Node', async () => {
    const db = new Database(join(sb.storage, 'state.db'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    try {
      expect((await direct(['ps', '-a'], { PATH: noNode.path })).exitCode).toBe(97);
      const native = await direct(['ps', '-a']);
      const node = await direct(['ps', '-a'], { CODEX32_NATIVE: '0' });
      expect(native.exitCode).toBe(125);
      expect(native.stderr).toContain('newer than this codex32 understands');
      expect(native.stderr).toBe(node.stderr);
    } finally {
      const back = new Database(join(sb.storage, 'state.db'));
      back.pragma(`user_version = ${SCHEMA_VERSION}`);
      back.close();
    }
  });
});
