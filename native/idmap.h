/* idmap: a strict container's overlay root over the image's own layers, seen through idmapped mounts */
#ifndef CODEX32_IDMAP_H
#define CODEX32_IDMAP_H

/*
 * Make the overlay that OPTIONS ("lowerdir=TOP:...:BOTTOM,upperdir=U,workdir=W") names as a detached
 * mount (fsmount), each lower layer first cloned and idmapped with UID_MAP and GID_MAP ("0 BASE COUNT"),
 * so the layers' files owned by id N on disk are owned by BASE+N in it. Needs CAP_SYS_ADMIN in the
 * initial user namespace (the supervisor before its clone). Returns the mount's descriptor; dies on error.
 */
int idmapped_overlay(const char *options, const char *uid_map, const char *gid_map);

#endif
