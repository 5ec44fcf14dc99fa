/* Fuzz the shared AWS config/credentials file parser and the STS answer
 * parser: files and answers are read from outside.  Whatever parses must
 * answer lookups of what it holds; nothing may crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/awscreds.h"
#include "net/awssts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	aws_ini_t *ini = aws_ini_parse((const char *)data, size);
	if (ini != NULL) {
		(void)aws_ini_get(ini, "default", "aws_access_key_id");
		(void)aws_ini_get(ini, "profile a", "role_arn");
		(void)aws_ini_has(ini, "a");
		aws_ini_free(ini);
	}
	aws_creds_t c;
	char why[300];
	if (aws_sts_parse((const char *)data, size, &c, why, sizeof(why)) == 0 &&
	    c.access_key[0] == '\0' && strlen(c.account) != 12) {
		abort(); /* success means credentials or an account */
	}
	char account[16];
	char *s = malloc(size + 1);
	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
		if (aws_arn_account(s, account) == 0 && strlen(account) != 12) {
			abort();
		}
		free(s);
	}
	return 0;
}
