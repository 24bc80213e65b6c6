// pull, push, login and logout: OCI images and registries.
import type { Command } from 'commander';
import { expected } from '../../errors.js';
import { action, engineFor } from '../context.js';
import { progressReporter } from '../progress.js';
import { out } from '../output.js';

/** docker's --tls-verify[=false] flag value. */
export function parseTlsVerify(v: string | boolean | undefined): boolean {
  if (v === undefined || v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw expected('`--tls-verify`', 'true or false', v);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Register the registry commands. */
export function registerRegistry(program: Command): void {
  program
    .command('pull')
    .description('pull an image from a registry (alpine means docker.io/library/alpine:latest)')
    .argument('<ref>', 'image reference, e.g. 127.0.0.1:5000/team/bot:1.0')
    .option('--tls-verify <bool>', 'false allows plain HTTP to a registry that is not on loopback')
    .option('-q, --quiet', 'print only the image id')
    .action(action(async (ref: string, o: { tlsVerify?: string; quiet?: boolean }, cmd: Command) => {
      const p = o.quiet ? undefined : progressReporter('downloading');
      const img = await engineFor(cmd).image.pull(ref, { tlsVerify: parseTlsVerify(o.tlsVerify), onEvent: p?.onEvent });
      p?.finish();
      out(o.quiet ? `${img.id}\n` : `Digest: ${img.doc.repoDigests.at(-1)?.split('@')[1] ?? img.doc.manifestDigest}\nImage: ${img.id}\n`);
    }));

  program
    .command('push')
    .description('push an image to its registry, or to DEST')
    .argument('<image>', 'a stored image')
    .argument('[dest]', 'the name to push as, e.g. 127.0.0.1:5000/team/bot:1.0')
    .option('--tls-verify <bool>', 'false allows plain HTTP to a registry that is not on loopback')
    .option('-q, --quiet', 'print only the digest')
    .action(action(async (image: string, dest: string | undefined, o: { tlsVerify?: string; quiet?: boolean }, cmd: Command) => {
      const p = o.quiet ? undefined : progressReporter('uploading');
      const r = await engineFor(cmd).image.push(image, dest, { tlsVerify: parseTlsVerify(o.tlsVerify), onEvent: p?.onEvent });
      p?.finish();
      out(o.quiet ? `${r.digest}\n` : `${r.name}: digest: ${r.digest}\n`);
    }));

  program
    .command('login')
    .description('log in to a registry; credentials are kept in the storage directory, readable by root only')
    .argument('<registry>', 'e.g. 127.0.0.1:5000 or ghcr.io')
    .option('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--tls-verify <bool>', 'false allows plain HTTP to a registry that is not on loopback')
    .action(action(async (registry: string, o: { username?: string; password?: string; passwordStdin?: boolean; tlsVerify?: string }, cmd: Command) => {
      if (o.password !== undefined && o.passwordStdin) throw expected('the password', 'given once (-p or --password-stdin)', 'both');
      const password = o.passwordStdin ? await readStdin() : (o.password ?? '');
      const name = await engineFor(cmd).image.login(registry, { username: o.username ?? '', password }, { tlsVerify: parseTlsVerify(o.tlsVerify) });
      out(`Login Succeeded (${name})\n`);
    }));

  program
    .command('logout')
    .description('forget the credentials of a registry')
    .argument('<registry>')
    .action(action((registry: string, _o: object, cmd: Command) => {
      engineFor(cmd).image.logout(registry);
      out(`Removed login credentials for ${registry}\n`);
    }));
}
