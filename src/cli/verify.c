/* zonesync verify: each target against a fresh transfer, and what its
 * name servers serve. */
#include <string.h>

#include "cli/cli.h"
#include "cli/render.h"
#include "cli/pass.h"
#include "conf/conf.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "target/target.h"
#include "xfr/xfr.h"

static void usage(FILE *out)
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

/* --- verify --serving: what the target's name servers answer ---------------- */

#define SERVING_MAX 16
#define QUERY_TIMEOUT_MS 3000

/* The servers to ask: the target's "serving" list, else what the target
 * knows (Route 53: its delegation set; rfc2136: its server). */
static int serving_servers(const conf_zone_t *zc, const conf_target_t *tc, char out[][80],
                           char *err, size_t errlen)
{
	int n = 0;
	const ynode_t *list = ynode_get(tc->node, "serving");
	if (list != NULL) {
		size_t k = list->kind == YNODE_SEQ ? list->n : 1;
		for (size_t i = 0; i < k && n < SERVING_MAX; i++) {
			const char *v =
			        list->kind == YNODE_SEQ ? list->item[i]->value : list->value;
			snprintf(out[n++], 80, "%s", v);
		}
		return n;
	}
	const target_ops_t *ops = target_ops(tc);
	if (ops->servers != NULL) {
		target_t *t = NULL;
		target_stats_t stats = { 0 };
		int ret = ops->open(tc, zc, &t, &stats, err, errlen);
		if (ret == 0) {
			n = ops->servers(t, out, SERVING_MAX, &stats, err, errlen);
			ops->close(t);
		}
		return ret != 0 ? ret : n;
	}
	snprintf(err, errlen, "no name server known for target %s: list them in its 'serving' key",
	         tc->id);
	return -ENOENT;
}

/* Ask each server for every RRset of the view; report what differs. */
void cli_serving_check(cli_pass_t *run, const conf_zone_t *zc, const conf_target_t *tc,
                       const engine_result_t *r)
{
	FILE *f = run->out.f;
	char servers[SERVING_MAX][80], err[512] = "";
	int n = serving_servers(zc, tc, servers, err, sizeof(err));
	if (run->out.json) {
		fputs(",\"serving\":[", f);
	}
	if (n < 0) {
		run->failed++;
		if (run->out.json) {
			fputs("{\"server\":null,\"error\":", f);
			render_str(f, err);
			fputs("}]", f);
		} else {
			fprintf(f, "  served: %s\n", err);
		}
		return;
	}
	for (int i = 0; i < n; i++) {
		net_addr_t addr;
		xfr_peer_t peer = { .addr = &addr };
		uint32_t serial = 0;
		bool has_serial = false;
		size_t asked = 0, differ = 0;
		err[0] = '\0';
		if (net_parse_addr(servers[i], 53, &addr) != 0) {
			snprintf(err, sizeof(err), "'%s' is not IP[@PORT]", servers[i]);
		} else {
			has_serial = xfr_soa_query(&peer, zc->name, QUERY_TIMEOUT_MS, &serial, err,
			                           sizeof(err)) == 0;
		}
		if (run->out.json) {
			fprintf(f, "%s{\"server\":", i > 0 ? "," : "");
			render_str(f, servers[i]);
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
				if (run->out.json) {
					fprintf(f, "%s{\"name\":", differ > 1 ? "," : "");
					render_str(f, name);
					fprintf(f, ",\"type\":\"%s\"", type);
					render_rrset_json(&run->out, "expected", &want);
					render_rrset_json(&run->out, "served", have ? &gs : NULL);
					fputs("}", f);
				} else {
					fprintf(f, "  ! %s %s (from %s)\n", name, type, servers[i]);
					render_records(&run->out, &want, "    expected ");
					if (have) {
						render_records(&run->out, &gs, "    served   ");
					} else {
						fprintf(f, "    served   nothing%s%s\n",
						        ret != 0 ? ": " : "", ret != 0 ? qerr : "");
					}
				}
			}
			zone_free(&got);
		}
		if (run->out.json) {
			fprintf(f, "],\"asked\":%zu,\"error\":", asked);
			if (!has_serial) {
				render_str(f, err);
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
	if (run->out.json) {
		fputs("]", f);
	}
}

int cli_verify(int argc, char **argv)
{
	return cli_pass(argc, argv, PASS_VERIFY, usage);
}
