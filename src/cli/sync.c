/* zonesync sync and zonesync plan: one pass now, outside the daemon. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libknot/descriptor.h>

#include "cli/cli.h"
#include "conf/conf.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "net/http.h"
#include "net/retry.h"
#include "target/route53/route53.h"
#include "obs/log.h"
#include "sched/sched.h"

static void sync_usage(FILE *out)
{
	fprintf(out,
	        "usage: zonesync sync [-c FILE] [--force] [--dry-run] [--wait] [--target ID] "
	        "[ZONE...]\n\n"
	        "One pass now, as the daemon would do it: check each zone's primary,\n"
	        "transfer what changed (IXFR, else AXFR), then bring every target up to\n"
	        "date.  A target that is clean and at the previous serial gets just the\n"
	        "IXFR's changes; any other is read and diffed.  All zones when none named.\n\n"
	        "  -c, --config FILE   configuration file (default " CONF_DEFAULT_PATH ")\n"
	        "  -f, --force         apply even over max-delete / max-update\n"
	        "  -n, --dry-run       print what would change (as plan does), change nothing\n"
	        "  -w, --wait          wait until the provider reports the changes live\n"
	        "  -t, --target ID     only this target\n"
	        "  -h, --help          this text\n\n"
	        "exit status: 0 every target in sync, 1 a target failed or was refused\n"
	        "by a safety limit (or the primary did not answer), 2 usage or config error.\n");
}

static void plan_usage(FILE *out)
{
	fprintf(out,
	        "usage: zonesync plan [-c FILE] [--json] [--target ID] [ZONE...]\n\n"
	        "What sync would change: brings the local copy of each zone up to date\n"
	        "from its primary, reads the live records of every target and prints,\n"
	        "per target, + (add), ~ (update, with old and new records) and - (delete)\n"
	        "per RRset, the record types the target cannot hold, and a summary.\n"
	        "Writes nothing to any provider.  All zones when none named.\n\n"
	        "  -c, --config FILE   configuration file (default " CONF_DEFAULT_PATH ")\n"
	        "  -j, --json          one JSON object on stdout (see zonesync(8))\n"
	        "  -t, --target ID     only this target\n"
	        "  -h, --help          this text\n\n"
	        "exit status: 0 no changes, 3 changes to make, 1 a target or primary\n"
	        "could not be read, 2 usage or config error.\n");
}

struct run {
	bool plan, json, dry_run;
	cli_out_t out;
	bool first_zone, first_target;
	size_t changes, failed, refused;
	bool progress_shown;
};

static void skipped_text(FILE *f, const zone_view_skipped_t *s)
{
	char type[32];
	for (size_t i = 0; i < s->count; i++) {
		fprintf(f, "%s%s %zu", i == 0 ? "" : ", ", dns_type_str(s->skip[i].type, type, 32),
		        s->skip[i].records);
	}
}

static void on_target(void *ctx, const conf_zone_t *zc, const conf_target_t *tc,
                      const engine_zone_t *z, const engine_result_t *r)
{
	struct run *run = ctx;
	FILE *f = stdout;
	if (run->progress_shown) {
		fputs("\r\033[K", stderr);
		run->progress_shown = false;
	}
	bool listed = run->plan || run->dry_run;
	if (r->ret != 0) {
		if (r->refused) {
			run->refused++;
		} else {
			run->failed++;
		}
	}
	if (listed && r->ret == 0) {
		run->changes += r->diff.count;
	}
	if (run->json) {
		fprintf(f, "%s\n  {\"target\":", run->first_target ? "" : ",");
		run->first_target = false;
		cli_json_str(f, tc->id, strlen(tc->id));
		fprintf(f, ",\"type\":\"%s\",\"error\":", tc->type->name);
		if (r->ret != 0 && !r->refused) {
			cli_json_str(f, r->error, strlen(r->error));
		} else {
			fputs("null", f);
		}
		fprintf(f, ",\"refused\":");
		if (r->refused) {
			cli_json_str(f, r->error, strlen(r->error));
		} else {
			fputs("null", f);
		}
		fputs(",\"changes\":[", f);
		for (size_t i = 0; r->ret == 0 || r->refused ? i < r->diff.count : false; i++) {
			cli_json_change(&run->out, &r->diff.change[i], i == 0);
		}
		fputs("],\"skipped\":{", f);
		char type[32];
		for (size_t i = 0; i < r->skipped.count; i++) {
			fprintf(f, "%s\"%s\":%zu", i == 0 ? "" : ",",
			        dns_type_str(r->skipped.skip[i].type, type, 32),
			        r->skipped.skip[i].records);
		}
		fprintf(f,
		        "},\"foreign\":%zu,\"summary\":{\"add\":%zu,\"update\":%zu,\"delete\":%zu},"
		        "\"requests\":%zu}",
		        r->foreign, r->diff.added, r->diff.replaced, r->diff.deleted,
		        r->stats.requests);
		return;
	}
	if (listed) {
		if (r->ret != 0 && !r->refused) {
			fprintf(f, "%s -> %s: failed: %s\n", zc->domain, tc->id, r->error);
			return;
		}
		if (r->diff.count == 0) {
			fprintf(f, "%s -> %s (%s): no changes, serial %u\n", zc->domain, tc->id,
			        tc->type->name, z->serial);
		} else {
			fprintf(f,
			        "%s -> %s (%s): %zu change%s (%zu to add, %zu to update, %zu to "
			        "delete), serial %u\n",
			        zc->domain, tc->id, tc->type->name, r->diff.count,
			        r->diff.count == 1 ? "" : "s", r->diff.added,
			        r->diff.replaced, r->diff.deleted, z->serial);
		}
		for (size_t i = 0; i < r->diff.count; i++) {
			cli_text_change(&run->out, &r->diff.change[i]);
		}
		if (r->skipped.count > 0) {
			fprintf(f, "  skipped, %s cannot hold them: ", tc->type->name);
			skipped_text(f, &r->skipped);
			fputc('\n', f);
		}
		if (r->foreign > 0) {
			fprintf(f, "  left alone: %zu record set(s) zonesync does not manage "
			           "(aliases, routing policies, unreadable values)\n",
			        r->foreign);
		}
		if (r->refused) {
			fprintf(f, "  refused: %s\n", r->error);
		}
		return;
	}
	if (r->ret == 0 && r->uptodate) {
		fprintf(f, "%s -> %s: up to date, serial %u\n", zc->domain, tc->id, z->serial);
	} else if (r->ret == 0) {
		fprintf(f,
		        "%s -> %s: synced serial %u (%s): %zu added, %zu updated, %zu deleted; "
		        "%zu requests\n",
		        zc->domain, tc->id, z->serial, r->incremental ? "incremental" : "full",
		        r->diff.added, r->diff.replaced, r->diff.deleted, r->stats.requests);
	} else {
		fprintf(f, "%s -> %s: %s: %s\n", zc->domain, tc->id,
		        r->refused ? "refused" : "failed", r->error);
	}
}

/* On a terminal only: one line, rewritten in place. */
static void on_progress(void *ctx, const target_progress_t *p)
{
	struct run *run = ctx;
	fprintf(stderr, "\r\033[K  batch %zu/%zu, %zu/%zu records", p->batches_done, p->batches,
	        p->records_done, p->records);
	if (p->why != NULL) {
		fprintf(stderr, ", waiting %.1fs (%s)", p->waiting, p->why);
	}
	fflush(stderr);
	run->progress_shown = true;
}

