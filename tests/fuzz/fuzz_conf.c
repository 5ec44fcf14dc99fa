/* Fuzz the configuration loader: YAML parsing and every check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf/conf.h"
#include "target/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	conf_t conf;
	char *msgs = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&msgs, &len);
	if (errs == NULL) {
		return 0;
	}
	int ret = conf_load_string(&conf, "fuzz.yaml", (const char *)data, size, target_registry, errs);
	fclose(errs);
	if (ret == 0) {
		/* A reload of the same text changes no zone: conf_zone_same() is
		 * reflexive (no stray bytes in the compared addresses). */
		conf_t again;
		if (conf_load_string(&again, "fuzz.yaml", (const char *)data, size, target_registry, NULL) != 0 ||
		    again.nzone != conf.nzone) {
			abort();
		}
		for (size_t i = 0; i < conf.nzone; i++) {
			if (!conf_zone_same(&conf.zone[i], &again.zone[i])) {
				abort();
			}
		}
		conf_free(&again);
		conf_free(&conf);
	} else if (len == 0) {
		abort(); /* a refused config must say why */
	}
	free(msgs);
	return 0;
}
