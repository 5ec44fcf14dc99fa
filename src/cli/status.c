/* zonesync status: every (zone, target) pair from the state, while the
 * daemon runs or not (SQLite WAL readers do not block it).  It only reads:
 * a user who may read the state directory and the configuration, and no
 * secret-file, can run it.  What state.db cannot say (the state could not
 * be written, the configuration the daemon runs) comes from the running
 * daemon's STATE/daemon.json. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/render.h"
#include "conf/conf.h"
#include "sched/catalog.h"
#include "sched/daemon.h"
#include "sched/runinfo.h"
#include "target/target.h"
#include "dns/serial.h"
#include "obs/log.h"
#include "store/store.h"
#include "zone/catalog.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: zonesync status [-c FILE] [--json]\n\n"
	        "Each zone with the serial held from its primary, and each of its targets\n"
	        "with the serial pushed there, how far behind it is, its state, the last\n"
	        "success and the last error, and whether the daemon runs.  Reads the\n"
	        "state; works while the daemon runs.\n\n"
	        "Target states: ok; never (never pushed); syncing (the daemon runs and\n"
	        "is bringing it up to date); failing (the last push failed, or the daemon\n"
	        "could not record it: see LAST ERROR); refused (a safety limit refused\n"
	        "the push: it waits for a new serial or `sync --force`); and with no\n"
	        "daemon running: dirty\n"
	        "(a push was cut short), behind.  A target first met holding records the\n"
	        "primary lacks is unadopted (a line says so) until `sync --force`.\n"
	        "Zone states: ok, failing (the last\n"
	        "check of the primary or transfer failed, or the daemon cannot write its\n"
	        "state: the error follows), expired (the primary silent past the SOA\n"
	        "expire), no-data.  PRIMARY is the serial the primary answered last.\n"
	        "It needs read access to the state only; key secret-files are not read.\n"
	        "It says so when the daemon runs another configuration file than FILE,\n"
	        "or FILE as it was before a change not yet reloaded.\n\n"
	        "  -c, --config FILE   configuration file (default " CONF_DEFAULT_PATH ")\n"
	        "  -j, --json          one JSON object (see zonesync(8))\n"
	        "  -h, --help          this text\n\n"
	        "exit status: 0 every target ok, 1 some target is not (or the state cannot be\n"
	        "read), 2 usage or config error.\n");
}

static const char *when(int64_t t, char *buf, size_t size)
{
	if (t <= 0) {
		return "-";
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* Unknown is null, never 0: a time of 0 or no serial. */
static json_t *jtime(int64_t t)
{
	return t > 0 ? json_integer(t) : json_null();
}

static json_t *jserial(bool has, uint32_t serial)
{
	return has ? json_integer(serial) : json_null();
}

static json_t *jerror(const char *error)
{
	return error != NULL && error[0] != '\0' ? render_json_str(error) : json_null();
}

/* One zone and its targets as read from the state. */
struct zrow {
	const conf_zone_t *zc;
	store_zone_info_t zi;
	store_target_t *ts; /* one per target of zc */
	const char *state;
	const char *error;       /* the zone's, NULL none */
	const char *state_error; /* the daemon could not write its state */
};

/* The running daemon's word on a pair (zone, target or NULL): the error it
 * met reading or writing its state, NULL when none. */
static const char *state_error(json_t *info, const char *zone, const char *target, int64_t *since)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(info, "state_errors"), i, e)
	{
		const char *z = json_string_value(json_object_get(e, "zone"));
		const char *t = json_string_value(json_object_get(e, "target"));
		if (z != NULL && strcmp(z, zone) == 0 &&
		    (target == NULL ? t == NULL : t != NULL && strcmp(t, target) == 0)) {
			*since = json_integer_value(json_object_get(e, "since"));
			return json_string_value(json_object_get(e, "error"));
		}
	}
	return NULL;
}

/* With a daemon running, a target not in sync and not failing is being
 * pushed (or about to be: the daemon reconciles dirty targets at start). */
static const char *state_of(const store_zone_info_t *zi, const store_target_t *ts, bool daemon,
                            const char *state_error)
{
	if (state_error != NULL) {
		return "failing";
	}
	if (ts->refused) {
		return "refused"; /* a safety limit; waits for a new serial or --force */
	}
	if (ts->last_error[0] != '\0') {
		return "failing";
	}
	if (ts->dirty) {
		return daemon ? "syncing" : "dirty"; /* dirty: a push cut short */
	}
	if (!ts->has_serial) {
		return "never";
	}
	if (zi->has_data && ts->serial != zi->serial) {
		return daemon ? "syncing" : "behind";
	}
	return "ok";
}

