/* GENERATED from src/runtime/contract.json by scripts/gen-contract.mjs (make shim): do not edit. */
/* contract: the spec keys the engine writes and the run-directory files of the supervisor (docs/supervisor.md) */
#ifndef CODEX32_CONTRACT_H
#define CODEX32_CONTRACT_H

/* the version this supervisor reads: the spec entry SPEC_CONTRACT must carry it */
#define CONTRACT_VERSION 1

/* spec keys: KEY=VALUE entries of RUNDIR/spec */
#define SPEC_CONTRACT "contract" /* number: the contract version this spec is written in; always the first entry */
#define SPEC_ISOLATION_LEVEL "isolation_level" /* 0|1|2: 0 minimal, 1 standard, 2 strict */
#define SPEC_LOG "log" /* path: the container's log file (CRI lines) */
#define SPEC_LOG_MAX_SIZE "log_max_size" /* number: bytes after which the log rotates; 0 never */
#define SPEC_LOG_MAX_FILES "log_max_files" /* number: log files kept, the live one included */
#define SPEC_CWD "cwd" /* string: the command's working directory (inside the container from standard on) */
#define SPEC_RESTART "restart" /* no|on-failure|always|unless-stopped: restart policy */
#define SPEC_RESTART_MAX "restart_max" /* number: restarts allowed; 0 unlimited */
#define SPEC_BACKOFF_INITIAL_MS "backoff_initial_ms" /* number: first restart delay */
#define SPEC_BACKOFF_MAX_MS "backoff_max_ms" /* number: longest restart delay */
#define SPEC_BACKOFF_RESET_MS "backoff_reset_ms" /* number: a run this long resets the delay */
#define SPEC_RESTART_MIN_UPTIME_MS "restart_min_uptime_ms" /* number: only runs shorter than this count against restart_max (PM2's min_uptime) */
#define SPEC_STOP_SIGNAL "stop_signal" /* number: signal a stop sends first */
#define SPEC_STOP_TIMEOUT_MS "stop_timeout_ms" /* number: grace before SIGKILL on a stop */
#define SPEC_TIMEOUT_MS "timeout_ms" /* number: a run is killed after this long; 0 never */
#define SPEC_OOM_SCORE_ADJ "oom_score_adj" /* number: docker's --oom-score-adj (-1000 to 1000): the supervisor writes it for the first process before it runs, exec's helper for itself before it forks; every process inherits it */
#define SPEC_RUN_BASE "run_base" /* number: the last run number already recorded: runs count on from it */
#define SPEC_ARG "arg" /* string; repeated: the command, one entry per argument */
#define SPEC_ENV "env" /* string; repeated: the command's environment, K=V */
#define SPEC_RLIMIT "rlimit" /* fields "name soft hard"; repeated: a resource limit (as, nofile, cpu, fsize...) */
#define SPEC_CGROUP "cgroup" /* path; repeated: a cgroup directory the container joins */
#define SPEC_OOM_EVENTS "oom_events" /* path: the memory cgroup file whose oom_kill count marks an OOM kill */
#define SPEC_TTY "tty" /* flag: the container gets a terminal, served on attach.sock */
#define SPEC_STDIN_OPEN "stdin_open" /* flag: stdin stays open, served on attach.sock */
#define SPEC_ATTACH_WAIT "attach_wait" /* flag: hold the command until a client attached */
#define SPEC_CPU_THROTTLE_PERMILLE "cpu_throttle_permille" /* number: CPU share the supervisor holds the process tree to, without a cpu cgroup */
#define SPEC_HEALTH_ARG "health_arg" /* string; repeated: the health check command, one entry per argument */
#define SPEC_HEALTH_INTERVAL_MS "health_interval_ms" /* number: time between health checks */
#define SPEC_HEALTH_TIMEOUT_MS "health_timeout_ms" /* number: a check running longer fails */
#define SPEC_HEALTH_RETRIES "health_retries" /* number: failures in a row that make the container unhealthy */
#define SPEC_HEALTH_START_MS "health_start_ms" /* number: start period: failures before it do not count */
#define SPEC_HEALTH_RESTART "health_restart" /* flag: restart the container when it becomes unhealthy */
#define SPEC_UID "uid" /* number: user id the command runs as */
#define SPEC_GID "gid" /* number: group id the command runs as */
#define SPEC_NO_NEW_PRIVS "no_new_privs" /* flag: set no_new_privs at minimal (always set from standard on) */
#define SPEC_NEWROOT "newroot" /* path: the directory the container's root is assembled on */
#define SPEC_HOSTNAME "hostname" /* string: the container's host name */
#define SPEC_CAPS "caps" /* number: capability bit mask kept (every set, bounding included) */
#define SPEC_SECCOMP "seccomp" /* fields "flags path"; repeated: a compiled filter to load: its flags and its BPF file */
#define SPEC_ROOT "root" /* string: the root file system: tmpfs, overlay:OPTIONS, or a directory to bind */
#define SPEC_BIND "bind" /* fields "source\ttarget\tro|rw"; repeated, mount step: bind mount a host path into the root */
#define SPEC_SYMLINK "symlink" /* fields "target\tlink"; repeated, mount step: make a symbolic link in the root */
#define SPEC_TMPFS "tmpfs" /* fields "target\toptions"; repeated, mount step: mount a tmpfs in the root */
#define SPEC_PROC "proc" /* string; repeated, mount step: mount proc at this path of the root */
#define SPEC_SYSFS "sysfs" /* string; repeated, mount step: mount sysfs (read-only) at this path of the root */
#define SPEC_DEVPTS "devpts" /* string; repeated, mount step: mount a new devpts instance at this path of the root */
#define SPEC_MQUEUE "mqueue" /* string; repeated, mount step: mount mqueue at this path of the root */
#define SPEC_MASK "mask" /* string; repeated, mount step: hide a path of the root (/dev/null over a file, an empty tmpfs over a directory) */
#define SPEC_READONLY "readonly" /* string; repeated, mount step: remount a path of the root read-only */
#define SPEC_WRITABLE "writable" /* string; repeated, mount step: a directory of the root (made if missing) bound onto itself, so it stays writable on the container's own layer when the root is made read-only */
#define SPEC_NETNS "netns" /* flag: a new network namespace with only lo */
#define SPEC_NETNS_PATH "netns_path" /* path: the prepared network namespace to join */
#define SPEC_NETNS_RELEASE "netns_release" /* flag: once joined, unmount and remove netns_path: the supervisor and the container hold the namespace from then on, and the host keeps no mount per container (every mount namespace made after would copy them all) */
#define SPEC_READONLY_ROOT "readonly_root" /* flag: the root is remounted read-only after the mount steps */
#define SPEC_IDMAP_LOWER "idmap_lower" /* flag: the overlay root's lower dirs are the image's own layers: the supervisor mounts them idmapped by uid_map and gid_map (strict) */
#define SPEC_UID_MAP "uid_map" /* fields "inside outside count": a user namespace's uid map (strict) */
#define SPEC_GID_MAP "gid_map" /* fields "inside outside count": a user namespace's gid map (strict) */
#define SPEC_NEWUIDMAP "newuidmap" /* path: rootless (the supervisor runs as an ordinary user): the setuid helper (uidmap's) that writes the container's uid map from userns_uid_map; with it the container gets a user namespace at standard too */
#define SPEC_NEWGIDMAP "newgidmap" /* path: rootless: the setuid helper that writes the container's gid map from userns_gid_map */
#define SPEC_USERNS_UID_MAP "userns_uid_map" /* fields "inside outside count"; repeated: rootless: one line of the container's uid map, within the user's own uid and its /etc/subuid range */
#define SPEC_USERNS_GID_MAP "userns_gid_map" /* fields "inside outside count"; repeated: rootless: one line of the container's gid map, within the user's own gid and its /etc/subgid range */
#define SPEC_NET_HELPER_ARG "net_helper_arg" /* string; repeated: rootless private network: a command (pasta) run for each run once the container's user mapping is written, the container's first pid appended; it must put itself in the background and write its pid to net_helper_pid, and its failure fails the start */
#define SPEC_NET_HELPER_PID "net_helper_pid" /* path: the file net_helper_arg's process writes its pid to: the supervisor ends that process when the run ends */
#define SPEC_EXIT_ARG "exit_arg" /* string; repeated: a command run once the container exited for good (run -d --rm), one entry per argument */
#define SPEC_MEMORY_RESTART_BYTES "memory_restart_bytes" /* number: a graceful restart (stop signal, stop timeout, start) when the container's memory passes this: the memory cgroup's anon/rss, else the RSS of the process tree; 0 never */
#define SPEC_MEMORY_CHECK_MS "memory_check_ms" /* number: how often memory_restart_bytes is checked */
#define SPEC_CRON_AT_MS "cron_at_ms" /* number; repeated: a graceful restart at this time (ms since the epoch), ascending; the engine computes them from the cron pattern (RUNDIR/cron-times, when newer, carries more) */
#define SPEC_CRON_REFILL_ARG "cron_refill_arg" /* string; repeated: the engine's command that writes the next cron times to RUNDIR/cron-times, one entry per argument: run detached when no more than cron_refill_low times are left (at most once per five minutes while it brings none), its stderr to shim.err */
#define SPEC_CRON_REFILL_LOW "cron_refill_low" /* number: the low-water mark of cron_refill_arg: the times left (cron_at_ms and RUNDIR/cron-times) at or below which the supervisor asks for more */
#define SPEC_WATCH_PATH "watch_path" /* path; repeated: a file or directory (watched with its subdirectories) whose change restarts the container gracefully */
#define SPEC_WATCH_BASE "watch_base" /* path: the directory watch_ignore globs are relative to */
#define SPEC_WATCH_IGNORE "watch_ignore" /* string; repeated: a glob (fnmatch(3), `*` crossing `/`) of paths under watch_base whose change is ignored */
#define SPEC_WATCH_DELAY_MS "watch_delay_ms" /* number: the restart waits this long after the last change */
#define SPEC_COPY_OUT "copy_out" /* path: a file stdout is also appended to, line by line (PM2's out_file) */
#define SPEC_COPY_ERR "copy_err" /* path: a file stderr is also appended to (PM2's error_file) */
#define SPEC_RESTART_ARG "restart_arg" /* string; repeated: with it, a watch restart is not made in place: the supervisor stops the container, records the exit (reason watch-restart), ends, and runs this command detached, the engine's start, which copies the container's files afresh */
#define SPEC_COPY_DATE_FORMAT "copy_date_format" /* string: strftime(3) format of the prefix of each copied line, plus %L for milliseconds and %:z for +HH:MM; a ': ' follows it */

