// cp and export: files into and out of a container from the host.
import type { Command } from 'commander';
import { createWriteStream, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from '../../lazy.js';
import type { ContainerEngine } from '../../engine/engine.js';
import { validateArchive } from '../../engine/files.js';
import { EngineError } from '../../errors.js';
import { action, engineFor } from '../context.js';

const CTR_REF = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*):(.*)$/;

/** NAME:PATH → its parts; a host path (starting with / or .) is never a container reference. */
function parseRef(arg: string): { container: string; path: string } | undefined {
  if (arg.startsWith('/') || arg.startsWith('.')) return undefined;
  const m = CTR_REF.exec(arg);
  return m ? { container: m[1], path: m[2] || '/' } : undefined;
}

/** Stream a tar of the container's path into a temp file; fail with the shim's message if it fails. */
async function pullArchive(engine: ContainerEngine, ref: string, path: string, file: string): Promise<void> {
  const { proc: p } = await engine.copyFrom(ref, path);
  await pipeline(p.stdout!, createWriteStream(file));
  const r = await p;
  if (r.exitCode !== 0) throw await copyOutError(engine, ref, path, r.stderr, r.exitCode);
}

/** Why a copy out of a container failed: the path is not there (docker's words), or what the helper said. */
async function copyOutError(engine: ContainerEngine, ref: string, path: string, err: string, code: number | undefined): Promise<EngineError> {
  if ((await engine.statPath(ref, path).catch(() => 'other')) === 'missing') return new EngineError('NO_SUCH_PATH', `No such container:path: ${ref}:${path}`, { context: { container: ref, path } });
  return new EngineError('RUNTIME_FAILED', `Cannot copy ${path} out of ${ref}: ${err.replace(/codex32-shim: |tar: /g, '').trim() || `the copy helper exited with ${code}`}`);
}

/** Register cp and export. */
export function registerFiles(program: Command): void {
  program
    .command('cp')
    .description('copy between a container and the host: cp NAME:PATH DEST | cp SRC NAME:PATH (- is a tar stream)')
    .argument('<src>')
    .argument('<dest>')
    .action(action(async (src: string, dest: string, _o: object, cmd: Command) => {
      const engine = engineFor(cmd);
      const { execa } = await import('execa');
      const from = parseRef(src);
      const to = parseRef(dest);
      if (!!from === !!to) throw new EngineError('INVALID_CONFIG', 'Expected exactly one side of cp to be NAME:PATH, e.g. `codex32 cp bot:/app/state.json ./state.json`');
      const tmp = mkdtempSync(join(engine.settings.storageDir, '.cp-'));
      try {
        if (from) {
          if (dest === '-') {
            const { proc: p } = await engine.copyFrom(from.container, from.path);
            await pipeline(p.stdout!, process.stdout);
            const r = await p;
            if (r.exitCode !== 0) throw await copyOutError(engine, from.container, from.path, r.stderr, r.exitCode);
            return;
          }
          const file = join(tmp, 'a.tar');
          await pullArchive(engine, from.container, from.path, file);
          // a link is extracted as a link into a fresh directory, never followed: absolute targets are fine
          await validateArchive(file, { allowAbsoluteLinks: true });
          const out = join(tmp, 'out');
          await execa('mkdir', [out]);
          await execa('tar', ['-xf', file, '-C', out, '--no-same-owner']);
          const name = from.path === '/' ? '.' : basename(from.path);
          // cp -a gives docker's rules: into DEST if it is a directory, else as DEST; links are copied, never followed
          const r = await execa('cp', ['-a', '--', join(out, name) + (name === '.' ? '/.' : ''), resolve(dest)], { reject: false });
          if (r.exitCode !== 0) throw new EngineError('INVALID_CONFIG', `Cannot write ${dest}: ${String(r.stderr).trim()}`);
          return;
        }
        const target = to!;
        const file = join(tmp, 'a.tar');
        if (src === '-') {
          await pipeline(process.stdin, createWriteStream(file));
          await engine.copyTo(target.container, target.path, file);
          return;
        }
        const source = resolve(src);
        const st = statSync(source, { throwIfNoEntry: false });
        if (!st) throw new EngineError('INVALID_CONFIG', `Expected the source to exist on the host, got \`${src}\``);
        const kind = await engine.statPath(target.container, target.path);
        let dir = target.path;
        let rename = basename(source);
        if (kind !== 'dir') {
          if (kind === 'other' && st.isDirectory()) throw new EngineError('INVALID_CONFIG', `Cannot copy the directory ${src} onto the file ${target.path}`);
          dir = dirname(target.path);
          rename = basename(target.path);
        }
        const base = basename(source).replace(/[\\|&]/g, '\\$&');
        await execa('tar', ['-cf', file, '-C', dirname(source), `--transform=s|^${base}|${rename.replace(/[\\|&]/g, '\\$&')}|`, basename(source)]);
        await engine.copyTo(target.container, dir, file);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }));

  program
    .command('export')
    .description("write a container's filesystem as a tar archive")
    .requiredOption('-o, --output <file>', 'the tar file to write')
    .argument('<container>')
    .action(action(async (ref: string, o: { output: string }, cmd: Command) => {
      const { proc: p } = await engineFor(cmd).exportFs(ref);
      const tmp = `${o.output}.partial`;
      await pipeline(p.stdout!, createWriteStream(tmp));
      const r = await p;
      if (r.exitCode !== 0) {
        rmSync(tmp, { force: true });
        throw new EngineError('RUNTIME_FAILED', `Cannot export ${ref}`);
      }
      renameSync(tmp, o.output);
    }));
}
