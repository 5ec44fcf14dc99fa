/*
 * The exec target: after a zone changes, run a command, as nsnotifyd users
 * already do: argv from the config, then "ZONE SERIAL NOTIFIER" (the zone
 * without its trailing dot, the new serial, the primary's address).  No
 * shell.  A summary of the change goes to the command's standard input as
 * JSON and into ZONESYNC_* environment variables; of our environment it
 * gets only PATH, LANG, TZ and the variables its env list names (ours holds
 * credentials).  Names are in presentation format (ASCII, \DDD escapes).
 * The command's output (standard output and error together, the last 4 KiB
 * kept) and its exit status are logged and recorded; it is killed (its
 * whole process group) after its timeout.
 */
#pragma once

#include <stdint.h>

#include "conf/conf.h"
#include "target/target.h"

extern const target_type_t exec_type;

typedef struct {
	const char *zone;    /* presentation form, trailing dot */
	uint32_t serial;
	bool has_previous;   /* the serial pushed to this target before */
	uint32_t previous;
	const char *primary; /* address the zone came from */
	bool has_counts;     /* an IXFR: RRsets added, changed, deleted */
	size_t added, changed, deleted;
} exec_event_t;

typedef struct {
	int status;       /* exit status, or 128 + signal */
	bool timed_out;
	double secs;
	char output[4097]; /* the last bytes of the output */
	size_t output_total;
} exec_result_t;

#define EXEC_DEFAULT_TIMEOUT 60

/* Run the command of target t for ev.  0 when it ran and exited 0; -EIO
 * (failed to start), -ETIMEDOUT, -ECHILD (non-zero exit) with err set. */
int exec_run(const conf_target_t *t, const exec_event_t *ev, exec_result_t *res, char *err,
             size_t errlen);

/* The summary as one line of JSON (malloc'd, with its newline), whatever the
 * zone's name; NULL when out of memory. */
char *exec_event_json(const exec_event_t *ev);

/* The zone as the command's argument (malloc'd; NULL when out of memory):
 * without its trailing dot, and a leading '-' written \045 (the same name
 * in presentation format), so that it is never taken for an option. */
char *exec_zone_arg(const char *zone);
