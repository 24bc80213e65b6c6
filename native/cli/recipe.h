/* recipe: the run recipe Node writes (src/engine/recipe.ts), loaded only while everything it was derived from is unchanged */
#ifndef CODEX32_CLI_RECIPE_H
#define CODEX32_CLI_RECIPE_H
#include <stddef.h>
#include "text.h"

/* the recipe format this front end reads (RECIPE_VERSION in src/engine/recipe.ts; test/native-run.test.ts checks it) */
#define CODEX32_RECIPE_VERSION 1
/* the placeholders the recipe holds where each run differs (RECIPE_ID, RECIPE_NAME, ... in recipe.ts) */
#define RECIPE_ID "0c320c320c320c320c320c320c320c320c320c320c320c320c320c320c320c32"
#define RECIPE_NAME "@@NAME@@"
#define RECIPE_ARGV "@@ARGV@@"
#define RECIPE_OWNER "@@OWNER@@"
#define RECIPE_NET "@@NET@@"
#define RECIPE_ADDR "@@ADDR@@"

struct recipe {
  char *buf;
  char **e; /* the "key=value" entries, in order */
  int n;
};

/* load storage/recipes/FILE; -1 when it is missing, of another version, or anything it names changed (launcher: bin/codex32) */
int recipe_load(struct recipe *r, const char *storage, const char *file, const char *launcher);
/* the value of the first entry with this key, NULL when there is none */
const char *recipe_get(const struct recipe *r, const char *key);
/* the value of entry i when its key is key, else NULL */
const char *recipe_at(const struct recipe *r, int i, const char *key);
/* tmpl with each placeholder of pairs (placeholder, value, ..., NULL) replaced, appended to out */
void recipe_fill(struct buf *out, const char *tmpl, const char *const *pairs);
#endif
