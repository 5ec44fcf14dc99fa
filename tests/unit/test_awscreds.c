/*
 * The AWS credential chain's local part: the shared files as botocore
 * reads them, the order of the sources, and the errors that name every
 * source tried.  The network sources (STS, IMDS, ECS) are proved against
 * moto in tests/system/test_aws_credentials.py; here instance metadata is
 * turned off (AWS_EC2_METADATA_DISABLED) so that no test leaves the host.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/awscreds.h"
#include "net/awssts.h"

static char dir[64], cred[128], conf[128];

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/zs-creds-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(cred, sizeof(cred), "%s/credentials", dir);
	snprintf(conf, sizeof(conf), "%s/config", dir);
	static const char *const clear[] = {
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	};
	for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++) {
		unsetenv(clear[i]);
	}
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
	setenv("AWS_CONFIG_FILE", conf, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	/* STS on a port nothing listens on: a test that reaches it fails fast. */
	setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(cred);
	unlink(conf);
	rmdir(dir);
	aws_sources_cleanup();
	return 0;
}

/* One fresh lookup (sources are cached: each test asks once per want). */
static int lookup(const char *profile, aws_creds_t *c, char *err, size_t errlen)
{
	aws_sources_cleanup();
	aws_want_t w = { .profile = profile };
	aws_source_t *s = aws_source_get(&w);
	assert_non_null(s);
	int ret = aws_source_creds(s, c, err, errlen);
	return ret > 0 ? 0 : ret;
}

static void test_ini(void **state)
{
	(void)state;
	const char *text = "# comment\n; another\n[default]\naws_access_key_id = AKD\n"
	                   "aws_secret_access_key=SKD\n\n[profile    x]\nregion = eu-west-1\n"
	                   "s3 =\n  max_concurrent_requests = 10\n  region = nope\n"
	                   "output = json\n[y\nkey = lost\n[z]\nk = 1\nk = 2\nK2 = v\n";
	aws_ini_t *ini = aws_ini_parse(text, strlen(text));
	assert_non_null(ini);
	assert_string_equal(aws_ini_get(ini, "default", "aws_access_key_id"), "AKD");
	assert_string_equal(aws_ini_get(ini, "default", "aws_secret_access_key"), "SKD");
	/* "[profile    x]" is "profile x"; a sub-section's keys are not x's. */
	assert_true(aws_ini_has(ini, "profile x"));
	assert_string_equal(aws_ini_get(ini, "profile x", "region"), "eu-west-1");
	assert_string_equal(aws_ini_get(ini, "profile x", "output"), "json");
	assert_null(aws_ini_get(ini, "profile x", "max_concurrent_requests"));
	/* An unclosed section holds nothing; the last value wins; keys are
	 * read in any case. */
	assert_false(aws_ini_has(ini, "y"));
	assert_null(aws_ini_get(ini, "y", "key"));
	assert_string_equal(aws_ini_get(ini, "z", "k"), "2");
	assert_string_equal(aws_ini_get(ini, "z", "k2"), "v");
	aws_ini_free(ini);
	/* Bytes that are not text do not stop it. */
	const char bin[] = "[a]\nk=\0v\n\xff\xfe=\x01\n[\n]\n=\n";
	ini = aws_ini_parse(bin, sizeof(bin) - 1);
	assert_non_null(ini);
	aws_ini_free(ini);
}

