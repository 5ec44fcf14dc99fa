/*
 * AWS credentials found the way the AWS CLI and SDKs find them:
 *   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN),
 *      unless a profile is named in our config (an explicit profile wins,
 *      as in botocore);
 *   2. the shared credentials file (our credentials-file key, else
 *      AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials), section of the
 *      profile (our profile key, else AWS_PROFILE, else "default");
 *   3. the config file (AWS_CONFIG_FILE, else ~/.aws/config), section
 *      "[profile NAME]" ("[default]" for the default profile).
 * Secrets never appear in messages.
 */
#pragma once

#include <stddef.h>

typedef struct {
	char access_key[129];
	char secret_key[129];
	char session_token[4097]; /* "" without temporary credentials */
	char source[300];         /* where they came from, for messages */
} aws_creds_t;

/* profile, file: from our config, NULL when not set.  0 or -ENOENT with
 * err saying where we looked and what each file lacked: missing, unreadable
 * (and why), no section for the profile, or a section without its secret. */
int aws_creds_load(const char *profile, const char *file, aws_creds_t *out, char *err,
                   size_t errlen);

/* The same from an INI text (for tests and fuzzing): the section's keys
 * aws_access_key_id, aws_secret_access_key, aws_session_token.
 * 0, -ENOENT when the section is missing, -ENODATA when it lacks the key
 * id or the secret. */
int aws_creds_parse_ini(const char *text, const char *section, aws_creds_t *out);
