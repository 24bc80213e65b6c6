// Stats from the container's cgroup accounting: CPU time survives the processes that used it.
import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { ContainerEngine } from '../src/index.js';
import { dockerApi } from './dockerapi-helpers.js';
import { missing, pidsWith, sandbox, until } from './helpers.js';

const sb = sandbox();
const engine = new ContainerEngine({ storageDir: sb.storage, isolation: 'standard' });
afterAll(async () => {
  engine.close();
  await sb.clean();
});

describe('stats', () => {
  it.skipIf(missing({ standard: true, cgroup: ['cpu'] }))('keep the CPU time of a process that has exited, and count the live ones', async () => {
    const marker = 'c32-stats-busy-7781';
    const busy = `import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass`;
    const c = await engine.create({ image: 'host', command: ['sh', '-c', `python3 -c "${busy}" ${marker}; exec sleep 6011`] });
    await c.start();
    await until(() => pidsWith('6011').length > 0 && pidsWith(marker).length === 0, 60_000, 100);
    const [s] = await engine.stats([c.id]);
    // the busy process is gone; pidusage over live processes would report almost nothing
    expect(s!.cpuMs).toBeGreaterThanOrEqual(550);
    expect(s!.pids).toBe(2); // the container's init and sleep
    expect(s!.rss).toBeGreaterThan(0);
    await c.remove(true);
  });

  it.skipIf(missing({ standard: true }))('count pids as pids.max does (threads), with the processes beside, in the library, the CLI and the Docker API', async () => {
    const marker = 'c32-stats-threads-5512';
    const threads = `import threading, time\nfor _ in range(5): threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\ntime.sleep(600)`;
    const c = await engine.create({ name: 'threads', image: 'host', command: ['python3', '-c', threads, marker] });
    await c.start();
    // the container's init (one thread) and python (its main thread and five more)
    const [s] = await until(async () => {
      const got = await engine.stats([c.id]);
      return got[0]?.pids === 7 ? got : undefined;
    }, 30_000, 100);
    expect(s).toMatchObject({ pids: 7, processes: 2 });
    const [row] = JSON.parse(String((await sb.cli(['stats', '--json', 'threads'])).stdout)) as Array<{ PIDs: number; Processes: number }>;
    expect(row).toMatchObject({ PIDs: 7, Processes: 2 });
    await c.remove(true);
    // docker's pids_stats.current counts threads too, through the Docker API on its own storage
    const api = await dockerApi('c32-stats-api-');
    try {
      const id = String((await api.cli(['run', '-d', '--name', 'threads', 'host', 'python3', '-c', threads, marker])).stdout).trim();
      const current = () =>
        new Promise<number>((resolve, reject) => {
          const req = request({ socketPath: api.socket, path: `/v1.43/containers/${id}/stats?stream=false` }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d));
            res.on('end', () => resolve((JSON.parse(body) as { pids_stats: { current: number } }).pids_stats.current));
          });
          req.on('error', reject);
          req.end();
        });
      expect(await until(async () => ((await current()) === 7 ? 7 : undefined), 30_000, 100)).toBe(7);
    } finally {
      await api.stop();
    }
  });
});
