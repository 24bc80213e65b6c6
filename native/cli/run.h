/* run: the native `run --rm host CMD...` and `run -d host CMD...` (see native/cli/run.c) */
#ifndef CODEX32_CLI_RUN_H
#define CODEX32_CLI_RUN_H
#include <limits.h>
#include <sqlite3.h>
#include <stddef.h>
#include <sys/types.h>

struct recipe;
struct buf;

/* a container this process created (and is starting) */
struct started {
  char id[65], name[64], dir[PATH_MAX], owner_start[32];
  char net[16], addr[16]; /* a private network's interface name and leased address, else empty */
  const char *pairs[11];  /* each recipe placeholder and its value, NULL-terminated, for recipe_fill */
  long long created;
  const struct recipe *recipe;
  const char *launcher; /* bin/codex32, for what only Node does */
};

/* run ARGS (after `run`); the container's exit code, or -1 before any side effect: Node must run it */
int run_main(const char *storage, const char *launcher, int argc, char **argv);
/* launch the supervisor of a created container, record the outcome, then detach or follow, wait, record the
   exit and (rm) remove */
int run_started(sqlite3 *db, struct started *c, int detach, int rm);
/* remove what a create that did not reach the database made: its directory and cgroups */
void undo_create(struct started *c);
/* bring up the container's network as the recipe says (files; lease and set-up for a private one); -1 with
   Node's message in why, and nothing left behind */
int net_up(struct started *c, char *why, size_t whysz);
/* a start that failed before the supervisor: undone, the row back to created (removed with rm), the message
   printed as Node prints it; the exit code */
int start_failed(sqlite3 *db, struct started *c, int rm, const char *why);
/* take a private network down and free its address (safe when it was never up) */
void net_down(const struct started *c);
/* this process as a ProcRef's JSON ({"pid":..,"start":..}): the owner of the container it is starting */
void owner_ref(const struct started *c, struct buf *out);
/* the start time (clock ticks since boot, /proc/PID/stat field 22) that tells pid reuse apart */
int proc_start(pid_t pid, char *out, size_t outsz);
#endif
