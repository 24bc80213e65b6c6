/* fresh: whether the Node CLI would leave an active row as it is (src/engine/reconcile.ts quietMark, oom.ts) */
#ifndef CODEX32_CLI_FRESH_H
#define CODEX32_CLI_FRESH_H
#include <stdint.h>

struct active_row {
  const char *id;
  const char *status;
  int64_t shim_pid;
  const char *shim_start; /* NULL when no supervisor is recorded */
  const char *mark;       /* the supervisor's records when last reconciled */
  const char *oom_events; /* the cgroup file counting OOM kills, or NULL */
  int64_t oom_seen;
};

/* 1 when Node would neither reconcile nor record anything for this row */
int row_fresh(const char *storage, const struct active_row *r);
#endif
