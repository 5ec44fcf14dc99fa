#include "cli/pass.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/control.h"
#include "dns/name.h"
#include "obs/log.h"
#include "sched/daemon.h"
#include "sync/sync.h"
#include "target/target.h"

static void on_target(void *ctx, const conf_zone_t *zc, const conf_target_t *tc,
                      const engine_zone_t *z, const engine_result_t *r)
{
	cli_pass_t *run = ctx;
	if (run->progress_shown) {
		fputs("\r\033[K", run->err);
		run->progress_shown = false;
		log_line_open(false);
	}
	if (r->ret != 0 && r->refused) {
		run->refused++;
	} else if (r->ret != 0) {
		run->failed++;
	}
	bool listed = run->mode != PASS_SYNC || run->dry_run;
	if (listed && r->ret == 0) {
		/* A notifier behind is one change: it would be told. */
		size_t n = r->notifier ? (run->mode == PASS_PLAN && r->notify) : r->diff.count;
		run->changes += n;
		/* A conflict is a difference too: the target does not serve
		 * the primary's RRset there. */
		run->differ += run->mode == PASS_VERIFY ? n + r->conflicts.count : 0;
	}
	render_target(&run->out, zc, tc, z, r);
	if (run->serving && !r->notifier && (r->ret == 0 || r->refused)) {
		cli_serving_check(run, zc, tc, r);
	}
	render_target_end(&run->out);
	clock_gettime(CLOCK_MONOTONIC, &run->began); /* the next target's */
}

/* On a terminal only: one line, rewritten in place. */
static void on_progress(void *ctx, const target_progress_t *p)
{
	cli_pass_t *run = ctx;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double secs = (double)(now.tv_sec - run->began.tv_sec) +
	              (double)(now.tv_nsec - run->began.tv_nsec) / 1e9;
	if (p->reading) {
		fprintf(run->err, "\r\033[K  %.0fs: reading the live records, %zu so far", secs,
		        p->records_read);
	} else {
		fprintf(run->err, "\r\033[K  %.0fs: batch %zu/%zu, %zu/%zu records", secs,
		        p->batches_done, p->batches, p->records_done, p->records);
	}
	if (p->why != NULL) {
		fprintf(run->err, ", waiting %.1fs (%s)", p->waiting, p->why);
	}
	fflush(run->err);
	run->progress_shown = true;
	log_line_open(true); /* a log line meanwhile starts on a clean line */
}

static bool named(char *const *names, size_t n, const conf_zone_t *zc)
{
	for (size_t k = 0; k < n; k++) {
		knot_dname_storage_t name;
		if (dns_name_from_str(names[k], name) > 0 && knot_dname_is_equal(name, zc->name)) {
			return true;
		}
	}
	return n == 0;
}

static int run_zones(const conf_t *conf, char *const *names, size_t nnames, sync_opts_t *so,
                     cli_pass_t *run)
{
	int rc = 0;
	for (size_t i = 0; i < conf->nzone; i++) {
		const conf_zone_t *zc = &conf->zone[i];
		if (!named(names, nnames, zc)) {
			continue;
		}
		render_zone_begin(&run->out, zc);
		sync_pass_t out = { 0 };
		if (run->mode == PASS_VERIFY) {
			char err[512];
			out.has_data = true;
			out.checked = sync_verify(zc, so, err, sizeof(err)) == 0;
			if (!out.checked) {
				fprintf(run->err, "zonesync: %s: no AXFR from the primary: %s\n",
				        zc->domain, err);
			}
		} else {
			sync_zone(conf->server.state, zc, so, &out);
			if (!out.checked) {
				const char *why = out.answered ? "the transfer failed (see the log)"
				                               : "the primary did not answer";
				fprintf(run->err, "zonesync: %s: %s%s\n", zc->domain, why,
				        out.has_data ? "; used the last copy"
				                     : " and there is no copy yet");
			}
		}
		if (!out.checked) {
			rc = 1;
		}
		render_zone_end(&run->out, &out);
	}
	return rc;
}

static bool target_exists(const conf_t *conf, const char *id)
{
	for (size_t i = 0; i < conf->ntarget; i++) {
		if (strcmp(conf->target[i].id, id) == 0) {
			return true;
		}
	}
	return false;
}

