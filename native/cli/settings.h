/* settings: the storage directory the Node CLI would use, or NULL when only Node can tell */
#ifndef CODEX32_CLI_SETTINGS_H
#define CODEX32_CLI_SETTINGS_H

/* storage is --storage's value (NULL: not given); NULL when .env or an invalid variable needs Node */
const char *storage_dir(const char *storage);
#endif
