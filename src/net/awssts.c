#include "net/awssts.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "net/awsmeta.h"
#include "net/http.h"
#include "net/retry.h"
#include "net/sigv4.h"

#define STS_VERSION "2011-06-15"
#define STS_TIMEOUT_MS 10000
#define STS_IDENTITY_TIMEOUT_MS 3000
#define STS_ATTEMPTS 4
#define FORM_TYPE "application/x-www-form-urlencoded; charset=utf-8"

/* --- the answer -------------------------------------------------------------- */

static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

/* The first element named name under n (depth first), or NULL. */
static xmlNodePtr find(xmlNodePtr n, const char *name)
{
	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE) {
			continue;
		}
		if (xmlStrcmp(n->name, (const xmlChar *)name) == 0) {
			return n;
		}
		xmlNodePtr c = find(n->children, name);
		if (c != NULL) {
			return c;
		}
	}
	return NULL;
}

/* The text of the element named name under n, trimmed, into buf: 0,
 * -ENOENT when absent, -E2BIG when longer than the buffer. */
static int text_of(xmlNodePtr n, const char *name, char *buf, size_t size)
{
	xmlNodePtr e = find(n, name);
	if (e == NULL) {
		return -ENOENT;
	}
	xmlChar *t = xmlNodeGetContent(e);
	if (t == NULL) {
		return -ENOENT;
	}
	const char *s = (const char *)t;
	while (isspace((unsigned char)*s)) {
		s++;
	}
	size_t len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1])) {
		len--;
	}
	int ret = 0;
	if (len >= size) {
		ret = -E2BIG;
	} else {
		memcpy(buf, s, len);
		buf[len] = '\0';
	}
	xmlFree(t);
	return ret;
}

int aws_arn_account(const char *arn, char account[16])
{
	/* arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE */
	const char *p = arn;
	for (int i = 0; i < 4; i++) {
		p = p != NULL ? strchr(p, ':') : NULL;
		p = p != NULL ? p + 1 : NULL;
	}
	if (p == NULL || strncmp(arn, "arn:", 4) != 0) {
		return -EINVAL;
	}
	size_t n = strspn(p, "0123456789");
	if (n != 12 || p[n] != ':') {
		return -EINVAL;
	}
	memcpy(account, p, n);
	account[n] = '\0';
	return 0;
}

int aws_sts_parse(const char *xml, size_t len, aws_creds_t *out, char *why, size_t whylen)
{
	if (xml == NULL || len == 0 || len > (1u << 20)) {
		snprintf(why, whylen, "an empty or oversized answer");
		return -EPROTO;
	}
	xmlSetGenericErrorFunc(NULL, quiet);
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL,
	                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		snprintf(why, whylen, "an answer that is not XML");
		return -EPROTO;
	}
	xmlNodePtr root = xmlDocGetRootElement(doc);
	int ret = 0;
	if (root != NULL && xmlStrcmp(root->name, (const xmlChar *)"ErrorResponse") == 0) {
		char code[64] = "", msg[400] = "";
		(void)text_of(root, "Code", code, sizeof(code));
		(void)text_of(root, "Message", msg, sizeof(msg));
		for (char *c = msg; *c != '\0'; c++) {
			if (!isprint((unsigned char)*c)) {
				*c = '?';
			}
		}
		for (char *c = code; *c != '\0'; c++) {
			if (!isalnum((unsigned char)*c) && *c != '.') {
				*c = '?';
			}
		}
		snprintf(why, whylen, "%s: %s", code[0] != '\0' ? code : "error", msg);
		xmlFreeDoc(doc);
		return -EACCES;
	}
	aws_creds_t c;
	memset(&c, 0, sizeof(c));
	xmlNodePtr cred = root != NULL ? find(root, "Credentials") : NULL;
	if (cred != NULL) {
		char exp[64];
		if (text_of(cred->children, "AccessKeyId", c.access_key, sizeof(c.access_key)) != 0 ||
		    text_of(cred->children, "SecretAccessKey", c.secret_key, sizeof(c.secret_key)) !=
		            0 ||
		    text_of(cred->children, "SessionToken", c.session_token,
		            sizeof(c.session_token)) != 0 ||
		    text_of(cred->children, "Expiration", exp, sizeof(exp)) != 0 ||
		    c.access_key[0] == '\0' || c.secret_key[0] == '\0') {
			snprintf(why, whylen,
			         "Credentials lack AccessKeyId, SecretAccessKey, SessionToken or "
			         "Expiration, or one is too long");
			ret = -EPROTO;
		} else if ((c.expires = aws_time_parse(exp)) <= 0) {
			snprintf(why, whylen, "Expiration '%.40s' is not a date", exp);
			ret = -EPROTO;
		}
		char arn[2048];
		xmlNodePtr user = find(root, "AssumedRoleUser");
		if (ret == 0 && user != NULL && text_of(user->children, "Arn", arn, sizeof(arn)) == 0) {
			(void)aws_arn_account(arn, c.account);
		}
	} else if (root == NULL || text_of(root, "Account", c.account, sizeof(c.account)) != 0 ||
	           strspn(c.account, "0123456789") != 12 || c.account[12] != '\0') {
		snprintf(why, whylen, "neither Credentials nor a 12-digit Account in the answer");
		ret = -EPROTO;
	}
	xmlFreeDoc(doc);
	if (ret == 0) {
		*out = c;
	}
	memset(&c, 0, sizeof(c));
	return ret;
}

