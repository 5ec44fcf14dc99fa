#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/awsmeta.h"
#include "net/http.h"

extern char **environ;

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the document ---------------------------------------------------------- */

static void test_json_good(void **state)
{
	(void)state;
	char why[256];
	aws_creds_t c;
	const char *imds = "{\"Code\": \"Success\", \"LastUpdated\": \"2026-12-05T00:00:00Z\", "
	                   "\"Type\": \"AWS-HMAC\", \"AccessKeyId\": \"ASIAEXAMPLE\", "
	                   "\"SecretAccessKey\": \"s3cr3t/+=\", \"Token\": \"tok==\", "
	                   "\"Expiration\": \"2026-12-05T01:02:03Z\"}";
	assert_int_equal(aws_creds_from_json(imds, strlen(imds), 0, &c, why, sizeof(why)), 0);
	assert_string_equal(c.access_key, "ASIAEXAMPLE");
	assert_string_equal(c.secret_key, "s3cr3t/+=");
	assert_string_equal(c.session_token, "tok==");
	assert_int_equal(c.expires, 1796432523);
	assert_string_equal(c.account, "");

	/* credential_process: SessionToken, AccountId, no Expiration = static. */
	const char *proc = "{\"Version\": 1, \"AccessKeyId\": \"AKIAEXAMPLE\", "
	                   "\"SecretAccessKey\": \"sec\", \"SessionToken\": \"st\", "
	                   "\"AccountId\": \"123456789012\"}";
	memset(&c, 0x55, sizeof(c));
	assert_int_equal(aws_creds_from_json(proc, strlen(proc), 1, &c, why, sizeof(why)), 0);
	assert_string_equal(c.access_key, "AKIAEXAMPLE");
	assert_string_equal(c.session_token, "st");
	assert_string_equal(c.account, "123456789012");
	assert_int_equal(c.expires, 0);

	/* No token at all; null is absent; the longest of each fits. */
	char big[8192];
	char ak[129], sk[129], tok[4097];
	memset(ak, 'A', 128);
	ak[128] = '\0';
	memset(sk, 'S', 128);
	sk[128] = '\0';
	memset(tok, 'T', 4096);
	tok[4096] = '\0';
	snprintf(big, sizeof(big),
	         "{\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\",\"Token\":\"%s\","
	         "\"Expiration\":\"2026-12-05T02:02:03+01:00\",\"AccountId\":null}",
	         ak, sk, tok);
	assert_int_equal(aws_creds_from_json(big, strlen(big), 0, &c, why, sizeof(why)), 0);
	assert_string_equal(c.session_token, tok);
	assert_int_equal(c.expires, 1796432523);
	const char *notok = "{\"Version\":1,\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"b\","
	                    "\"Token\":null}";
	assert_int_equal(aws_creds_from_json(notok, strlen(notok), 1, &c, why, sizeof(why)), 0);
	assert_string_equal(c.session_token, "");
}

