// A CPU-hungry bot: WORKERS busy loops (default 1), to show --cpus limits and stats.
import { fork } from 'node:child_process';

const workers = Number(process.env.WORKERS ?? 1);
if (process.argv[2] === 'child') {
  for (;;) Math.sqrt(Math.random());
}
console.log(`cpu hog: ${workers} busy loop(s)`);
for (let i = 1; i < workers; i++) fork(new URL(import.meta.url).pathname, ['child']);
for (;;) Math.sqrt(Math.random());
