/* zonesync sync and zonesync plan: one pass now, outside the daemon. */
#include <errno.h>
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
#include "target/zonefile/zonefile.h"
#include "xfr/xfr.h"
#include "zone/zonefile.h"

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

static void verify_usage(FILE *out)
{
	fprintf(out,
	        "usage: zonesync verify [-c FILE] [--json] [--serving] [--target ID] [ZONE...]\n\n"
	        "Is each target really a copy of the primary?  Transfers each zone afresh\n"
	        "by AXFR (the local copy is not used), reads every target's records and\n"
	        "compares them through the target's view, RRset by RRset: + is missing at\n"
	        "the target, - is there but not at the primary, ~ differs.  All zones when\n"
	        "none named.  Changes nothing.\n\n"
	        "  -c, --config FILE   configuration file (default " CONF_DEFAULT_PATH ")\n"
	        "  -s, --serving       also ask the target's name servers (its 'serving' list;\n"
	        "                      Route 53: the hosted zone's delegation set; rfc2136:\n"
	        "                      its address) for every RRset, and show their SOA serial\n"
	        "  -j, --json          one JSON object on stdout (see zonesync(8))\n"
	        "  -t, --target ID     only this target\n"
	        "  -h, --help          this text\n\n"
	        "exit status: 0 every target holds (and serves) the primary's data, 1 some\n"
	        "RRset differs or something could not be read, 2 usage or config error.\n");
}

