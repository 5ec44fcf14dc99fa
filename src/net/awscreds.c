#include "net/awscreds.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/fileerr.h"

static const char *span_trim(const char *s, const char *e, size_t *len)
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

static void set(char *dst, size_t size, const char *v, size_t len)
{
	if (len >= size) {
		len = size - 1;
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
}

int aws_creds_parse_ini(const char *text, const char *section, aws_creds_t *out)
{
	bool in = false, seen = false;
	aws_creds_t c = { 0 };
	const char *p = text;
	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		if (eol == NULL) {
			eol = p + strlen(p);
		}
		size_t len;
		const char *l = span_trim(p, eol, &len);
		p = *eol == '\n' ? eol + 1 : eol;
		if (len == 0 || l[0] == '#' || l[0] == ';') {
			continue;
		}
		if (l[0] == '[') {
			size_t n;
			const char *name = l + 1;
			const char *close = memchr(l, ']', len);
			if (close == NULL) {
				in = false;
				continue;
			}
			name = span_trim(name, close, &n);
			in = n == strlen(section) && memcmp(name, section, n) == 0;
			seen |= in;
			continue;
		}
		const char *eq = memchr(l, '=', len);
		if (!in || eq == NULL) {
			continue;
		}
		size_t kl, vl;
		const char *k = span_trim(l, eq, &kl);
		const char *v = span_trim(eq + 1, l + len, &vl);
		if (kl == 17 && strncmp(k, "aws_access_key_id", kl) == 0) {
			set(c.access_key, sizeof(c.access_key), v, vl);
		} else if (kl == 21 && strncmp(k, "aws_secret_access_key", kl) == 0) {
			set(c.secret_key, sizeof(c.secret_key), v, vl);
		} else if (kl == 17 && strncmp(k, "aws_session_token", kl) == 0) {
			set(c.session_token, sizeof(c.session_token), v, vl);
		}
	}
	if (!seen) {
		return -ENOENT;
	}
	if (c.access_key[0] == '\0' || c.secret_key[0] == '\0') {
		return -ENODATA;
	}
	*out = c;
	return 0;
}

/* The file's text, or NULL with errno set. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && len < (1u << 20)) {
		char *b = realloc(buf, len + n + 1);
		if (b == NULL) {
			break;
		}
		buf = b;
		memcpy(buf + len, chunk, n);
		len += n;
		buf[len] = '\0';
	}
	int e = ferror(f) ? errno : 0;
	fclose(f);
	if (e != 0) {
		free(buf);
		errno = e;
		return NULL;
	}
	if (buf == NULL) {
		errno = ENOMEM;
		buf = calloc(1, 1); /* an empty file */
	}
	return buf;
}

/* 0, or an error with why saying what is wrong with path (for messages:
 * a long path is cut, a secret never shown). */
static int from_file(const char *path, const char *section, aws_creds_t *out, char *why,
                     size_t whylen)
{
	char *text = slurp(path);
	if (text == NULL) {
		int e = errno;
		char cause[160];
		snprintf(why, whylen, "%.200s: %s%s", path, e == ENOENT ? "" : "cannot read: ",
		         file_error(path, e, cause, sizeof(cause)));
		return -e;
	}
	int ret = aws_creds_parse_ini(text, section, out);
	free(text);
	if (ret == 0) {
		snprintf(out->source, sizeof(out->source), "%.200s [%.80s]", path, section);
	} else if (ret == -ENOENT) {
		snprintf(why, whylen, "%.200s: no section [%.80s]", path, section);
	} else {
		snprintf(why, whylen,
		         "%.200s [%.80s]: needs both aws_access_key_id and aws_secret_access_key",
		         path, section);
	}
	return ret;
}

static void home_path(char *buf, size_t size, const char *rel)
{
	const char *home = getenv("HOME");
	snprintf(buf, size, "%s/%s", home != NULL ? home : "", rel);
}

int aws_creds_load(const char *profile, const char *file, aws_creds_t *out, char *err,
                   size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *id = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	if (profile == NULL && id != NULL && *id != '\0' && secret != NULL && *secret != '\0') {
		const char *token = getenv("AWS_SESSION_TOKEN");
		set(out->access_key, sizeof(out->access_key), id, strlen(id));
		set(out->secret_key, sizeof(out->secret_key), secret, strlen(secret));
		if (token != NULL) {
			set(out->session_token, sizeof(out->session_token), token, strlen(token));
		}
		snprintf(out->source, sizeof(out->source), "environment");
		return 0;
	}
	const char *prof = profile;
	if (prof == NULL) {
		prof = getenv("AWS_PROFILE");
	}
	if (prof == NULL || *prof == '\0') {
		prof = "default";
	}
	char cred_path[4096], conf_path[4096];
	if (file != NULL) {
		snprintf(cred_path, sizeof(cred_path), "%s", file);
	} else if (getenv("AWS_SHARED_CREDENTIALS_FILE") != NULL) {
		snprintf(cred_path, sizeof(cred_path), "%s", getenv("AWS_SHARED_CREDENTIALS_FILE"));
	} else {
		home_path(cred_path, sizeof(cred_path), ".aws/credentials");
	}
	char why_cred[400], why_conf[400];
	if (from_file(cred_path, prof, out, why_cred, sizeof(why_cred)) == 0) {
		return 0;
	}
	if (getenv("AWS_CONFIG_FILE") != NULL) {
		snprintf(conf_path, sizeof(conf_path), "%s", getenv("AWS_CONFIG_FILE"));
	} else {
		home_path(conf_path, sizeof(conf_path), ".aws/config");
	}
	char section[300];
	if (strcmp(prof, "default") == 0) {
		snprintf(section, sizeof(section), "default");
	} else {
		snprintf(section, sizeof(section), "profile %s", prof);
	}
	if (from_file(conf_path, section, out, why_conf, sizeof(why_conf)) == 0) {
		return 0;
	}
	snprintf(err, errlen,
	         "no AWS credentials for profile '%s': %s%s; %s (set AWS_ACCESS_KEY_ID and "
	         "AWS_SECRET_ACCESS_KEY, or a credentials file)",
	         prof, profile == NULL ? "not in the environment; " : "", why_cred, why_conf);
	return -ENOENT;
}
