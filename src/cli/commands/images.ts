// import, images and image rm.
import type { Command } from 'commander';
import { action, engineFor } from '../context.js';
import { humanDuration, table } from '../format.js';

const mb = (n?: number) => (n === undefined ? '-' : `${(n / 1024 / 1024).toFixed(1)} MB`);

/** Register the image commands. */
export function registerImages(program: Command): void {
  program
    .command('import')
    .description('import a root filesystem tarball as an image')
    .argument('<file>', 'a .tar of a root filesystem (docker export, debootstrap)')
    .argument('<name>', 'the image name')
    .action(action(async (file: string, name: string, _o: object, cmd: Command) => {
      const img = await engineFor(cmd).importImage(file, name);
      process.stdout.write(`${img.name} (${mb(img.doc.size)}, ${img.doc.files} files)\n`);
    }));

  program
    .command('images')
    .description('list images')
    .option('--json', 'JSON output')
    .action(action((o: { json?: boolean }, cmd: Command) => {
      const imgs = engineFor(cmd).images();
      if (o.json) return void process.stdout.write(JSON.stringify(imgs, null, 2) + '\n');
      const now = Date.now();
      process.stdout.write(table(['NAME', 'KIND', 'CREATED', 'SIZE', 'FILES'], imgs.map((i) => [
        i.name, i.kind, i.createdAt ? `${humanDuration(now - i.createdAt)} ago` : '-', i.kind === 'builtin' ? '-' : mb(i.size), String(i.files ?? '-'),
      ])));
    }));

  const image = program.command('image').description('manage images');
  image
    .command('rm')
    .description('remove images no container uses')
    .argument('<names...>')
    .action(action((names: string[], _o: object, cmd: Command) => {
      for (const n of names) {
        engineFor(cmd).removeImage(n);
        process.stdout.write(n + '\n');
      }
    }));
  image.command('ls').description('list images').action(action((_o: object, cmd: Command) => {
    for (const i of engineFor(cmd).images()) process.stdout.write(`${i.name}\t${i.kind}\n`);
  }));
}
