/*
 * seccomp.c: the engine resolves docker's profile into simple lines; `seccomp-compile` turns them
 * into BPF with libseccomp once (the engine caches the result), and every process entering the
 * container installs the cached programs with the seccomp syscall as its last step before exec.
 */
#define _GNU_SOURCE
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#define MAX_TOKENS (4 + 6 * 4)
#define MAX_FILTERS 4

static int action_of(const char *name, const char *num, uint32_t *out) {
  unsigned long n = strtoul(num, NULL, 10);
  if (n > 4095) return -1;
  if (!strcmp(name, "ALLOW")) *out = SCMP_ACT_ALLOW;
  else if (!strcmp(name, "ERRNO")) *out = SCMP_ACT_ERRNO((uint16_t)n);
  else if (!strcmp(name, "TRACE")) *out = SCMP_ACT_TRACE((uint16_t)n);
  else if (!strcmp(name, "KILL") || !strcmp(name, "KILL_THREAD")) *out = SCMP_ACT_KILL_THREAD;
  else if (!strcmp(name, "KILL_PROCESS")) *out = SCMP_ACT_KILL_PROCESS;
  else if (!strcmp(name, "TRAP")) *out = SCMP_ACT_TRAP;
  else if (!strcmp(name, "LOG")) *out = SCMP_ACT_LOG;
  else return -1;
  return 0;
}

