// Boot: a systemd unit that brings containers and bots back after a host restart (PM2's `startup`).
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface StartupOptions {
  /** the codex32 launcher to run (bin/codex32) */
  bin: string;
  storageDir: string;
  /** run the service too (it brings everything back itself, then keeps reconciling) */
  serve?: boolean;
}

export const UNIT_PATH = '/etc/systemd/system/codex32.service';

/** The unit's text: `start --all` and `bot restore` once at boot, or `serve` kept running. */
export function startupUnit(o: StartupOptions): string {
  const cli = `${process.execPath} ${resolve(o.bin)}`;
  const service = o.serve
    ? ['Type=simple', `ExecStart=${cli} serve`, 'Restart=on-failure', 'RestartSec=2', 'KillMode=process']
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
