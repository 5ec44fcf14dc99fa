/*
 * AWS credentials found the way the AWS SDKs find them, in botocore's
 * order, the first source that answers winning:
 *
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *      (+ AWS_SESSION_TOKEN), unless a profile is named in our config;
 *   2. the profile's role_arn (config or credentials file) with
 *      source_profile (chains of profiles) or credential_source
 *      (Environment, Ec2InstanceMetadata, EcsContainer), through STS
 *      AssumeRole with external_id, role_session_name, duration_seconds;
 *   3. web identity: the profile's web_identity_token_file + role_arn, else
 *      AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME),
 *      through STS AssumeRoleWithWebIdentity (EKS IRSA);
 *   4. static keys of the profile in the credentials file;
 *   5. the profile's credential_process (SSO: aws configure
 *      export-credentials);
 *   6. static keys of the profile in the config file;
 *   7. ECS container credentials;
 *   8. EC2 instance metadata (IMDSv2).
 *
 * The profile is our profile key, else AWS_PROFILE, else "default"; a
 * named profile that exists nowhere is an error (no fall through to the
 * container or the instance).  Files: AWS_CONFIG_FILE (~/.aws/config) and
 * our credentials-file key, else AWS_SHARED_CREDENTIALS_FILE
 * (~/.aws/credentials); a profile's keys are those of both files, the
 * credentials file winning.
 *
 * A source (aws_source_t) is what one configuration asks for: profile,
 * files, and optionally a role to assume on top of what the chain found
 * (a target's role-arn and external-id).  Sources are shared by every
 * user with the same configuration and kept for the life of the process.
 * Temporary credentials are cached and fetched anew once less than a
 * margin of their life is left (10 minutes, or a quarter of a shorter
 * life); static ones are looked up again after a minute, so an edited
 * file is seen.  A caller asks before each signed request and signs with
 * the copy it got: a refresh never lands in the middle of one.
 *
 * STS is reached at AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else
 * https://sts.REGION.amazonaws.com (REGION: AWS_REGION, AWS_DEFAULT_REGION,
 * the profile's region, else us-east-1); AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
 * = true turns the two variables off.  Requests are signed by net/sigv4.
 *
 * No secret ever appears in a message: errors name the sources tried and
 * why each failed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef struct {
	char access_key[129];
	char secret_key[129];
	char session_token[4097]; /* "" without temporary credentials */
	char source[300];         /* where they came from, for messages */
	time_t expires;           /* 0: static (no expiry) */
	char account[16];         /* the account id when the source said it, else "" */
} aws_creds_t;

/* What a user of credentials (a route53 target) configures. */
typedef struct {
	const char *profile;          /* NULL: AWS_PROFILE, else "default" */
	const char *credentials_file; /* NULL: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials */
	const char *role_arn;         /* NULL, or a role assumed with what the chain found */
	const char *external_id;      /* with role_arn, or NULL */
} aws_want_t;

typedef struct aws_source aws_source_t;

/* The shared source for w (made at the first call; the same one for an
 * equal w).  NULL only when out of memory.  Thread-safe. */
aws_source_t *aws_source_get(const aws_want_t *w);

/* Credentials to sign the next request with (see above for the cache).
 * 0 from the cache, 1 when fetched just now (the first time, or a
 * refresh), or a negative error with err naming every source tried and why each
 * failed.  Thread-safe; a fetch in progress makes other callers wait. */
int aws_source_creds(aws_source_t *s, aws_creds_t *out, char *err, size_t errlen);

/* The account id of s's credentials: from the source when it said it (an
 * assumed role's ARN, a credential_process's AccountId), else STS
 * GetCallerIdentity, asked once.  0 with account[16] set, or a negative
 * error with err. */
int aws_source_account(aws_source_t *s, char account[16], char *err, size_t errlen);
/* (A failed GetCallerIdentity is not asked again for 10 minutes: -EAGAIN
 * with its error meanwhile.) */

/* How many times s fetched credentials (a refresh is one more). */
unsigned aws_source_fetches(aws_source_t *s);

/* Forget every source and its credentials (at exit). */
void aws_sources_cleanup(void);

/* The STS endpoint and signing region the chain uses (see above), for
 * messages and tests. */
void aws_sts_endpoint(const char *profile_region, char *url, size_t urlsize, char *region,
                      size_t regionsize);

/* An AWS endpoint variable for a service as the SDKs name it
 * (AWS_ENDPOINT_URL_<SERVICE_ID>, else AWS_ENDPOINT_URL), unless
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true: the value or NULL.
 * service_env: "ROUTE_53", "STS". */
const char *aws_endpoint_env(const char *service_env);

/* --- the shared config and credentials files ------------------------------- */

/* One INI file, parsed: sections of key = value (sub-sections, indented
 * lines under a key with no value, are skipped). */
typedef struct aws_ini aws_ini_t;

/* Parse text (for tests and fuzzing): never fails but for memory (NULL). */
aws_ini_t *aws_ini_parse(const char *text, size_t len);
void aws_ini_free(aws_ini_t *ini);

/* Does the section exist?  The value of key in section, or NULL. */
bool aws_ini_has(const aws_ini_t *ini, const char *section);
const char *aws_ini_get(const aws_ini_t *ini, const char *section, const char *key);