int pass_check(const conf_t *conf, const pass_req_t *req, FILE *err)
{
	for (size_t i = 0; i < req->nzones; i++) {
		knot_dname_storage_t name;
		if (dns_name_from_str(req->zones[i], name) < 0 ||
		    conf_zone_find(conf, name) == NULL) {
			fprintf(err, "zonesync: no zone '%s' in %s\n", req->zones[i], conf->path);
			return CLI_USAGE;
		}
	}
	if (req->target != NULL && !target_exists(conf, req->target)) {
		fprintf(err, "zonesync: no target '%s' in %s\n", req->target, conf->path);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int pass_run(const conf_t *conf, const pass_req_t *req, FILE *out, FILE *err,
             const atomic_bool *cancel, bool progress)
{
	int rc = pass_check(conf, req, err);
	if (rc != CLI_OK) {
		return rc;
	}
	pass_mode_t mode = req->mode;
	cli_pass_t run = { .mode = mode, .dry_run = req->dry_run, .serving = req->serving,
		           .err = err };
	sync_opts_t so = { .on_target = on_target, .ctx = &run, .target = req->target };
	bool listed = mode != PASS_SYNC || run.dry_run;
	so.engine.plan = listed;
	so.engine.force = req->force || mode == PASS_VERIFY; /* limits are for writes */
	so.engine.full = req->full;
	so.engine.reported = req->reported;
	/* Someone waits for it: a hung endpoint must not hold it for minutes. */
	so.engine.topts.request_timeout_ms = (long)conf->server.request_timeout * 1000;
	so.engine.topts.wait = req->wait;
	so.engine.topts.cancel = cancel;
	render_init(&run.out, out, req->json,
	            mode == PASS_VERIFY ? RENDER_VERIFY
	            : listed            ? RENDER_PLAN
	                                : RENDER_SYNC);
	if (!listed && progress) {
		so.engine.topts.progress = on_progress;
		so.engine.topts.progress_ctx = &run;
	}
	render_begin(&run.out);
	clock_gettime(CLOCK_MONOTONIC, &run.began);
	rc = run_zones(conf, req->zones, req->nzones, &so, &run);
	render_end(&run.out, run.changes);
	if (run.progress_shown) {
		fputs("\r\033[K", err);
		log_line_open(false);
	}
	render_free(&run.out);
	if (rc != 0 || run.failed > 0) {
		return CLI_FAIL;
	}
	if (mode == PASS_VERIFY) {
		return run.differ > 0 ? CLI_FAIL : CLI_OK;
	}
	if (mode == PASS_PLAN) {
		return run.changes > 0 ? CLI_CHANGES : CLI_OK;
	}
	return run.refused > 0 ? CLI_FAIL : CLI_OK;
}

/* argv to req: -1 to go on, else the exit status to return. */
static int pass_args(int argc, char **argv, pass_mode_t mode, void (*usage)(FILE *out),
                     pass_req_t *req)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "wait", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "target", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "serving", no_argument, NULL, 's' },
		{ "full", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	*req = (pass_req_t){ .mode = mode, .config = CONF_DEFAULT_PATH };
	const char *optstr = mode == PASS_VERIFY ? "c:jst:h"
	                     : mode == PASS_PLAN ? "c:jt:h"
	                                         : "c:fFnwt:h";
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, optstr, opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			req->config = optarg;
			break;
		case 'f':
			req->force = true;
			break;
		case 'F':
			if (mode != PASS_SYNC) {
				usage(stderr);
				return CLI_USAGE;
			}
			req->full = true;
			break;
		case 'n':
			req->dry_run = true;
			break;
		case 'w':
			req->wait = true;
			break;
		case 'j':
			req->json = true;
			break;
		case 't':
			req->target = optarg;
			break;
		case 's':
			req->serving = true;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (req->dry_run && (req->force || req->wait)) {
		fprintf(stderr, "zonesync sync: --dry-run changes nothing: no --force or --wait\n");
		return CLI_USAGE;
	}
	req->zones = argv + optind;
	req->nzones = (size_t)(argc - optind);
	return -1;
}

/*
 * A sync writes to the targets: one writer per state directory.  With no
 * daemon the pass holds the daemon's lock (a daemon started meanwhile is
 * refused); with one, the daemon runs the pass.  Never both.  *lock_fd:
 * the lock taken, or -1 with *daemon the pid holding it (0: neither, an
 * error printed).
 */
static void take_lock(const char *state, int *lock_fd, pid_t *daemon)
{
	char err[512];
	*daemon = 0;
	if (daemon_lock(state, lock_fd, err, sizeof(err)) == 0) {
		return;
	}
	*daemon = daemon_locked_by(state);
	if (*daemon == 0) {
		fprintf(stderr, "zonesync: %s\n", err);
	}
}

int cli_pass(int argc, char **argv, pass_mode_t mode, void (*usage)(FILE *out))
{
	pass_req_t req;
	int rc = pass_args(argc, argv, mode, usage, &req);
	if (rc >= 0) {
		return rc;
	}
	conf_t conf;
	if (conf_load(&conf, req.config, target_registry, stderr) != 0) {
		return CLI_USAGE;
	}
	if (pass_check(&conf, &req, stderr) != CLI_OK) {
		conf_free(&conf);
		return CLI_USAGE;
	}
	/* plan, verify and sync --dry-run only read the targets. */
	int lock_fd = -1;
	if (mode == PASS_SYNC && !req.dry_run) {
		pid_t daemon;
		take_lock(conf.server.state, &lock_fd, &daemon);
		if (lock_fd < 0) {
			rc = daemon > 0 ? cli_control_sync(conf.server.state, &req, daemon)
			                : CLI_FAIL;
			conf_free(&conf);
			return rc;
		}
	}
	log_init(conf.server.log_target, conf.server.log_level);
	req.reported = conf.server.log_target == LOG_TARGET_STDERR;
	sync_global_init();
	rc = pass_run(&conf, &req, stdout, stderr, NULL, isatty(STDERR_FILENO));
	sync_global_cleanup();
	conf_free(&conf);
	log_close();
	if (lock_fd >= 0) {
		close(lock_fd);
	}
	return rc;
}
