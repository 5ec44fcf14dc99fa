#include "net/awscreds.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/awsmeta.h"
#include "net/awssts.h"
#include "net/fileerr.h"

/* Temporary credentials are fetched anew once less than this is left of
 * their life (or a quarter of a shorter life); static ones are looked up
 * again after STATIC_RECHECK seconds. */
#define REFRESH_MARGIN 600
#define STATIC_RECHECK 60
/* A refresh that fails while the old credentials have this long left
 * keeps them (the next request tries again). */
#define KEEP_OLD_MIN 30
/* Profiles a role_arn may chain through. */
#define MAX_DEPTH 8
/* A failed GetCallerIdentity is asked again after this long. */
#define ACCOUNT_RETRY 600
#define MAX_FILE (1u << 20)

/* --- INI files ------------------------------------------------------------------ */

typedef struct {
	char *section, *key, *value;
} ini_entry_t;

struct aws_ini {
	ini_entry_t *e;
	size_t n, cap;
	char **sections;
	size_t nsections;
};

static const char *trim(const char *s, const char *e, size_t *len)
{
	while (s < e && isspace((unsigned char)*s)) {
		s++;
	}
	while (e > s && isspace((unsigned char)e[-1])) {
		e--;
	}
	*len = (size_t)(e - s);
	return s;
}

/* A section name as the files write it: "profile   x" is "profile x". */
static char *section_name(const char *s, size_t n)
{
	size_t len;
	s = trim(s, s + n, &len);
	if (len > 8 && strncmp(s, "profile", 7) == 0 && isspace((unsigned char)s[7])) {
		size_t rest;
		const char *r = trim(s + 7, s + len, &rest);
		char *out = malloc(rest + 9);
		if (out != NULL) {
			memcpy(out, "profile ", 8);
			memcpy(out + 8, r, rest);
			out[rest + 8] = '\0';
		}
		return out;
	}
	return strndup(s, len);
}

void aws_ini_free(aws_ini_t *ini)
{
	if (ini == NULL) {
		return;
	}
	for (size_t i = 0; i < ini->n; i++) {
		free(ini->e[i].key);
		if (ini->e[i].value != NULL) {
			memset(ini->e[i].value, 0, strlen(ini->e[i].value));
		}
		free(ini->e[i].value);
	}
	for (size_t i = 0; i < ini->nsections; i++) {
		free(ini->sections[i]);
	}
	free(ini->sections);
	free(ini->e);
	free(ini);
}

aws_ini_t *aws_ini_parse(const char *text, size_t len)
{
	aws_ini_t *ini = calloc(1, sizeof(*ini));
	if (ini == NULL) {
		return NULL;
	}
	const char *p = text, *end = text + len;
	char *section = NULL;   /* owned by ini->sections */
	bool sub = false;       /* inside a key's indented sub-section */
	bool failed = false;
	while (p < end && !failed) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL) {
			eol = end;
		}
		bool indented = p < eol && (*p == ' ' || *p == '\t');
		size_t n;
		const char *l = trim(p, eol, &n);
		p = eol < end ? eol + 1 : end;
		if (n == 0 || l[0] == '#' || l[0] == ';') {
			continue;
		}
		if (l[0] == '[') {
			const char *close = memchr(l, ']', n);
			sub = false;
			section = NULL;
			if (close == NULL) {
				continue; /* not a section: its keys are ignored */
			}
			char *name = section_name(l + 1, (size_t)(close - l - 1));
			char **s = realloc(ini->sections, (ini->nsections + 1) * sizeof(*s));
			if (name == NULL || s == NULL) {
				free(name);
				if (s != NULL) {
					ini->sections = s;
				}
				failed = true;
				break;
			}
			ini->sections = s;
			ini->sections[ini->nsections++] = name;
			section = name;
			continue;
		}
		if (indented && sub) {
			continue; /* "s3 =\n  max_concurrent_requests = 10" */
		}
		const char *eq = memchr(l, '=', n);
		if (section == NULL || eq == NULL) {
			sub = false;
			continue;
		}
		size_t kl, vl;
		const char *k = trim(l, eq, &kl);
		const char *v = trim(eq + 1, l + n, &vl);
		sub = vl == 0;
		if (kl == 0 || vl == 0) {
			continue;
		}
		if (ini->n == ini->cap) {
			size_t cap = ini->cap != 0 ? 2 * ini->cap : 16;
			ini_entry_t *e = realloc(ini->e, cap * sizeof(*e));
			if (e == NULL) {
				failed = true;
				break;
			}
			ini->e = e;
			ini->cap = cap;
		}
		ini_entry_t *e = &ini->e[ini->n];
		e->section = section;
		e->key = strndup(k, kl);
		e->value = strndup(v, vl);
		if (e->key == NULL || e->value == NULL) {
			free(e->key);
			free(e->value);
			failed = true;
			break;
		}
		for (char *c = e->key; *c != '\0'; c++) {
			*c = (char)tolower((unsigned char)*c);
		}
		ini->n++;
	}
	if (failed) {
		aws_ini_free(ini);
		return NULL;
	}
	return ini;
}