/* --- the calls ---------------------------------------------------------------- */

typedef struct {
	char *data;
	size_t len, cap;
	bool failed;
} form_t;

static void form_add(form_t *f, const char *name, const char *value)
{
	char *v = sigv4_encode(value, 0);
	if (v == NULL) {
		f->failed = true;
		return;
	}
	size_t need = f->len + strlen(name) + strlen(v) + 3;
	if (need > f->cap) {
		size_t cap = need * 2;
		char *d = realloc(f->data, cap);
		if (d == NULL) {
			f->failed = true;
			free(v);
			return;
		}
		f->data = d;
		f->cap = cap;
	}
	f->len += (size_t)snprintf(f->data + f->len, f->cap - f->len, "%s%s=%s",
	                           f->len > 0 ? "&" : "", name, v);
	free(v);
}

static bool retryable(long status, const char *why)
{
	return status == 0 || status == 429 || status >= 500 || strstr(why, "Throttling") != NULL ||
	       strstr(why, "RequestLimitExceeded") != NULL;
}

/*
 * POST form to url, signed with `with` unless NULL; the answer parsed into
 * out.  what: the action, for messages.
 */
static int sts_call(const char *url, const char *region, const aws_creds_t *with,
                    const char *form, size_t form_len, const char *what, unsigned attempts,
                    long timeout_ms, aws_creds_t *out, char *why, size_t whylen)
{
	const char *p = strstr(url, "://");
	if (p == NULL || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
		snprintf(why, whylen, "STS %s: endpoint '%.200s' is not an http(s) URL", what, url);
		return -EINVAL;
	}
	char host[300], target[600];
	size_t hl = strcspn(p + 3, "/");
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(why, whylen, "STS %s: endpoint '%.200s' has no host", what, url);
		return -EINVAL;
	}
	memcpy(host, p + 3, hl);
	host[hl] = '\0';
	snprintf(target, sizeof(target), "%.*s/", (int)(p + 3 - url + hl), url);
	http_t *h = http_new(timeout_ms);
	if (h == NULL) {
		return -ENOMEM;
	}
	int ret = -EIO;
	double started = retry_clock();
	for (unsigned attempt = 1; attempt <= attempts; attempt++) {
		char date[17];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
		char h_auth[2048], h_date[64], h_token[4200];
		const char *headers[4];
		size_t nh = 0;
		headers[nh++] = "Content-Type: " FORM_TYPE;
		if (with != NULL) {
			sigv4_pair_t ctype = { "content-type", FORM_TYPE };
			sigv4_creds_t c = { with->access_key, with->secret_key,
				            with->session_token[0] != '\0' ? with->session_token
				                                           : NULL };
			sigv4_request_t r = { .method = "POST",
				              .host = host,
				              .path = "/",
				              .headers = &ctype,
				              .nheaders = 1,
				              .body = form,
				              .body_len = form_len,
				              .region = region,
				              .service = "sts",
				              .amz_date = date };
			char *auth = sigv4_authorization(&r, &c);
			if (auth == NULL) {
				snprintf(why, whylen, "STS %s: cannot sign the request", what);
				ret = -EINVAL;
				break;
			}
			snprintf(h_auth, sizeof(h_auth), "Authorization: %s", auth);
			free(auth);
			snprintf(h_date, sizeof(h_date), "X-Amz-Date: %s", date);
			headers[nh++] = h_auth;
			headers[nh++] = h_date;
			if (c.session_token != NULL) {
				snprintf(h_token, sizeof(h_token), "X-Amz-Security-Token: %s",
				         c.session_token);
				headers[nh++] = h_token;
			}
		}
		http_response_t resp;
		char neterr[300], perr[600];
		long status = 0;
		int r = http_request(h, "POST", target, headers, nh, form, form_len, &resp, neterr,
		                     sizeof(neterr));
		if (r == -ECANCELED) {
			snprintf(why, whylen, "STS %s at %.200s: stopped", what, target);
			ret = r;
			break;
		}
		if (r != 0) {
			snprintf(perr, sizeof(perr), "%s", neterr);
		} else {
			status = resp.status;
			r = aws_sts_parse(resp.body, resp.len, out, perr, sizeof(perr));
			if (r == -EPROTO && (status < 200 || status >= 300)) {
				snprintf(perr, sizeof(perr), "HTTP %ld", status);
			}
			if (resp.body != NULL) {
				memset(resp.body, 0, resp.len); /* it held credentials */
			}
			http_response_free(&resp);
			if (r == 0 && status >= 200 && status < 300) {
				ret = 0;
				break;
			}
		}
		snprintf(why, whylen, "STS %s at %.200s: %s", what, target, perr);
		ret = r == 0 ? -EPROTO : r;
		double pause = retry_backoff(attempt, 0.2, 2.0);
		if (!retryable(status, perr) || attempt == attempts ||
		    !retry_in_time(started, pause, 30)) {
			break;
		}
		retry_sleep(pause);
	}
	http_free(h);
	return ret;
}

