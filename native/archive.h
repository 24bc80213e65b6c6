/* archive: tar in and out of a container's root, and a type test, all from inside it */
#ifndef CODEX32_ARCHIVE_H
#define CODEX32_ARCHIVE_H

int tar_out_main(char **args, int n);
/* tar's argv for tar-out: the m ENTRYs, each "*" standing for the names of listing (NULL-terminated)
 * but . .. proc sys dev tmp; the strings are not copied */
char **tar_out_argv(char **ents, int m, char **listing);
int tar_in_main(char **args, int n);
int test_dir_main(char **args, int n);

#endif
