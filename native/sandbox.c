/* sandbox: the container's root (mounts, masks, pivot_root) and its loopback */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "contract.h"
#include "idmap.h"
#include "mountro.h"
#include "spec.h"
#include "util.h"

/* open PATH below the root without following any symlink: a planted link cannot redirect a mount */
static int open_beneath(int rootfd, const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  while (*path == '/') path++;
  if (!*path) path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* create the directories of PATH below root, refusing symlinks; returns an O_PATH fd */
static int mkpath_beneath(int rootfd, const char *path, int as_file) {
  char buf[PATH_MAX];
  if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf) die_err(ENAMETOOLONG, "container path %.64s...", path);
  int fd = dup(rootfd);
  if (fd < 0) die("dup the root for %s", path);
  char *save, *tok = strtok_r(buf, "/", &save);
  while (tok) {
    char *next = strtok_r(NULL, "/", &save);
    if (strcmp(tok, "..") == 0 || strcmp(tok, ".") == 0) die_err(EINVAL, "refusing path %s", path);
    int nfd = openat(fd, tok, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (nfd < 0 && errno == ENOENT) {
      if (!next && as_file) {
        int f = openat(fd, tok, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f >= 0) close(f);
      } else mkdirat(fd, tok, 0755);
      nfd = openat(fd, tok, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (nfd < 0) die("cannot open %s in the container root", path);
    struct stat st;
    if (fstat(nfd, &st) < 0) die("stat %s in the container root", path);
    if (S_ISLNK(st.st_mode)) die_err(ELOOP, "refusing %s: a component is a symlink in the container root", path);
    close(fd);
    fd = nfd;
    tok = next;
  }
  return fd;
}

static void fdpath(int fd, char *out, size_t len) { snprintf(out, len, "/proc/self/fd/%d", fd); }

static void mount_at(int rootfd, const char *dst, const char *src, const char *type, unsigned long flags,
                     const char *data, int as_file) {
  int fd = mkpath_beneath(rootfd, dst, as_file);
  char p[64];
  fdpath(fd, p, sizeof p);
  if (mount(src, p, type, flags, data) < 0) die("mount %s on %s", src ? src : type, dst);
  close(fd);
}

/* make an existing mount point read-only with every mount below it (a submount of a :ro volume's
   source, of the host's /usr), keeping its other flags */
static void remount_ro(int rootfd, const char *dst, unsigned long extra) {
  int fd = open_beneath(rootfd, dst, O_PATH);
  if (fd < 0 && errno == ENOENT) return; /* nothing there to protect */
  if (fd < 0) die("open %s to make it read-only", dst); /* never left writable because it could not be reached */
  if (mount_ro_tree(fd, extra) < 0) die("remount %s read-only", dst);
  close(fd);
}

int premade_root = -1;

void premake_root(void) {
  const char *rootsrc = spec_get(SPEC_ROOT);
  if (!rootsrc || strncmp(rootsrc, "overlay:", 8) != 0 || !spec_num(SPEC_IDMAP_LOWER, 0)) return;
  premade_root = idmapped_overlay(rootsrc + 8, spec_get(SPEC_UID_MAP), spec_get(SPEC_GID_MAP));
}

/* mount the root file system (tmpfs, overlay or a bind) on NEWROOT */
static void mount_root(const char *newroot) {
  const char *rootsrc = spec_get(SPEC_ROOT);
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make / private");
  if (!rootsrc || strcmp(rootsrc, "tmpfs") == 0) {
    if (mount("tmpfs", newroot, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m") < 0) die("tmpfs root");
  } else if (strncmp(rootsrc, "overlay:", 8) == 0 && spec_num(SPEC_IDMAP_LOWER, 0)) {
    /* inside the container's user namespace the supervisor made it; a private copy (cp of a stopped container) makes it here */
    if (premade_root < 0) premake_root();
    if (move_mount(premade_root, "", AT_FDCWD, newroot, MOVE_MOUNT_F_EMPTY_PATH) < 0) die("move the overlay root");
    close(premade_root);
    premade_root = -1;
  } else if (strncmp(rootsrc, "overlay:", 8) == 0) {
    if (mount("overlay", newroot, "overlay", MS_NOSUID | MS_NODEV, rootsrc + 8) < 0) die("overlay root");
  } else {
    if (mount(rootsrc, newroot, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind root %s", rootsrc);
  }
}

/* carry out one mount step of the spec (KEY=VAL) under the new root */
static void mount_step(int rootfd, const char *e, size_t kl, const char *value) {
  char *val = strdup(value); /* split in place below; as long as the entry is */
  if (!val) die("memory for the mount step %.64s", e);
  char *f[4] = {0};
#define IS(k) (kl == strlen(k) && strncmp(e, k, kl) == 0)
  if (IS(SPEC_BIND)) { /* SRC \t DST \t ro|rw */
    int n = split_tab(val, f, 3);
    struct stat st;
    if (n < 3) die_err(EINVAL, "bind step %.64s needs SRC, DST and ro|rw", value);
    if (stat(f[0], &st) < 0) die("bind source %s", f[0]);
    int fd = mkpath_beneath(rootfd, f[1], !S_ISDIR(st.st_mode));
    char p[64];
    fdpath(fd, p, sizeof p);
    if (mount(f[0], p, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s", f[0]);
    close(fd);
    if (strcmp(f[2], "ro") == 0) remount_ro(rootfd, f[1], MS_NOSUID | MS_NODEV);
  } else if (IS(SPEC_SYMLINK)) { /* TARGET \t LINK */
    if (split_tab(val, f, 2) < 2) die_err(EINVAL, "symlink step %.64s needs TARGET and LINK", value);
    char dir[PATH_MAX];
    if ((size_t)snprintf(dir, sizeof dir, "%s", f[1]) >= sizeof dir) die_err(ENAMETOOLONG, "symlink %.64s...", f[1]);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    int dfd = slash && slash != dir ? (*slash = 0, mkpath_beneath(rootfd, dir, 0)) : dup(rootfd);
    if (dfd < 0) die("open the directory of %s", f[1]);
    if (symlinkat(f[0], dfd, base) < 0 && errno != EEXIST) die("symlink %s", f[1]);
    close(dfd);
  } else if (IS(SPEC_TMPFS)) { /* DST \t OPTIONS */
    if (split_tab(val, f, 2) < 2) die_err(EINVAL, "tmpfs step %.64s needs DST and OPTIONS", value);
    mount_at(rootfd, f[0], "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, f[1], 0);
  } else if (IS(SPEC_PROC)) {
    mount_at(rootfd, val, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0);
  } else if (IS(SPEC_SYSFS)) {
    mount_at(rootfd, val, "sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, 0);
  } else if (IS(SPEC_DEVPTS)) {
    mount_at(rootfd, val, "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", 0);
  } else if (IS(SPEC_MQUEUE)) {
    mount_at(rootfd, val, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0);
  } else if (IS(SPEC_MASK)) { /* hide a path: /dev/null over a file, an empty read-only tmpfs over a dir */
    int fd = open_beneath(rootfd, val, O_PATH);
    if (fd < 0 && errno == ENOENT) { free(val); return; } /* nothing there to hide */
    if (fd < 0) die("open %s to mask it", val); /* never left visible because it could not be reached */
    struct stat st;
    if (fstat(fd, &st) < 0) die("stat %s to mask it", val);
    char p[64];
    fdpath(fd, p, sizeof p);
    if (S_ISDIR(st.st_mode)) {
      if (mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0) die("mask %s", val);
    } else if (mount("/dev/null", p, NULL, MS_BIND, NULL) < 0) die("mask %s", val);
    close(fd);
  } else if (IS(SPEC_READONLY)) { /* bind a path onto itself and make it read-only */
    int fd = open_beneath(rootfd, val, O_PATH);
    if (fd < 0 && errno == ENOENT) { free(val); return; }
    if (fd < 0) die("open %s to make it read-only", val);
    char p[64];
    fdpath(fd, p, sizeof p);
    if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s", val);
    close(fd);
    remount_ro(rootfd, val, MS_NOSUID | MS_NODEV);
  } else if (IS(SPEC_WRITABLE)) { /* keep a directory writable under a read-only root: its own mount */
    int fd = open_beneath(rootfd, val, O_PATH | O_DIRECTORY);
    if (fd < 0 && errno == ENOENT) fd = mkpath_beneath(rootfd, val, 0);
    /* a symlink or a file there: left as the image has it, read-only with the root (never followed) */
    if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) { free(val); return; }
    if (fd < 0) die("open %s to keep it writable", val);
    char p[64];
    fdpath(fd, p, sizeof p);
    if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s onto itself", val);
    close(fd);
  }
#undef IS
  free(val);
}

/* build the container's root under NEWROOT from the ordered mount steps in the spec, then pivot */
void setup_rootfs(const char *newroot) {
  mount_root(newroot);
  int rootfd = open(newroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die("open new root");
  for (int i = 0; i < n_entries; i++) {
    char *eq = strchr(entries[i], '=');
    if (eq) mount_step(rootfd, entries[i], (size_t)(eq - entries[i]), eq + 1);
  }

  /* pivot_root(".", ".") then detach the old root: no path to the host remains */
  if (fchdir(rootfd) < 0) die("chdir new root");
  if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root");
  if (umount2(".", MNT_DETACH) < 0) die("detach old root");
  if (chdir("/") < 0) die("chdir /");
  close(rootfd);
  if (spec_num(SPEC_READONLY_ROOT, 0)) {
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
      die("read-only root");
  }
}

void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("lo flags");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("lo up");
  close(s);
}
