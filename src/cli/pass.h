/*
 * What sync, plan and verify share: options, the configuration, the zones
 * named, one pass per zone through the sync layer, and the exit status
 * from the counted results.  Each subcommand's own file holds its help and
 * what only it does.  A sync pass is also what the daemon runs for a
 * `zonesync sync` that asks it over the control socket (cli/control.c):
 * the request is a pass_req_t, the pass the same pass_run().
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "cli/render.h"

typedef enum { PASS_SYNC, PASS_PLAN, PASS_VERIFY } pass_mode_t;

/* What was asked: the options and the zones named (all when none). */
typedef struct {
	pass_mode_t mode;
	const char *config;
	bool force, full, dry_run, wait, json, serving;
	const char *target; /* only this target id, or NULL */
	char *const *zones;
	size_t nzones;
	/* Not part of a control request: the results and the log both go to
	 * this process's stderr/stdout, so a failure is printed once. */
	bool reported;
} pass_req_t;

typedef struct {
	pass_mode_t mode;
	bool dry_run, serving;
	render_t out;
	FILE *err; /* messages that are not the result (stderr, or the daemon's buffer) */
	size_t changes; /* plan: changes to make */
	size_t differ;  /* verify: RRsets that differ, at the API or as served */
	size_t failed, refused;
	bool progress_shown;
	struct timespec began; /* the current target's push: progress shows the time since */
} cli_pass_t;

/* Parse argv for mode, run it over the zones named (all when none) and
 * return the exit status. */
int cli_pass(int argc, char **argv, pass_mode_t mode, void (*usage)(FILE *out));

/* Are the zones and the target req names in conf?  CLI_OK, else
 * CLI_USAGE with the reason written to err. */
int pass_check(const conf_t *conf, const pass_req_t *req, FILE *err);

/* Run req over conf: results to out, other messages to err; cancel (may
 * be NULL) stops pushes before their next request; progress on err when
 * it is a terminal.  The exit status (CLI_*).  The caller has set up the
 * log and sync_global_init(). */
int pass_run(const conf_t *conf, const pass_req_t *req, FILE *out, FILE *err,
             const atomic_bool *cancel, bool progress);

/* verify --serving: ask the target's name servers for every RRset of the
 * desired view r->want and render what differs (in verify.c). */
void cli_serving_check(cli_pass_t *run, const conf_zone_t *zc, const conf_target_t *tc,
                       const engine_result_t *r);
