/* net: the supervisor joins the private network's namespace once; the container's runs inherit it */
#define _GNU_SOURCE
#include "net.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "contract.h"
#include "spec.h"
#include "util.h"

void net_join(void) {
  const char *path = spec_get(SPEC_NETNS_PATH);
  if (!path) return;
  /* before any user namespace exists: container root must never own this namespace */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open network namespace %s", path);
  if (setns(fd, CLONE_NEWNET) < 0) die("join network namespace %s", path);
  close(fd);
}

int net_own(void) { return spec_num(SPEC_NETNS, 0) || spec_get(SPEC_NETNS_PATH) != NULL; }
