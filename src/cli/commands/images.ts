// import, images, load, save, tag, rmi and the `image` group (ls, rm, inspect, prune).
import type { Command } from 'commander';
import type { ContainerEngine } from '../../engine/engine.js';
import { action, engineFor } from '../context.js';
import { collectFilter } from '../filters.js';
import { goTime, humanDuration, humanSize, renderTemplate, table } from '../format.js';
import { collect, parseFilterFlags } from '../options.js';
import { out } from '../output.js';
import { formatRows } from '../template.js';
import { imageFilter } from '../../engine/imgfilter.js';
import type { ImageListing } from '../../images/store.js';

const mb = (n?: number) => (n === undefined ? '-' : `${(n / 1024 / 1024).toFixed(1)} MB`);

function listImages(engine: ContainerEngine, o: ListOptions, ref?: string): void {
  const all = engine.images();
  // docker images [REPOSITORY[:TAG]]: the reference filter, beside any other
  const filters = parseFilterFlags([...(o.filter ?? []), ...(ref ? [`reference=${ref}`] : [])]);
  const keep = imageFilter(filters, all);
  const imgs = all.filter(keep);
  const id = (i: ImageListing) => (i.id ? (o.trunc === false ? i.id : i.id.slice(7, 19)) : '-');
  if (o.json) return void out(JSON.stringify(imgs, null, 2) + '\n');
  if (o.quiet) return void out([...new Set(imgs.filter((i) => i.id).map(id))].map((i) => i + '\n').join(''));
  const now = Date.now();
  if (o.format !== undefined) {
    // docker's image fields for --format
    const docs = imgs.map((i) => ({
      Repository: i.repository, Tag: i.tag, ID: id(i), Digest: '<none>',
      CreatedSince: i.createdAt ? `${humanDuration(now - i.createdAt)} ago` : '-', CreatedAt: i.createdAt ? goTime(i.createdAt) : '',
      Size: i.kind === 'builtin' ? '-' : mb(i.size), Containers: 'N/A', Labels: Object.entries(i.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
    }));
    const headers = { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE', Containers: 'CONTAINERS', Labels: 'LABELS' };
    return void out(formatRows(o.format, docs, headers, '{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'));
  }
  out(table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], imgs.map((i) => [
    i.repository, i.tag, id(i), i.createdAt ? `${humanDuration(now - i.createdAt)} ago` : '-', i.kind === 'builtin' ? '-' : mb(i.size),
  ])));
}

interface ListOptions {
  json?: boolean;
  quiet?: boolean;
  filter?: string[];
  format?: string;
  trunc?: boolean;
}

/** images and image ls: docker's listing options. */
function listCommand(cmd: Command): Command {
  return cmd
    .description('list images: REPOSITORY, TAG, IMAGE ID, CREATED, SIZE')
    .argument('[reference]', 'only images matching REPOSITORY[:TAG] (wildcards as docker takes them)')
    .option('--json', 'JSON output')
    .option('-q, --quiet', 'only OCI image ids')
    .option('-f, --filter <K=V>', "docker's filters: dangling, label, before, since, reference (repeatable)", collect)
    .option('--format <template>', 'json, a Go template of docker\'s image fields ({{.Repository}} {{.Tag}} {{.ID}} ...), or `table TEMPLATE`')
    .option('--no-trunc', 'full image ids')
    .action(action((ref: string | undefined, o: ListOptions, c: Command) => listImages(engineFor(c), o, ref)));
}

/** rmi: OCI images by reference; an imported rootfs image by its name. */
function removeImages(engine: ContainerEngine, refs: string[], force: boolean): void {
  for (const r of refs) {
    if (engine.images().some((i) => i.kind === 'rootfs' && i.name === r)) {
      engine.removeImage(r);
      out(`Deleted: ${r}\n`);
    } else for (const line of engine.image.remove([r], force)) out(line + '\n');
  }
}