/* Serials behind by RFC 1982 distance (0 at or ahead); -1 unknown. */
static int64_t behind_of(const store_zone_info_t *zi, const store_target_t *ts)
{
	if (!zi->has_data || !ts->has_serial) {
		return -1;
	}
	return serial_cmp(ts->serial, zi->serial) == SERIAL_LT ? (int64_t)(zi->serial - ts->serial)
	                                                       : 0;
}

/* Read every zone and target of conf.  A read-only connection that read an
 * immutable file while a writer came reads again.  0 or <0, err set. */
/*
 * The members of conf's catalogs as the daemon last accepted them
 * (sched/catalog.h), made zones of conf (in place): status shows
 * them beside the file's.  A catalog not stored yet, or refused, adds none
 * (the daemon's log says why).
 */
static void add_members(conf_t *conf)
{
	if (conf->ncatalog == 0) {
		return;
	}
	catalog_t *sets = calloc(conf->ncatalog, sizeof(*sets));
	conf_member_t *m = NULL;
	size_t n = 0, total = 0;
	for (size_t i = 0; sets != NULL && i < conf->ncatalog; i++) {
		char err[512];
		uint32_t serial;
		if (sched_catalog_accepted(conf->server.state, conf->catalog[i].name, &sets[i],
		                           &serial, err, sizeof(err)) == 0) {
			total += sets[i].n;
		}
	}
	if (total > 0 && (m = calloc(total, sizeof(*m))) != NULL) {
		/* As the daemon: a name the file has, or an earlier catalog's,
		 * is not a member (conf_with_members leaves those out). */
		for (size_t i = 0; i < conf->ncatalog; i++) {
			for (size_t k = 0; k < sets[i].n; k++) {
				m[n++] = (conf_member_t){ .name = sets[i].m[k].name,
					                  .catalog = conf->catalog[i].name,
					                  .group = sets[i].m[k].group };
			}
		}
		conf_t with;
		if (conf_with_members(conf, m, n, &with, NULL) == 0) {
			conf_free(conf);
			*conf = with;
		}
	}
	free(m);
	for (size_t i = 0; sets != NULL && i < conf->ncatalog; i++) {
		catalog_free(&sets[i]);
	}
	free(sets);
}

static int read_state(const conf_t *conf, struct zrow *rows, char *err, size_t errlen)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		store_t *s;
		int ret = store_open_readonly(conf->server.state, &s, err, errlen);
		if (ret != 0) {
			return ret;
		}
		for (size_t i = 0; i < conf->nzone && ret == 0; i++) {
			const conf_zone_t *zc = rows[i].zc;
			ret = store_zone_info(s, zc->name, &rows[i].zi);
			for (size_t k = 0; k < zc->ntarget && ret == 0; k++) {
				ret = store_target_get(s, zc->name, zc->target[k]->id,
				                       &rows[i].ts[k]);
				/* a state written before errors were made printable */
				log_printable(rows[i].ts[k].last_error);
			}
		}
		if (ret != 0) {
			snprintf(err, errlen, "%s/state.db: %s", conf->server.state,
			         store_error(s) != NULL ? store_error(s) : "cannot read");
		}
		bool stale = store_readonly_stale(s);
		store_close(s);
		if (!stale) {
			return ret;
		}
	}
	snprintf(err, errlen, "%s/state.db: changing while read, try again", conf->server.state);
	return -EAGAIN;
}

/* What the daemon runs, against what this status reads (path). */
static json_t *config_json(json_t *info, const conf_t *conf, const char *path)
{
	json_t *c = json_object_get(info, "config");
	const char *dpath = json_string_value(json_object_get(c, "path"));
	const char *dsha = json_string_value(json_object_get(c, "sha256"));
	if (dpath == NULL || dsha == NULL) {
		return json_null();
	}
	char *abs = realpath(path, NULL);
	bool same_file = strcmp(abs != NULL ? abs : path, dpath) == 0;
	free(abs);
	return json_pack("{s:o,s:s,s:o,s:b,s:b}", "path", render_json_str(dpath), "sha256", dsha,
	                 "loaded", jtime(json_integer_value(json_object_get(c, "loaded"))),
	                 "same_file", same_file, "same_content", strcmp(dsha, conf->sha256) == 0);
}

