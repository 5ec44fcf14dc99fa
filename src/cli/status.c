/* zonesync status: every (zone, target) pair from the state, while the
 * daemon runs or not (SQLite WAL readers do not block it). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/render.h"
#include "conf/conf.h"
#include "sched/daemon.h"
#include "target/target.h"
#include "dns/serial.h"
#include "store/store.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: zonesync status [-c FILE] [--json]\n\n"
	        "Each zone with the serial held from its primary, and each of its targets\n"
	        "with the serial pushed there, how far behind it is, its state, the last\n"
	        "success and the last error, and whether the daemon runs.  Reads the\n"
	        "state; works while the daemon runs.\n\n"
	        "Target states: ok; syncing (the daemon runs and is bringing it up to\n"
	        "date); failing (the last push failed: see LAST ERROR); and with no daemon\n"
	        "running: dirty (a push was cut short), behind, never.  Zone states: ok,\n"
	        "failing (the last check of the primary or transfer failed: the error\n"
	        "follows), expired (the primary silent past the SOA expire), no-data.\n"
	        "PRIMARY is the serial the primary answered last.\n\n"
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

/* key then the serial, or null when there is none. */
static void json_serial(const char *key, bool has, uint32_t serial)
{
	if (has) {
		printf("%s%u", key, serial);
	} else {
		printf("%snull", key);
	}
}

/* ,"last_error": the text, or null when empty. */
static void json_error(const char *error)
{
	printf(",\"last_error\":");
	if (error[0] != '\0') {
		render_str(stdout, error);
	} else {
		printf("null");
	}
}

/* With a daemon running, a target not in sync and not failing is being
 * pushed (or about to be: the daemon reconciles dirty targets at start). */
static const char *state_of(const store_zone_info_t *zi, const store_target_t *ts, bool daemon)
{
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
		return daemon ? "syncing" : "never";
	}
	if (zi->has_data && ts->serial != zi->serial) {
		return daemon ? "syncing" : "behind";
	}
	return "ok";
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
	conf_t conf;
	if (conf_load(&conf, path, target_registry, stderr) != 0) {
		return CLI_USAGE;
	}
	char db[4096], err[512];
	struct stat st;
	snprintf(db, sizeof(db), "%s/state.db", conf.server.state);
	store_t *s = NULL;
	if (stat(db, &st) != 0) {
		fprintf(stderr, "zonesync status: no state yet in %s (the daemon or sync has not run)\n",
		        conf.server.state);
	} else if (store_open(conf.server.state, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "zonesync status: %s\n", err);
		conf_free(&conf);
		return CLI_FAIL;
	}
	bool all_ok = true;
	char t1[32];
	long pid = (long)daemon_locked_by(conf.server.state);
	if (json) {
		printf("{\"daemon\":{\"running\":%s,\"pid\":", pid > 0 ? "true" : "false");
		if (pid > 0) {
			printf("%ld}", pid);
		} else {
			printf("null}");
		}
		printf(",\"zones\":[");
	} else {
		if (pid > 0) {
			printf("daemon: running, pid %ld\n", pid);
		} else {
			printf("daemon: not running\n");
		}
		printf("%-24s %-11s %-11s %-8s %-12s %-10s %-11s %-8s %-8s %-20s %s\n", "ZONE",
		       "SERIAL", "PRIMARY", "STATE", "TARGET", "TYPE", "PUSHED", "BEHIND", "TSTATE",
		       "LAST OK", "LAST ERROR");
	}
	for (size_t i = 0; i < conf.nzone; i++) {
		const conf_zone_t *zc = &conf.zone[i];
		store_zone_info_t zi = { 0 };
		if (s != NULL) {
			store_zone_info(s, zc->name, &zi);
		}
		/* expired before failing: both mean the primary is not heard,
		 * expired says the data is past its SOA expire. */
		const char *zstate = zi.expired                  ? "expired"
		                     : zi.check_error[0] != '\0' ? "failing"
		                     : !zi.has_data              ? "no-data"
		                                                 : "ok";
		all_ok &= strcmp(zstate, "ok") == 0;
		if (json) {
			printf("%s\n {\"zone\":", i == 0 ? "" : ",");
			render_str(stdout, zc->domain);
			json_serial(",\"serial\":", zi.has_data, zi.serial);
			json_serial(",\"primary_serial\":", zi.has_primary_serial, zi.primary_serial);
			printf(",\"state\":\"%s\",\"checked\":%lld,\"refreshed\":%lld,"
			       "\"expire_at\":%lld",
			       zstate, (long long)zi.checked, (long long)zi.refreshed,
			       (long long)zi.expire_at);
			json_error(zi.check_error);
			printf(",\"targets\":[");
		}
		char zs[16] = "-", prs[16] = "-";
		if (zi.has_data) {
			snprintf(zs, sizeof(zs), "%u", zi.serial);
		}
		if (zi.has_primary_serial) {
			snprintf(prs, sizeof(prs), "%u", zi.primary_serial);
		}
		for (size_t k = 0; k < zc->ntarget; k++) {
			const conf_target_t *tc = zc->target[k];
			store_target_t ts = { 0 };
			if (s != NULL) {
				store_target_get(s, zc->name, tc->id, &ts);
			}
			const char *tstate = state_of(&zi, &ts, pid > 0);
			all_ok &= strcmp(tstate, "ok") == 0;
			/* Serials behind, by RFC 1982 distance (0 when unknown). */
			uint32_t behind = zi.has_data && ts.has_serial &&
			                                  serial_cmp(ts.serial, zi.serial) == SERIAL_LT
			                          ? zi.serial - ts.serial
			                          : 0;
			if (json) {
				printf("%s\n  {\"target\":", k == 0 ? "" : ",");
				render_str(stdout, tc->id);
				printf(",\"type\":\"%s\"", tc->type->name);
				json_serial(",\"serial\":", ts.has_serial, ts.serial);
				printf(",\"behind\":%u,\"state\":\"%s\",\"dirty\":%s,\"last_ok\":%lld",
				       behind, tstate, ts.dirty ? "true" : "false",
				       (long long)ts.last_ok);
				json_error(ts.last_error);
				printf("}");
				continue;
			}
			char ps[16] = "-";
			if (ts.has_serial) {
				snprintf(ps, sizeof(ps), "%u", ts.serial);
			}
			printf("%-24s %-11s %-11s %-8s %-12s %-10s %-11s %-8u %-8s %-20s %s\n",
			       k == 0 ? zc->domain : "", k == 0 ? zs : "", k == 0 ? prs : "",
			       k == 0 ? zstate : "", tc->id, tc->type->name, ps, behind, tstate,
			       when(ts.last_ok, t1, sizeof(t1)),
			       ts.last_error[0] != '\0' ? ts.last_error : "-");
		}
		if (json) {
			printf("]}");
			continue;
		}
		if (zc->ntarget == 0) {
			printf("%-24s %-11s %-11s %-8s (no targets)\n", zc->domain, zs, prs, zstate);
		}
		if (zi.check_error[0] != '\0') {
			printf("%-24s last check %s: %s\n", "", when(zi.checked, t1, sizeof(t1)),
			       zi.check_error);
		}
	}
	if (json) {
		printf("],\"ok\":%s}\n", all_ok ? "true" : "false");
	}
	store_close(s);
	conf_free(&conf);
	return all_ok ? CLI_OK : CLI_FAIL;
}