/** Register the image commands. */
export function registerImages(program: Command): void {
  program
    .command('import')
    .description('import a root filesystem tarball as an image')
    .argument('<file>', 'a .tar of a root filesystem (docker export, debootstrap)')
    .argument('<name>', 'the image name')
    .action(action(async (file: string, name: string, _o: object, cmd: Command) => {
      const img = await engineFor(cmd).importImage(file, name);
      out(`${img.name} (${mb(img.doc.size)}, ${img.doc.files} files)\n`);
    }));

  listCommand(program.command('images'));

  program
    .command('load')
    .description('load images from a docker-archive or oci-archive (docker save, podman save, skopeo)')
    .requiredOption('-i, --input <file>', 'the archive')
    .option('-q, --quiet', 'print only the ids')
    .action(action(async (o: { input: string; quiet?: boolean }, cmd: Command) => {
      for (const img of await engineFor(cmd).image.load(o.input)) {
        if (o.quiet || !img.tags.length) out(`Loaded image ID: ${img.id}\n`);
        else for (const t of img.tags) out(`Loaded image: ${t}\n`);
      }
    }));

  program
    .command('save')
    .description('save images as a docker-archive that docker load and podman load accept')
    .requiredOption('-o, --output <file>', 'the archive to write')
    .argument('<images...>')
    .action(action(async (refs: string[], o: { output: string }, cmd: Command) => {
      await engineFor(cmd).image.save(refs, o.output);
    }));

  program
    .command('tag')
    .description('give an image another name')
    .argument('<source>')
    .argument('<target>')
    .action(action((source: string, target: string, _o: object, cmd: Command) => {
      engineFor(cmd).image.tag(source, target);
    }));

  program
    .command('rmi')
    .description('remove images (refused while a container uses one, unless -f)')
    .option('-f, --force', 'remove even when used: containers keep the image, only its names go')
    .argument('<images...>')
    .action(action((refs: string[], o: { force?: boolean }, cmd: Command) => removeImages(engineFor(cmd), refs, !!o.force)));

  program
    .command('commit')
    .description("save a container's changes as a new image on the image it runs")
    .argument('<container>')
    .argument('<image>', 'the new name, e.g. team/bot:2')
    .action(action(async (container: string, target: string, _o: object, cmd: Command) => {
      out(`${(await engineFor(cmd).image.commit(container, target)).id}\n`);
    }));

  const image = program.command('image').description('manage images');
  image
    .command('rm')
    .description('remove images no container uses')
    .option('-f, --force', 'remove even when used: containers keep the image, only its names go')
    .argument('<names...>')
    .action(action((names: string[], o: { force?: boolean }, cmd: Command) => removeImages(engineFor(cmd), names, !!o.force)));
  listCommand(image.command('ls'));
  image
    .command('inspect')
    .description('describe OCI images (docker image inspect shape)')
    .option('-f, --format <template>', 'Go-template such as {{.Config.Cmd}}')
    .argument('<images...>')
    .action(action((refs: string[], o: { format?: string }, cmd: Command) => {
      const docs = refs.map((r) => engineFor(cmd).image.inspect(r));
      if (o.format) for (const i of docs) out(renderTemplate(o.format, i) + '\n');
      else out(JSON.stringify(docs, null, 2) + '\n');
    }));
  image
    .command('prune')
    .description('remove untagged images no container uses (-a: every unused image; filters: until=, label=, label!=, dangling=)')
    .option('-a, --all', 'also tagged images no container uses')
    .option('-f, --force', 'do not ask (codex32 never asks)')
    .option('--filter <k=v>', 'until=24h, label=k or label=k=v, label!=k, dangling=false', collectFilter)
    .action(action((o: { all?: boolean; filter?: Record<string, string[]> }, cmd: Command) => {
      const r = engineFor(cmd).image.pruneWith({ all: o.all, filters: o.filter });
      for (const id of r.deleted) out(`Deleted: ${id}\n`);
      if (!r.deleted.length && process.stdout.isTTY) out('Nothing to prune\n');
      if (r.deleted.length) out(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
    }));
}