static void test_json_bad(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int process;
		const char *why;
	} cases[] = {
		{ "", 0, "empty" },
		{ "{", 0, "not JSON" },
		{ "garbage SECRETVALUE", 1, "not JSON" },
		{ "{\"SecretAccessKey\": \"SECRETVALUE", 1, "not JSON" },
		{ "{\"SecretAccessKey\": SECRETVALUE}", 1, "not JSON" },
		{ "[]", 0, "not a JSON object" },
		{ "\"x\"", 1, "not JSON" },
		{ "[{\"AccessKeyId\":\"a\"}]", 1, "not a JSON object" },
		{ "{\"SecretAccessKey\":\"SECRETVALUE\",\"Expiration\":\"2026-12-05T01:02:03Z\"}",
		  0, "AccessKeyId missing" },
		{ "{\"AccessKeyId\":\"a\",\"Expiration\":\"2026-12-05T01:02:03Z\"}", 0,
		  "SecretAccessKey missing" },
		{ "{\"AccessKeyId\":5,\"SecretAccessKey\":\"SECRETVALUE\"}", 0,
		  "AccessKeyId is not a string" },
		{ "{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"SECRETVALUE\"}", 0,
		  "AccessKeyId is empty" },
		{ "{\"AccessKeyId\":\"a\",\"SecretAccessKey\":[\"SECRETVALUE\"]}", 0,
		  "SecretAccessKey is not a string" },
		{ "{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRETVALUE\",\"Token\":1}", 0,
		  "Token is not a string" },
		{ "{\"Version\":1,\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRETVALUE\","
		  "\"SessionToken\":{}}",
		  1, "SessionToken is not a string" },
		{ "{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRET\\nVALUE\","
		  "\"Expiration\":\"2026-12-05T01:02:03Z\"}",
		  0, "SecretAccessKey holds a character" },
		/* jansson refuses \u0000 without JSON_ALLOW_NUL */
		{ "{\"AccessKeyId\":\"a\\u0000b\",\"SecretAccessKey\":\"SECRETVALUE\","
		  "\"Expiration\":\"2026-12-05T01:02:03Z\"}",
		  0, "not JSON" },
		{ "{\"AccessKeyId\":\"a\\u00e9\",\"SecretAccessKey\":\"SECRETVALUE\","
		  "\"Expiration\":\"2026-12-05T01:02:03Z\"}",
		  0, "AccessKeyId holds a character" },
		{ "{\"AccessKeyId\":\"a b\",\"SecretAccessKey\":\"SECRETVALUE\"}", 0,
		  "AccessKeyId holds a character" },
		{ "{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRETVALUE\"}", 0,
		  "Expiration missing" },
		{ "{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRETVALUE\",\"Expiration\":7}", 0,
		  "Expiration is not a string" },
		{ "{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRETVALUE\","
		  "\"Expiration\":\"tomorrow\"}",
		  0, "Expiration \"tomorrow\" is not an RFC 3339 time" },
		{ "{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRETVALUE\","
		  "\"Expiration\":\"2023-02-29T00:00:00Z\"}",
		  0, "is not an RFC 3339 time" },
		{ "{\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRETVALUE\"}", 1,
		  "Version missing" },
		{ "{\"Version\":2,\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRETVALUE\"}", 1,
		  "Version is not 1" },
		{ "{\"Version\":\"1\",\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRETVALUE\"}",
		  1, "Version is not 1" },
		{ "{\"Version\":1.0,\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRETVALUE\"}", 1,
		  "Version is not 1" },
		{ "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"x\",\"AccessKeyId\":"
		  "\"a\","
		  "\"SecretAccessKey\":\"SECRETVALUE\",\"Expiration\":\"2026-12-05T01:02:03Z\"}",
		  0, "Code is \"AssumeRoleUnauthorizedAccess\", not Success" },
		{ "{\"Code\":\"Bad\\u0001\\n\",\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"S\"}", 0,
		  "Code is \"Bad??\", not Success" },
		{ "{\"Code\":true,\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRETVALUE\"}", 0,
		  "Code is not a string" },
		{ "{\"Version\":1,\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRETVALUE\","
		  "\"AccountId\":\"12345678901x\"}",
		  1, "AccountId holds a character that is not a digit" },
		{ "{\"Version\":1,\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"SECRETVALUE\","
		  "\"AccountId\":\"1234567890123456\"}",
		  1, "AccountId is longer than 15 bytes" },
		{ "{\"Version\":1,\"AccessKeyId\":\"a\",\"AccessKeyId\":\"b\","
		  "\"SecretAccessKey\":\"SECRETVALUE\"}",
		  1, "not JSON" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[256] = "";
		aws_creds_t c;
		memset(&c, 0x55, sizeof(c));
		aws_creds_t before = c;
		const char *t = cases[i].text;
		int ret = aws_creds_from_json(t, strlen(t), cases[i].process, &c, why, sizeof(why));
		if (ret != -EINVAL || strstr(why, cases[i].why) == NULL ||
		    strstr(why, "SECRET") != NULL) {
			fail_msg("case %zu: %d '%s', wanted '%s'", i, ret, why, cases[i].why);
		}
		assert_memory_equal(&c, &before, sizeof(c)); /* untouched */
	}

	/* One byte too long, each field. */
	static const struct {
		const char *key;
		size_t len;
	} longs[] = { { "AccessKeyId", 129 },
		      { "SecretAccessKey", 129 },
		      { "Token", 4097 },
		      { "SessionToken", 4097 } };
	for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
		size_t size = longs[i].len + 256;
		char *v = malloc(longs[i].len + 1);
		char *doc = malloc(size);
		assert_non_null(v);
		assert_non_null(doc);
		memset(v, 'x', longs[i].len);
		v[longs[i].len] = '\0';
		snprintf(doc, size,
		         "{\"Version\":1,\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"b\",\"%s\":\"%"
		         "s\"}",
		         longs[i].key, v);
		/* the later key wins in the text: a duplicate is refused, so
		 * put it once only */
		if (strcmp(longs[i].key, "AccessKeyId") == 0 ||
		    strcmp(longs[i].key, "SecretAccessKey") == 0) {
			snprintf(doc, size, "{\"Version\":1,\"%s\":\"%s\",\"%s\":\"b\"}",
			         longs[i].key, v,
			         strcmp(longs[i].key, "AccessKeyId") == 0 ? "SecretAccessKey"
			                                                  : "AccessKeyId");
		}
		char why[256];
		aws_creds_t c;
		assert_int_equal(aws_creds_from_json(doc, strlen(doc), 1, &c, why, sizeof(why)),
		                 -EINVAL);
		assert_non_null(strstr(why, "is longer than"));
		assert_non_null(strstr(why, longs[i].key));
		free(v);
		free(doc);
	}

	/* A huge document (1 MiB string): refused, quickly, whole. */
	size_t hn = 1u << 20;
	char *huge = malloc(hn + 128);
	strcpy(huge, "{\"Version\":1,\"AccessKeyId\":\"a\",\"SecretAccessKey\":\"");
	size_t o = strlen(huge);
	memset(huge + o, 'k', hn);
	strcpy(huge + o + hn, "\"}");
	char why[256];
	aws_creds_t c;
	assert_int_equal(aws_creds_from_json(huge, strlen(huge), 1, &c, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "SecretAccessKey is longer than 128 bytes"));
	free(huge);
}

