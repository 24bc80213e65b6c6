/* sandbox: the container's root (mounts, masks, pivot_root) and its loopback */
#ifndef CODEX32_SANDBOX_H
#define CODEX32_SANDBOX_H

/* build the container's root under NEWROOT from the ordered mount steps in the spec, then pivot */
void setup_rootfs(const char *newroot);
void loopback_up(void);

#endif
