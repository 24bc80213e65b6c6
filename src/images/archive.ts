// Archive validation: tar entries that could land outside their target are refused before any extraction.
import { normalize, posix } from 'node:path';
import { EngineError } from '../errors.js';

/**
 * Refuse entries that could land outside the target: absolute names, `..`, entries beneath a symlink
 * of the same archive, and (unless allowAbsoluteLinks, for root filesystems whose links resolve
 * inside the container) links that point out.
 */
export async function validateArchive(file: string, options: { allowAbsoluteLinks?: boolean } = {}): Promise<string[]> {
  const bad: string[] = [];
  const names: string[] = [];
  const links = new Set<string>();
  const { list } = await import('tar');
  await list({
    file,
    preservePaths: true, // see names exactly as written, so nothing is silently rewritten
    onReadEntry: (e) => {
      const p = e.path;
      names.push(p);
      if (p.startsWith('/') || p.split('/').includes('..')) bad.push(`${p} (path leaves the target)`);
      const parts = posix.normalize(p).replace(/\/$/, '').split('/');
      for (let i = 1; i < parts.length; i++)
        if (links.has(parts.slice(0, i).join('/'))) bad.push(`${p} (written through the symlink ${parts.slice(0, i).join('/')})`);
      if (e.type === 'SymbolicLink' || e.type === 'Link') {
        const l = e.linkpath ?? '';
        if (e.type === 'SymbolicLink') links.add(parts.join('/'));
        const target = e.type === 'Link' ? normalize(l) : posix.normalize(posix.join(posix.dirname(p), l));
        const absolute = l.startsWith('/');
        const escapes = e.type === 'Link' ? absolute || target === '..' || target.startsWith('../') : !absolute && (target === '..' || target.startsWith('../'));
        if (escapes || (absolute && !(options.allowAbsoluteLinks && e.type === 'SymbolicLink')))
          bad.push(`${p} -> ${l} (link points outside the target)`);
      }
    },
  }).catch((cause: Error) => {
    throw new EngineError('INVALID_CONFIG', `Expected a tar archive, got one that cannot be read: ${cause.message}`, { cause });
  });
  if (bad.length)
    throw new EngineError('INVALID_CONFIG', `Refusing the archive: ${bad.slice(0, 5).join('; ')}${bad.length > 5 ? ` and ${bad.length - 5} more` : ''}`);
  return names;
}
