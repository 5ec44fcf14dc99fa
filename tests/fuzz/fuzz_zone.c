/*
 * Fuzz the zone loader.  Beyond "no crash", check a property: whatever
 * loads must write back to text that loads to the same zone.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zone/diff.h"
#include "zone/zonefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	zone_t a, b;
	zone_error_t err;
	if (zone_load_string(&a, "fuzz", (const char *)data, size, NULL, &err) != 0) {
		if (err.msg[0] == '\0') {
			abort(); /* every failure must say why */
		}
		return 0;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL || zone_write(&a, f) != 0) {
		abort();
	}
	fclose(f);
	if (zone_load_string(&b, "written", text, len, NULL, &err) != 0) {
		fprintf(stderr, "written zone does not load: %s\n%s\n", err.msg, text);
		abort();
	}
	zone_diff_t d;
	if (zone_diff(&a, &b, &d) != 0 || d.count != 0 || a.count != b.count) {
		fprintf(stderr, "written zone differs\n%s\n", text);
		abort();
	}
	zone_diff_free(&d);
	free(text);
	zone_free(&b);
	zone_free(&a);
	return 0;
}
