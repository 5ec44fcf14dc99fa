/*
 * The one renderer of the subcommands: the same results written as text
 * for people or as JSON for scripts (values through jansson).  Output is
 * streamed change by change, so a plan of a million changes does not hold
 * a million JSON objects at once.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "sync/sync.h"
#include "zone/diff.h"

typedef enum {
	RENDER_DIFF,   /* zonesync diff: changes between two files */
	RENDER_SYNC,   /* what a push did */
	RENDER_PLAN,   /* what a push would do (plan, sync --dry-run) */
	RENDER_VERIFY, /* how a target differs from a fresh transfer */
} render_mode_t;

typedef struct {
	FILE *f;
	bool json;
	render_mode_t mode;
	bool first_zone, first_target;
	/* Buffers for record text, grown inside. */
	uint8_t *rdbuf;
	size_t rdsize;
	char *txt;
	size_t txtsize;
} render_t;

void render_init(render_t *r, FILE *f, bool json, render_mode_t mode);
void render_free(render_t *r);

/* A JSON string, quotes included. */
void render_str(FILE *out, const char *s);
/* The same as a jansson value (a byte that is not UTF-8 becomes '?'). */
json_t *render_json_str(const char *s);

/* One RRset's records as zone text lines, each after prefix. */
int render_records(render_t *r, const zone_rrset_t *s, const char *prefix);
/* One change: "+ rr", "- rr", "~ name type" with indented -/+ records, or
 * a JSON object (after a comma unless first). */
int render_change(render_t *r, const zone_change_t *c, bool first);
/* ,"label":{"ttl":N,"values"|"rdata":[...]} or ,"label":null for NULL. */
int render_rrset_json(render_t *r, const char *label, const zone_rrset_t *s);

/* sync, plan and verify: {"zones":[ ... ],"changes":N} in JSON. */
void render_begin(render_t *r);
void render_end(render_t *r, size_t changes);
void render_zone_begin(render_t *r, const conf_zone_t *zc);
void render_zone_end(render_t *r, const sync_pass_t *p);
/* One target's result; a JSON object is left open for render_target_end
 * (verify --serving adds to it). */
void render_target(render_t *r, const conf_zone_t *zc, const conf_target_t *tc,
                   const engine_zone_t *z, const engine_result_t *res);
void render_target_end(render_t *r);