static void test_time(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		time_t t;
	} cases[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-12-05T01:02:03Z", 1796432523 },
		{ "2026-12-05T01:02:03.123456789Z", 1796432523 },
		{ "2026-12-05T01:02:03.9Z", 1796432523 },
		{ "2026-12-05T01:02:03+00:00", 1796432523 },
		{ "2026-12-05T01:02:03-00:00", 1796432523 },
		{ "2026-12-05T02:02:03+01:00", 1796432523 },
		{ "2026-12-04T20:02:03-05:00", 1796432523 },
		{ "2026-12-05T06:32:03+05:30", 1796432523 },
		{ "2026-12-05T01:02:03.5-00:00", 1796432523 },
		{ "2026-12-05t01:02:03z", 1796432523 },
		{ "2024-02-29T12:00:00Z", 1709208000 },
		{ "2000-02-29T00:00:00Z", 951782400 },
		{ "2026-12-31T23:59:59Z", 1798761599 },
		{ "2027-01-01T00:59:59+01:00", 1798761599 },
		{ "2026-12-31T23:59:60Z", 1798761600 }, /* a leap second: the next one */
		/* refused */
		{ "", -1 },
		{ "2026", -1 },
		{ "2026-12-05", -1 },
		{ "2026-12-05T01:02:03", -1 },
		{ "2026-12-05 01:02:03Z", -1 },
		{ "2026-12-05T01:02Z", -1 },
		{ "2026-12-05T01:02:03ZZ", -1 },
		{ "2026-12-05T01:02:03Z ", -1 },
		{ " 2026-12-05T01:02:03Z", -1 },
		{ "2026-12-05T01:02:03.Z", -1 },
		{ "2026-12-05T01:02:03+0100", -1 },
		{ "2026-12-05T01:02:03+01", -1 },
		{ "2026-12-05T01:02:03+24:00", -1 },
		{ "2026-12-05T01:02:03+01:60", -1 },
		{ "2026-12-05T01:02:03+01:00x", -1 },
		{ "2026-00-05T01:02:03Z", -1 },
		{ "2026-13-05T01:02:03Z", -1 },
		{ "2026-12-00T01:02:03Z", -1 },
		{ "2026-12-32T01:02:03Z", -1 },
		{ "2026-04-31T01:02:03Z", -1 },
		{ "2023-02-29T00:00:00Z", -1 },
		{ "2100-02-29T00:00:00Z", -1 },
		{ "2026-12-05T24:00:00Z", -1 },
		{ "2026-12-05T01:60:00Z", -1 },
		{ "2026-12-05T01:02:61Z", -1 },
		{ "2026-1-05T01:02:03Z", -1 },
		{ "+2026-12-05T01:02:03Z", -1 },
		{ "2026-12-05T01:02:03.-1Z", -1 },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "1970-01-01T00:30:00+01:00", -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t t = aws_time_parse(cases[i].s);
		if (t != cases[i].t) {
			fail_msg("'%s': %lld, wanted %lld", cases[i].s, (long long)t,
			         (long long)cases[i].t);
		}
	}
	assert_int_equal(aws_time_parse(NULL), -1);
}

/* --- the words of a command ------------------------------------------------ */

static void test_split(void **state)
{
	(void)state;
	static const struct {
		const char *cmd;
		const char *words; /* joined by '|', NULL: refused */
		int n;
	} cases[] = {
		{ "", "", 0 },
		{ " \t\n ", "", 0 },
		{ "aws", "aws", 1 },
		{ "  aws  configure\texport-credentials --profile x ",
		  "aws|configure|export-credentials|--profile|x", 5 },
		{ "a 'b c' d", "a|b c|d", 3 },
		{ "'$HOME' \"$HOME\"", "$HOME|$HOME", 2 },
		{ "a''b \"\" ''", "ab||", 3 },
		{ "\"a \\\" \\\\ \\$ \\` \\x\"", "a \" \\ $ ` \\x", 1 },
		{ "'a \\ b'", "a \\ b", 1 },
		{ "a\\ b c\\'d \\\"e\\\\", "a b|c'd|\"e\\", 3 },
		{ "x\"y\"'z'w", "xyzw", 1 },
		{ "a \\\n b", "a|b", 2 },
		{ "\"a\\\nb\"", "ab", 1 },
		{ "'a\nb'", "a\nb", 1 },
		{ "a 'b", NULL, 0 },
		{ "a \"b", NULL, 0 },
		{ "\"a\\\"", NULL, 0 },
		{ "a\\", NULL, 0 },
		{ "'", NULL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char **argv = (char **)1, why[128] = "";
		int n = aws_split_words(cases[i].cmd, &argv, why, sizeof(why));
		if (cases[i].words == NULL) {
			if (n != -EINVAL || argv != NULL || why[0] == '\0') {
				fail_msg("case %zu: %d, wanted -EINVAL", i, n);
			}
			continue;
		}
		char joined[256] = "";
		for (int k = 0; k < n; k++) {
			strcat(joined, k > 0 ? "|" : "");
			strcat(joined, argv[k]);
		}
		if (n != cases[i].n || strcmp(joined, cases[i].words) != 0 || argv[n] != NULL) {
			fail_msg("case %zu: %d '%s', wanted %d '%s'", i, n, joined, cases[i].n,
			         cases[i].words);
		}
		free(argv);
	}
	/* The most words in the least room (the bound of the one allocation). */
	char many[4001];
	for (int i = 0; i < 4000; i++) {
		many[i] = i % 2 ? ' ' : 'w';
	}
	many[4000] = '\0';
	char **argv, why[128];
	assert_int_equal(aws_split_words(many, &argv, why, sizeof(why)), 2000);
	free(argv);
	for (int i = 0; i < 4000; i++) {
		many[i] = i % 3 == 2 ? ' ' : '\'';
	}
	many[3999] = '\0'; /* "'' '' ... ''" */
	assert_int_equal(aws_split_words(many, &argv, why, sizeof(why)), 1333);
	assert_string_equal(argv[1332], "");
	free(argv);
}

/* --- credential_process ---------------------------------------------------- */

static char dir[256];

static const char *script(const char *name, const char *body)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	while (readdir(d) != NULL) {
		n++;
	}
	closedir(d);
	return n;
}

/* No child left behind, no descriptor either. */
static void no_leftovers(int fds)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(count_fds(), fds);
}

#define DOC                                                                                        \
	"{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"PROCSECRET\", "    \
	"\"SessionToken\": \"PROCTOKEN\", \"Expiration\": \"2026-12-05T01:02:03Z\", "              \
	"\"AccountId\": \"123456789012\"}"