static void test_environment_first(void **state)
{
	(void)state;
	write_file(cred, "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = SKF\n",
	           0600);
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "SKENV", 1);
	setenv("AWS_SESSION_TOKEN", "TOKENV", 1);
	aws_creds_t c;
	char err[2048];
	assert_int_equal(lookup(NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "AKENV");
	assert_string_equal(c.session_token, "TOKENV");
	assert_string_equal(c.source, "environment");
	assert_int_equal(c.expires, 0);
	/* AWS_PROFILE does not outrank the environment's keys (botocore)... */
	setenv("AWS_PROFILE", "default", 1);
	assert_int_equal(lookup(NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "AKENV");
	/* ...but a profile named in our config does. */
	assert_int_equal(lookup("default", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "AKFILE");
	assert_string_equal(c.session_token, "");
	assert_non_null(strstr(c.source, "credentials [default]"));
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
}

static void test_files_order(void **state)
{
	(void)state;
	aws_creds_t c;
	char err[2048];
	/* The config file's keys serve when the credentials file has none;
	 * the credentials file wins when both have them. */
	write_file(conf, "[default]\nregion = eu-west-1\n[profile p]\naws_access_key_id = AKC\n"
	                 "aws_secret_access_key = SKC\n",
	           0600);
	write_file(cred, "[q]\naws_access_key_id = AKQ\naws_secret_access_key = SKQ\n", 0600);
	assert_int_equal(lookup("p", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "AKC");
	assert_non_null(strstr(c.source, "config [profile p]"));
	write_file(cred, "[p]\naws_access_key_id = AKP\naws_secret_access_key = SKP\n", 0600);
	assert_int_equal(lookup("p", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "AKP");
	/* AWS_PROFILE picks the profile when the config does not. */
	setenv("AWS_PROFILE", "p", 1);
	assert_int_equal(lookup(NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "AKP");
	unsetenv("AWS_PROFILE");
}

static void test_nothing_found_names_every_source(void **state)
{
	(void)state;
	aws_creds_t c;
	char err[4096];
	unlink(cred);
	write_file(conf, "[profile other]\nregion = eu-west-1\n", 0600);
	assert_int_equal(lookup(NULL, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no AWS credentials: "));
	assert_non_null(strstr(err, "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
	                            "not set"));
	assert_non_null(strstr(err, "profile default: no such profile in "));
	assert_non_null(strstr(err, "web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set"));
	assert_non_null(strstr(err, "container: "));
	assert_non_null(strstr(err, "instance metadata: "));
	assert_non_null(strstr(err, "AWS_EC2_METADATA_DISABLED"));
	/* A profile named in the config must exist: nothing after it is tried. */
	assert_int_equal(lookup("nope", &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "profile nope: not in "));
	assert_null(strstr(err, "instance metadata"));
}

static void test_files_that_cannot_be_read(void **state)
{
	(void)state;
	aws_creds_t c;
	char err[4096];
	write_file(cred, "[p]\naws_access_key_id = AK\naws_secret_access_key = SECRETVALUE\n", 0);
	write_file(conf, "", 0600);
	if (geteuid() != 0) {
		assert_int_equal(lookup("p", &c, err, sizeof(err)), -ENOENT);
		assert_non_null(strstr(err, "credentials: cannot read: permission denied"));
	} else {
		/* Root reads anything: ask as nobody, from a child. */
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			bool ok = setgid(65534) == 0 && setuid(65534) == 0 &&
			          lookup("p", &c, err, sizeof(err)) == -ENOENT &&
			          strstr(err, "credentials: cannot read: permission denied") != NULL &&
			          strstr(err, "SECRETVALUE") == NULL;
			_exit(ok ? 0 : 1);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* A directory in place of the file. */
	unlink(cred);
	assert_int_equal(mkdir(cred, 0755), 0);
	assert_int_equal(lookup("p", &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot read: "));
	rmdir(cred);
}

static void test_profile_errors(void **state)
{
	(void)state;
	aws_creds_t c;
	char err[4096];
	write_file(cred, "[base]\naws_access_key_id = AKB\naws_secret_access_key = SKB\n", 0600);
	write_file(conf,
	           "[profile nosrc]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
	           "[profile two]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
	           "source_profile = base\ncredential_source = Environment\n"
	           "[profile mfa]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
	           "source_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n"
	           "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = b\n"
	           "[profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = a\n"
	           "[profile cs]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
	           "credential_source = Somewhere\n"
	           "[profile dur]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
	           "source_profile = base\nduration_seconds = 60\n"
	           "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n"
	           "[profile empty]\nregion = eu-west-1\n",
	           0600);
	assert_int_equal(lookup("nosrc", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "role_arn needs exactly one of source_profile"));
	assert_int_equal(lookup("two", &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(lookup("mfa", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "mfa_serial"));
	assert_int_equal(lookup("a", &c, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, "comes back"));
	assert_int_equal(lookup("cs", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'Somewhere'"));
	assert_int_equal(lookup("dur", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "duration_seconds"));
	assert_int_equal(lookup("sso", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "export-credentials"));
	assert_int_equal(lookup("empty", &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "profile empty: no credentials in it"));
	/* A role whose STS cannot be reached names the role and STS. */
	write_file(conf,
	           "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
	           "source_profile = base\n",
	           0600);
	assert_true(lookup("r", &c, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "STS AssumeRole arn:aws:iam::123456789012:role/r at "
	                            "http://127.0.0.1:9/"));
	assert_null(strstr(err, "SKB"));
}

static void test_source_shared_and_cached(void **state)
{
	(void)state;
	write_file(cred, "[default]\naws_access_key_id = AK1\naws_secret_access_key = SK1\n", 0600);
	aws_sources_cleanup();
	aws_want_t w1 = { .profile = "default" }, w2 = { .profile = "default" },
	           w3 = { .profile = "default", .role_arn = "arn:aws:iam::123456789012:role/x" };
	aws_source_t *a = aws_source_get(&w1), *b = aws_source_get(&w2), *c3 = aws_source_get(&w3);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c3);
	aws_creds_t c;
	char err[2048];
	assert_int_equal(aws_source_creds(a, &c, err, sizeof(err)), 1);
	assert_int_equal(aws_source_creds(b, &c, err, sizeof(err)), 0);
	assert_int_equal(aws_source_fetches(a), 1);
	/* Static keys are cached: an edit is seen after a minute, not at once. */
	write_file(cred, "[default]\naws_access_key_id = AK2\naws_secret_access_key = SK2\n", 0600);
	assert_int_equal(aws_source_creds(a, &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "AK1");
	aws_sources_cleanup();
}

static void test_sts_answers(void **state)
{
	(void)state;
	aws_creds_t c;
	char why[600];
	const char *ok = "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
	                 "<AssumeRoleResult><Credentials><AccessKeyId>ASIAX</AccessKeyId>"
	                 "<SecretAccessKey>S</SecretAccessKey><SessionToken>T</SessionToken>"
	                 "<Expiration>2026-12-05T02:00:00Z</Expiration></Credentials>"
	                 "<AssumedRoleUser><Arn>arn:aws:sts::210987654321:assumed-role/r/s</Arn>"
	                 "</AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>";
	assert_int_equal(aws_sts_parse(ok, strlen(ok), &c, why, sizeof(why)), 0);
	assert_string_equal(c.access_key, "ASIAX");
	assert_string_equal(c.session_token, "T");
	assert_int_equal(c.expires, 1796436000);
	assert_string_equal(c.account, "210987654321");
	const char *id = "<GetCallerIdentityResponse><GetCallerIdentityResult>"
	                 "<Account>123456789012</Account></GetCallerIdentityResult>"
	                 "</GetCallerIdentityResponse>";
	assert_int_equal(aws_sts_parse(id, strlen(id), &c, why, sizeof(why)), 0);
	assert_string_equal(c.account, "123456789012");
	const char *err = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
	                  "<Message>not authorized to perform sts:AssumeRole</Message></Error>"
	                  "</ErrorResponse>";
	assert_int_equal(aws_sts_parse(err, strlen(err), &c, why, sizeof(why)), -EACCES);
	assert_string_equal(why, "AccessDenied: not authorized to perform sts:AssumeRole");
	const char *noexp = "<R><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S"
	                    "</SecretAccessKey><SessionToken>T</SessionToken></Credentials></R>";
	assert_int_equal(aws_sts_parse(noexp, strlen(noexp), &c, why, sizeof(why)), -EPROTO);
	assert_int_equal(aws_sts_parse("<x", 2, &c, why, sizeof(why)), -EPROTO);
	char account[16];
	assert_int_equal(aws_arn_account("arn:aws:iam::123456789012:role/a:b", account), 0);
	assert_string_equal(account, "123456789012");
	assert_int_equal(aws_arn_account("arn:aws:iam::12345:role/a", account), -EINVAL);
	assert_int_equal(aws_arn_account("arn:aws", account), -EINVAL);
}

static void test_endpoints(void **state)
{
	(void)state;
	char url[200], region[64];
	unsetenv("AWS_ENDPOINT_URL_STS");
	aws_sts_endpoint(NULL, url, sizeof(url), region, sizeof(region));
	assert_string_equal(url, "https://sts.us-east-1.amazonaws.com");
	aws_sts_endpoint("eu-west-3", url, sizeof(url), region, sizeof(region));
	assert_string_equal(url, "https://sts.eu-west-3.amazonaws.com");
	assert_string_equal(region, "eu-west-3");
	setenv("AWS_DEFAULT_REGION", "cn-north-1", 1);
	aws_sts_endpoint("eu-west-3", url, sizeof(url), region, sizeof(region));
	assert_string_equal(url, "https://sts.cn-north-1.amazonaws.com.cn");
	setenv("AWS_REGION", "ap-south-1", 1);
	aws_sts_endpoint(NULL, url, sizeof(url), region, sizeof(region));
	assert_string_equal(region, "ap-south-1");
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/", 1);
	aws_sts_endpoint(NULL, url, sizeof(url), region, sizeof(region));
	assert_string_equal(url, "http://127.0.0.1:5000");
	assert_string_equal(aws_endpoint_env("ROUTE_53"), "http://127.0.0.1:5000/");
	setenv("AWS_ENDPOINT_URL_ROUTE_53", "http://127.0.0.1:5001", 1);
	assert_string_equal(aws_endpoint_env("ROUTE_53"), "http://127.0.0.1:5001");
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE", 1);
	assert_null(aws_endpoint_env("ROUTE_53"));
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	unsetenv("AWS_ENDPOINT_URL_ROUTE_53");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ini),
		cmocka_unit_test(test_environment_first),
		cmocka_unit_test(test_files_order),
		cmocka_unit_test(test_nothing_found_names_every_source),
		cmocka_unit_test(test_files_that_cannot_be_read),
		cmocka_unit_test(test_profile_errors),
		cmocka_unit_test(test_source_shared_and_cached),
		cmocka_unit_test(test_sts_answers),
		cmocka_unit_test(test_endpoints),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
