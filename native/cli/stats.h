/* stats: `stats --no-stream` and `stats --json` as src/cli/commands/monitor.ts prints them */
#ifndef CODEX32_CLI_STATS_H
#define CODEX32_CLI_STATS_H

/* run `stats ARGS` (ARGS after the command name) and return its exit code; execs Node for anything it
   cannot answer exactly as Node would (streaming, other options, bots, a row to reconcile, a figure it
   does not read the same way) */
int stats_command(const char *storage, int argc, char **argv);
#endif
