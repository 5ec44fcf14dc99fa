#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>

#include "cli/cli.h"
#include "cli/render.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "zone/diff.h"
#include "zone/zonefile.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: zonesync diff OLD.zone NEW.zone [--origin NAME] [--json]\n\n"
	        "Compare two zone files RRset by RRset and print what changed:\n"
	        "  + records of an RRset only in NEW\n"
	        "  - records of an RRset only in OLD\n"
	        "  ~ an RRset in both with other records or TTL, its old (-) and new (+) records\n"
	        "then a summary line.  Names are compared case-insensitively and records in\n"
	        "canonical form, so only real differences show.\n\n"
	        "  -o, --origin NAME   zone apex and initial $ORIGIN of both files (default: the\n"
	        "                      owner of each file's SOA, with the root as $ORIGIN)\n"
	        "  -j, --json          print one JSON object (see zonesync(8))\n"
	        "  -s, --stats         print load and diff times and peak memory on stderr\n"
	        "  -h, --help          this text\n\n"
	        "exit status: 0 the zones are equal, 1 they differ, 2 bad input or usage.\n");
}

static void json_zone(FILE *f, const char *label, const char *path, const zone_t *z)
{
	char apex[DNS_NAME_STR_MAX];
	uint32_t serial = 0;
	zone_serial(z, &serial);
	fprintf(f, "  \"%s\": {\"file\":", label);
	render_str(f, path);
	fprintf(f, ",\"origin\":");
	dns_name_to_str(z->apex, apex, sizeof(apex));
	render_str(f, apex);
	fprintf(f, ",\"serial\":%u,\"rrsets\":%zu,\"records\":%zu},\n", serial, z->rrsets,
	        z->count);
}

static void warn_stats(const char *path, const zone_t *z)
{
	if (z->stats.duplicates > 0) {
		fprintf(stderr, "%s: warning: %zu duplicate record%s ignored\n", path,
		        z->stats.duplicates, z->stats.duplicates == 1 ? "" : "s");
	}
	if (z->stats.ttl_collapsed > 0) {
		fprintf(stderr,
		        "%s: warning: %zu RRset%s with differing TTLs, the lowest TTL used\n", path,
		        z->stats.ttl_collapsed, z->stats.ttl_collapsed == 1 ? "" : "s");
	}
}

int cli_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "origin", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *origin_str = NULL;
	bool json = false, stats = false;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:jsh", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			origin_str = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			stats = true;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "zonesync diff: expected two zone files\n");
		usage(stderr);
		return CLI_USAGE;
	}
	const char *oldp = argv[optind], *newp = argv[optind + 1];

	knot_dname_storage_t origin;
	if (origin_str != NULL && dns_name_from_str(origin_str, origin) < 0) {
		fprintf(stderr, "zonesync diff: --origin: '%s' is not a valid domain name\n",
		        origin_str);
		return CLI_USAGE;
	}

	zone_t old, new;
	zone_error_t err;
	double t0 = cli_now();
	if (zone_load_file(&old, oldp, origin_str ? origin : NULL, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return CLI_USAGE;
	}
	double t1 = cli_now();
	if (zone_load_file(&new, newp, origin_str ? origin : NULL, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		zone_free(&old);
		return CLI_USAGE;
	}
	double t2 = cli_now();
	warn_stats(oldp, &old);
	warn_stats(newp, &new);

	int rc = CLI_USAGE;
	zone_diff_t d = { 0 };
	if (!dns_name_equal(old.apex, new.apex)) {
		char a[DNS_NAME_STR_MAX], b[DNS_NAME_STR_MAX];
		fprintf(stderr, "zonesync diff: %s is zone %s but %s is zone %s\n", oldp,
		        dns_name_to_str(old.apex, a, sizeof(a)), newp,
		        dns_name_to_str(new.apex, b, sizeof(b)));
		goto out;
	}
	if (zone_diff(&old, &new, &d) != 0) {
		fprintf(stderr, "zonesync diff: out of memory\n");
		goto out;
	}
	double t3 = cli_now();

	render_t o;
	render_init(&o, stdout, json, RENDER_DIFF);
	int ret = 0;
	if (json) {
		fputs("{\n", stdout);
		json_zone(stdout, "old", oldp, &old);
		json_zone(stdout, "new", newp, &new);
		fputs("  \"changes\": [", stdout);
		for (size_t i = 0; ret == 0 && i < d.count; i++) {
			ret = render_change(&o, &d.change[i], i == 0);
		}
		printf("%s],\n  \"summary\": {\"added\":%zu,\"changed\":%zu,\"deleted\":%zu}\n}\n",
		       d.count ? "\n  " : "", d.added, d.replaced, d.deleted);
	} else {
		for (size_t i = 0; ret == 0 && i < d.count; i++) {
			ret = render_change(&o, &d.change[i], i == 0);
		}
		printf("%zu added, %zu changed, %zu deleted RRset%s\n", d.added, d.replaced,
		       d.deleted, d.added + d.replaced + d.deleted == 1 ? "" : "s");
	}
	render_free(&o);
	if (fflush(stdout) != 0 || ret != 0) {
		fprintf(stderr, "zonesync diff: cannot write the output\n");
		rc = CLI_USAGE;
		goto out;
	}
	double t4 = cli_now();
	if (stats) {
		fprintf(stderr,
		        "stats: load_old=%.3fs (%zu rrsets) load_new=%.3fs (%zu rrsets) "
		        "diff=%.3fs output=%.3fs changes=%zu peak_rss=%.1fMiB\n",
		        t1 - t0, old.rrsets, t2 - t1, new.rrsets, t3 - t2, t4 - t3, d.count,
		        cli_peak_rss_mib());
	}
	rc = d.count == 0 ? CLI_OK : CLI_FAIL;
out:
	zone_diff_free(&d);
	zone_free(&new);
	zone_free(&old);
	return rc;
}
