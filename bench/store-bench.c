/*
 * The cost of committing a large zone to the state (store/store.h), the
 * last step of an AXFR: N A records h<i>.bench.test. in random order (as
 * the secondary benchmark's zone), then, each timed:
 *
 *   finish   zone_finish(): sort and group (what the AXFR path does)
 *   first    store_zone_replace() into an empty state
 *   again    store_zone_replace() of the zone with every address changed
 *   ixfr     store_zone_apply() of a one-record change (median of 100)
 *   load     store_zone_load() of the whole zone
 *
 *   store-bench DIR [N] [ROUNDS]
 *
 * DIR is emptied of state.db first.  Prints the median of ROUNDS (default 3)
 * per step and the file's size after the last round.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <libknot/descriptor.h>
#include <libknot/dname.h>

#include "store/store.h"
#include "zone/zone.h"

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

static void die(const char *what, int ret, const char *err)
{
	fprintf(stderr, "store-bench: %s: %d %s\n", what, ret, err != NULL ? err : "");
	exit(1);
}

static void name(knot_dname_t *out, const char *text)
{
	if (knot_dname_from_str(out, text, KNOT_DNAME_MAXLEN) == NULL) {
		die("bad name", 0, text);
	}
}

static void soa(zone_t *z, const knot_dname_t *apex, uint32_t serial)
{
	uint8_t rd[64];
	size_t n = 0;
	memcpy(rd, "\x02ns\x00\x02hm\x00", 8);
	n = 8;
	uint32_t f[5] = { serial, 3600, 600, 86400, 300 };
	for (int i = 0; i < 5; i++) {
		rd[n++] = (uint8_t)(f[i] >> 24);
		rd[n++] = (uint8_t)(f[i] >> 16);
		rd[n++] = (uint8_t)(f[i] >> 8);
		rd[n++] = (uint8_t)f[i];
	}
	if (zone_add(z, apex, KNOT_RRTYPE_SOA, 300, rd, (uint16_t)n) != 0) {
		die("zone_add", -ENOMEM, NULL);
	}
}

/* The zone of serial, its A records salted by salt, in a shuffled order. */
static void make(zone_t *z, const knot_dname_t *apex, size_t n, uint32_t serial, uint32_t salt)
{
	zone_init(z);
	zone_set_apex(z, apex);
	zone_reserve(z, n + 1);
	soa(z, apex, serial);
	size_t *order = malloc(n * sizeof(*order));
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
	}
	srand(20261127);
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rand() % i, t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	for (size_t k = 0; k < n; k++) {
		char text[64];
		knot_dname_storage_t owner;
		snprintf(text, sizeof(text), "h%zu.bench.test.", order[k]);
		name(owner, text);
		uint32_t a = (uint32_t)order[k] * 2654435761u + salt;
		uint8_t rd[4] = { (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8),
			          (uint8_t)a };
		if (zone_add(z, owner, KNOT_RRTYPE_A, 300, rd, 4) != 0) {
			die("zone_add", -ENOMEM, NULL);
		}
	}
	free(order);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: store-bench DIR [N] [ROUNDS]\n");
		return 2;
	}
	const char *dir = argv[1];
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	if (rounds < 1 || rounds > 32) {
		rounds = 3;
	}
	knot_dname_storage_t apex;
	name(apex, "bench.test.");
	double t[5][32], ix[100];
	char err[512] = "", path[4200];
	struct stat sb = { 0 };
	for (int r = 0; r < rounds; r++) {
		static const char *const suffix[] = { "", "-wal", "-shm" };
		for (int i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s/state.db%s", dir, suffix[i]);
			unlink(path);
		}
		store_t *s;
		int ret = store_open(dir, &s, err, sizeof(err));
		if (ret != 0) {
			die("store_open", ret, err);
		}
		zone_t z;
		make(&z, apex, n, 1, 0);
		double t0 = now();
		if (zone_finish(&z) != 0) {
			die("zone_finish", -ENOMEM, NULL);
		}
		t[0][r] = now() - t0;
		t0 = now();
		if ((ret = store_zone_replace(s, apex, &z, err, sizeof(err))) != 0) {
			die("replace", ret, err);
		}
		t[1][r] = now() - t0;
		zone_free(&z);
		make(&z, apex, n, 2, 7);
		zone_finish(&z);
		t0 = now();
		if ((ret = store_zone_replace(s, apex, &z, err, sizeof(err))) != 0) {
			die("replace again", ret, err);
		}
		t[2][r] = now() - t0;
		zone_free(&z);
		for (uint32_t k = 0; k < 100; k++) {
			zone_delta_t d = { .from = 2 + k, .to = 3 + k };
			zone_init(&d.del);
			zone_init(&d.add);
			soa(&d.del, apex, 2 + k);
			soa(&d.add, apex, 3 + k);
			knot_dname_storage_t owner;
			char text[64];
			snprintf(text, sizeof(text), "new%u.bench.test.", k);
			name(owner, text);
			zone_add(&d.add, owner, KNOT_RRTYPE_A, 300, (const uint8_t *)"\x01\x02\x03\x04",
			         4);
			zone_finish(&d.del);
			zone_finish(&d.add);
			t0 = now();
			if ((ret = store_zone_apply(s, apex, &d, 1, err, sizeof(err))) != 0) {
				die("apply", ret, err);
			}
			ix[k] = now() - t0;
			zone_free(&d.del);
			zone_free(&d.add);
		}
		qsort(ix, 100, sizeof(ix[0]), cmp);
		t[3][r] = ix[50];
		t0 = now();
		if ((ret = store_zone_load(s, apex, &z)) != 0) {
			die("load", ret, NULL);
		}
		t[4][r] = now() - t0;
		if (z.count != n + 101) {
			die("load: wrong count", (int)z.count, NULL);
		}
		zone_free(&z);
		store_close(s);
		snprintf(path, sizeof(path), "%s/state.db", dir);
		stat(path, &sb);
	}
	static const char *const what[] = { "finish", "first", "again", "ixfr", "load" };
	for (int i = 0; i < 5; i++) {
		qsort(t[i], (size_t)rounds, sizeof(double), cmp);
		printf("%-8s median %.4f s (min %.4f, max %.4f)\n", what[i], t[i][rounds / 2],
		       t[i][0], t[i][rounds - 1]);
	}
	printf("state.db %.1f MB after the last round\n", (double)sb.st_size / 1e6);
	return 0;
}
