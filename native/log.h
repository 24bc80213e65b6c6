/* log: the container's stdout and stderr captured as CRI lines, capped and rotated */
#ifndef CODEX32_LOG_H
#define CODEX32_LOG_H
#include <stddef.h>

#define LINE_MAX_BYTES (64 * 1024)
/* bytes asked of the pipe per read. Capturing 200 MB, 256 KiB reads took less CPU than 64 KiB ones on
 * an idle machine (155 against 200 ms) but more beside other work (medians 275 against 210 ms, with a
 * long tail): the read buffer and its batch then outgrow the core's cache. A shared host is the norm */
#define READ_BYTES (64 * 1024)

struct stream {
  const char *name;
  int fd;
  size_t len; /* the start of a line kept from earlier reads (always under LINE_MAX_BYTES) */
  char buf[LINE_MAX_BYTES + READ_BYTES];
};
extern struct stream out_s, err_s;

/* open (append) the log file at path; max_size 0 means no cap */
void log_init(const char *path, long long max_size, int max_files);
/* stamp the lines of the next records with the current time */
void log_stamp(void);
/* append one record (TIME STREAM TAG DATA) to the batch, rotating first when it would pass the cap */
void log_write(const char *stream, char tag, const char *data, size_t len);
/* write the batch to the log file */
void log_flush(void);
/* when set, sees every byte read from a stream before it is logged (the attach socket) */
extern void (*log_tap)(const struct stream *s, const char *data, size_t len);
/* read what is available; 0 once the stream reached its end (and was closed) */
int stream_pump(struct stream *s);

#endif
