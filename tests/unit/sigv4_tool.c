/*
 * Print the SigV4 Authorization of a request described on the command line,
 * for the botocore comparison in tests/system/test_sigv4_botocore.py:
 *   sigv4_tool METHOD HOST PATH DATE REGION SERVICE AKID SECRET TOKEN|- BODY
 *              [q NAME VALUE]... [h NAME VALUE]...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/sigv4.h"

int main(int argc, char **argv)
{
	if (argc < 11 || (argc - 11) % 3 != 0) {
		fprintf(stderr, "usage: see the source\n");
		return 2;
	}
	sigv4_pair_t q[64], h[64];
	size_t nq = 0, nh = 0;
	for (int i = 11; i + 2 < argc && nq < 64 && nh < 64; i += 3) {
		sigv4_pair_t p = { argv[i + 1], argv[i + 2] };
		if (strcmp(argv[i], "q") == 0) {
			q[nq++] = p;
		} else {
			h[nh++] = p;
		}
	}
	sigv4_request_t r = { .method = argv[1],
		              .host = argv[2],
		              .path = argv[3],
		              .amz_date = argv[4],
		              .region = argv[5],
		              .service = argv[6],
		              .query = q,
		              .nquery = nq,
		              .headers = h,
		              .nheaders = nh,
		              .body = argv[10],
		              .body_len = strlen(argv[10]) };
	sigv4_creds_t c = { argv[7], argv[8], strcmp(argv[9], "-") ? argv[9] : NULL };
	char *auth = sigv4_authorization(&r, &c);
	if (auth == NULL) {
		return 1;
	}
	printf("%s\n", auth);
	free(auth);
	return 0;
}
