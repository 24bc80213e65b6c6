/* restart: the restart policy's decision at each exit */
#pragma once

/* should the run that ended with code (or signal sig) be followed by another? */
int restart_wanted(int code, int sig);
