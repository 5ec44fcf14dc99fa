#include "cli/pass.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dns/name.h"
#include "obs/log.h"
#include "sync/sync.h"
#include "target/target.h"

static void on_target(void *ctx, const conf_zone_t *zc, const conf_target_t *tc,
                      const engine_zone_t *z, const engine_result_t *r)
{
	cli_pass_t *run = ctx;
	if (run->progress_shown) {
		fputs("\r\033[K", stderr);
		run->progress_shown = false;
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
		run->differ += run->mode == PASS_VERIFY ? n : 0;
	}
	render_target(&run->out, zc, tc, z, r);
	if (run->serving && !r->notifier && (r->ret == 0 || r->refused)) {
		cli_serving_check(run, zc, tc, r);
	}
	render_target_end(&run->out);
}

/* On a terminal only: one line, rewritten in place. */
static void on_progress(void *ctx, const target_progress_t *p)
{
	cli_pass_t *run = ctx;
	fprintf(stderr, "\r\033[K  batch %zu/%zu, %zu/%zu records", p->batches_done, p->batches,
	        p->records_done, p->records);
	if (p->why != NULL) {
		fprintf(stderr, ", waiting %.1fs (%s)", p->waiting, p->why);
	}
	fflush(stderr);
	run->progress_shown = true;
}

static bool named(char **names, int n, const conf_zone_t *zc)
{
	for (int k = 0; k < n; k++) {
		knot_dname_storage_t name;
		if (dns_name_from_str(names[k], name) > 0 && knot_dname_is_equal(name, zc->name)) {
			return true;
		}
	}
	return n == 0;
}

static int run_zones(const conf_t *conf, char **names, int nnames, sync_opts_t *so, cli_pass_t *run)
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
				fprintf(stderr, "zonesync: %s: no AXFR from the primary: %s\n",
				        zc->domain, err);
			}
		} else {
			sync_zone(conf->server.state, zc, so, &out);
			if (!out.checked) {
				fprintf(stderr, "zonesync: %s: %s\n", zc->domain,
				        out.has_data
				                ? "the primary did not answer; used the last copy"
				                : "the primary did not answer and there is no "
				                  "copy yet");
			}
		}
		if (!out.checked) {
			rc = 1;
		}
		render_zone_end(&run->out, &out);
	}
	return rc;
}

static int check_names(const conf_t *conf, char **names, int n)
{
	for (int i = 0; i < n; i++) {
		knot_dname_storage_t name;
		if (dns_name_from_str(names[i], name) < 0 || conf_zone_find(conf, name) == NULL) {
			fprintf(stderr, "zonesync: no zone '%s' in %s\n", names[i], conf->path);
			return -1;
		}
	}
	return 0;
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

int cli_pass(int argc, char **argv, pass_mode_t mode, void (*usage)(FILE *out))
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
	const char *path = CONF_DEFAULT_PATH;
	cli_pass_t run = { .mode = mode };
	bool json = false;
	sync_opts_t so = { .on_target = on_target, .ctx = &run };
	const char *optstr = mode == PASS_VERIFY ? "c:jst:h"
	                     : mode == PASS_PLAN ? "c:jt:h"
	                                         : "c:fFnwt:h";
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, optstr, opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			so.engine.force = true;
			break;
		case 'F':
			if (mode != PASS_SYNC) {
				usage(stderr);
				return CLI_USAGE;
			}
			so.engine.full = true;
			break;
		case 'n':
			run.dry_run = true;
			break;
		case 'w':
			so.engine.topts.wait = true;
			break;
		case 'j':
			json = true;
			break;
		case 't':
			so.target = optarg;
			break;
		case 's':
			run.serving = true;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (run.dry_run && (so.engine.force || so.engine.topts.wait)) {
		fprintf(stderr, "zonesync sync: --dry-run changes nothing: no --force or --wait\n");
		return CLI_USAGE;
	}
	conf_t conf;
	if (conf_load(&conf, path, target_registry, stderr) != 0) {
		return CLI_USAGE;
	}
	if (check_names(&conf, argv + optind, argc - optind) != 0) {
		conf_free(&conf);
		return CLI_USAGE;
	}
	if (so.target != NULL && !target_exists(&conf, so.target)) {
		fprintf(stderr, "zonesync: no target '%s' in %s\n", so.target, conf.path);
		conf_free(&conf);
		return CLI_USAGE;
	}
	log_init(conf.server.log_target, conf.server.log_level);
	sync_global_init();
	bool listed = mode != PASS_SYNC || run.dry_run;
	so.engine.plan = listed;
	so.engine.force = so.engine.force || mode == PASS_VERIFY; /* limits are for writes */
	render_init(&run.out, stdout, json,
	            mode == PASS_VERIFY ? RENDER_VERIFY
	            : listed            ? RENDER_PLAN
	                                : RENDER_SYNC);
	if (!listed && isatty(STDERR_FILENO)) {
		so.engine.topts.progress = on_progress;
		so.engine.topts.progress_ctx = &run;
	}
	render_begin(&run.out);
	int rc = run_zones(&conf, argv + optind, argc - optind, &so, &run);
	render_end(&run.out, run.changes);
	if (run.progress_shown) {
		fputs("\r\033[K", stderr);
	}
	render_free(&run.out);
	sync_global_cleanup();
	conf_free(&conf);
	log_close();
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