bool aws_ini_has(const aws_ini_t *ini, const char *section)
{
	for (size_t i = 0; ini != NULL && i < ini->nsections; i++) {
		if (strcmp(ini->sections[i], section) == 0) {
			return true;
		}
	}
	return false;
}

const char *aws_ini_get(const aws_ini_t *ini, const char *section, const char *key)
{
	/* The last value wins, as in botocore's parser. */
	const char *v = NULL;
	for (size_t i = 0; ini != NULL && i < ini->n; i++) {
		if (strcmp(ini->e[i].section, section) == 0 && strcmp(ini->e[i].key, key) == 0) {
			v = ini->e[i].value;
		}
	}
	return v;
}

/* --- a walk of the chain ------------------------------------------------------------- */

/* What one walk has: the files, read once, and the trail of sources tried. */
typedef struct {
	const aws_want_t *want;
	char cred_path[4096], conf_path[4096];
	aws_ini_t *cred, *conf;
	char cred_why[300], conf_why[300]; /* why a file could not be read, or "" */
	char trail[3000];
	size_t tlen;
	char region[64];
	char sts_url[600];
} walk_t;

static void tried(walk_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tried(walk_t *w, const char *fmt, ...)
{
	if (w->tlen + 3 >= sizeof(w->trail)) {
		return;
	}
	if (w->tlen > 0) {
		w->tlen += (size_t)snprintf(w->trail + w->tlen, sizeof(w->trail) - w->tlen, "; ");
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(w->trail + w->tlen, sizeof(w->trail) - w->tlen, fmt, ap);
	va_end(ap);
	if (n > 0) {
		w->tlen += (size_t)n;
		if (w->tlen >= sizeof(w->trail)) {
			w->tlen = sizeof(w->trail) - 1;
		}
	}
}

/* Add to the trail why a file could not be read, if one could not. */
static void tried_files(walk_t *w)
{
	if (w->cred_why[0] != '\0') {
		tried(w, "%s", w->cred_why);
	}
	if (w->conf_why[0] != '\0') {
		tried(w, "%s", w->conf_why);
	}
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && *v != '\0' ? v : NULL;
}

static bool env_true(const char *name)
{
	const char *v = env(name);
	return v != NULL && strcasecmp(v, "true") == 0;
}

static void home_path(char *buf, size_t size, const char *rel)
{
	const char *home = env("HOME");
	snprintf(buf, size, "%s/%s", home != NULL ? home : "", rel);
}

/* The file parsed, or NULL with why ("" when it simply does not exist). */
static aws_ini_t *load_ini(const char *path, char *why, size_t whylen)
{
	why[0] = '\0';
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		int e = errno;
		if (e != ENOENT) {
			char cause[160];
			snprintf(why, whylen, "%.200s: cannot read: %s", path,
			         file_error(path, e, cause, sizeof(cause)));
		}
		return NULL;
	}
	char *buf = malloc(MAX_FILE + 1);
	size_t len = buf != NULL ? fread(buf, 1, MAX_FILE + 1, f) : 0;
	int e = ferror(f) ? errno : 0;
	fclose(f);
	aws_ini_t *ini = NULL;
	if (buf == NULL) {
		snprintf(why, whylen, "%.200s: out of memory", path);
	} else if (e != 0) {
		char cause[160];
		snprintf(why, whylen, "%.200s: cannot read: %s", path,
		         file_error(path, e, cause, sizeof(cause)));
	} else if (len > MAX_FILE) {
		snprintf(why, whylen, "%.200s: larger than 1 MiB", path);
	} else if ((ini = aws_ini_parse(buf, len)) == NULL) {
		snprintf(why, whylen, "%.200s: out of memory", path);
	}
	if (buf != NULL) {
		memset(buf, 0, len < MAX_FILE ? len : MAX_FILE);
		free(buf);
	}
	return ini;
}

/* The config file's section of a profile. */
static void conf_section(const char *profile, char *buf, size_t size)
{
	snprintf(buf, size, "profile %s", profile);
}

/* A key of a profile: the credentials file's, else the config file's
 * ("[profile NAME]", or "[default]" for the default profile). */
static const char *pget(const walk_t *w, const char *profile, const char *key)
{
	const char *v = aws_ini_get(w->cred, profile, key);
	if (v == NULL) {
		char sec[300];
		conf_section(profile, sec, sizeof(sec));
		v = aws_ini_get(w->conf, sec, key);
		if (v == NULL && strcmp(profile, "default") == 0) {
			v = aws_ini_get(w->conf, "default", key);
		}
	}
	return v;
}

static bool pexists(const walk_t *w, const char *profile)
{
	char sec[300];
	conf_section(profile, sec, sizeof(sec));
	return aws_ini_has(w->cred, profile) || aws_ini_has(w->conf, sec) ||
	       (strcmp(profile, "default") == 0 && aws_ini_has(w->conf, "default"));
}

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

/* Static keys of a profile in one file (cred: the credentials file). */
static int static_keys(const walk_t *w, const char *profile, bool cred, aws_creds_t *out)
{
	const char *id, *secret, *token;
	char sec[300];
	const aws_ini_t *ini = cred ? w->cred : w->conf;
	const char *s = profile;
	if (!cred) {
		conf_section(profile, sec, sizeof(sec));
		s = sec;
		if (!aws_ini_has(ini, s) && strcmp(profile, "default") == 0) {
			s = "default";
		}
	}
	id = aws_ini_get(ini, s, "aws_access_key_id");
	secret = aws_ini_get(ini, s, "aws_secret_access_key");
	token = aws_ini_get(ini, s, "aws_session_token");
	if (id == NULL || secret == NULL) {
		return -ENOENT;
	}
	memset(out, 0, sizeof(*out));
	copy(out->access_key, sizeof(out->access_key), id);
	copy(out->secret_key, sizeof(out->secret_key), secret);
	if (token != NULL) {
		copy(out->session_token, sizeof(out->session_token), token);
	}
	snprintf(out->source, sizeof(out->source), "%.200s [%.80s]",
	         cred ? w->cred_path : w->conf_path, s);
	return 0;
}

static int env_keys(aws_creds_t *out)
{
	const char *id = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
	if (id == NULL || secret == NULL) {
		return -ENOENT;
	}
	memset(out, 0, sizeof(*out));
	copy(out->access_key, sizeof(out->access_key), id);
	copy(out->secret_key, sizeof(out->secret_key), secret);
	const char *token = env("AWS_SESSION_TOKEN");
	if (token != NULL) {
		copy(out->session_token, sizeof(out->session_token), token);
	}
	copy(out->source, sizeof(out->source), "environment");
	return 0;
}

/* The STS region and endpoint for this walk (profile: whose region key
 * counts, NULL for none). */
void aws_sts_endpoint(const char *profile_region, char *url, size_t urlsize, char *region,
                      size_t regionsize)
{
	const char *r = env("AWS_REGION");
	if (r == NULL) {
		r = env("AWS_DEFAULT_REGION");
	}
	if (r == NULL) {
		r = profile_region;
	}
	if (r == NULL || *r == '\0') {
		r = "us-east-1";
	}
	snprintf(region, regionsize, "%s", r);
	const char *e = aws_endpoint_env("STS");
	if (e != NULL) {
		size_t n = strlen(e);
		while (n > 0 && e[n - 1] == '/') {
			n--;
		}
		snprintf(url, urlsize, "%.*s", (int)n, e);
	} else {
		snprintf(url, urlsize, "https://sts.%s.amazonaws.com%s", region,
		         strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
	}
}

const char *aws_endpoint_env(const char *service_env)
{
	if (env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
		return NULL;
	}
	char name[80];
	snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", service_env);
	const char *v = env(name);
	return v != NULL ? v : env("AWS_ENDPOINT_URL");
}

/* The web identity token in path (trimmed), into a malloc'd string. */
static char *read_token(const char *path, char *why, size_t whylen)
{
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		char cause[160];
		snprintf(why, whylen, "token file %.200s: %s", path,
		         file_error(path, errno, cause, sizeof(cause)));
		return NULL;
	}
	char *buf = malloc(65537);
	size_t n = buf != NULL ? fread(buf, 1, 65536, f) : 0;
	fclose(f);
	if (buf == NULL) {
		return NULL;
	}
	buf[n] = '\0';
	size_t len;
	const char *t = trim(buf, buf + n, &len);
	memmove(buf, t, len);
	buf[len] = '\0';
	if (len == 0 || len >= 65536) {
		snprintf(why, whylen, "token file %.200s: %s", path, len == 0 ? "empty" : "too large");
		free(buf);
		return NULL;
	}
	return buf;
}

static int web_identity(walk_t *w, const char *token_file, const char *role_arn,
                        const char *session, aws_creds_t *out, char *why, size_t whylen)
{
	char *token = read_token(token_file, why, whylen);
	if (token == NULL) {
		return -ENOENT;
	}
	aws_role_t role = { .arn = role_arn, .session_name = session };
	int ret = aws_sts_web_identity(token, &role, w->sts_url, w->region, out, why, whylen);
	memset(token, 0, strlen(token));
	free(token);
	return ret;
}

/* A profile's duration_seconds: 0 (none), the value, or -1 (bad). */
static long duration_of(const char *v)
{
	if (v == NULL) {
		return 0;
	}
	char *end;
	long d = strtol(v, &end, 10);
	return *end == '\0' && d >= 900 && d <= 43200 ? d : -1;
}

static int profile_creds(walk_t *w, const char *profile, unsigned depth, const char **seen,
                         aws_creds_t *out, char *why, size_t whylen);

/* The credentials of profile's role_arn (the profile has one). */
static int profile_role(walk_t *w, const char *profile, unsigned depth, const char **seen,
                        aws_creds_t *out, char *why, size_t whylen)
{
	const char *arn = pget(w, profile, "role_arn");
	const char *src = pget(w, profile, "source_profile");
	const char *cs = pget(w, profile, "credential_source");
	const char *wif = pget(w, profile, "web_identity_token_file");
	const char *session = pget(w, profile, "role_session_name");
	if (pget(w, profile, "mfa_serial") != NULL) {
		snprintf(why, whylen,
		         "profile %.80s: mfa_serial needs a code typed at a terminal, which a daemon "
		         "cannot do (use credential_process or a profile without MFA)",
		         profile);
		return -EINVAL;
	}
	long dur = duration_of(pget(w, profile, "duration_seconds"));
	if (dur < 0) {
		snprintf(why, whylen, "profile %.80s: duration_seconds must be 900 to 43200",
		         profile);
		return -EINVAL;
	}
	if ((src != NULL) + (cs != NULL) + (wif != NULL) != 1) {
		snprintf(why, whylen,
		         "profile %.80s: role_arn needs exactly one of source_profile, "
		         "credential_source and web_identity_token_file",
		         profile);
		return -EINVAL;
	}
	if (wif != NULL) {
		return web_identity(w, wif, arn, session, out, why, whylen);
	}
	aws_creds_t base;
	int ret;
	if (cs != NULL) {
		if (strcmp(cs, "Environment") == 0) {
			ret = env_keys(&base);
			if (ret != 0) {
				snprintf(why, whylen,
				         "profile %.80s: credential_source Environment, but "
				         "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
				         profile);
			}
		} else if (strcmp(cs, "Ec2InstanceMetadata") == 0) {
			ret = aws_imds_fetch(&base, why, whylen);
		} else if (strcmp(cs, "EcsContainer") == 0) {
			ret = aws_ecs_fetch(&base, why, whylen);
		} else {
			snprintf(why, whylen,
			         "profile %.80s: credential_source '%.40s' is not Environment, "
			         "Ec2InstanceMetadata or EcsContainer",
			         profile, cs);
			ret = -EINVAL;
		}
	} else if (strcmp(src, profile) == 0) {
		/* A profile that is its own source: its static keys. */
		ret = static_keys(w, profile, true, &base);
		if (ret != 0) {
			ret = static_keys(w, profile, false, &base);
		}
		if (ret != 0) {
			snprintf(why, whylen,
			         "profile %.80s: its own source_profile, but it has no static keys",
			         profile);
		}
	} else {
		ret = profile_creds(w, src, depth + 1, seen, &base, why, whylen);
	}
	if (ret != 0) {
		return ret;
	}
	aws_role_t role = { .arn = arn,
		            .session_name = session,
		            .external_id = pget(w, profile, "external_id"),
		            .duration = (unsigned)dur };
	ret = aws_sts_assume_role(&base, &role, w->sts_url, w->region, out, why, whylen);
	memset(&base, 0, sizeof(base));
	return ret;
}

/* The credentials a profile names: a role, web identity, static keys or a
 * process.  seen: the profiles on the way here (a cycle is an error). */
static int profile_creds(walk_t *w, const char *profile, unsigned depth, const char **seen,
                         aws_creds_t *out, char *why, size_t whylen)
{
	if (depth >= MAX_DEPTH) {
		snprintf(why, whylen, "profile %.80s: more than %d profiles in a chain", profile,
		         MAX_DEPTH);
		return -ELOOP;
	}
	for (unsigned i = 0; i < depth; i++) {
		if (strcmp(seen[i], profile) == 0) {
			snprintf(why, whylen, "profile %.80s: source_profile chain comes back to it",
			         profile);
			return -ELOOP;
		}
	}
	seen[depth] = profile;
	if (!pexists(w, profile)) {
		snprintf(why, whylen, "profile %.80s: not in %.200s nor %.200s", profile,
		         w->conf_path, w->cred_path);
		return -ENOENT;
	}
	if (pget(w, profile, "role_arn") != NULL) {
		return profile_role(w, profile, depth, seen, out, why, whylen);
	}
	/* botocore's order: the credentials file, the process, the config file */
	if (static_keys(w, profile, true, out) == 0) {
		return 0;
	}
	const char *proc = pget(w, profile, "credential_process");
	if (proc != NULL) {
		return aws_process_fetch(proc, out, why, whylen);
	}
	if (static_keys(w, profile, false, out) == 0) {
		return 0;
	}
	snprintf(why, whylen,
	         "profile %.80s: no aws_access_key_id and aws_secret_access_key, role_arn or "
	         "credential_process",
	         profile);
	return -ENOENT;
}

/* Walk the chain for w->want: 0 with out, or an error with why (the
 * trail, or the error of the source that was found but failed). */
static int walk(walk_t *w, aws_creds_t *out, char *why, size_t whylen)
{
	const aws_want_t *want = w->want;
	const char *named = want->profile != NULL ? want->profile : env("AWS_PROFILE");
	const char *profile = named != NULL ? named : "default";
	/* The files. */
	if (want->credentials_file != NULL) {
		copy(w->cred_path, sizeof(w->cred_path), want->credentials_file);
	} else if (env("AWS_SHARED_CREDENTIALS_FILE") != NULL) {
		copy(w->cred_path, sizeof(w->cred_path), env("AWS_SHARED_CREDENTIALS_FILE"));
	} else {
		home_path(w->cred_path, sizeof(w->cred_path), ".aws/credentials");
	}
	if (env("AWS_CONFIG_FILE") != NULL) {
		copy(w->conf_path, sizeof(w->conf_path), env("AWS_CONFIG_FILE"));
	} else {
		home_path(w->conf_path, sizeof(w->conf_path), ".aws/config");
	}
	w->cred = load_ini(w->cred_path, w->cred_why, sizeof(w->cred_why));
	w->conf = load_ini(w->conf_path, w->conf_why, sizeof(w->conf_why));
	aws_sts_endpoint(pget(w, profile, "region"), w->sts_url, sizeof(w->sts_url), w->region,
	                 sizeof(w->region));
	/* 1. the environment, unless the config names a profile */
	if (want->profile != NULL) {
		tried(w, "environment: skipped, the target names profile %.80s", want->profile);
	} else if (env_keys(out) == 0) {
		return 0;
	} else {
		tried(w, "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set");
	}
	const char *seen[MAX_DEPTH];
	char err[1200];
	bool exists = pexists(w, profile);
	if (named != NULL && !exists) {
		/* A profile asked for by name must exist (as in the SDKs). */
		tried(w, "profile %.80s: not in %.200s nor %.200s", profile, w->conf_path,
		      w->cred_path);
		tried_files(w);
		snprintf(why, whylen, "no AWS credentials: %s", w->trail);
		return -ENOENT;
	}
	/* 2. the profile's role */
	if (exists && pget(w, profile, "role_arn") != NULL) {
		int ret = profile_creds(w, profile, 0, seen, out, err, sizeof(err));
		if (ret != 0) {
			snprintf(why, whylen, "%s", err);
		}
		return ret;
	}
	/* 3. web identity from the environment */
	const char *wif = env("AWS_WEB_IDENTITY_TOKEN_FILE"), *arn = env("AWS_ROLE_ARN");
	if (wif != NULL && arn != NULL) {
		int ret = web_identity(w, wif, arn, env("AWS_ROLE_SESSION_NAME"), out, err,
		                       sizeof(err));
		if (ret != 0) {
			snprintf(why, whylen, "web identity: %s", err);
		}
		return ret;
	}
	tried(w, "web identity: %s",
	      wif == NULL ? "AWS_WEB_IDENTITY_TOKEN_FILE not set" : "AWS_ROLE_ARN not set");
	/* 4-6. the profile's static keys or process */
	if (exists && (static_keys(w, profile, true, out) == 0 ||
	               (pget(w, profile, "credential_process") == NULL &&
	                static_keys(w, profile, false, out) == 0))) {
		return 0;
	}
	if (exists && pget(w, profile, "credential_process") != NULL) {
		int ret = profile_creds(w, profile, 0, seen, out, err, sizeof(err));
		if (ret != 0) {
			snprintf(why, whylen, "%s", err);
		}
		return ret;
	}
	if (exists && (pget(w, profile, "sso_session") != NULL ||
	               pget(w, profile, "sso_start_url") != NULL)) {
		snprintf(why, whylen,
		         "profile %.80s: an SSO profile; zonesync reads SSO credentials through "
		         "credential_process = aws configure export-credentials --profile %.80s "
		         "--format process (in another profile, after aws sso login)",
		         profile, profile);
		return -EINVAL;
	}
	tried(w, "profile %.80s: %s%.200s%s%.200s", profile,
	      exists ? "no credentials in it" : "no such profile in ",
	      exists ? "" : w->conf_path, exists ? "" : " or ", exists ? "" : w->cred_path);
	tried_files(w);
	/* 7. the container */
	int ret = aws_ecs_fetch(out, err, sizeof(err));
	if (ret == 0) {
		return 0;
	}
	if (ret != -ENOENT) {
		snprintf(why, whylen, "%s", err);
		return ret;
	}
	tried(w, "%s", err);
	/* 8. the instance */
	ret = aws_imds_fetch(out, err, sizeof(err));
	if (ret == 0) {
		return 0;
	}
	tried(w, "%s", err);
	snprintf(why, whylen, "no AWS credentials: %s", w->trail);
	return -ENOENT;
}

/* The chain, then the want's own role on top of what it found. */
static int resolve(const aws_want_t *want, aws_creds_t *out, char *url, size_t urlsize,
                   char *region, size_t regionsize, char *why, size_t whylen)
{
	walk_t *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return -ENOMEM;
	}
	w->want = want;
	aws_creds_t base;
	int ret = walk(w, &base, why, whylen);
	if (ret == 0 && want->role_arn != NULL) {
		aws_role_t role = { .arn = want->role_arn, .external_id = want->external_id };
		char err[1200];
		ret = aws_sts_assume_role(&base, &role, w->sts_url, w->region, out, err,
		                          sizeof(err));
		if (ret != 0) {
			snprintf(why, whylen, "role-arn %.200s, with credentials from %.200s: %s",
			         want->role_arn, base.source, err);
		} else {
			char src[sizeof(out->source)];
			snprintf(src, sizeof(src), "%.200s via %.90s", out->source, base.source);
			memcpy(out->source, src, sizeof(src));
		}
	} else if (ret == 0) {
		*out = base;
	}
	if (ret == 0) {
		snprintf(url, urlsize, "%s", w->sts_url);
		snprintf(region, regionsize, "%s", w->region);
	}
	memset(&base, 0, sizeof(base));
	aws_ini_free(w->cred);
	aws_ini_free(w->conf);
	free(w);
	return ret;
}

