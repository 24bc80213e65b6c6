// The soak: restart-always bots counting their own starts while supervisors, client CLIs and the Docker API
// service are SIGKILLed at random and 20 clients work on them (bench/soak-lib.mjs). Not a test: it prints
// what it counted and found, and writes bench/results/soak.json; test/soak.test.ts runs a two-minute one.
// Usage: node bench/soak.mjs [--minutes N] [--bots N] [--clients N]   (defaults 10, 200, 20)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';
import { runSoak } from './soak-lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const r = await runSoak({
  minutes: arg('--minutes', 10),
  bots: arg('--bots', 200),
  clients: arg('--clients', 20),
  log: (m) => console.log(`soak: ${m}`),
});

const failed = (c) => Object.entries(c.failed).map(([k, v]) => `${k} ×${v}`).join(', ') || 'none';
const lines = [
  `codex32 soak — ${new Date().toISOString()} — ${r.bots} bots, ${r.clients} clients, ${r.minutes} min of chaos, ${r.seconds.toFixed(0)} s in all`,
  '',
  `starts counted by the bots     ${r.starts}`,
  `runs recorded                  ${r.runs} (${Object.entries(r.uncounted).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'} before the bot counted)`,
  `lost runs                      ${r.lost.length}`,
  `doubled runs                   ${r.doubled.length}`,
  `rows stuck in a transient state ${r.stuck.length}`,
  `kills                          ${r.kills.supervisor} supervisors, ${r.kills.cli} CLI processes, ${r.kills.service} of the service`,
  `system check                   ${r.check.healthy ? 'healthy' : `damaged: ${r.check.advice.join(' ')}`}`,
  `left after rm -f               ${r.leftovers.join('; ') || 'nothing'}`,
  `CLI crashes                    ${r.crashes.length}`,
  '',
  'client commands                ok      failed (code ×count)',
  ...Object.entries(r.commands).sort().map(([op, c]) => `  ${op.padEnd(28)} ${String(c.ok).padStart(6)}  ${failed(c)}`),
];
for (const [k, m] of Object.entries(r.samples)) lines.push(`  ${k}: ${m}`);
for (const f of [...r.lost, ...r.doubled].slice(0, 10)) lines.push(`  finding: ${JSON.stringify(f)}`);
for (const s of r.stuck.slice(0, 10)) lines.push(`  stuck: ${s}`);
for (const c of r.crashes.slice(0, 5)) lines.push(`  crash: ${JSON.stringify(c)}`);
console.log(lines.join('\n'));

const { startsOf, runsOf, ...summary } = r;
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'soak.json'), JSON.stringify({ date: new Date().toISOString(), ...summary }, null, 2));
const clean = !r.lost.length && !r.doubled.length && !r.stuck.length && !r.crashes.length && !r.leftovers.length && r.check.healthy;
process.exitCode = clean ? 0 : 1;
