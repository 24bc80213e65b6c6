/* idmap: a strict container's overlay root over the image's own layers, seen through idmapped mounts */
#define _GNU_SOURCE
#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/*
 * A user namespace with the container's maps, as a descriptor: the idmapping an idmapped mount takes.
 * A child made only to own it waits on a pipe while its maps are written and its namespace opened.
 */
static int userns_with(const char *uid_map, const char *gid_map) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) die("pipe for the idmap namespace");
  pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD | CLONE_NEWUSER, 0, 0, 0, 0);
  if (pid < 0) die("clone the idmap namespace");
  if (pid == 0) {
    char c;
    close(p[1]);
    ssize_t n = read(p[0], &c, 1); /* EOF once the parent is done with us */
    _exit(n < 0 ? 1 : 0);
  }
  close(p[0]);
  char path[64];
  int ok = 1;
  snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
  if (write_file(path, uid_map) < 0) ok = 0;
  snprintf(path, sizeof path, "/proc/%d/setgroups", pid);
  if (ok && write_file(path, "deny") < 0) ok = 0;
  snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
  if (ok && write_file(path, gid_map) < 0) ok = 0;
  int err = errno;
  snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
  int fd = ok ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  if (ok && fd < 0) err = errno;
  close(p[1]);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  if (fd < 0) die_err(err, "user namespace for the idmapped layers");
  return fd;
}

/* set one overlay option; a path goes as /proc/self/fd/N of a descriptor, which stays short whatever the storage path */
static void set_opt(int fs, const char *key, const char *value) {
  if (fsconfig(fs, FSCONFIG_SET_STRING, key, value, 0) < 0) die("overlay option %s=%.128s", key, value);
}

static void set_path(int fs, const char *key, int fd) {
  char v[32];
  snprintf(v, sizeof v, "/proc/self/fd/%d", fd);
  set_opt(fs, key, v);
}

int idmapped_overlay(const char *options, const char *uid_map, const char *gid_map) {
  if (!uid_map || !gid_map) die_err(EINVAL, "idmapped layers need uid_map and gid_map");
  char *opts = strdup(options);
  if (!opts) die("memory for the overlay options");
  int userns = userns_with(uid_map, gid_map);
  int fs = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs < 0) die("fsopen overlay");
  struct mount_attr idmap = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
  /* the cloned layers stay open until the overlay is made: closing a detached mount's last descriptor dissolves it */
  int layers[512], n_layers = 0;
  char *save = NULL;
  for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(o, '=');
    if (!eq) die_err(EINVAL, "overlay option %.64s has no value", o);
    *eq = 0;
    const char *val = eq + 1;
    if (strcmp(o, "lowerdir") == 0) {
      /* one layer at a time (lowerdir+, top first): a list of any length, each layer idmapped on its own */
      char *lsave = NULL, *list = strdup(val);
      if (!list) die("memory for the lower layers");
      for (char *l = strtok_r(list, ":", &lsave); l; l = strtok_r(NULL, ":", &lsave)) {
        if (n_layers == (int)(sizeof layers / sizeof layers[0])) die_err(E2BIG, "more than %d image layers", n_layers);
        int t = open_tree(AT_FDCWD, l, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (t < 0) die("clone the layer %s", l);
        layers[n_layers++] = t;
        if (mount_setattr(t, "", AT_EMPTY_PATH, &idmap, sizeof idmap) < 0) die("idmap the layer %s", l);
        set_path(fs, "lowerdir+", t);
      }
      free(list);
    } else if (strcmp(o, "upperdir") == 0 || strcmp(o, "workdir") == 0) {
      int d = open(val, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (d < 0) die("open the overlay's %s %s", o, val);
      set_path(fs, o, d);
      close(d);
    } else {
      set_opt(fs, o, val);
    }
  }
  free(opts);
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) die("create the overlay root");
  int m = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  if (m < 0) die("mount the overlay root");
  close(fs);
  close(userns);
  for (int i = 0; i < n_layers; i++) close(layers[i]);
  return m;
}