/* --- sources: the shared cache ---------------------------------------------------- */

struct aws_source {
	struct aws_source *next;
	char *profile, *file, *role, *external_id;
	pthread_mutex_t lock;
	bool have;
	aws_creds_t creds;
	time_t fetched;
	unsigned fetches;
	char account[16];
	char sts_url[600], region[64]; /* where the last walk found STS */
	time_t account_failed;         /* when GetCallerIdentity last failed, or 0 */
	char account_why[300];
};

static pthread_mutex_t sources_lock = PTHREAD_MUTEX_INITIALIZER;
static struct aws_source *sources;

static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static char *dup_or_null(const char *s, bool *failed)
{
	char *d = s != NULL ? strdup(s) : NULL;
	*failed |= s != NULL && d == NULL;
	return d;
}

static void source_free(struct aws_source *s)
{
	free(s->profile);
	free(s->file);
	free(s->role);
	free(s->external_id);
	pthread_mutex_destroy(&s->lock);
	memset(&s->creds, 0, sizeof(s->creds));
	free(s);
}

aws_source_t *aws_source_get(const aws_want_t *w)
{
	pthread_mutex_lock(&sources_lock);
	struct aws_source *s = sources;
	while (s != NULL && !(same(s->profile, w->profile) && same(s->file, w->credentials_file) &&
	                      same(s->role, w->role_arn) && same(s->external_id, w->external_id))) {
		s = s->next;
	}
	if (s == NULL && (s = calloc(1, sizeof(*s))) != NULL) {
		bool failed = false;
		s->profile = dup_or_null(w->profile, &failed);
		s->file = dup_or_null(w->credentials_file, &failed);
		s->role = dup_or_null(w->role_arn, &failed);
		s->external_id = dup_or_null(w->external_id, &failed);
		pthread_mutex_init(&s->lock, NULL);
		if (failed) {
			source_free(s);
			s = NULL;
		} else {
			s->next = sources;
			sources = s;
		}
	}
	pthread_mutex_unlock(&sources_lock);
	return s;
}

