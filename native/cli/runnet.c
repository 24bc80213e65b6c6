/* runnet: a native run's network from the recipe: the files of its etc directory, and for a private
   network the address lease (as leaseAddress in src/runtime/network.ts) and Node's own set-up script */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "readfile.h"
#include "recipe.h"
#include "run.h"

/* run sh -c script (input: NULL) or `ip -force -batch -` fed input; stdout is dropped, stderr kept in err
   (when given); 0 when it exited 0 */
static int run_quiet(const char *script, const char *input, struct buf *err) {
  int p[2] = {-1, -1}, e[2] = {-1, -1};
  if ((input && pipe2(p, O_CLOEXEC)) || (err && pipe2(e, O_CLOEXEC))) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(input ? p[0] : null, 0) < 0 || dup2(null, 1) < 0 || dup2(err ? e[1] : null, 2) < 0) _exit(125);
    if (input) execlp("ip", "ip", "-force", "-batch", "-", (char *)NULL);
    else execl("/bin/sh", "sh", "-c", script, (char *)NULL);
    _exit(127);
  }
  if (input) {
    close(p[0]);
    if (pid > 0 && write(p[1], input, strlen(input)) < 0) { /* ip read what it needed, or died: its status says */
    }
    close(p[1]);
  }
  if (err) {
    close(e[1]);
    char chunk[1024];
    ssize_t n;
    while (pid > 0 && (n = read(e[0], chunk, sizeof chunk)) != 0)
      if (n > 0) buf_add(err, chunk, (size_t)n);
      else if (errno != EINTR) break;
    close(e[0]);
  }
  int status;
  if (pid < 0) return -1;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void trim(char *s) {
  size_t n = strlen(s), k = strspn(s, " \t\n");
  while (n > k && strchr(" \t\n", s[n - 1])) n--;
  memmove(s, s + k, n - k);
  s[n - k] = 0;
}

/* runSteps' message: the failing step (its `@@N` mark on stderr, the line `... || fail N` of the script)
   and what it said before the mark */
static void why_failed(const char *script, struct buf *err, char *why, size_t whysz) {
  char cmd[512] = "sh", *text = err->p ? err->p : (char *)"";
  trim(text);
  char *last = strrchr(text, '\n'), *mark = last ? last + 1 : text;
  int step;
  char tail[32];
  if (sscanf(mark, "@@%d", &step) == 1) {
    *mark = 0;
    snprintf(tail, sizeof tail, " || fail %d\n", step);
    const char *end = strstr(script, tail);
    if (end) {
      const char *start = end;
      while (start > script && start[-1] != '\n') start--;
      const char *here = memmem(start, (size_t)(end - start), " <<'C32_INPUT'", 14);
      snprintf(cmd, sizeof cmd, "%.*s", (int)((here ? here : end) - start), start);
    }
    trim(text);
  }
  snprintf(why, whysz, "Cannot set up the private network (%s): %s", cmd, *text ? text : "it failed without a message");
}


/* claim a free address of the /16 by creating its lease file exclusively, from a random start */
static int lease(const struct started *c, const char *dir, const char *prefix, char *addr, size_t addrsz) {
  char p[512];
  snprintf(p, sizeof p, "%s/ip/", dir);
  for (char *s = p + 1; (s = strchr(s, '/')); s++) { /* mkdir -p, as Node's recursive mkdirSync */
    *s = 0;
    int bad = mkdir(p, 0755) && errno != EEXIST;
    *s = '/';
    if (bad) return -1;
  }
  const unsigned span = 65534 - 2;
  unsigned start;
  if (getrandom(&start, sizeof start, 0) != sizeof start) start = (unsigned)getpid();
  for (unsigned i = 0; i < span; i++) {
    unsigned n = 2 + (start % span + i) % span;
    if ((n & 255) == 0 || (n & 255) == 255) continue;
    snprintf(addr, addrsz, "%s.%u.%u", prefix, n >> 8, n & 255);
    snprintf(p, sizeof p, "%s/ip/%s", dir, addr);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      return -1;
    }
    int ok = write(fd, c->id, 64) == 64;
    close(fd);
    snprintf(p, sizeof p, "%s/%s", dir, c->net);
    if (ok && !write_small(p, addr, strlen(addr), 0644)) return 0;
    snprintf(p, sizeof p, "%s/ip/%s", dir, addr);
    unlink(p);
    return -1;
  }
  return -1; /* every address is taken: Node says so */
}

int net_up(struct started *c, char *why, size_t whysz) {
  const struct recipe *r = c->recipe;
  const char *dir = recipe_get(r, "lease_dir"), *prefix = recipe_get(r, "net_prefix"), *sub = recipe_get(r, "lease_prefix");
  if (dir) {
    if (!prefix || !sub || strlen(prefix) >= 15) return -1;
    snprintf(c->net, sizeof c->net, "%s%.*s", prefix, (int)(15 - strlen(prefix)), c->id);
    if (lease(c, dir, sub, c->addr, sizeof c->addr)) {
      c->net[0] = 0;
      snprintf(why, whysz, "Every address of the private network %s.0.0/16 is in use. Remove stopped containers with `codex32 prune`.", sub);
      return -1;
    }
  }
  int bad = 0;
  for (int i = 0; !bad && i < r->n; i++) {
    const char *v = recipe_at(r, i, "net_file"), *tab = v ? strchr(v, '\t') : NULL;
    if (!tab) continue;
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/etc/%.*s", c->dir, (int)(tab - v), v);
    struct buf text = {0};
    recipe_fill(&text, tab + 1, c->pairs);
    bad = write_small(path, text.p ? text.p : "", text.len, 0644);
    free(text.p);
    if (bad) snprintf(why, whysz, "Cannot start container %s: cannot write %s: %s", c->name, path, strerror(errno));
  }
  const char *setup = recipe_get(r, "net_setup");
  if (!bad && dir && setup) {
    struct buf script = {0};
    recipe_fill(&script, setup, c->pairs);
    struct buf err = {0};
    bad = run_quiet(script.p, NULL, &err);
    if (bad) why_failed(script.p, &err, why, whysz);
    free(script.p), free(err.p);
  }
  if (bad) net_down(c);
  return bad ? -1 : 0;
}

void net_down(const struct started *c) {
  const char *dir = recipe_get(c->recipe, "lease_dir"), *parts = recipe_get(c->recipe, "net_teardown");
  if (!dir || !c->net[0]) return;
  if (parts) {
    struct buf in = {0};
    recipe_fill(&in, parts, c->pairs);
    run_quiet(NULL, in.p, NULL);
    free(in.p);
  }
  char p[512];
  snprintf(p, sizeof p, "%s/ip/%s", dir, c->addr);
  unlink(p);
  snprintf(p, sizeof p, "%s/%s", dir, c->net);
  unlink(p);
}
