/*
 * Subcommands and what they share: exit codes and small output helpers.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>


/* Exit status, the same for every subcommand (diff also uses 1 for "differ"). */
enum {
	CLI_OK = 0,
	CLI_FAIL = 1,  /* operational failure */
	CLI_USAGE = 2, /* usage or configuration error, bad input */
	CLI_CHANGES = 3, /* plan: there are changes to make */
};

int cli_diff(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_sync(int argc, char **argv);
int cli_plan(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_verify(int argc, char **argv);

/* Parse the [-c FILE] [-h] arguments common to the daemon-side commands.
 * Returns -1 to go on with *path set, else the exit status to return. */
int cli_config_args(int argc, char **argv, const char *cmd, void (*usage)(FILE *out),
                    const char **path);

/* Seconds on the monotonic clock. */
double cli_now(void);
/* Peak resident set size of this process in MiB. */
double cli_peak_rss_mib(void);
