/*
 * What sync, plan and verify share: options, the configuration, the zones
 * named, one pass per zone through the sync layer, and the exit status
 * from the counted results.  Each subcommand's own file holds its help and
 * what only it does.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "cli/render.h"

typedef enum { PASS_SYNC, PASS_PLAN, PASS_VERIFY } pass_mode_t;

typedef struct {
	pass_mode_t mode;
	bool dry_run, serving;
	render_t out;
	size_t changes; /* plan: changes to make */
	size_t differ;  /* verify: RRsets that differ, at the API or as served */
	size_t failed, refused;
	bool progress_shown;
} cli_pass_t;

/* Parse argv for mode, run it over the zones named (all when none) and
 * return the exit status. */
int cli_pass(int argc, char **argv, pass_mode_t mode, void (*usage)(FILE *out));

/* verify --serving: ask the target's name servers for every RRset of the
 * desired view r->want and render what differs (in verify.c). */
void cli_serving_check(cli_pass_t *run, const conf_zone_t *zc, const conf_target_t *tc,
                       const engine_result_t *r);
