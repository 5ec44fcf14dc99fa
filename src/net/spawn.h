/*
 * Starting a helper program (an exec hook, a credential_process): its
 * own process group, so that a kill reaches whatever it started too; no
 * signal blocked and every signal at its default, whatever ours are.
 */
#pragma once

#include <sys/types.h>

/* Start argv[0] (searched in PATH) with envp, its stdin, stdout and
 * stderr from the descriptors given (in < 0: /dev/null).  0 with *pid, or
 * an errno value (the descriptors are the caller's to close either way). */
int net_spawn(pid_t *pid, char *const argv[], char *const envp[], int in, int out, int err);