/* files of the run directory (written to NAME.tmp and renamed when marked atomic) */
#define RUN_SPEC "spec" /* engine: NUL-terminated KEY=VALUE entries, the contract entry first */
#define RUN_RESTART_POLICY "restart-policy" /* engine, atomic: POLICY MAX\n */
#define RUN_STOP_REQUEST "stop-request" /* engine, atomic: SIGNAL GRACE_MS REASON [main|group] */
#define RUN_STATE "state" /* supervisor, atomic: PHASE PID STARTTIME RUN RESTARTS HEALTH STREAK STARTED_MS\n */
#define RUN_EXITS "exits" /* supervisor: RUN STARTED_MS FINISHED_MS CODE SIGNAL OOM REASON\n per run, appended in one write */
#define RUN_EVENTS "events" /* supervisor: MS TYPE VALUE\n, appended */
#define RUN_HEALTH "health" /* supervisor, atomic: MS CODE OUTPUT\n, the last five checks */
#define RUN_HEALTH_OUT "health.out" /* supervisor: raw output */
#define RUN_SHIM_ERR "shim.err" /* supervisor: codex32-shim: MESSAGE\n, appended */
#define RUN_ATTACH_SOCK "attach.sock" /* supervisor: unix stream socket, framed (attach.c) */
#define RUN_CRON_TIMES "cron-times" /* engine, atomic: MS\n per time, ascending */
#define RUN_LOG "container.log" /* supervisor: CRI lines; rotated to NAME.1 ... NAME.N-1 */

#endif
