/* mountro: making a mount read-only with every mount below it */
#define _GNU_SOURCE
#include "mountro.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#ifndef MOUNT_ATTR_RDONLY /* headers older than the syscall: its ABI, from linux/mount.h */
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
struct mount_attr {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

/* the flags a mount has now, as mount(2) takes them: a remount clears every flag it is not given, and
   a mount locked in a user namespace (a strict container's) refuses to lose any of them */
static unsigned long mount_flags(int fd) {
  struct statvfs sv;
  if (fstatvfs(fd, &sv) < 0) return 0;
  static const struct { unsigned long st, ms; } map[] = {
      {ST_NOSUID, MS_NOSUID},         {ST_NODEV, MS_NODEV},         {ST_NOEXEC, MS_NOEXEC},
      {ST_NOATIME, MS_NOATIME},       {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
      {ST_SYNCHRONOUS, MS_SYNCHRONOUS}, {ST_MANDLOCK, MS_MANDLOCK}};
  unsigned long f = 0;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (sv.f_flag & map[i].st) f |= map[i].ms;
  return f;
}

/* remount one mount read-only, keeping its other flags and adding extra */
static int remount_one(int fd, unsigned long extra) {
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  return mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | mount_flags(fd) | extra, NULL);
}

/* undo mountinfo's octal escapes (\040 for a space, \011, \012, \134) in place */
static void unescape(char *s) {
  char *o = s;
  for (char *p = s; *p; p++) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
      *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
      p += 3;
    } else *o++ = *p;
  }
  *o = 0;
}

/* the fallback: remount read-only each mount whose mount point is top or below it, top first
   (mountinfo lists a mount after the one it sits on) */
static int remount_tree(const char *top, unsigned long extra) {
  char *info = read_file("/proc/self/mountinfo", NULL);
  if (!info) return -1;
  size_t tl = strlen(top);
  int r = 0;
  for (char *line = info, *next; r == 0 && line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    char mp[PATH_MAX];
    /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ...": the mount point is the fifth field */
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1) continue;
    unescape(mp);
    if (strncmp(mp, top, tl) != 0 || (mp[tl] != 0 && mp[tl] != '/' && strcmp(top, "/") != 0)) continue;
    int fd = open(mp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) continue; /* covered by a later mount: that one is remounted */
    if (fd < 0 || remount_one(fd, extra) < 0) {
      int e = errno;
      fprintf(stderr, "codex32-shim: remount %s read-only: %s\n", mp, strerror(e));
      errno = e;
      r = -1;
    }
    if (fd >= 0) close(fd);
  }
  free(info);
  return r;
}

int mount_ro_tree(int fd, unsigned long extra) {
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_RDONLY | (extra & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0) |
                  (extra & MS_NODEV ? MOUNT_ATTR_NODEV : 0) | (extra & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0);
  /* CODEX32_NO_MOUNT_SETATTR: take the older kernels' path on a new one (the tests of that path) */
  if (!getenv("CODEX32_NO_MOUNT_SETATTR")) {
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0) return 0;
    if (errno != ENOSYS) return -1;
  }
  /* no mount_setattr (before 5.12): the subtree's mounts one by one, found by the top's path */
  char p[64], top[PATH_MAX];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(p, top, sizeof top);
  if (n < 0) return -1;
  if ((size_t)n == sizeof top) {
    errno = ENAMETOOLONG;
    return -1;
  }
  top[n] = 0;
  return remount_tree(top, extra);
}
