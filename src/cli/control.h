/*
 * `zonesync sync` beside a running daemon: the command asks the daemon,
 * over STATE/control (sched/control.h), to run the pass, and prints its
 * answer; the daemon runs it with the scheduler held off those zones (one
 * writer per target).
 *
 * A request is one line of JSON: {"cmd":"sync","zones":[NAME...],
 * "target":ID|null,"force":BOOL,"wait":BOOL,"json":BOOL}; a new option
 * of sync is one more member.  The answer is "EXIT OUTLEN ERRLEN\n", then
 * OUTLEN bytes of the pass's standard output and ERRLEN of its standard
 * error, as the command would have printed them itself.
 */
#pragma once

#include <sys/types.h>

#include "cli/pass.h"
#include "sched/sched.h"

typedef struct cli_control cli_control_t;

/* The daemon's side: listen on the state directory's control socket (the
 * daemon lock held) and run each request's pass beside s, one at a time.
 * NULL with err set on failure. */
cli_control_t *cli_control_start(uv_loop_t *loop, sched_t *s, const char *state, char *err,
                                 size_t errlen);
/* Stop taking requests (the socket goes); those asked are answered. */
void cli_control_stop(cli_control_t *c);
/* After the loop has ended. */
void cli_control_free(cli_control_t *c);

/* The command's side: ask the daemon (pid, holding state's lock) to run
 * req and print its answer; the exit status. */
int cli_control_sync(const char *state, const pass_req_t *req, pid_t pid);
