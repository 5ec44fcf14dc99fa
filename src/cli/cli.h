/*
 * Subcommands and what they share: exit codes and small output helpers.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "zone/diff.h"

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

/* Changes as text ("+ rr", "- rr", "~ name type" with indented -/+ records)
 * or JSON objects; buffers grow inside and are freed by cli_out_free(). */
typedef struct {
	FILE *f;
	bool json;
	bool plan; /* plan's JSON words: "update" and "values" */
	uint8_t *rdbuf;
	size_t rdsize;
	char *txt;
	size_t txtsize;
} cli_out_t;

int cli_print_records(cli_out_t *o, const zone_rrset_t *s, const char *prefix);
int cli_text_change(cli_out_t *o, const zone_change_t *c);
int cli_json_change(cli_out_t *o, const zone_change_t *c, bool first);
/* ,"label":{"ttl":N,"values"|"rdata":[...]} or ,"label":null for NULL. */
int cli_json_rrset(cli_out_t *o, const char *label, const zone_rrset_t *s);
void cli_out_free(cli_out_t *o);

/* Parse the [-c FILE] [-h] arguments common to the daemon-side commands.
 * Returns -1 to go on with *path set, else the exit status to return. */
int cli_config_args(int argc, char **argv, const char *cmd, void (*usage)(FILE *out),
                    const char **path);

/* Write s as a JSON string, quotes included. */
void cli_json_str(FILE *out, const char *s, size_t len);

/* Seconds on the monotonic clock. */
double cli_now(void);
/* Peak resident set size of this process in MiB. */
double cli_peak_rss_mib(void);
