/*
 * metrics-bench: the cost of the metrics registry on the paths that feed
 * it: one update (a NOTIFY counts two: received and accepted/refused), and
 * one scrape of a registry the size of a large deployment.
 *
 *   metrics-bench [ZONES]     (default 10000 zones, 2 targets each)
 *
 * Prints ns per update (0, 1 and 3 labels, one thread and four), the time
 * and size of one render, and the longest an update waited meanwhile.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "obs/metrics.h"

#define N 2000000

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile int rendering;
static double worst; /* the longest update while a render ran (s) */

/* Updates in a loop while the main thread renders: how long can a scrape
 * hold an update (a NOTIFY, a push's end) up? */
static void *during(void *arg)
{
	(void)arg;
	while (rendering) {
		double t = now();
		metrics_add(M_NOTIFY_ACCEPTED, 1, "example.com.");
		t = now() - t;
		if (t > worst) {
			worst = t;
		}
	}
	return NULL;
}

static void *updates(void *arg)
{
	(void)arg;
	for (int i = 0; i < N; i++) {
		metrics_add(M_NOTIFY_ACCEPTED, 1, "example.com.");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long zones = argc > 1 ? atol(argv[1]) : 10000;
	double t0 = now();
	for (int i = 0; i < N; i++) {
		metrics_add(M_NOTIFY_RECEIVED, 1);
	}
	double t1 = now();
	for (int i = 0; i < N; i++) {
		metrics_add(M_NOTIFY_ACCEPTED, 1, "example.com.");
	}
	double t2 = now();
	for (int i = 0; i < N; i++) {
		metrics_add(M_SYNCS, 1, "example.com.", "aws", "ok");
	}
	double t3 = now();
	printf("update, no label:      %6.1f ns\n", (t1 - t0) / N * 1e9);
	printf("update, 1 label:       %6.1f ns\n", (t2 - t1) / N * 1e9);
	printf("update, 3 labels:      %6.1f ns\n", (t3 - t2) / N * 1e9);
	pthread_t th[4];
	double t4 = now();
	for (int i = 0; i < 4; i++) {
		pthread_create(&th[i], NULL, updates, NULL);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
	}
	printf("update, 1 label, 4 threads at once: %6.1f ns per update\n",
	       (now() - t4) / (4.0 * N) * 1e9);

	/* A registry as the daemon fills it: per zone 5 gauges and counters,
	 * per (zone, target) 4 more and 3 results and 3 operations. */
	metrics_cleanup();
	char zone[64], target[16];
	for (long z = 0; z < zones; z++) {
		snprintf(zone, sizeof(zone), "zone%ld.example.", z);
		metrics_set(M_ZONE_SERIAL, 2026112701, zone);
		metrics_set(M_PRIMARY_SERIAL, 2026112701, zone);
		metrics_set(M_ZONE_EXPIRED, 0, zone);
		metrics_add(M_SOA_CHECKS, 1, zone, "same");
		metrics_add(M_TRANSFERS, 1, zone, "ixfr", "ok");
		for (int t = 0; t < 2; t++) {
			snprintf(target, sizeof(target), "t%d", t);
			metrics_set(M_TARGET_SERIAL, 2026112701, zone, target);
			metrics_set(M_TARGET_OK, 1, zone, target);
			metrics_set(M_LAST_SUCCESS, 1795000000, zone, target);
			metrics_add(M_SYNCS, 1, zone, target, "ok");
			metrics_add(M_RRSETS_CHANGED, 1, zone, target, "add");
			metrics_add(M_RRSETS_CHANGED, 1, zone, target, "change");
			metrics_add(M_RRSETS_CHANGED, 1, zone, target, "delete");
			metrics_observe(M_SYNC_DURATION, 0.2, target);
		}
	}
	size_t len = 0;
	rendering = 1;
	pthread_t bg;
	pthread_create(&bg, NULL, during, NULL);
	double t5 = now();
	char *text = metrics_render(&len);
	double t6 = now();
	rendering = 0;
	pthread_join(bg, NULL);
	size_t lines = 0;
	for (size_t i = 0; i < len; i++) {
		lines += text[i] == '\n';
	}
	printf("render, %ld zones x 2 targets: %zu lines, %.1f MB, %.1f ms; the longest update "
	       "meanwhile %.1f ms\n",
	       zones, lines, len / 1e6, (t6 - t5) * 1e3, worst * 1e3);
	free(text);
	metrics_cleanup();
	return 0;
}
