/* Fuzz the reader of the AWS credential documents (IMDS, ECS/EKS,
 * credential_process).  Whatever it accepts fits the fields, terminated,
 * with text that can go into a header; what it refuses is said without the
 * document's text.  Expiration strings are fuzzed through aws_time_parse
 * too. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/awsmeta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t size, int digits)
{
	size_t n = strnlen(s, size);
	if (n == size) {
		abort(); /* not terminated */
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (digits ? c < '0' || c > '9' : c <= 0x20 || c >= 0x7f) {
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	for (int process = 0; process < 2; process++) {
		aws_creds_t c;
		memset(&c, 0xa5, sizeof(c));
		char why[256];
		memset(why, 0xa5, sizeof(why));
		int ret = aws_creds_from_json(text, size, process, &c, why, sizeof(why));
		if (ret == 0) {
			check_text(c.access_key, sizeof(c.access_key), 0);
			check_text(c.secret_key, sizeof(c.secret_key), 0);
			check_text(c.session_token, sizeof(c.session_token), 0);
			check_text(c.account, sizeof(c.account), 1);
			if (c.access_key[0] == '\0' || c.secret_key[0] == '\0' || c.expires < 0) {
				abort();
			}
		} else if (ret != -EINVAL || strnlen(why, sizeof(why)) == sizeof(why)) {
			abort();
		}
	}
	/* The input as a time: -1 or a time that prints back to a valid one. */
	char *s = malloc(size + 1);
	if (s == NULL) {
		return 0;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	time_t t = aws_time_parse(s);
	if (t != -1) {
		struct tm tm;
		char back[64];
		if (t < 0 || gmtime_r(&t, &tm) == NULL ||
		    strftime(back, sizeof(back), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 ||
		    aws_time_parse(back) != t) {
			abort();
		}
	}
	free(s);
	return 0;
}
