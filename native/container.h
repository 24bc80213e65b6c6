/* container: one run of the container, from clone to exec, and its pid 1 */
#ifndef CODEX32_CONTAINER_H
#define CODEX32_CONTAINER_H

/* start one run: outpipe gets the stdout and stderr read ends, errpipe_out the launch-error pipe */
void start_run(int *outpipe, int *errpipe_out);

#endif