struct run {
	bool plan, json, dry_run, verify, serving;
	size_t differ; /* verify: RRsets that differ, at the API or as served */
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

/* --- verify --serving: what the target's name servers answer ---------------- */

#define SERVING_MAX 16
#define QUERY_TIMEOUT_MS 3000

/* The servers to ask: the target's "serving" list, else what the target
 * knows (Route 53: its delegation set), else its "address" (rfc2136). */
static int serving_servers(const conf_zone_t *zc, const conf_target_t *tc, char out[][80],
                           char *err, size_t errlen)
{
	int n = 0;
	const ynode_t *list = ynode_get(tc->node, "serving");
	if (list != NULL) {
		size_t k = list->kind == YNODE_SEQ ? list->n : 1;
		for (size_t i = 0; i < k && n < SERVING_MAX; i++) {
			const char *v = list->kind == YNODE_SEQ ? list->item[i]->value : list->value;
			snprintf(out[n++], 80, "%s", v);
		}
		return n;
	}
	const target_ops_t *ops = tc->type->ops;
	if (ops != NULL && ops->servers != NULL) {
		target_t *t = NULL;
		target_stats_t stats = { 0 };
		int ret = ops->open(tc, zc, &t, &stats, err, errlen);
		if (ret == 0) {
			n = ops->servers(t, out, SERVING_MAX, &stats, err, errlen);
			ops->close(t);
		}
		return ret != 0 ? ret : n;
	}
	const char *addr = conf_target_str(tc, "address");
	if (addr != NULL) {
		snprintf(out[n++], 80, "%s", addr);
		return n;
	}
	snprintf(err, errlen, "no name server known for target %s: list them in its 'serving' key",
	         tc->id);
	return -ENOENT;
}

/* Ask each server for every RRset of the view; report what differs. */
static void serving_check(struct run *run, const conf_zone_t *zc, const conf_target_t *tc,
                          const engine_result_t *r)
{
	FILE *f = stdout;
	char servers[SERVING_MAX][80], err[512] = "";
	int n = serving_servers(zc, tc, servers, err, sizeof(err));
	if (run->json) {
		fputs(",\"serving\":[", f);
	}
	if (n < 0) {
		run->failed++;
		if (run->json) {
			fputs("{\"server\":null,\"error\":", f);
			cli_json_str(f, err, strlen(err));
			fputs("}]", f);
		} else {
			fprintf(f, "  served: %s\n", err);
		}
		return;
	}
	for (int i = 0; i < n; i++) {
		conf_addr_t addr;
		xfr_peer_t peer = { .addr = &addr };
		uint32_t serial = 0;
		bool has_serial = false;
		size_t asked = 0, differ = 0;
		err[0] = '\0';
		if (conf_parse_addr(servers[i], 53, &addr) != 0) {
			snprintf(err, sizeof(err), "'%s' is not IP[@PORT]", servers[i]);
		} else {
			has_serial = xfr_soa_query(&peer, zc->name, QUERY_TIMEOUT_MS, &serial, err,
			                           sizeof(err)) == 0;
		}
		if (run->json) {
			fprintf(f, "%s{\"server\":", i > 0 ? "," : "");
			cli_json_str(f, servers[i], strlen(servers[i]));
			fputs(",\"serial\":", f);
			if (has_serial) {
				fprintf(f, "%u", serial);
			} else {
				fputs("null", f);
			}
			fputs(",\"differ\":[", f);
		}
		size_t pos = 0;
		zone_rrset_t want;
		while (has_serial && zone_rrset_next(&r->want, &pos, &want)) {
			knot_dname_storage_t owner;
			if (dns_name_from_key(want.key, want.keylen, owner) < 0) {
				continue;
			}
			zone_t got;
			zone_init(&got);
			zone_set_apex(&got, zc->name);
			uint8_t rcode = 0;
			char qerr[512];
			int ret = xfr_query(&peer, owner, want.type, QUERY_TIMEOUT_MS, &got, &rcode,
			                    qerr, sizeof(qerr));
			asked++;
			zone_rrset_t gs;
			size_t gpos = 0;
			bool have = ret == 0 && zone_finish(&got) == 0 &&
			            zone_rrset_next(&got, &gpos, &gs);
			if (!have || !zone_rrset_equal(&want, &gs)) {
				differ++;
				run->differ++;
				char name[DNS_NAME_STR_MAX], type[16];
				dns_key_to_str(want.key, want.keylen, name, sizeof(name));
				dns_type_str(want.type, type, sizeof(type));
				if (run->json) {
					fprintf(f, "%s{\"name\":", differ > 1 ? "," : "");
					cli_json_str(f, name, strlen(name));
					fprintf(f, ",\"type\":\"%s\"", type);
					cli_json_rrset(&run->out, "expected", &want);
					cli_json_rrset(&run->out, "served", have ? &gs : NULL);
					fputs("}", f);
				} else {
					fprintf(f, "  ! %s %s (from %s)\n", name, type, servers[i]);
					cli_print_records(&run->out, &want, "    expected ");
					if (have) {
						cli_print_records(&run->out, &gs, "    served   ");
					} else {
						fprintf(f, "    served   nothing%s%s\n",
						        ret != 0 ? ": " : "", ret != 0 ? qerr : "");
					}
				}
			}
			zone_free(&got);
		}
		if (run->json) {
			fprintf(f, "],\"asked\":%zu,\"error\":", asked);
			if (!has_serial) {
				cli_json_str(f, err, strlen(err));
			} else {
				fputs("null", f);
			}
			fputs("}", f);
		} else if (has_serial) {
			fprintf(f, "  served by %s: SOA serial %u; %zu RRsets asked, %zu differ\n",
			        servers[i], serial, asked, differ);
		} else {
			fprintf(f, "  served by %s: no answer: %s\n", servers[i], err);
		}
		if (!has_serial) {
			run->failed++;
		}
	}
	if (run->json) {
		fputs("]", f);
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
	bool listed = run->plan || run->dry_run || run->verify;
	if (r->ret != 0) {
		if (r->refused) {
			run->refused++;
		} else {
			run->failed++;
		}
	}
	if (listed && r->ret == 0) {
		run->changes += r->diff.count;
		run->differ += run->verify ? r->diff.count : 0;
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
		        "\"requests\":%zu",
		        r->foreign, r->diff.added, r->diff.replaced, r->diff.deleted,
		        r->stats.requests);
		if (run->serving && r->ret == 0) {
			serving_check(run, zc, tc, r);
		}
		fputs("}", f);
		return;
	}
	if (listed) {
		if (r->ret != 0 && !r->refused) {
			fprintf(f, "%s -> %s: failed: %s\n", zc->domain, tc->id, r->error);
			return;
		}
		if (run->verify && r->diff.count == 0) {
			fprintf(f, "%s -> %s (%s): same as the primary, serial %u\n", zc->domain,
			        tc->id, tc->type->name, z->serial);
		} else if (run->verify) {
			fprintf(f,
			        "%s -> %s (%s): %zu RRset%s differ%s from the primary's serial %u "
			        "(%zu missing, %zu different, %zu extra)\n",
			        zc->domain, tc->id, tc->type->name, r->diff.count,
			        r->diff.count == 1 ? "" : "s", r->diff.count == 1 ? "s" : "", z->serial,
			        r->diff.added, r->diff.replaced, r->diff.deleted);
		} else if (r->diff.count == 0) {
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
		if (r->refused && !run->verify) {
			fprintf(f, "  refused: %s\n", r->error);
		}
		if (run->serving && (r->ret == 0 || r->refused)) {
			serving_check(run, zc, tc, r);
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

/* A zonefile target: the file against the fresh zone, both whole. */
static void verify_zonefile(const zone_t *fresh, const conf_zone_t *zc, const conf_target_t *tc,
                            engine_result_t *r)
{
	memset(r, 0, sizeof(*r));
	char path[4096];
	zone_error_t zerr;
	zone_view_rules_t all = { .apex_soa = true, .apex_ns = true };
	if (zonefile_path(conf_target_str(tc, "path"), zc->domain, path, sizeof(path)) != 0) {
		snprintf(r->error, sizeof(r->error), "bad path");
		r->ret = -EINVAL;
	} else if ((r->ret = zone_load_file(&r->live, path, zc->name, &zerr)) != 0) {
		snprintf(r->error, sizeof(r->error), "%s", zerr.msg);
	} else if ((r->ret = zone_view(&r->live, &all, &r->base, NULL)) == 0 &&
	           (r->ret = zone_view(fresh, &all, &r->want, NULL)) == 0) {
		r->want_full = true;
		r->ret = zone_diff(&r->base, &r->want, &r->diff);
	}
}

/* verify: a fresh AXFR from the primary against each target's records. */
static int verify_zone(const conf_zone_t *zc, const sched_pass_opts_t *po, struct run *run)
{
	const conf_primary_t *p = zc->primary;
	xfr_peer_t peer = { .key = p->key ? &p->key->tsig : NULL };
	xfr_limits_t lim = { .max_records = zc->xfr_max_records,
		             .max_bytes = zc->xfr_max_bytes,
		             .timeout_ms = zc->xfr_timeout * 1000,
		             .io_timeout_ms = 30000 };
	xfr_result_t res;
	char err[512] = "";
	int ret = -EHOSTUNREACH;
	for (size_t i = 0; i < p->naddr && ret != 0; i++) {
		peer.addr = &p->addr[i];
		ret = xfr_transfer(&peer, zc->name, NULL, &lim, &res, err, sizeof(err));
		if (ret != 0) {
			log_warning("AXFR failed: zone=%s error=%s", zc->domain, err);
		}
	}
	if (ret != 0) {
		fprintf(stderr, "zonesync: %s: no AXFR from the primary: %s\n", zc->domain, err);
		return -1;
	}
	engine_zone_t ez = { .zone = &res.zone, .serial = res.serial };
	for (size_t i = 0; i < zc->ntarget; i++) {
		const conf_target_t *tc = zc->target[i];
		if (po->target != NULL && strcmp(po->target, tc->id) != 0) {
			continue;
		}
		engine_result_t r;
		if (tc->type->ops != NULL) {
			engine_push(&ez, zc, tc, &po->engine, &r);
		} else if (strcmp(tc->type->name, "zonefile") == 0) {
			verify_zonefile(&res.zone, zc, tc, &r);
		} else {
			continue; /* exec: nothing held to compare */
		}
		on_target(run, zc, tc, &ez, &r);
		engine_result_free(&r);
	}
	xfr_result_free(&res);
	return 0;
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
		sched_pass_t out = { 0 };
		if (run->verify) {
			out.has_data = true;
			out.checked = verify_zone(zc, po, run) == 0;
			out.serial = 0;
		} else {
			sched_pass(conf, zc, po, &out);
		}
		if (!out.checked && run->verify) {
			rc = 1;
		} else if (!out.checked) {
			rc = 1;
			fprintf(stderr, "zonesync: %s: %s\n", zc->domain,
			        out.has_data ? "the primary did not answer; used the last copy"
			                     : "the primary did not answer and there is no copy yet");
		}
		if (run->json && run->verify) {
			fprintf(stdout, "],\"primary_checked\":%s}", out.checked ? "true" : "false");
		} else if (run->json) {
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

enum mode { MODE_SYNC, MODE_PLAN, MODE_VERIFY };

static int command(int argc, char **argv, enum mode mode)
{
	bool plan = mode != MODE_SYNC;
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "force", no_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'n' },      { "wait", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },         { "target", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },         { "serving", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	void (*usage)(FILE *) = mode == MODE_VERIFY ? verify_usage
	                        : plan              ? plan_usage
	                                            : sync_usage;
	const char *path = CONF_DEFAULT_PATH, *target = NULL;
	struct run run = { .plan = plan, .verify = mode == MODE_VERIFY, .first_zone = true };
	sched_pass_opts_t po = { .on_target = on_target, .ctx = &run };
	int o;
	optind = 1;
	const char *optstr = mode == MODE_VERIFY ? "c:jst:h" : plan ? "c:jt:h" : "c:fnwt:h";
	while ((o = getopt_long(argc, argv, optstr, opts, NULL)) != -1) {
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
	po.engine.force = po.engine.force || run.verify; /* limits are for writes */
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
	if (run.verify) {
		return run.differ > 0 ? CLI_FAIL : CLI_OK;
	}
	if (plan) {
		return run.changes > 0 ? CLI_CHANGES : CLI_OK;
	}
	return run.refused > 0 ? CLI_FAIL : CLI_OK;
}

int cli_sync(int argc, char **argv)
{
	return command(argc, argv, MODE_SYNC);
}

int cli_plan(int argc, char **argv)
{
	return command(argc, argv, MODE_PLAN);
}

int cli_verify(int argc, char **argv)
{
	return command(argc, argv, MODE_VERIFY);
}
