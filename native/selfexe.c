/* selfexe: the supervisor runs from a read-only view of its own binary (the CVE-2019-5736 class) */
#define _GNU_SOURCE
#include "selfexe.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

/* true when /proc/self/exe cannot be written: a read-only mount, or a memfd sealed against writes */
static int already_protected(void) {
  struct statvfs sv;
  if (statvfs("/proc/self/exe", &sv) == 0 && (sv.f_flag & ST_RDONLY)) return 1;
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int seals = fcntl(fd, F_GET_SEALS);
  close(fd);
  return seals > 0 && (seals & F_SEAL_WRITE);
}

/* a read-only bind mount of our binary that no mount table holds: no page is copied */
static int readonly_view(void) {
  int fd = open_tree(AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (fd < 0) return -1;
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
  if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* a sealed in-memory copy: costs the binary's size per process, so only where mounting is refused */
static int sealed_copy(void) {
  int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (src < 0) return -1;
  struct stat st;
  int fd = fstat(src, &st) == 0 ? memfd_create("codex32-shim", MFD_CLOEXEC | MFD_ALLOW_SEALING) : -1;
  for (off_t off = 0; fd >= 0 && off < st.st_size;) {
    if (sendfile(fd, src, &off, (size_t)(st.st_size - off)) <= 0) close(fd), fd = -1;
  }
  close(src);
  if (fd >= 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) close(fd), fd = -1;
  return fd;
}

void protect_self(char **argv) {
  if (already_protected()) return;
  int fd = readonly_view();
  if (fd < 0) fd = sealed_copy();
  if (fd < 0) die("cannot protect the supervisor binary from the containers");
  syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
  die("re-exec the supervisor from its protected copy");
}
