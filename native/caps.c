/* caps: identity, capabilities, rlimits and no_new_privs of a process entering the container */
#define _GNU_SOURCE
#include "caps.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "contract.h"
#include "seccomp.h"
#include "spec.h"
#include "util.h"

static int rlimit_resource(const char *name) {
  static const struct { const char *n; int r; } map[] = {
      {"as", RLIMIT_AS},       {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC},
      {"cpu", RLIMIT_CPU},     {"fsize", RLIMIT_FSIZE},   {"core", RLIMIT_CORE},
      {"stack", RLIMIT_STACK}, {"memlock", RLIMIT_MEMLOCK}, {"data", RLIMIT_DATA}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(map[i].n, name) == 0) return map[i].r;
  return -1;
}

void apply_rlimits(void) {
  char **rl = spec_all(SPEC_RLIMIT);
  for (char **r = rl; *r; r++) {
    char name[32];
    unsigned long long soft, hard;
    if (sscanf(*r, "%31s %llu %llu", name, &soft, &hard) != 3) die_err(EINVAL, "bad rlimit %s", *r);
    int res = rlimit_resource(name);
    if (res < 0) die_err(EINVAL, "unknown rlimit %s", name);
    struct rlimit lim = {soft, hard};
    if (setrlimit(res, &lim) < 0) die("setrlimit %s %llu", name, hard);
  }
  free(rl);
}

/* drop every capability outside KEEP from the bounding set (needs CAP_SETPCAP) */
static void drop_bounding(uint64_t keep) {
  for (int c = 0; c <= 63; c++) {
    if (keep & (1ULL << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) die("drop cap %d", c);
  }
}

/* effective, permitted and inheritable become KEEP; no ambient capabilities */
static void set_caps(uint64_t keep) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) die("clear ambient capabilities");
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)keep;
  data[1].effective = data[1].permitted = data[1].inheritable = (uint32_t)(keep >> 32);
  if (syscall(SYS_capset, &hdr, data) < 0) die("capset");
}

void restrict_caps(uint64_t keep) {
  drop_bounding(keep);
  set_caps(keep);
}

/*
 * Become uid:gid with no supplementary groups, then keep only KEEP (none at all for a non-root uid,
 * as docker does). The order matters: the bounding set needs CAP_SETPCAP and the switch CAP_SETUID,
 * which a strict container's KEEP does not hold.
 */
static void become_user(uid_t uid, gid_t gid, uint64_t keep) {
  /* a strict user namespace denies setgroups: its supervisor cleared its own groups before cloning */
  if (setgroups(0, NULL) < 0 && errno != EPERM) die("setgroups");
  if (setresgid(gid, gid, gid) < 0) die("setgid");
  drop_bounding(keep);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) die("keepcaps"); /* a non-root uid loses its permitted capabilities */
  if (setresuid(uid, uid, uid) < 0) die("setuid");
  set_caps(uid == 0 ? keep : 0);
}

void become_and_exec(char **argv, char **envp, const char *cwd, int errpipe) {
  long long uid = spec_num(SPEC_UID, 0), gid = spec_num(SPEC_GID, 0);
  if (isolation > 0) {
    become_user((uid_t)uid, (gid_t)gid, (uint64_t)spec_num(SPEC_CAPS, 0));
  } else if (uid || gid) {
    if (setgroups(0, NULL) < 0) die("setgroups");
    if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0) die("setgid");
    if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0) die("setuid");
  }
  /* always from standard up; at minimal only when asked (--security-opt no-new-privileges) */
  if ((isolation > 0 || spec_num(SPEC_NO_NEW_PRIVS, 0)) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs");
  if (cwd && chdir(cwd) < 0) {
    struct launch_error le = {errno, 0, {0}};
    snprintf(le.msg, sizeof le.msg, "working directory %s: %s", cwd, strerror(errno));
    write_all(errpipe, &le, sizeof le);
    _exit(126);
  }
  /* the last step before exec: from here on the container's filter answers every syscall */
  char err[256];
  if (seccomp_install(err, sizeof err) < 0) die_err(0, "%s", err); /* err names the cause */
  /* look the command up on the container's own PATH */
  extern char **environ;
  environ = envp;
  execvp(argv[0], argv);
  struct launch_error le = {errno, 0, {0}};
  snprintf(le.msg, sizeof le.msg, "%s: %s", argv[0], strerror(errno));
  write_all(errpipe, &le, sizeof le);
  _exit(le.err == ENOENT ? 127 : 126);
}
