/* Fuzz Route 53's name and TXT text parsers; whatever parses must print
 * back to text that parses to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/dname.h>

#include "target/route53/r53text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL) {
		return 0;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	knot_dname_storage_t w, w2;
	char text[4 * KNOT_DNAME_MAXLEN + 8];
	int len = r53_name_to_wire(s, w);
	if (len > 0) {
		if (knot_dname_wire_check(w, w + len, NULL) != len ||
		    r53_name_from_wire(w, text, sizeof(text)) < 0 ||
		    r53_name_to_wire(text, w2) != len || memcmp(w, w2, (size_t)len) != 0) {
			abort();
		}
	}
	static uint8_t rd[65536], rd2[65536];
	static char v[4 * 65536 + 1024];
	len = r53_txt_to_rdata(s, rd, sizeof(rd));
	if (len > 0) {
		if (r53_txt_from_rdata(rd, (size_t)len, v, sizeof(v)) < 0 ||
		    r53_txt_to_rdata(v, rd2, sizeof(rd2)) != len ||
		    memcmp(rd, rd2, (size_t)len) != 0) {
			abort();
		}
	}
	free(s);
	return 0;
}
