/* cgread: a container's usage from its cgroup files, read exactly as src/runtime/cgroups.ts reads them */
#ifndef CODEX32_CLI_CGREAD_H
#define CODEX32_CLI_CGREAD_H

/* where one container's usage is read (state.cgroups of its row) */
struct cg_files {
  int v2;
  const char *cpu_usage;  /* v1 cpuacct.usage (ns), v2 cpu.stat (usage_usec) */
  const char *memory_dir; /* memory.current/max (v2) or memory.usage_in_bytes/limit_in_bytes (v1), memory.stat */
  const char *pids_dir;   /* the directory whose pids.current counts the container's processes */
};

/* Every figure is a whole number below 2^53 (or cpu_ms a multiple of 1/1000), so C and JavaScript
   print it alike; anything else makes these return -1 and the command goes to Node. */

/* cgroupCpuMs(): the container's CPU time in ms */
int cg_cpu_ms(const struct cg_files *f, double *ms);
/* cgroupMemory(): usage, and the limit (-1 when unlimited, as Node's undefined) */
int cg_memory(const struct cg_files *f, double *usage, double *limit);
/* cgroupRss(): anonymous plus mapped-file memory from memory.stat */
int cg_rss(const struct cg_files *f, double *rss);
/* cgroupTaskCount(): pids.current */
int cg_tasks(const struct cg_files *f, double *n);
#endif
