// Boot: a systemd unit that brings containers and bots back after a host restart (PM2's `startup`).
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EngineError } from '../errors.js';

export interface StartupOptions {
  /** the codex32 launcher to run (bin/codex32) */
  bin: string;
  storageDir: string;
  /** run the service too (it brings everything back itself, then keeps reconciling) */
  serve?: boolean;
  /** where the service listens (with serve) */
  host?: string;
  port?: number;
}

export const UNIT_PATH = '/etc/systemd/system/codex32.service';

/**
 * The unit's text: `start --all` and `bot restore` once at boot (each bot's supervisor then keeps all
 * its bot file promises by itself), or `serve` kept running, which adds the HTTP API and the dashboard.
 */
export function startupUnit(o: StartupOptions): string {
  if ((o.host !== undefined || o.port !== undefined) && !o.serve)
    throw new EngineError('INVALID_CONFIG', 'Expected --host and --port with --serve: they say where `codex32 serve` listens, and only the unit of --serve runs it');
  // systemd splits ExecStart at spaces and reads quotes, $ and %: a host name or address has none of them
  if (o.host !== undefined && !/^[A-Za-z0-9._:[\]-]+$/.test(o.host))
    throw new EngineError('INVALID_CONFIG', `Expected --host to be a host name or an IP address, got \`${o.host}\``);
  const cli = `${process.execPath} ${resolve(o.bin)}`;
  const listen = `${o.host !== undefined ? ` --host ${o.host}` : ''}${o.port !== undefined ? ` --port ${o.port}` : ''}`;
  const service = o.serve
    ? ['Type=simple', `ExecStart=${cli} serve${listen}`, 'Restart=on-failure', 'RestartSec=2', 'KillMode=process']
    : ['Type=oneshot', 'RemainAfterExit=yes', `ExecStart=${cli} start --all`, `ExecStart=${cli} bot restore`];
  return [
    '[Unit]',
    'Description=codex32: bring back containers and bots after boot',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    `Environment=CONTAINER_STORAGE_DIR=${o.storageDir}`,
    ...service,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** True where systemd runs this host. */
export function hasSystemd(): boolean {
  return existsSync('/run/systemd/system');
}

/** Write the unit and enable it; returns the commands run. */
export async function installStartup(o: StartupOptions): Promise<string[]> {
  writeFileSync(UNIT_PATH, startupUnit(o), { mode: 0o644 });
  const { execa } = await import('execa');
  await execa('systemctl', ['daemon-reload']);
  await execa('systemctl', ['enable', 'codex32.service']);
  return ['systemctl daemon-reload', 'systemctl enable codex32.service'];
}
