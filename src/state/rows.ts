// Raw rows as SQLite returns them, and their parsed shapes.
import type { ContainerRow, ContainerStatus } from './types.js';

export interface RawContainer {
  id: string;
  name: string;
  status: ContainerStatus;
  created_at: number;
  config: string;
  state: string;
}

/** A containers row, its JSON columns parsed. */
export const toRow = (r: RawContainer): ContainerRow => ({
  id: r.id,
  name: r.name,
  status: r.status,
  createdAt: r.created_at,
  config: JSON.parse(r.config),
  state: JSON.parse(r.state),
});

export interface BotRow {
  name: string;
  type: string;
  createdAt: number;
  updatedAt: number;
  config: unknown;
  state: Record<string, unknown>;
}
export interface RawBot {
  name: string;
  type: string;
  created_at: number;
  updated_at: number;
  config: string;
  state: string;
}
/** A bots row, its JSON columns parsed. */
export const toBot = (r: RawBot): BotRow => ({ name: r.name, type: r.type, createdAt: r.created_at, updatedAt: r.updated_at, config: JSON.parse(r.config), state: JSON.parse(r.state) });