static void test_process_good(void **state)
{
	(void)state;
	int fds = count_fds();
	/* stdin is /dev/null (cat ends at once); our environment is passed;
	 * the words are split, quotes removed. */
	setenv("AWSMETA_TEST_KEY", "AKIDFROMENV", 1);
	const char *p = script("good.sh", "cat\n"
	                                  "printf '{\"Version\": 1, \"AccessKeyId\": \"%s\", '"
	                                  " \"$AWSMETA_TEST_KEY\"\n"
	                                  "printf '\"SecretAccessKey\": \"%s\", ' \"$1\"\n"
	                                  "printf '\"SessionToken\": \"%s\"}' \"$2\"\n"
	                                  "echo 'a warning' >&2");
	char cmd[1024], why[512] = "";
	snprintf(cmd, sizeof(cmd), "%s 'SE'\"CR\"ET \\TOK\"EN\"", p);
	aws_creds_t c;
	memset(&c, 0, sizeof(c));
	int ret = aws_process_fetch(cmd, &c, why, sizeof(why));
	if (ret != 0) {
		fail_msg("%d %s", ret, why);
	}
	assert_string_equal(c.access_key, "AKIDFROMENV");
	assert_string_equal(c.secret_key, "SECRET");
	assert_string_equal(c.session_token, "TOKEN");
	assert_int_equal(c.expires, 0);
	char want[600];
	snprintf(want, sizeof(want), "credential_process (%s)", p);
	assert_string_equal(c.source, want);
	unsetenv("AWSMETA_TEST_KEY");

	/* Found on PATH (posix_spawnp). */
	char path[1024];
	snprintf(path, sizeof(path), "%s:%s", dir, getenv("PATH"));
	char *old = strdup(getenv("PATH"));
	setenv("PATH", path, 1);
	script("doc.sh", "echo '" DOC "'");
	ret = aws_process_fetch("doc.sh --any", &c, why, sizeof(why));
	setenv("PATH", old, 1);
	free(old);
	assert_int_equal(ret, 0);
	assert_string_equal(c.access_key, "AKIDPROC");
	assert_string_equal(c.account, "123456789012");
	assert_int_equal(c.expires, 1796432523);
	assert_string_equal(c.source, "credential_process (doc.sh)");
	no_leftovers(fds);
}