static void print_daemon(json_t *d, const char *path, const char *info_err)
{
	json_int_t pid = json_integer_value(json_object_get(d, "pid"));
	if (!json_is_true(json_object_get(d, "running"))) {
		printf("daemon: not running\n");
		return;
	}
	printf("daemon: running, pid %lld\n", (long long)pid);
	json_t *c = json_object_get(d, "config");
	if (info_err[0] != '\0') {
		printf("daemon: its configuration and state errors are unknown: %s\n", info_err);
	}
	if (!json_is_object(c)) {
		return;
	}
	char t[32];
	const char *dpath = json_string_value(json_object_get(c, "path"));
	if (!json_is_true(json_object_get(c, "same_file"))) {
		printf("daemon: runs another configuration: %s (this status reads %s)\n", dpath,
		       path);
	} else if (!json_is_true(json_object_get(c, "same_content"))) {
		printf("daemon: %s changed since the daemon loaded it (%s): reload it "
		       "(kill -HUP %lld)\n",
		       path, when(json_integer_value(json_object_get(c, "loaded")), t, sizeof(t)),
		       (long long)pid);
	}
}

enum {
	C_ZONE,
	C_SERIAL,
	C_PRIMARY,
	C_STATE,
	C_TARGET,
	C_TYPE,
	C_PUSHED,
	C_BEHIND,
	C_TSTATE,
	C_LASTOK,
	C_COLS
};

/* One line of columns, each padded to its width but the last. */
static void print_cols(const size_t *width, char cells[C_COLS][64], const char *error)
{
	for (int c = 0; c < C_COLS; c++) {
		printf("%-*s  ", (int)width[c], cells[c]);
	}
	printf("%s\n", error);
}

