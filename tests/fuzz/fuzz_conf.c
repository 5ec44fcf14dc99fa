/* Fuzz the configuration loader: YAML parsing and every check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf/conf.h"

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
	int ret = conf_load_string(&conf, "fuzz.yaml", (const char *)data, size, errs);
	fclose(errs);
	if (ret == 0) {
		conf_free(&conf);
	} else if (len == 0) {
		abort(); /* a refused config must say why */
	}
	free(msgs);
	return 0;
}
