/* logcopy: PM2's out_file / error_file, extra copies of the output with a date prefix per line */
#ifndef CODEX32_LOGCOPY_H
#define CODEX32_LOGCOPY_H
#include <stddef.h>

/* open the copies the spec names (copy_out, copy_err, copy_date_format) */
void copy_init(void);
/* true when path is one of the copies (a watched directory holding one must not restart on it) */
int copy_is_file(const char *path);
/* append one record of stream ("stdout"/"stderr"); full says a newline ends it */
void copy_record(const char *stream, const char *data, size_t len, int full);
/* write what was gathered */
void copy_flush(void);
/* format ms (since the epoch) with fmt: strftime(3) plus %L (milliseconds) and %:z (+HH:MM); returns the length */
size_t copy_stamp(const char *fmt, long long ms, char *out, size_t cap);

#endif