static void test_process_fails(void **state)
{
	(void)state;
	int fds = count_fds();
	char why[512], cmd[1024];
	aws_creds_t c;
	int ret;

	/* Exit 3: the status and the last non-empty line of stderr, never
	 * what it wrote on stdout. */
	const char *p =
	        script("exit3.sh", "echo '" DOC "'\n"
	                           "echo 'first line' >&2\n"
	                           "printf 'Error: the SSO session expired\\t \\n\\n  \\n' >&2\n"
	                           "exit 3");
	ret = aws_process_fetch(p, &c, why, sizeof(why));
	assert_int_equal(ret, -ECHILD);
	char want[700];
	snprintf(want, sizeof(want),
	         "credential_process (%s): exit status 3: Error: the SSO session expired", p);
	assert_string_equal(why, want);

	/* A long line of stderr with control bytes: 200 printable chars. */
	p = script("noisy.sh", "printf 'x\\001\\033' >&2; head -c 500 /dev/zero | tr '\\0' y >&2;"
	                       " exit 1");
	ret = aws_process_fetch(p, &c, why, sizeof(why));
	assert_int_equal(ret, -ECHILD);
	const char *line = strstr(why, "exit status 1: ");
	assert_non_null(line);
	line += strlen("exit status 1: ");
	assert_int_equal(strlen(line), 200);
	assert_memory_equal(line, "x??yyy", 6);

	/* Killed by a signal, nothing on stderr. */
	p = script("killed.sh", "kill -9 $$");
	assert_int_equal(aws_process_fetch(p, &c, why, sizeof(why)), -ECHILD);
	assert_non_null(strstr(why, "killed by signal 9"));

	/* Garbage on stdout: said so, never shown. */
	p = script("garbage.sh", "echo 'AKIDGARBAGE SECRETGARBAGE'");
	assert_int_equal(aws_process_fetch(p, &c, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not JSON"));
	assert_null(strstr(why, "GARBAGE"));

	/* A document without Version. */
	p = script("nover.sh", "echo '{\"AccessKeyId\": \"a\", \"SecretAccessKey\": \"b\"}'");
	assert_int_equal(aws_process_fetch(p, &c, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "Version missing"));

	/* More than 64 KiB on stdout: killed (it would write forever). */
	p = script("big.sh", "yes '" DOC "'");
	double t0 = mono();
	assert_int_equal(aws_process_fetch(p, &c, why, sizeof(why)), -EFBIG);
	assert_true(mono() - t0 < 5);
	assert_non_null(strstr(why, "more than 64 KiB"));
	assert_null(strstr(why, "SECRET"));
	/* Exactly 64 KiB of blanks after the document is still read. */
	p = script("full.sh", "d='" DOC "'; printf '%s' \"$d\"; "
	                      "head -c $((65536 - ${#d})) /dev/zero | tr '\\0' ' '");
	ret = aws_process_fetch(p, &c, why, sizeof(why));
	if (ret != 0 || strcmp(c.access_key, "AKIDPROC") != 0) {
		fail_msg("%d %s", ret, why);
	}
	p = script("over.sh", "d='" DOC "'; printf '%s' \"$d\"; "
	                      "head -c $((65537 - ${#d})) /dev/zero | tr '\\0' ' '");
	assert_int_equal(aws_process_fetch(p, &c, why, sizeof(why)), -EFBIG);

	/* Too slow: killed at the limit, with what it started (its own
	 * process group), and reaped. */
	p = script("slow.sh", "sleep 30 &\nsleep 30");
	t0 = mono();
	assert_int_equal(aws_process_run(p, 500, &c, why, sizeof(why)), -ETIMEDOUT);
	double took = mono() - t0;
	assert_true(took >= 0.45 && took < 3);
	assert_non_null(strstr(why, "no answer within 0.5 s, killed"));
	/* Closes its output but lives on: still bounded by the limit. */
	p = script("lingers.sh", "exec >/dev/null 2>&1; sleep 30");
	t0 = mono();
	assert_int_equal(aws_process_run(p, 500, &c, why, sizeof(why)), -ETIMEDOUT);
	assert_true(mono() - t0 < 3);

	/* Not found; not split. */
	assert_int_equal(aws_process_fetch("/nonexistent/aws-sso-helper x", &c, why, sizeof(why)),
	                 -ENOENT);
	assert_non_null(strstr(why, "credential_process (/nonexistent/aws-sso-helper): cannot "
	                            "run it"));
	assert_int_equal(aws_process_fetch("helper 'x", &c, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "credential_process: unclosed single quote");
	assert_int_equal(aws_process_fetch("  ", &c, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "credential_process: empty command");
	snprintf(cmd, sizeof(cmd), "%s/not-executable", dir);
	FILE *f = fopen(cmd, "w");
	fclose(f);
	assert_int_equal(aws_process_fetch(cmd, &c, why, sizeof(why)), -EACCES);
	no_leftovers(fds);
}

/* --- a small HTTP server ---------------------------------------------------- */

enum mode { IMDS, IMDS_NOROLE, IMDS_CODE, IMDS_HANG, ECS, ECS_5XX, ECS_401 };

typedef struct {
	int lfd, port, stop[2];
	enum mode mode;
	pthread_t th;
	pthread_mutex_t mu;
	int count;      /* requests seen */
	char log[4096]; /* one line each: METHOD PATH ttl=.. token=.. auth=.. */
} srv_t;

#define TOKEN "AQAEAtoken-v2=="

/* The value of header name in the request head h, or "-". */
static void header(const char *h, const char *name, char *out, size_t size)
{
	snprintf(out, size, "-");
	size_t n = strlen(name);
	for (const char *l = strstr(h, "\r\n"); l != NULL; l = strstr(l + 2, "\r\n")) {
		if (strncasecmp(l + 2, name, n) == 0 && l[2 + n] == ':') {
			const char *v = l + 3 + n;
			while (*v == ' ') {
				v++;
			}
			size_t vn = strcspn(v, "\r\n");
			snprintf(out, size, "%.*s", (int)vn, v);
			return;
		}
	}
}

static void reply(int fd, int status, const char *body)
{
	char buf[8192];
	int n = snprintf(buf, sizeof(buf),
	                 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
	                 status, strlen(body), body);
	assert_true(write(fd, buf, (size_t)n) == n);
}

#define IMDS_DOC                                                                                   \
	"{\"Code\": \"Success\", \"LastUpdated\": \"2026-12-05T00:00:00Z\", \"Type\": "            \
	"\"AWS-HMAC\", \"AccessKeyId\": \"ASIAIMDS\", \"SecretAccessKey\": \"IMDSSECRET\", "       \
	"\"Token\": \"IMDSTOKEN\", \"Expiration\": \"2026-12-05T01:02:03Z\"}"
#define ECS_DOC                                                                                    \
	"{\"AccessKeyId\": \"ASIAECS\", \"SecretAccessKey\": \"ECSSECRET\", \"Token\": "           \
	"\"ECSTOKEN\", \"AccountId\": \"210987654321\", \"RoleArn\": \"arn:aws:iam::210987654321:" \
	"role/r\", \"Expiration\": \"2026-12-05T02:02:03+01:00\"}"

static void answer(srv_t *s, int fd, const char *method, const char *path, const char *h)
{
	char ttl[64], tok[128], auth[256];
	header(h, "X-aws-ec2-metadata-token-ttl-seconds", ttl, sizeof(ttl));
	header(h, "X-aws-ec2-metadata-token", tok, sizeof(tok));
	header(h, "Authorization", auth, sizeof(auth));
	pthread_mutex_lock(&s->mu);
	int count = ++s->count;
	size_t l = strlen(s->log);
	snprintf(s->log + l, sizeof(s->log) - l, "%s %s ttl=%s token=%s auth=%s\n", method, path,
	         ttl, tok, auth);
	pthread_mutex_unlock(&s->mu);
	const char *list = "/latest/meta-data/iam/security-credentials/";
	switch (s->mode) {
	case IMDS:
	case IMDS_NOROLE:
	case IMDS_CODE:
		if (strcmp(method, "PUT") == 0 && strcmp(path, "/latest/api/token") == 0) {
			if (strcmp(ttl, "21600") != 0) {
				reply(fd, 400, "");
			} else {
				reply(fd, 200, TOKEN);
			}
		} else if (strcmp(method, "GET") != 0 || strcmp(tok, TOKEN) != 0) {
			reply(fd, 401, "");
		} else if (strcmp(path, list) == 0) {
			if (s->mode == IMDS_NOROLE) {
				reply(fd, 404, "<html>not found</html>");
			} else {
				reply(fd, 200, "test-role\n");
			}
		} else if (strncmp(path, list, strlen(list)) == 0 &&
		           strcmp(path + strlen(list), "test-role") == 0) {
			reply(fd, 200,
			      s->mode == IMDS_CODE ? "{\"Code\": \"AssumeRoleUnauthorizedAccess\", "
			                             "\"Message\": \"no\"}"
			                           : IMDS_DOC);
		} else {
			reply(fd, 404, "");
		}
		break;
	case IMDS_HANG:
		break; /* the caller waits for the client to go */
	case ECS:
		if (strcmp(auth, "Bearer eks-token") != 0) {
			reply(fd, 401, "{\"code\": \"AccessDenied\", \"message\": \"bad token\"}");
		} else {
			reply(fd, 200, ECS_DOC);
		}
		break;
	case ECS_5XX:
		reply(fd, count < 3 ? 500 : 200, count < 3 ? "" : ECS_DOC);
		break;
	case ECS_401:
		reply(fd, 401, "{\"code\": \"AccessDenied\", \"message\": \"bad\\ntoken\"}");
		break;
	}
}

static void *serve(void *arg)
{
	srv_t *s = arg;
	for (;;) {
		struct pollfd p[2] = { { .fd = s->lfd, .events = POLLIN },
			               { .fd = s->stop[0], .events = POLLIN } };
		if (poll(p, 2, -1) < 0 || p[1].revents != 0) {
			break;
		}
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0) {
			continue;
		}
		char req[8192];
		size_t n = 0;
		while (n < sizeof(req) - 1) {
			struct pollfd q = { .fd = fd, .events = POLLIN };
			if (poll(&q, 1, 3000) <= 0) {
				break;
			}
			ssize_t r = read(fd, req + n, sizeof(req) - 1 - n);
			if (r <= 0) {
				break;
			}
			n += (size_t)r;
			req[n] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL) {
				char method[16], path[1024];
				if (sscanf(req, "%15s %1023s", method, path) == 2) {
					answer(s, fd, method, path, req);
				}
				break;
			}
		}
		if (s->mode == IMDS_HANG) {
			/* Never answer: wait for the client to give up. */
			struct pollfd q[2] = { { .fd = fd, .events = POLLIN },
				               { .fd = s->stop[0], .events = POLLIN } };
			poll(q, 2, 10000);
		}
		close(fd);
	}
	return NULL;
}

static int free_port(int *lfd)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	if (lfd != NULL) {
		assert_int_equal(listen(fd, 16), 0);
		*lfd = fd;
	} else {
		close(fd);
	}
	return ntohs(a.sin_port);
}

static void srv_start(srv_t *s, enum mode mode)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->port = free_port(&s->lfd);
	assert_int_equal(pipe2(s->stop, O_CLOEXEC), 0);
	pthread_mutex_init(&s->mu, NULL);
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void srv_stop(srv_t *s)
{
	assert_int_equal(write(s->stop[1], "x", 1), 1);
	pthread_join(s->th, NULL);
	close(s->stop[0]);
	close(s->stop[1]);
	close(s->lfd);
	pthread_mutex_destroy(&s->mu);
}

static void imds_env(const srv_t *s)
{
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d/", s->port); /* the slash is stripped */
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
	unsetenv("AWS_EC2_METADATA_DISABLED");
}

static void test_imds(void **state)
{
	(void)state;
	srv_t s;
	srv_start(&s, IMDS);
	imds_env(&s);
	aws_creds_t c;
	char why[512] = "";
	int ret = aws_imds_fetch(&c, why, sizeof(why));
	if (ret != 0) {
		fail_msg("%d %s", ret, why);
	}
	assert_string_equal(c.access_key, "ASIAIMDS");
	assert_string_equal(c.secret_key, "IMDSSECRET");
	assert_string_equal(c.session_token, "IMDSTOKEN");
	assert_int_equal(c.expires, 1796432523);
	assert_string_equal(c.source, "instance metadata (role test-role)");
	/* The token first, then both reads with it; no IMDSv1 request. */
	assert_string_equal(s.log,
	                    "PUT /latest/api/token ttl=21600 token=- auth=-\n"
	                    "GET /latest/meta-data/iam/security-credentials/ ttl=- token=" TOKEN
	                    " auth=-\n"
	                    "GET /latest/meta-data/iam/security-credentials/test-role ttl=- "
	                    "token=" TOKEN " auth=-\n");

	/* Turned off, in any case: nothing asked. */
	setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
	assert_int_equal(aws_imds_fetch(&c, why, sizeof(why)), -ENOENT);
	assert_string_equal(why, "instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
	assert_int_equal(s.count, 3);
	setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
	assert_int_equal(aws_imds_fetch(&c, why, sizeof(why)), 0);
	srv_stop(&s);

	srv_start(&s, IMDS_NOROLE);
	imds_env(&s);
	assert_int_equal(aws_imds_fetch(&c, why, sizeof(why)), -ENOENT);
	assert_string_equal(why, "instance metadata: no IAM role attached to the instance");
	srv_stop(&s);

	srv_start(&s, IMDS_CODE);
	imds_env(&s);
	assert_int_equal(aws_imds_fetch(&c, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "instance metadata (role test-role): Code is "
	                         "\"AssumeRoleUnauthorizedAccess\", not Success");
	srv_stop(&s);

	/* Nobody there: a plain error, at once. */
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", free_port(NULL));
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
	double t0 = mono();
	ret = aws_imds_fetch(&c, why, sizeof(why));
	assert_true(ret < 0 && ret != -ETIMEDOUT);
	assert_true(mono() - t0 < 1);
	assert_non_null(strstr(why, "instance metadata: PUT "));
	assert_null(strstr(why, "hop limit"));

	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ftp://127.0.0.1", 1);
	assert_int_equal(aws_imds_fetch(&c, why, sizeof(why)), -EINVAL);
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	unsetenv("AWS_EC2_METADATA_DISABLED");
}

/* A token request that gets no answer (the hop limit of 1 in a container):
 * -ETIMEDOUT after a second, and why names the fix. */
static void test_imds_hang(void **state)
{
	(void)state;
	srv_t s;
	srv_start(&s, IMDS_HANG);
	imds_env(&s);
	aws_creds_t c;
	char why[512];
	double t0 = mono();
	int ret = aws_imds_fetch(&c, why, sizeof(why));
	double took = mono() - t0;
	srv_stop(&s);
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	assert_int_equal(ret, -ETIMEDOUT);
	assert_true(took >= 0.9 && took < 2.5);
	char want[128];
	snprintf(want, sizeof(want),
	         "instance metadata: no answer to the IMDSv2 token request from "
	         "http://127.0.0.1:%d within 1 s",
	         s.port);
	assert_memory_equal(why, want, strlen(want));
	assert_non_null(strstr(why, "hop limit must be 2"));
	assert_non_null(strstr(why, "--http-put-response-hop-limit 2"));
	assert_int_equal(s.count, 1);
}

static void container_env_clear(void)
{
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
}

static void test_container_uri(void **state)
{
	(void)state;
	static const struct {
		const char *uri;
		bool ok;
	} cases[] = {
		{ "https://creds.example.com/v1?x=1", true },
		{ "HTTPS://198.51.100.1/", true },
		{ "http://127.0.0.1:8080/creds", true },
		{ "http://127.1.2.3/creds", true },
		{ "http://localhost:9911/get-credentials", true },
		{ "http://LOCALHOST/", true },
		{ "http://[::1]:8080/creds", true },
		{ "http://[::1]", true },
		{ "http://169.254.170.2/v2/credentials/abc", true },
		{ "http://169.254.170.23/v1/credentials", true },
		{ "http://[fd00:ec2::23]/v1/credentials", true },
		{ "http://[fd00:0ec2:0:0:0:0:0:0023]:80/", true },
		{ "http://127.0.0.1", true },
		{ "http://127.0.0.1?x", true },
		{ "http://198.51.100.1/creds", false },
		{ "http://169.254.170.3/", false },
		{ "http://169.254.169.254/latest", false },
		{ "http://[fd00:ec2::24]/", false },
		{ "http://[::2]/", false },
		{ "http://creds.example.com/", false },
		{ "http://localhost.example.com/", false },
		{ "http://127.0.0.1.example.com/", false },
		{ "http://127.0.0.1@evil.example/", false },
		{ "http://evil.example\\@127.0.0.1/", false },
		{ "http://[::1/", false },
		{ "http://[::1]x/", false },
		{ "http://2130706433/", false },
		{ "http:///creds", false },
		{ "ftp://127.0.0.1/", false },
		{ "127.0.0.1/creds", false },
		{ "", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[512] = "";
		int ret = aws_container_uri_check(cases[i].uri, why, sizeof(why));
		if ((ret == 0) != cases[i].ok || (ret != 0 && (ret != -EINVAL || why[0] == '\0'))) {
			fail_msg("'%s': %d %s", cases[i].uri, ret, why);
		}
	}
	char why[512];
	aws_container_uri_check("http://198.51.100.1:80/creds", why, sizeof(why));
	assert_string_equal(why, "container: AWS_CONTAINER_CREDENTIALS_FULL_URI is plain http to "
	                         "198.51.100.1:80, which is not a loopback address, "
	                         "169.254.170.2, 169.254.170.23 or fd00:ec2::23 (use https)");

	/* Through the fetch: refused before any request. */
	container_env_clear();
	aws_creds_t c;
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://198.51.100.1/creds", 1);
	assert_int_equal(aws_ecs_fetch(&c, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not a loopback address"));
	container_env_clear();
	assert_int_equal(aws_ecs_fetch(&c, why, sizeof(why)), -ENOENT);
	assert_string_equal(why, "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
	                         "AWS_CONTAINER_CREDENTIALS_FULL_URI not set");
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/x", 1);
	assert_int_equal(aws_ecs_fetch(&c, why, sizeof(why)), -EINVAL);
	container_env_clear();
}

static void test_ecs(void **state)
{
	(void)state;
	container_env_clear();
	srv_t s;
	srv_start(&s, ECS);
	char uri[128], tf[512], why[512] = "";
	snprintf(uri, sizeof(uri), "http://localhost:%d/v1/credentials?secret=1", s.port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);

	/* The token from the file (EKS Pod Identity), trimmed, winning over
	 * the variable. */
	snprintf(tf, sizeof(tf), "%s/eks-token", dir);
	FILE *f = fopen(tf, "w");
	fputs("  Bearer eks-token\n", f);
	fclose(f);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tf, 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
	aws_creds_t c;
	int ret = aws_ecs_fetch(&c, why, sizeof(why));
	if (ret != 0) {
		fail_msg("%d %s", ret, why);
	}
	assert_string_equal(c.access_key, "ASIAECS");
	assert_string_equal(c.secret_key, "ECSSECRET");
	assert_string_equal(c.session_token, "ECSTOKEN");
	assert_string_equal(c.account, "210987654321");
	assert_int_equal(c.expires, 1796432523);
	char want[700];
	snprintf(want, sizeof(want), "container credentials (http://localhost:%d/v1/credentials)",
	         s.port);
	assert_string_equal(c.source, want);
	snprintf(want, sizeof(want),
	         "GET /v1/credentials?secret=1 ttl=- token=- auth=Bearer eks-token\n");
	assert_string_equal(s.log, want);

	/* From the variable. */
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer eks-token", 1);
	assert_int_equal(aws_ecs_fetch(&c, why, sizeof(why)), 0);

	/* A wrong token: the status and the error document's words. */
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer other", 1);
	assert_int_equal(aws_ecs_fetch(&c, why, sizeof(why)), -EACCES);
	snprintf(want, sizeof(want),
	         "container: GET http://localhost:%d/v1/credentials: HTTP 401: AccessDenied: bad "
	         "token",
	         s.port);
	assert_string_equal(why, want);

	/* A token that would add a header: refused, nothing sent. */
	int before = s.count;
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer x\r\nX-Evil: 1", 1);
	assert_int_equal(aws_ecs_fetch(&c, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "container: the token of AWS_CONTAINER_AUTHORIZATION_TOKEN holds "
	                         "a line break or a NUL");
	f = fopen(tf, "w");
	fputs("Bearer a\nb\n", f);
	fclose(f);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tf, 1);
	assert_int_equal(aws_ecs_fetch(&c, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE holds a line break"));
	/* A file that is not there. */
	snprintf(tf, sizeof(tf), "%s/missing-token", dir);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tf, 1);
	assert_int_equal(aws_ecs_fetch(&c, why, sizeof(why)), -EINVAL);
	snprintf(want, sizeof(want),
	         "container: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: no such file", tf);
	assert_string_equal(why, want);
	assert_int_equal(s.count, before);
	srv_stop(&s);
	container_env_clear();
}

/* 5xx is tried again, three times in all; then success. */
static void test_ecs_retry(void **state)
{
	(void)state;
	container_env_clear();
	srv_t s;
	srv_start(&s, ECS_5XX);
	char uri[128], why[512] = "";
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/creds", s.port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
	aws_creds_t c;
	int ret = aws_ecs_fetch(&c, why, sizeof(why));
	if (ret != 0) {
		fail_msg("%d %s", ret, why);
	}
	assert_int_equal(s.count, 3);
	assert_string_equal(c.access_key, "ASIAECS");
	srv_stop(&s);

	/* A 401 is not: one request. */
	srv_start(&s, ECS_401);
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/creds", s.port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
	assert_int_equal(aws_ecs_fetch(&c, why, sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "HTTP 401: AccessDenied: bad?token"));
	assert_int_equal(s.count, 1);
	srv_stop(&s);

	/* Nobody there: three attempts, then said without the URL's user
	 * or query. */
	int port = free_port(NULL);
	snprintf(uri, sizeof(uri), "https://user:PASSWORD@127.0.0.1:%d/creds?k=SECRET", port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
	assert_int_equal(aws_ecs_fetch(&c, why, sizeof(why)), -EIO);
	char want[128];
	snprintf(want, sizeof(want), "container: GET https://127.0.0.1:%d/creds: ", port);
	assert_memory_equal(why, want, strlen(want));
	assert_non_null(strstr(why, "(3 attempts)"));
	assert_null(strstr(why, "PASSWORD"));
	assert_null(strstr(why, "SECRET"));
	container_env_clear();
}

/* The real thing as the system tests know it: moto_server's IMDS. */
static void test_moto(void **state)
{
	(void)state;
	char *path = getenv("PATH") != NULL ? strdup(getenv("PATH")) : NULL;
	bool found = false;
	for (char *d = path != NULL ? strtok(path, ":") : NULL; d != NULL && !found;
	     d = strtok(NULL, ":")) {
		char p[1024];
		snprintf(p, sizeof(p), "%s/moto_server", d);
		found = access(p, X_OK) == 0;
	}
	free(path);
	if (!found) {
		skip();
	}
	int port = free_port(NULL);
	char ports[16];
	snprintf(ports, sizeof(ports), "%d", port);
	char *argv[] = { "moto_server", "-p", ports, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	pid_t pid;
	assert_int_equal(posix_spawnp(&pid, "moto_server", &fa, &attr, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	/* Up within 30 s. */
	bool up = false;
	for (int i = 0; i < 300 && !up; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = { .sin_family = AF_INET,
			                 .sin_port = htons((uint16_t)port),
			                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		up = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (!up) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	char ep[64], why[512] = "";
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
	unsetenv("AWS_EC2_METADATA_DISABLED");
	aws_creds_t c;
	int ret = up ? aws_imds_fetch(&c, why, sizeof(why)) : -1;
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	kill(-pid, SIGTERM);
	waitpid(pid, NULL, 0);
	if (!up) {
		fail_msg("moto_server did not start on port %d", port);
	}
	if (ret != 0) {
		fail_msg("%d %s", ret, why);
	}
	assert_string_equal(c.access_key, "test-key");
	assert_string_equal(c.secret_key, "test-secret-key");
	assert_string_equal(c.session_token, "test-session-token");
	assert_string_equal(c.source, "instance metadata (role default-role)");
	assert_true(c.expires > time(NULL));
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_awsmeta.XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	http_global_init();
	/* Only what a test sets: none of the caller's AWS settings. */
	unsetenv("AWS_EC2_METADATA_DISABLED");
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("https_proxy");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_good),     cmocka_unit_test(test_json_bad),
		cmocka_unit_test(test_time),          cmocka_unit_test(test_split),
		cmocka_unit_test(test_process_good),  cmocka_unit_test(test_process_fails),
		cmocka_unit_test(test_imds),          cmocka_unit_test(test_imds_hang),
		cmocka_unit_test(test_container_uri), cmocka_unit_test(test_ecs),
		cmocka_unit_test(test_ecs_retry),     cmocka_unit_test(test_moto),
	};
	int ret = cmocka_run_group_tests(tests, setup, teardown);
	http_global_cleanup();
	return ret;
}