static int op_of(const char *name, enum scmp_compare *out) {
  static const struct { const char *n; enum scmp_compare op; } ops[] = {
      {"NE", SCMP_CMP_NE}, {"LT", SCMP_CMP_LT}, {"LE", SCMP_CMP_LE}, {"EQ", SCMP_CMP_EQ},
      {"GE", SCMP_CMP_GE}, {"GT", SCMP_CMP_GT}, {"MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!strcmp(ops[i].n, name)) {
      *out = ops[i].op;
      return 0;
    }
  return -1;
}

static int split(char *s, char **tok, int max) {
  int n = 0;
  for (char *save, *t = strtok_r(s, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save)) tok[n++] = t;
  return n;
}

/* add one `rule` line; a syscall unknown to this libseccomp is skipped */
static int add_rule(scmp_filter_ctx ctx, uint32_t dflt, char **tok, int n, char *err, size_t errlen) {
  uint32_t act;
  if (n < 4 || (n - 4) % 4 || n > 4 + 6 * 4 || action_of(tok[1], tok[2], &act) < 0) {
    snprintf(err, errlen, "malformed seccomp rule for %s", n > 3 ? tok[3] : "?");
    return -1;
  }
  int nr = seccomp_syscall_resolve_name(tok[3]);
  if (nr == __NR_SCMP_ERROR || act == dflt) return 0; /* libseccomp refuses a rule that repeats the default */
  struct scmp_arg_cmp cmp[6];
  int nc = 0;
  for (int i = 4; i + 3 < n; i += 4, nc++) {
    enum scmp_compare op;
    if (op_of(tok[i + 1], &op) < 0) {
      snprintf(err, errlen, "unknown seccomp comparison %s for %s", tok[i + 1], tok[3]);
      return -1;
    }
    cmp[nc] = (struct scmp_arg_cmp){(unsigned)atoi(tok[i]), op, strtoull(tok[i + 2], NULL, 10), strtoull(tok[i + 3], NULL, 10)};
  }
  int r = seccomp_rule_add_array(ctx, act, nr, (unsigned)nc, cmp);
  if (r < 0) snprintf(err, errlen, "seccomp rule for %s: %s", tok[3], strerror(-r));
  return r < 0 ? -1 : 0;
}

static int add_line(scmp_filter_ctx ctx, uint32_t dflt, char **tok, int n, char *err, size_t errlen) {
  if (!strcmp(tok[0], "rule")) return add_rule(ctx, dflt, tok, n, err, errlen);
  if (!strcmp(tok[0], "flag")) return 0;
  if (!strcmp(tok[0], "arch") && n == 2) {
    uint32_t a = seccomp_arch_resolve_name(tok[1]);
    int r = a ? seccomp_arch_add(ctx, a) : -EINVAL;
    if (r < 0 && r != -EEXIST) {
      snprintf(err, errlen, "seccomp architecture %s: %s", tok[1], strerror(-r));
      return -1;
    }
    return 0;
  }
  snprintf(err, errlen, "unknown seccomp line %s", tok[0]);
  return -1;
}

int seccomp_compile(char **lines, int outfd, char *err, size_t errlen) {
  scmp_filter_ctx ctx = NULL;
  uint32_t dflt = 0;
  int r = 0;
  for (char **l = lines; l && *l && r == 0; l++) {
    char buf[512], *tok[MAX_TOKENS + 1];
    if ((size_t)snprintf(buf, sizeof buf, "%s", *l) >= sizeof buf) {
      snprintf(err, errlen, "seccomp line longer than %zu bytes: %.40s...", sizeof buf - 1, *l);
      r = -1;
      break;
    }
    int n = split(buf, tok, MAX_TOKENS + 1);
    if (n == 0) continue;
    if (ctx) r = add_line(ctx, dflt, tok, n, err, errlen);
    else if (!strcmp(tok[0], "filter") && n == 3 && action_of(tok[1], tok[2], &dflt) == 0 && (ctx = seccomp_init(dflt))) {
      /* a binary tree of syscall numbers: a long allowlist costs a few comparisons per call, not hundreds */
      seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    } else {
      snprintf(err, errlen, "a seccomp filter must begin with its default action, got %s", tok[0]);
      r = -1;
    }
  }
  if (r == 0 && !ctx) snprintf(err, errlen, "empty seccomp filter"), r = -1;
  if (r == 0 && (r = seccomp_export_bpf(ctx, outfd)) < 0) snprintf(err, errlen, "export the seccomp filter: %s", strerror(-r));
  if (ctx) seccomp_release(ctx);
  return r < 0 ? -1 : 0;
}

static struct {
  unsigned flags;
  struct sock_fprog prog;
} filters[MAX_FILTERS];
static int n_filters;

int seccomp_prepare(char **entries, char *err, size_t errlen) {
  for (char **e = entries; e && *e; e++) {
    char *path = NULL;
    unsigned flags = (unsigned)strtoul(*e, &path, 10);
    if (n_filters == MAX_FILTERS) { /* the kernel stacks more, but the engine never asks for more */
      snprintf(err, errlen, "more than %d seccomp filters: %s", MAX_FILTERS, *e);
      return -1;
    }
    if (!path || *path != ' ') {
      snprintf(err, errlen, "bad seccomp entry %s", *e);
      return -1;
    }
    path++;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0 || st.st_size % sizeof(struct sock_filter) || st.st_size > 1 << 20) {
      snprintf(err, errlen, "read the compiled seccomp filter %s: %s", path, fd < 0 ? strerror(errno) : "bad size");
      if (fd >= 0) close(fd);
      return -1;
    }
    struct sock_filter *prog = malloc((size_t)st.st_size);
    ssize_t got = prog ? read(fd, prog, (size_t)st.st_size) : -1;
    close(fd);
    if (got != st.st_size) {
      snprintf(err, errlen, "read the compiled seccomp filter %s", path);
      free(prog);
      return -1;
    }
    filters[n_filters].flags = flags;
    filters[n_filters].prog = (struct sock_fprog){(unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter)), prog};
    n_filters++;
  }
  return 0;
}

int seccomp_install(char *err, size_t errlen) {
  for (int i = 0; i < n_filters; i++)
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, filters[i].flags, &filters[i].prog) < 0) {
      snprintf(err, errlen, "install the seccomp filter: %s", strerror(errno));
      return -1;
    }
  return 0;
}

int seccomp_compile_main(char **args, int n) {
  if (n != 1) die_err(EINVAL, "usage: seccomp-compile OUT < LINES");
  /* stdin may be a socket, which /dev/stdin cannot reopen: read the descriptor itself */
  size_t len = 0, cap = 1 << 16;
  char *text = malloc(cap + 1);
  for (ssize_t r; text && (r = read(0, text + len, cap - len)) != 0;) {
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("read the filter's lines");
    if ((len += (size_t)r) == cap) text = realloc(text, (cap *= 2) + 1);
  }
  if (!text) die("out of memory");
  text[len] = 0;
  char **lines = calloc(len / 2 + 2, sizeof(char *));
  int k = 0;
  for (char *save, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) lines[k++] = l;
  int fd = open(args[0], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) die("create %s", args[0]);
  char err[256];
  if (seccomp_compile(lines, fd, err, sizeof err) < 0) die_err(0, "%s", err);
  if (fsync(fd) < 0 || close(fd) < 0) die("write %s", args[0]);
  return 0;
}