static void role_form(form_t *f, const char *action, const aws_role_t *role)
{
	char name[64], dur[16];
	const char *session = role->session_name;
	if (session == NULL || *session == '\0') {
		snprintf(name, sizeof(name), "zonesync-%lld", (long long)time(NULL));
		session = name;
	}
	snprintf(dur, sizeof(dur), "%u", role->duration != 0 ? role->duration : 3600);
	form_add(f, "Action", action);
	form_add(f, "Version", STS_VERSION);
	form_add(f, "RoleArn", role->arn);
	form_add(f, "RoleSessionName", session);
	form_add(f, "DurationSeconds", dur);
	if (role->external_id != NULL && *role->external_id != '\0') {
		form_add(f, "ExternalId", role->external_id);
	}
}

static int role_call(const char *action, const aws_creds_t *with, const char *token,
                     const aws_role_t *role, const char *url, const char *region,
                     aws_creds_t *out, char *why, size_t whylen)
{
	form_t f = { 0 };
	role_form(&f, action, role);
	if (token != NULL) {
		form_add(&f, "WebIdentityToken", token);
	}
	if (f.failed) {
		free(f.data);
		return -ENOMEM;
	}
	char what[300];
	snprintf(what, sizeof(what), "%s %.200s", action, role->arn);
	int ret = sts_call(url, region, with, f.data, f.len, what, STS_ATTEMPTS, STS_TIMEOUT_MS, out, why,
	                   whylen);
	if (ret == 0 && out->access_key[0] == '\0') {
		snprintf(why, whylen, "STS %s: no Credentials in the answer", what);
		ret = -EPROTO;
	}
	if (ret == 0) {
		snprintf(out->source, sizeof(out->source), "%s %.200s",
		         token != NULL ? "web identity role" : "role", role->arn);
	}
	memset(f.data, 0, f.len);
	free(f.data);
	return ret;
}

int aws_sts_assume_role(const aws_creds_t *with, const aws_role_t *role, const char *url,
                        const char *region, aws_creds_t *out, char *why, size_t whylen)
{
	return role_call("AssumeRole", with, NULL, role, url, region, out, why, whylen);
}

int aws_sts_web_identity(const char *token, const aws_role_t *role, const char *url,
                         const char *region, aws_creds_t *out, char *why, size_t whylen)
{
	return role_call("AssumeRoleWithWebIdentity", NULL, token, role, url, region, out, why,
	                 whylen);
}

int aws_sts_caller_account(const aws_creds_t *with, const char *url, const char *region,
                           char account[16], char *why, size_t whylen)
{
	static const char form[] = "Action=GetCallerIdentity&Version=" STS_VERSION;
	aws_creds_t out;
	/* Only the rate limit's key hangs on it: one try, no waits when STS
	 * cannot be reached (the access key then stands for the account). */
	int ret = sts_call(url, region, with, form, sizeof(form) - 1, "GetCallerIdentity", 1,
	                   STS_IDENTITY_TIMEOUT_MS, &out, why, whylen);
	if (ret == 0) {
		memcpy(account, out.account, 16);
	}
	memset(&out, 0, sizeof(out));
	return ret;
}
