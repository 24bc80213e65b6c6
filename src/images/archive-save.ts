// `save -o`: a docker-archive (manifest.json, config, uncompressed layers) that docker and podman load.
import { runFile } from '../runtime/command.js';
import { createWriteStream, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from '../lazy.js';
import { EngineError } from '../errors.js';
import { hashingStream, tempPath, type BlobStore } from './blobs.js';
import type { OciImage } from './catalog.js';
import { displayRepo, splitTagged } from './reference.js';
import { decompressed, sniffCompression } from './tarscan.js';

/** Write images (with the tags given for each) as one docker-archive at file, atomically. */
export async function saveArchive(storageDir: string, blobs: BlobStore, images: Array<{ image: OciImage; tags: string[] }>, file: string): Promise<void> {
  const dir = tempPath(storageDir, 'save');
  mkdirSync(dir, { mode: 0o700 });
  const out = join(dirname(file), `.${process.pid}.codex32-save.tmp`);
  try {
    const manifest = [];
    const written = new Set<string>();
    for (const { image, tags } of images) {
      const configName = `${image.doc.configDigest.slice(7)}.json`;
      if (!written.has(configName)) linkSync(blobs.path(image.doc.configDigest), join(dir, configName));
      written.add(configName);
      const layers: string[] = [];
      for (const l of image.doc.layers) {
        const name = `${l.diffId.slice(7)}.tar`;
        layers.push(name);
        if (written.has(name)) continue;
        written.add(name);
        const src = blobs.path(l.digest);
        const compression = await sniffCompression(src);
        if (compression === 'none') {
          linkSync(src, join(dir, name));
          continue;
        }
        const hash = hashingStream();
        await pipeline(decompressed(src, compression), hash, createWriteStream(join(dir, name)));
        if (hash.digest() !== l.diffId) throw new EngineError('DIGEST_MISMATCH', `The stored layer ${l.digest} no longer matches its DiffID ${l.diffId}. Pull or load the image again.`);
      }
      manifest.push({ Config: configName, RepoTags: tags.map((t) => { const { repo, tag } = splitTagged(t); return `${displayRepo(repo)}:${tag}`; }), Layers: layers });
    }
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await runFile('tar', ['-cf', out, '-C', dir, '--owner=0', '--group=0', '--numeric-owner', '--mode=0644', 'manifest.json', ...written]).catch((err: Error & { stderr?: string }) => {
      throw new EngineError('RUNTIME_FAILED', `Cannot write ${file}: ${String(err.stderr ?? '').trim() || err.message}`, { cause: err });
    });
    renameSync(out, file);
  } catch (e) {
    rmSync(out, { force: true });
    if (e instanceof EngineError) throw e;
    throw new EngineError('RUNTIME_FAILED', `Cannot write ${file}: ${(e as Error).message}`, { cause: e });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
