/*
 * The cost of the view (zone/view.h) on a large zone, the step every push
 * runs on the primary's snapshot and on the provider's records: without
 * rules (the path every config without ignore/exclude/ttl takes), and
 * with the rules of issue 15 (an ignore name glob, an ignore value glob,
 * an exclude prefix, TTL bounds).
 *
 *   view-bench ZONEFILE ORIGIN [ROUNDS]
 *
 * Prints one line per case: the median seconds of ROUNDS views (default
 * 5), RRsets in and out, and what the rules kept out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libknot/dname.h>

#include "dns/name.h"
#include "zone/rules.h"
#include "zone/view.h"
#include "zone/zonefile.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void run(const char *name, const zone_t *z, const zone_view_rules_t *r, int rounds)
{
	double t[64];
	size_t out = 0, kept = 0, clamped = 0;
	for (int i = 0; i < rounds; i++) {
		zone_t v;
		zone_view_skipped_t s = { 0 };
		double t0 = now();
		if (zone_view(z, r, &v, &s) != 0) {
			fprintf(stderr, "view failed\n");
			exit(1);
		}
		t[i] = now() - t0;
		out = v.rrsets;
		kept = 0;
		for (size_t k = 0; k < s.nkept; k++) {
			kept += s.kept[k].rrsets;
		}
		clamped = s.ttl_clamped;
		zone_view_free(&v);
		zone_view_skipped_free(&s);
	}
	qsort(t, (size_t)rounds, sizeof(t[0]), cmp);
	printf("%-28s median %.3f s  rrsets in %zu out %zu  kept-out %zu  ttl-clamped %zu\n", name,
	       t[rounds / 2], z->rrsets, out, kept, clamped);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: view-bench ZONEFILE ORIGIN [ROUNDS]\n");
		return 2;
	}
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	if (rounds < 1 || rounds > 64) {
		rounds = 5;
	}
	knot_dname_storage_t origin;
	zone_t z;
	zone_error_t err;
	if (dns_name_from_str(argv[2], origin) < 0 ||
	    zone_load_file(&z, argv[1], origin, &err) != 0) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		return 1;
	}
	zone_view_rules_t plain = { 0 };
	run("no rules", &z, &plain, rounds);

	zone_rules_t rules = { 0 };
	zone_rule_t r;
	char e[200];
	const char *cname[] = { "CNAME" }, *txt[] = { "TXT" }, *addr[] = { "A", "AAAA" };
	rules.ignore = calloc(2, sizeof(zone_rule_t));
	rules.exclude = calloc(1, sizeof(zone_rule_t));
	if (zone_rule_make("_*", cname, 1, "*.acm-validations.aws.", &r, e, sizeof(e)) != 0) {
		return 1;
	}
	rules.ignore[rules.nignore++] = r;
	if (zone_rule_make("db*.rack.*", txt, 1, NULL, &r, e, sizeof(e)) != 0) {
		return 1;
	}
	rules.ignore[rules.nignore++] = r;
	if (zone_rule_make(NULL, addr, 2, "10.0.0.0/8", &r, e, sizeof(e)) != 0) {
		return 1;
	}
	rules.exclude[rules.nexclude++] = r;
	rules.ttl_min = 60;
	rules.ttl_max = 86400;
	zone_view_rules_t primary = { .filter = &rules, .primary_side = true };
	zone_view_rules_t provider = { .filter = &rules, .primary_side = false };
	run("rules, primary side", &z, &primary, rounds);
	run("rules, provider side", &z, &provider, rounds);
	zone_rules_free(&rules);
	zone_free(&z);
	return 0;
}
