/* util: io, errors, files, time and /proc readers shared by every part of the supervisor */
#ifndef CODEX32_UTIL_H
#define CODEX32_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* what a container process sends back over its close-on-exec pipe when it never reaches exec */
struct launch_error {
  int err;   /* errno */
  int stage; /* 0: exec of the command failed; 1: container set-up failed */
  char msg[240];
};

/* set in the container's processes before exec: die() reports there too */
extern int report_fd;

/* print "codex32-shim: MESSAGE: strerror(errno)", report it on report_fd, exit 125. errno is taken
   first thing: call it right after the call that failed, or use die_err */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* die with an explicit errno (0: no system error, only the message) */
void die_err(int err, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
int64_t now_ms(void);
int write_all(int fd, const void *buf, size_t len);
/* the whole file, NUL-terminated (malloc'd); NULL with errno when it cannot be opened or read whole */
char *read_file(const char *path, size_t *len_out);
/* write data to an existing file (cgroup and /proc knobs) */
int write_file(const char *path, const char *data);
/* process start time (field 22 of /proc/PID/stat): with the pid it names a process uniquely */
unsigned long long proc_starttime(pid_t pid);
/* parent pid and CPU ticks (utime+stime) of pid from /proc; 0 when it is gone */
int proc_ppid_ticks(pid_t pid, int *ppid, unsigned long long *ticks);
/* split "a\tb\tc" in place into at most max fields */
int split_tab(char *s, char **out, int max);
void close_fds_from(int lowest);
/* Run argv detached, as the supervisor's engine commands run (exit_arg, restart_arg, cron_refill_arg): its
   own session, no blocked signals, stdin and stdout (and stderr unless keep_stderr) on /dev/null, no other
   fd. Returns its pid, or -1 with errno when the fork failed; a failed exec exits 127, a failed set-up 126. */
pid_t spawn_detached(char **argv, int keep_stderr);
/* arm a timerfd once, ms from now; 0 disarms it */
void arm(int tfd, long long ms);

#endif