static void print_text(const struct zrow *rows, size_t nzone, json_t *zones)
{
	static const char *const head[C_COLS] = {
		"ZONE", "SERIAL", "PRIMARY", "STATE",  "TARGET",
		"TYPE", "PUSHED", "BEHIND",  "TSTATE", "LAST OK"
	};
	size_t width[C_COLS];
	for (int c = 0; c < C_COLS; c++) {
		width[c] = strlen(head[c]);
	}
	/* Two passes over the same cells: widths, then lines. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			char cells[C_COLS][64];
			for (int c = 0; c < C_COLS; c++) {
				snprintf(cells[c], sizeof(cells[c]), "%s", head[c]);
			}
			print_cols(width, cells, "LAST ERROR");
		}
		for (size_t i = 0; i < nzone; i++) {
			const struct zrow *r = &rows[i];
			json_t *zj = json_array_get(zones, i);
			char cells[C_COLS][64] = { { 0 } };
			char zname[1100];
			/* Where it comes from: "(catalog NAME)" after a member. */
			snprintf(zname, sizeof(zname), "%s%s%.255s%s", r->zc->domain,
			         r->zc->member_of != NULL ? " (catalog " : r->zc->catalog ? " (a catalog" : "",
			         r->zc->member_of != NULL ? r->zc->member_of->domain : "",
			         r->zc->member_of != NULL || r->zc->catalog != NULL ? ")" : "");
			snprintf(cells[C_SERIAL], 64, "-");
			snprintf(cells[C_PRIMARY], 64, "-");
			if (r->zi.has_data) {
				snprintf(cells[C_SERIAL], 64, "%u", r->zi.serial);
			}
			if (r->zi.has_primary_serial) {
				snprintf(cells[C_PRIMARY], 64, "%u", r->zi.primary_serial);
			}
			snprintf(cells[C_STATE], 64, "%s", r->state);
			for (int c = C_ZONE; pass == 0 && c <= C_STATE; c++) {
				size_t n = strlen(c == C_ZONE ? zname : cells[c]);
				width[c] = n > width[c] ? n : width[c];
			}
			json_t *targets = json_object_get(zj, "targets");
			for (size_t k = 0; k < r->zc->ntarget; k++) {
				const conf_target_t *tc = r->zc->target[k];
				json_t *tj = json_array_get(targets, k);
				const store_target_t *ts = &r->ts[k];
				char t[32];
				snprintf(cells[C_TARGET], 64, "%.63s", tc->id);
				snprintf(cells[C_TYPE], 64, "%s", tc->type->name);
				snprintf(cells[C_PUSHED], 64, "-");
				snprintf(cells[C_BEHIND], 64, "-");
				if (ts->has_serial) {
					snprintf(cells[C_PUSHED], 64, "%u", ts->serial);
				}
				int64_t behind = behind_of(&r->zi, ts);
				if (behind >= 0) {
					snprintf(cells[C_BEHIND], 64, "%lld", (long long)behind);
				}
				const char *tstate =
				        json_string_value(json_object_get(tj, "state"));
				snprintf(cells[C_TSTATE], 64, "%s", tstate != NULL ? tstate : "?");
				snprintf(cells[C_LASTOK], 64, "%s",
				         when(ts->last_ok, t, sizeof(t)));
				const char *error =
				        json_string_value(json_object_get(tj, "last_error"));
				if (pass == 0) {
					for (int c = C_TARGET; c < C_COLS; c++) {
						size_t n = c == C_TARGET ? strlen(tc->id)
						                         : strlen(cells[c]);
						width[c] = n > width[c] ? n : width[c];
					}
					continue;
				}
				printf("%-*s  ", (int)width[C_ZONE], k == 0 ? zname : "");
				for (int c = C_SERIAL; c <= C_STATE; c++) {
					printf("%-*s  ", (int)width[c], k == 0 ? cells[c] : "");
				}
				printf("%-*s  ", (int)width[C_TARGET], tc->id);
				for (int c = C_TYPE; c < C_COLS; c++) {
					printf("%-*s  ", (int)width[c], cells[c]);
				}
				printf("%s\n", error != NULL ? error : "-");
			}
			if (pass == 0) {
				continue;
			}
			if (r->zc->ntarget == 0) {
				printf("%-*s  ", (int)width[C_ZONE], zname);
				for (int c = C_SERIAL; c <= C_STATE; c++) {
					printf("%-*s  ", (int)width[c], cells[c]);
				}
				printf("(no targets)\n");
			}
			char t[32];
			if (r->state_error != NULL) {
				printf("%-*s  the daemon cannot write the state: %s\n",
				       (int)width[C_ZONE], "", r->state_error);
			} else if (r->zi.check_error[0] != '\0') {
				printf("%-*s  last check %s: %s\n", (int)width[C_ZONE], "",
				       when(r->zi.checked, t, sizeof(t)), r->zi.check_error);
			}
			for (size_t k = 0; k < r->zc->ntarget; k++) {
				if (r->ts[k].has_serial && r->ts[k].unadopted) {
					printf("%-*s  %s unadopted: %s\n", (int)width[C_ZONE], "",
					       r->zc->target[k]->id,
					       "it holds RRsets the primary lacks, not deleted "
					       "(zonesync plan lists them)");
				}
			}
		}
	}
}

