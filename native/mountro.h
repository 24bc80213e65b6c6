/* mountro: making a mount read-only with every mount below it */
#ifndef CODEX32_MOUNTRO_H
#define CODEX32_MOUNTRO_H

/*
 * Make the mount that fd (an O_PATH descriptor of its root) names read-only, and every mount below it,
 * adding the MS_NOSUID/MS_NODEV/MS_NOEXEC bits of extra. mount_setattr(2) with AT_RECURSIVE where the
 * kernel has it (5.12), else a remount of each mount of the subtree found in /proc/self/mountinfo.
 * Returns 0, or -1 with errno.
 */
int mount_ro_tree(int fd, unsigned long extra);

#endif
