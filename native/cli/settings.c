/* settings: mirrors src/config/settings.ts; any variable Node would refuse sends the command to Node */
#include "settings.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int one_of(const char *v, const char *const *set) {
  for (; *set; set++)
    if (!strcmp(v, *set)) return 1;
  return 0;
}

/* the values Node's zod schema accepts; an empty value means unset */
static int env_valid(void) {
  static const char *const levels[] = {"minimal", "standard", "strict", NULL};
  static const char *const logs[] = {"fatal", "error", "warn", "info", "debug", "trace", "silent", NULL};
  const char *v = getenv("CONTAINER_ISOLATION_LEVEL");
  if (v && *v && !one_of(v, levels)) return 0;
  v = getenv("LOG_LEVEL");
  if (v && *v && !one_of(v, logs)) return 0;
  v = getenv("CODEX32_PORT");
  if (v && *v) {
    size_t n = strlen(v);
    if (n > 5 || strspn(v, "0123456789") != n || atoi(v) > 65535) return 0;
  }
  return 1;
}

const char *storage_dir(const char *storage) {
  static char path[4096];
  if (access(".env", F_OK) == 0 || !env_valid()) return NULL; /* Node loads .env: let it */
  if (storage) return *storage ? storage : NULL;
  const char *env = getenv("CONTAINER_STORAGE_DIR");
  if (env && *env) return env;
  if (getuid() == 0) return "/var/lib/codex32";
  const char *home = getenv("HOME");
  if (!home || !*home) return NULL;
  snprintf(path, sizeof path, "%s/.local/share/codex32", home);
  return path;
}