static int run_zones(const conf_t *conf, char **names, int nnames, const char *target,
                     sched_pass_opts_t *po, struct run *run)
{
	int rc = 0;
	for (size_t i = 0; i < conf->nzone; i++) {
		const conf_zone_t *zc = &conf->zone[i];
		if (nnames > 0) {
			bool wanted = false;
			for (int k = 0; k < nnames && !wanted; k++) {
				knot_dname_storage_t n;
				wanted = dns_name_from_str(names[k], n) > 0 &&
				         knot_dname_is_equal(n, zc->name);
			}
			if (!wanted) {
				continue;
			}
		}
		if (run->json) {
			fprintf(stdout, "%s\n {\"zone\":", run->first_zone ? "" : ",");
			cli_json_str(stdout, zc->domain, strlen(zc->domain));
			fputs(",\"targets\":[", stdout);
			run->first_zone = false;
			run->first_target = true;
		}
		po->target = target;
		sched_pass_t out;
		sched_pass(conf, zc, po, &out);
		if (!out.checked) {
			rc = 1;
			fprintf(stderr, "zonesync: %s: %s\n", zc->domain,
			        out.has_data ? "the primary did not answer; used the last copy"
			                     : "the primary did not answer and there is no copy yet");
		}
		if (run->json) {
			fprintf(stdout, "],\"serial\":");
			if (out.has_data) {
				fprintf(stdout, "%u", out.serial);
			} else {
				fputs("null", stdout);
			}
			fprintf(stdout, ",\"primary_checked\":%s}", out.checked ? "true" : "false");
		}
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

static int command(int argc, char **argv, bool plan)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "force", no_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'n' },      { "wait", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },         { "target", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	void (*usage)(FILE *) = plan ? plan_usage : sync_usage;
	const char *path = CONF_DEFAULT_PATH, *target = NULL;
	struct run run = { .plan = plan, .first_zone = true };
	sched_pass_opts_t po = { .on_target = on_target, .ctx = &run };
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, plan ? "c:jt:h" : "c:fnwt:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			po.engine.force = true;
			break;
		case 'n':
			run.dry_run = true;
			break;
		case 'w':
			po.engine.topts.wait = true;
			break;
		case 'j':
			run.json = true;
			break;
		case 't':
			target = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (!plan && run.dry_run && (po.engine.force || po.engine.topts.wait)) {
		fprintf(stderr, "zonesync sync: --dry-run changes nothing: no --force or --wait\n");
		return CLI_USAGE;
	}
	conf_t conf;
	if (conf_load(&conf, path, stderr) != 0) {
		return CLI_USAGE;
	}
	if (check_names(&conf, argv + optind, argc - optind) != 0 ||
	    (target != NULL && !target_exists(&conf, target))) {
		if (target != NULL && !target_exists(&conf, target)) {
			fprintf(stderr, "zonesync: no target '%s' in %s\n", target, conf.path);
		}
		conf_free(&conf);
		return CLI_USAGE;
	}
	log_init(conf.server.log_target, conf.server.log_level);
	http_global_init();
	po.engine.plan = plan || run.dry_run;
	run.out = (cli_out_t){ .f = stdout, .json = run.json, .plan = true };
	if (!po.engine.plan && isatty(STDERR_FILENO)) {
		po.engine.topts.progress = on_progress;
		po.engine.topts.progress_ctx = &run;
	}
	if (run.json) {
		fputs("{\"zones\":[", stdout);
	}
	int rc = run_zones(&conf, argv + optind, argc - optind, target, &po, &run);
	if (run.json) {
		fprintf(stdout, "],\"changes\":%zu}\n", run.changes);
	}
	if (run.progress_shown) {
		fputs("\r\033[K", stderr);
	}
	cli_out_free(&run.out);
	ratelimit_cleanup();
	route53_cleanup();
	http_global_cleanup();
	conf_free(&conf);
	log_close();
	if (rc != 0 || run.failed > 0) {
		return CLI_FAIL;
	}
	if (plan) {
		return run.changes > 0 ? CLI_CHANGES : CLI_OK;
	}
	return run.refused > 0 ? CLI_FAIL : CLI_OK;
}

int cli_sync(int argc, char **argv)
{
	return command(argc, argv, false);
}

int cli_plan(int argc, char **argv)
{
	return command(argc, argv, true);
}