/* Are the cached credentials good for one more request at now? */
static bool fresh(const struct aws_source *s, time_t now)
{
	if (!s->have) {
		return false;
	}
	if (s->creds.expires == 0) {
		return now - s->fetched < STATIC_RECHECK && now >= s->fetched;
	}
	time_t life = s->creds.expires - s->fetched;
	time_t margin = life / 4 < REFRESH_MARGIN ? life / 4 : REFRESH_MARGIN;
	return now < s->creds.expires - margin;
}

int aws_source_creds(aws_source_t *s, aws_creds_t *out, char *err, size_t errlen)
{
	pthread_mutex_lock(&s->lock);
	time_t now = time(NULL);
	int ret = 0;
	if (!fresh(s, now)) {
		aws_want_t want = { s->profile, s->file, s->role, s->external_id };
		aws_creds_t c;
		ret = resolve(&want, &c, s->sts_url, sizeof(s->sts_url), s->region,
		              sizeof(s->region), err, errlen);
		if (ret == 0) {
			if (s->have && strcmp(s->creds.access_key, c.access_key) != 0) {
				s->account[0] = '\0'; /* other keys: ask again */
			}
			s->creds = c;
			s->have = true;
			s->fetched = now;
			s->fetches++;
			ret = 1;
		} else if (s->have && s->creds.expires != 0 && s->creds.expires - now > KEEP_OLD_MIN) {
			ret = 0; /* the old ones still serve; the next request tries again */
		}
		memset(&c, 0, sizeof(c));
	}
	if (ret >= 0) {
		*out = s->creds;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int aws_source_account(aws_source_t *s, char account[16], char *err, size_t errlen)
{
	aws_creds_t c;
	int ret = aws_source_creds(s, &c, err, errlen);
	if (ret < 0) {
		return ret;
	}
	ret = 0;
	pthread_mutex_lock(&s->lock);
	time_t now = time(NULL);
	if (s->account[0] == '\0' && c.account[0] != '\0') {
		memcpy(s->account, c.account, sizeof(s->account));
	}
	if (s->account[0] == '\0' && s->account_failed != 0 &&
	    now - s->account_failed < ACCOUNT_RETRY) {
		snprintf(err, errlen, "%s", s->account_why);
		ret = -EAGAIN;
	} else if (s->account[0] == '\0') {
		ret = aws_sts_caller_account(&c, s->sts_url, s->region, s->account, s->account_why,
		                             sizeof(s->account_why));
		s->account_failed = ret != 0 ? now : 0;
		if (ret != 0) {
			snprintf(err, errlen, "%s", s->account_why);
		}
	}
	if (ret == 0) {
		memcpy(account, s->account, sizeof(s->account));
	}
	pthread_mutex_unlock(&s->lock);
	memset(&c, 0, sizeof(c));
	return ret;
}

unsigned aws_source_fetches(aws_source_t *s)
{
	pthread_mutex_lock(&s->lock);
	unsigned n = s->fetches;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void aws_sources_cleanup(void)
{
	pthread_mutex_lock(&sources_lock);
	while (sources != NULL) {
		struct aws_source *n = sources->next;
		source_free(sources);
		sources = n;
	}
	pthread_mutex_unlock(&sources_lock);
}
