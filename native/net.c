/* net: the supervisor joins the private network's namespace once; the container's runs inherit it */
#define _GNU_SOURCE
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
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
  /* from here the supervisor holds the namespace (and the container after it): its name is a mount the
     host would keep per container, which every mount namespace made after copies, so drop it */
  if (spec_num(SPEC_NETNS_RELEASE, 0)) {
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) die("unmount network namespace %s", path);
    if (unlink(path) < 0 && errno != ENOENT) die("remove network namespace name %s", path);
  }
  /* strict's NET_BIND_SERVICE is held in its own user namespace, which does not own this network
     namespace: lower the privileged port floor in it instead (docker's default in every network
     namespace), so the capability means at strict what it means at standard */
  if (isolation == ISO_STRICT && (spec_num(SPEC_CAPS, 0) >> CAP_NET_BIND_SERVICE) & 1 &&
      write_file("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0") < 0)
    die("ip_unprivileged_port_start in %s", path);
}

int net_own(void) { return spec_num(SPEC_NETNS, 0) || spec_get(SPEC_NETNS_PATH) != NULL; }
