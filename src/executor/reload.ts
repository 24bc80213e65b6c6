// `bot reload` of a cluster instance: the new container starts beside the old one, is ready (its port
// accepts) before it joins the balancer, and the old one leaves the balancer before its stop signal.
import type { ContainerEngine } from '../engine/engine.js';
import { EngineError } from '../errors.js';
import { networkAddress } from '../runtime/network.js';
import { accepting } from './balancer.js';
import type { Bot } from './bot.js';

export interface ReloadSteps {
  /** create and start the bot's container from its current definition, outside the balancer */
  start(): Promise<void>;
  /** mark the bot's container (from now on the new one) as not ready: a rebalance meanwhile, by this process or `serve`, leaves the bot out */
  reloading(on: boolean): void;
  /** point the group's port at its running instances (found by their containers' names) */
  rebalance(): Promise<void>;
}

const PARKED = 'bot-old-';

/** The names of a bot's old containers that a reload has set aside. */
export function parkedContainers(engine: ContainerEngine, bot: string): string[] {
  return engine.store.listContainers().filter((c) => c.name.startsWith(PARKED) && c.config.labels['codex32.bot'] === bot).map((c) => c.name);
}

/** Stop and remove a bot's old containers that an interrupted reload left aside. */
export async function clearParked(engine: ContainerEngine, bot: string): Promise<void> {
  for (const parked of parkedContainers(engine, bot)) {
    await engine.stop(parked).catch(() => undefined);
    await engine.remove(parked, { force: true });
  }
}

/** Replace one running cluster instance by a new one, with no moment where the port has no ready instance. */
export async function replaceInstance(engine: ContainerEngine, bot: Bot, steps: ReloadSteps): Promise<void> {
  const name = `bot-${bot.name}`;
  const cluster = bot.cluster!;
  const old = engine.store.getContainer(name)!;
  // the old container steps aside under a name of its own; its address stays in the balancer meanwhile
  steps.reloading(true);
  engine.rename(old.id, `${PARKED}${old.id.slice(0, 12)}`);
  try {
    await steps.start();
    const fresh = engine.store.getContainer(name);
    const address = fresh && networkAddress(fresh.id);
    if (!address || !(await accepting(address, cluster.port, cluster.listen_timeout * 1000)))
      throw new EngineError('INVALID_STATE', `The new instance of ${bot.name} did not accept connections on port ${cluster.port} within ${cluster.listen_timeout} s (listen_timeout); the old one keeps serving. See \`codex32 bot logs ${bot.name}\`.`, {
        context: { bot: bot.name, port: cluster.port },
      });
  } catch (e) {
    const fresh = engine.store.getContainer(name);
    if (fresh) await engine.remove(fresh.id, { force: true }).catch(() => undefined);
    engine.rename(old.id, name);
    steps.reloading(false);
    throw e;
  }
  steps.reloading(false);
  await steps.rebalance(); // the new one in, the old one (no longer under the bot's name) out, in one transaction
  await engine.stop(old.id); // its own stop signal and grace period: what it has accepted, it finishes
  await engine.remove(old.id, { force: true });
}
