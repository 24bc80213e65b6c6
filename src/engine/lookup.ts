// Finding a container by what a user types: its name, full id, a unique id prefix, or its bot's name.
import { isValidRef, validateName } from '../config/names.js';
import { EngineError } from '../errors.js';
import type { StateStore } from '../state/store.js';
import type { ContainerRow } from '../state/types.js';

/** The container ref names, as the database has it (not reconciled); NO_SUCH_CONTAINER or AMBIGUOUS_ID otherwise. */
export function findContainer(store: StateStore, ref: string): ContainerRow {
  if (!isValidRef(ref)) validateName(ref);
  let row = store.getContainer(ref);
  if (!row && /^[0-9a-f]{3,63}$/.test(ref)) {
    const found = store.findByIdPrefix(ref);
    if (found.length > 1) throw new EngineError('AMBIGUOUS_ID', `The id prefix ${ref} matches more than one container. Give more of the id.`, { context: { container: ref } });
    row = found[0];
  }
  // a bot's name works wherever its container's does (a CUSTOM_CONTAINER bot runs as bot-NAME)
  if (!row && store.getBot(ref)?.type === 'CUSTOM_CONTAINER') row = store.getContainer(`bot-${ref}`);
  if (!row) throw new EngineError('NO_SUCH_CONTAINER', `No such container: ${ref}. Run \`codex32 ps -a\` to list containers.`, { context: { container: ref } });
  return row;
}