int cli_status(int argc, char **argv)
{
	const char *path;
	bool json = false;
	/* -j/--json besides the common -c/-h. */
	int n = 0;
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (args == NULL) {
		return CLI_FAIL;
	}
	for (int i = 0; i < argc; i++) {
		if (i > 0 && (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)) {
			json = true;
		} else {
			args[n++] = argv[i];
		}
	}
	int rc = cli_config_args(n, args, "status", usage, &path);
	free(args);
	if (rc >= 0) {
		return rc;
	}
	/* A monitoring user need not read the TSIG secrets: status never signs. */
	conf_t conf;
	if (conf_load_flags(&conf, path, target_registry, CONF_LOAD_NO_SECRETS, stderr) != 0) {
		return CLI_USAGE;
	}
	add_members(&conf);
	rc = CLI_FAIL;
	struct zrow *rows = calloc(conf.nzone + 1, sizeof(*rows));
	json_t *info = NULL, *out = NULL;
	for (size_t i = 0; rows != NULL && i < conf.nzone; i++) {
		rows[i].zc = &conf.zone[i];
		rows[i].ts = calloc(conf.zone[i].ntarget + 1, sizeof(*rows[i].ts));
		if (rows[i].ts == NULL) {
			goto out;
		}
	}
	if (rows == NULL) {
		goto out;
	}
	char err[1024], info_err[1024] = "";
	int ret = read_state(&conf, rows, err, sizeof(err));
	if (ret == -ENOENT) {
		fprintf(stderr,
		        "zonesync status: no state yet in %s (the daemon or sync has not run)\n",
		        conf.server.state);
	} else if (ret != 0) {
		fprintf(stderr, "zonesync status: %s\n", err);
		goto out;
	}
	long pid = (long)daemon_locked_by(conf.server.state);
	if (pid > 0) {
		info = runinfo_read(conf.server.state, pid, info_err, sizeof(info_err));
	}
	json_t *daemon = json_pack("{s:b,s:o,s:o,s:o}", "running", pid > 0, "pid",
	                           pid > 0 ? json_integer(pid) : json_null(), "config",
	                           info != NULL ? config_json(info, &conf, path) : json_null(),
	                           "info_error", jerror(info_err));
	json_t *zones = json_array();
	out = json_pack("{s:o,s:o}", "daemon", daemon, "zones", zones);
	if (out == NULL) {
		goto out;
	}
	bool all_ok = true;
	for (size_t i = 0; i < conf.nzone; i++) {
		struct zrow *r = &rows[i];
		const conf_zone_t *zc = r->zc;
		const store_zone_info_t *zi = &r->zi;
		int64_t since = 0;
		r->state_error = state_error(info, zc->domain, NULL, &since);
		r->error = r->state_error != NULL ? r->state_error : zi->check_error;
		/* expired before failing: both mean the primary is not heard,
		 * expired says the data is past its SOA expire. */
		r->state = zi->expired                                    ? "expired"
		           : r->state_error != NULL || zi->check_error[0] ? "failing"
		           : !zi->has_data                                ? "no-data"
		                                                          : "ok";
		all_ok &= strcmp(r->state, "ok") == 0;
		json_t *targets = json_array();
		/* Where the zone comes from: the file, or a catalog. */
		json_t *origin = json_pack(
		        "{s:s,s:o,s:o}", "from", zc->member_of != NULL ? "catalog" : "config",
		        "catalog",
		        zc->member_of != NULL ? render_json_str(zc->member_of->domain) : json_null(),
		        "template", zc->template != NULL ? render_json_str(zc->template->id) : json_null());
		json_array_append_new(zones,
		                      json_pack("{s:o,s:o,s:o,s:s,s:o,s:o,s:o,s:o,s:o}", "zone",
		                                render_json_str(zc->domain), "serial",
		                                jserial(zi->has_data, zi->serial), "primary_serial",
		                                jserial(zi->has_primary_serial, zi->primary_serial),
		                                "state", r->state, "checked", jtime(zi->checked),
		                                "refreshed", jtime(zi->refreshed), "expire_at",
		                                jtime(zi->expire_at), "last_error",
		                                jerror(r->error), "targets", targets));
		json_t *zj = json_array_get(zones, json_array_size(zones) - 1);
		json_object_set_new(zj, "origin", origin);
		json_object_set_new(zj, "catalog_zone", json_boolean(zc->catalog != NULL));
		for (size_t k = 0; k < zc->ntarget; k++) {
			const conf_target_t *tc = zc->target[k];
			const store_target_t *ts = &r->ts[k];
			const char *serr = state_error(info, zc->domain, tc->id, &since);
			const char *tstate = state_of(zi, ts, pid > 0, serr);
			all_ok &= strcmp(tstate, "ok") == 0;
			int64_t behind = behind_of(zi, ts);
			json_array_append_new(
			        targets,
			        json_pack("{s:o,s:s,s:o,s:o,s:s,s:b,s:b,s:o,s:o}", "target",
			                  render_json_str(tc->id), "type", tc->type->name, "serial",
			                  jserial(ts->has_serial, ts->serial), "behind",
			                  behind >= 0 ? json_integer(behind) : json_null(), "state",
			                  tstate, "dirty", ts->dirty, "unadopted",
			                  ts->has_serial && ts->unadopted, "last_ok", jtime(ts->last_ok),
			                  "last_error",
			                  jerror(serr != NULL ? serr : ts->last_error)));
		}
	}
	json_object_set_new(out, "ok", json_boolean(all_ok));
	if (json) {
		json_dumpf(out, stdout, JSON_COMPACT);
		printf("\n");
	} else {
		print_daemon(daemon, path, info_err);
		print_text(rows, conf.nzone, zones);
	}
	rc = all_ok ? CLI_OK : CLI_FAIL;
out:
	json_decref(out);
	json_decref(info);
	for (size_t i = 0; rows != NULL && i < conf.nzone; i++) {
		free(rows[i].ts);
	}
	free(rows);
	conf_free(&conf);
	return rc;
}
