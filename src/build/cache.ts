// The layer cache: each step's image is found again by a key of its parent, its instruction and its inputs.
import { createHash } from 'node:crypto';
import type { OciImage } from '../images/catalog.js';
import type { ImageService } from '../images/service.js';

/**
 * The key of a step: the parent image (its id pins its config and every layer below), the instruction
 * as it runs (variables expanded, build arguments a RUN sees), and a digest of the files it reads.
 */
export function stepKey(parent: string | undefined, instruction: string, inputs = ''): string {
  return createHash('sha256').update(JSON.stringify([parent ?? 'scratch', instruction, inputs])).digest('hex');
}

/** The image an earlier build made for key, newest first; undefined when there is none. */
export function findCached(svc: ImageService, key: string): OciImage | undefined {
  const row = svc.catalog.store.db
    .prepare("SELECT id FROM oci_images WHERE json_extract(doc, '$.build.key') = ? ORDER BY created_at DESC LIMIT 1")
    .get(key) as { id: string } | undefined;
  return row ? svc.catalog.get(row.id) : undefined;
}
