#include "net/awsmeta.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/fileerr.h"
#include "net/http.h"
#include "net/spawn.h"

extern char **environ;

#define IMDS_DEFAULT "http://169.254.169.254"
#define IMDS_TIMEOUT_MS 1000
#define ECS_HOST "http://169.254.170.2"
#define ECS_TIMEOUT_MS 2000
#define ECS_ATTEMPTS 3
#define ECS_PAUSE_MS 1000
#define PROCESS_LIMIT_MS 60000
#define PROCESS_MAX_OUT (64u << 10)
#define URL_MAX 2048
/* Longer than any token IMDS or ECS/EKS hands out (IMDS: 56 bytes, EKS: a
 * JWT of about 1 KiB). */
#define TOKEN_MAX 16384

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* At most size - 1 bytes of src[0..n), anything but printable ASCII as '?':
 * text from the other side, fit for a message. */
static void printable(char *dst, size_t size, const char *src, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[k] = '\0';
}

/* --- the document ---------------------------------------------------------- */

static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return false; /* also stops at the end of s */
		}
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

time_t aws_time_parse(const char *s)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec;
	if (s == NULL || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec)) {
		return -1;
	}
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9') {
			return -1;
		}
		while (*p >= '0' && *p <= '9') {
			p++;
		}
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		if (p[1] != '\0') {
			return -1;
		}
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) ||
		    p[6] != '\0' || oh > 23 || om > 59) {
			return -1;
		}
		off = (oh * 60L + om) * 60L * (*p == '-' ? -1 : 1);
	} else {
		return -1;
	}
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 ||
	    mi > 59 || sec > 60) {
		return -1;
	}
	struct tm tm = { .tm_year = y - 1900,
		         .tm_mon = mo - 1,
		         .tm_mday = d,
		         .tm_hour = h,
		         .tm_min = mi,
		         .tm_sec = sec };
	time_t t = timegm(&tm);
	if (t == (time_t)-1) {
		return -1;
	}
	t -= off; /* local time + offset = UTC + offset */
	return t < 0 ? -1 : t;
}

/* What a string member may hold. */
enum { TEXT_HEADER, TEXT_DIGITS };

/* key's string into dst: 1 when it is absent (or null), 0 when set, or
 * -EINVAL with why (naming the key, never the value). */
static int get_str(json_t *o, const char *key, int kind, char *dst, size_t size, char *why,
                   size_t whylen)
{
	dst[0] = '\0';
	json_t *v = json_object_get(o, key);
	if (v == NULL || json_is_null(v)) {
		return 1;
	}
	if (!json_is_string(v)) {
		snprintf(why, whylen, "%s is not a string", key);
		return -EINVAL;
	}
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n == 0) {
		snprintf(why, whylen, "%s is empty", key);
		return -EINVAL;
	}
	if (n >= size) {
		snprintf(why, whylen, "%s is longer than %zu bytes", key, size - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		/* What goes into a header: no blank, no control character. */
		bool ok = kind == TEXT_DIGITS ? c >= '0' && c <= '9' : c > 0x20 && c < 0x7f;
		if (!ok) {
			snprintf(why, whylen, "%s holds a character that is not %s", key,
			         kind == TEXT_DIGITS ? "a digit" : "printable ASCII");
			return -EINVAL;
		}
	}
	memcpy(dst, s, n + 1);
	return 0;
}

static int from_object(json_t *root, int process, aws_creds_t *c, char *why, size_t whylen)
{
	if (!json_is_object(root)) {
		snprintf(why, whylen, "not a JSON object");
		return -EINVAL;
	}
	if (process) {
		json_t *v = json_object_get(root, "Version");
		if (v == NULL) {
			snprintf(why, whylen, "Version missing (it must be 1)");
			return -EINVAL;
		}
		if (!json_is_integer(v) || json_integer_value(v) != 1) {
			snprintf(why, whylen, "Version is not 1 (the only version there is)");
			return -EINVAL;
		}
	}
	json_t *code = json_object_get(root, "Code");
	if (code != NULL && !json_is_null(code)) {
		if (!json_is_string(code)) {
			snprintf(why, whylen, "Code is not a string");
			return -EINVAL;
		}
		if (strcmp(json_string_value(code), "Success") != 0) {
			char shown[80];
			printable(shown, sizeof(shown), json_string_value(code),
			          json_string_length(code));
			snprintf(why, whylen, "Code is \"%s\", not Success", shown);
			return -EINVAL;
		}
	}
	int ret = get_str(root, "AccessKeyId", TEXT_HEADER, c->access_key, sizeof(c->access_key),
	                  why, whylen);
	if (ret == 1) {
		snprintf(why, whylen, "AccessKeyId missing");
		return -EINVAL;
	}
	if (ret < 0) {
		return ret;
	}
	ret = get_str(root, "SecretAccessKey", TEXT_HEADER, c->secret_key, sizeof(c->secret_key),
	              why, whylen);
	if (ret == 1) {
		snprintf(why, whylen, "SecretAccessKey missing");
		return -EINVAL;
	}
	if (ret < 0) {
		return ret;
	}
	/* IMDS and ECS say Token, credential_process SessionToken. */
	ret = get_str(root, "Token", TEXT_HEADER, c->session_token, sizeof(c->session_token), why,
	              whylen);
	if (ret == 1) {
		ret = get_str(root, "SessionToken", TEXT_HEADER, c->session_token,
		              sizeof(c->session_token), why, whylen);
	}
	if (ret < 0) {
		return ret;
	}
	char exp[64];
	ret = get_str(root, "Expiration", TEXT_HEADER, exp, sizeof(exp), why, whylen);
	if (ret < 0) {
		return ret;
	}
	if (ret == 1 && !process) {
		snprintf(why, whylen, "Expiration missing");
		return -EINVAL;
	}
	if (ret == 0) {
		c->expires = aws_time_parse(exp);
		if (c->expires == -1) {
			char shown[64];
			printable(shown, sizeof(shown), exp, strlen(exp));
			snprintf(why, whylen,
			         "Expiration \"%s\" is not an RFC 3339 time "
			         "(YYYY-MM-DDTHH:MM:SSZ)",
			         shown);
			return -EINVAL;
		}
	}
	ret = get_str(root, "AccountId", TEXT_DIGITS, c->account, sizeof(c->account), why, whylen);
	return ret < 0 ? ret : 0;
}

int aws_creds_from_json(const char *text, size_t len, int process, aws_creds_t *out, char *why,
                        size_t whylen)
{
	if (text == NULL || len == 0) {
		snprintf(why, whylen, "empty document");
		return -EINVAL;
	}
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		/* Never jerr.text: it quotes the document ("near '...'"). */
		snprintf(why, whylen, "not JSON (line %d, column %d)", jerr.line, jerr.column);
		return -EINVAL;
	}
	aws_creds_t c;
	memset(&c, 0, sizeof(c));
	int ret = from_object(root, process, &c, why, whylen);
	json_decref(root);
	if (ret == 0) {
		memcpy(out, &c, sizeof(c));
	}
	explicit_bzero(&c, sizeof(c));
	return ret;
}

/* --- EC2 instance metadata -------------------------------------------------- */

/* http.c says a timeout the same way whatever libcurl's words. */
static bool timed_out(int ret, const char *err)
{
	return ret == -EIO && strstr(err, ": timed out after ") != NULL;
}

static bool role_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 128) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("+=,.@_-", c) != NULL) ||
		    c == '\0') {
			return false;
		}
	}
	return true;
}

/* The instance's role: 0 with role set, or a negative error with why. */
static int imds_role(http_t *h, const char *base, const char *auth, char *role, size_t size,
                     char *why, size_t whylen)
{
	char url[URL_MAX], err[512];
	snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/", base);
	http_response_t r;
	int ret = http_request(h, "GET", url, &auth, 1, NULL, 0, &r, err, sizeof(err));
	if (ret != 0) {
		snprintf(why, whylen, "instance metadata: %s", err);
		return ret;
	}
	if (r.status == 404) {
		snprintf(why, whylen, "instance metadata: no IAM role attached to the instance");
		http_response_free(&r);
		return -ENOENT;
	}
	if (r.status != 200) {
		snprintf(why, whylen, "instance metadata: GET %s: HTTP %ld", url, r.status);
		http_response_free(&r);
		return -EPROTO;
	}
	const char *s = r.body != NULL ? r.body : "";
	size_t n = strcspn(s, "\r\n");
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
		n--;
	}
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	if (n == 0) {
		snprintf(why, whylen, "instance metadata: no IAM role attached to the instance");
		ret = -ENOENT;
	} else if (!role_name_ok(s, n) || n >= size) {
		char shown[64];
		printable(shown, sizeof(shown), s, n);
		snprintf(why, whylen, "instance metadata: \"%s\" is not a role name", shown);
		ret = -EPROTO;
	} else {
		memcpy(role, s, n);
		role[n] = '\0';
	}
	http_response_free(&r);
	return ret;
}

int aws_imds_fetch(aws_creds_t *out, char *why, size_t whylen)
{
	const char *off = getenv("AWS_EC2_METADATA_DISABLED");
	if (off != NULL && strcasecmp(off, "true") == 0) {
		snprintf(why, whylen, "instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
		return -ENOENT;
	}
	const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	if (ep == NULL || ep[0] == '\0') {
		ep = IMDS_DEFAULT;
	}
	char base[512];
	size_t n = strlen(ep);
	if (n >= sizeof(base)) {
		snprintf(why, whylen,
		         "instance metadata: AWS_EC2_METADATA_SERVICE_ENDPOINT is "
		         "longer than %zu bytes",
		         sizeof(base) - 1);
		return -EINVAL;
	}
	memcpy(base, ep, n + 1);
	while (n > 0 && base[n - 1] == '/') {
		base[--n] = '\0';
	}
	if (strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0) {
		snprintf(why, whylen,
		         "instance metadata: AWS_EC2_METADATA_SERVICE_ENDPOINT is not "
		         "an http:// or https:// URL");
		return -EINVAL;
	}
	http_t *h = http_new(IMDS_TIMEOUT_MS);
	if (h == NULL) {
		snprintf(why, whylen, "instance metadata: out of memory");
		return -ENOMEM;
	}
	char url[URL_MAX], err[512], role[129];
	char *auth = NULL;
	http_response_t r = { 0 };
	snprintf(url, sizeof(url), "%s/latest/api/token", base);
	const char *ttl = "X-aws-ec2-metadata-token-ttl-seconds: 21600";
	int ret = http_request(h, "PUT", url, &ttl, 1, NULL, 0, &r, err, sizeof(err));
	if (timed_out(ret, err)) {
		snprintf(why, whylen,
		         "instance metadata: no answer to the IMDSv2 token request from %s within "
		         "1 s (not on EC2? in a container on EC2 the instance's metadata hop limit "
		         "must be 2: aws ec2 modify-instance-metadata-options --instance-id ID "
		         "--http-put-response-hop-limit 2)",
		         base);
		ret = -ETIMEDOUT;
		goto out;
	}
	if (ret != 0) {
		snprintf(why, whylen, "instance metadata: %s", err);
		goto out;
	}
	if (r.status != 200) {
		snprintf(why, whylen, "instance metadata: PUT %s: HTTP %ld%s", url, r.status,
		         r.status == 403
		                 ? " (IMDS turned off for this instance, or the request refused)"
		         : r.status == 404 ? " (no IMDSv2 there; IMDSv1 is not used)"
		                           : "");
		ret = r.status == 403 ? -EACCES : -EPROTO;
		goto out;
	}
	n = r.len;
	while (n > 0 && (r.body[n - 1] == '\n' || r.body[n - 1] == '\r')) {
		n--;
	}
	bool token_ok = n > 0 && n < TOKEN_MAX;
	for (size_t i = 0; token_ok && i < n; i++) {
		token_ok = r.body[i] > 0x20 && r.body[i] < 0x7f;
	}
	if (!token_ok) {
		snprintf(why, whylen, "instance metadata: PUT %s: the answer is not a token", url);
		ret = -EPROTO;
		goto out;
	}
	const char *name = "X-aws-ec2-metadata-token: ";
	auth = malloc(strlen(name) + n + 1);
	if (auth == NULL) {
		snprintf(why, whylen, "instance metadata: out of memory");
		ret = -ENOMEM;
		goto out;
	}
	memcpy(auth, name, strlen(name));
	memcpy(auth + strlen(name), r.body, n);
	auth[strlen(name) + n] = '\0';
	explicit_bzero(r.body, r.len);
	http_response_free(&r);

	ret = imds_role(h, base, auth, role, sizeof(role), why, whylen);
	if (ret != 0) {
		goto out;
	}
	snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s", base, role);
	const char *hdr = auth;
	ret = http_request(h, "GET", url, &hdr, 1, NULL, 0, &r, err, sizeof(err));
	if (ret != 0) {
		snprintf(why, whylen, "instance metadata: %s", err);
		goto out;
	}
	if (r.status != 200) {
		snprintf(why, whylen, "instance metadata: GET %s: HTTP %ld", url, r.status);
		ret = r.status == 404 ? -ENOENT : -EPROTO;
		goto out;
	}
	char jwhy[256];
	ret = aws_creds_from_json(r.body, r.len, 0, out, jwhy, sizeof(jwhy));
	if (ret != 0) {
		snprintf(why, whylen, "instance metadata (role %s): %s", role, jwhy);
		goto out;
	}
	snprintf(out->source, sizeof(out->source), "instance metadata (role %s)", role);
out:
	if (r.body != NULL) {
		explicit_bzero(r.body, r.len);
	}
	http_response_free(&r);
	if (auth != NULL) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	http_free(h);
	return ret;
}

/* --- ECS / EKS container credentials --------------------------------------- */

/* Plain http goes to this machine or the ECS/EKS agents only. */
static bool http_host_allowed(const char *host)
{
	if (strcasecmp(host, "localhost") == 0) {
		return true;
	}
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) == 1) {
		uint32_t a = ntohl(a4.s_addr);
		return (a >> 24) == 127 || a == 0xa9feaa02u /* 169.254.170.2 */ ||
		       a == 0xa9feaa17u /* 169.254.170.23 */;
	}
	struct in6_addr a6, eks;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		inet_pton(AF_INET6, "fd00:ec2::23", &eks);
		return IN6_IS_ADDR_LOOPBACK(&a6) || memcmp(&a6, &eks, sizeof(eks)) == 0;
	}
	return false;
}

int aws_container_uri_check(const char *uri, char *why, size_t whylen)
{
	if (strncasecmp(uri, "https://", 8) == 0) {
		return 0;
	}
	if (strncasecmp(uri, "http://", 7) != 0) {
		snprintf(why, whylen,
		         "container: AWS_CONTAINER_CREDENTIALS_FULL_URI is not an "
		         "http:// or https:// URL");
		return -EINVAL;
	}
	const char *a = uri + 7;
	size_t n = strcspn(a, "/?#");
	char host[256] = "";
	bool ok = memchr(a, '@', n) == NULL && memchr(a, '\\', n) == NULL;
	if (ok && a[0] == '[') {
		const char *close = memchr(a, ']', n);
		ok = close != NULL && (size_t)(close - a - 1) < sizeof(host) &&
		     (close + 1 == a + n || close[1] == ':');
		if (ok) {
			memcpy(host, a + 1, (size_t)(close - a - 1));
			host[close - a - 1] = '\0';
		}
	} else if (ok) {
		const char *colon = memchr(a, ':', n);
		size_t hn = colon != NULL ? (size_t)(colon - a) : n;
		ok = hn < sizeof(host);
		if (ok) {
			memcpy(host, a, hn);
			host[hn] = '\0';
		}
	}
	if (!ok || !http_host_allowed(host)) {
		char shown[80];
		printable(shown, sizeof(shown), a, n);
		snprintf(why, whylen,
		         "container: AWS_CONTAINER_CREDENTIALS_FULL_URI is plain http to %s, which "
		         "is not a loopback address, 169.254.170.2, 169.254.170.23 or "
		         "fd00:ec2::23 (use https)",
		         shown);
		return -EINVAL;
	}
	return 0;
}

/* The Authorization header ("" when there is none), malloc'd, or NULL with
 * why. */
static char *ecs_auth(char *why, size_t whylen)
{
	const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *from = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
	char *text = NULL;
	const char *tok = NULL;
	size_t n = 0;
	if (file != NULL && file[0] != '\0') {
		from = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
		char cause[256];
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(why, whylen,
			         "container: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s", file,
			         file_error(file, errno, cause, sizeof(cause)));
			return NULL;
		}
		text = malloc(TOKEN_MAX + 1);
		if (text == NULL) {
			close(fd);
			snprintf(why, whylen, "container: out of memory");
			return NULL;
		}
		for (;;) {
			ssize_t r = read(fd, text + n, TOKEN_MAX + 1 - n);
			if (r < 0 && errno == EINTR) {
				continue;
			}
			if (r < 0) {
				snprintf(why, whylen,
				         "container: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s",
				         file, file_error(file, errno, cause, sizeof(cause)));
				close(fd);
				free(text);
				return NULL;
			}
			n += (size_t)r;
			if (r == 0 || n > TOKEN_MAX) {
				break;
			}
		}
		close(fd);
		tok = text;
	} else {
		tok = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
		tok = tok != NULL ? tok : "";
		n = strlen(tok);
	}
	/* Trimmed: a file written by echo ends with a newline. */
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' ' ||
	                 tok[n - 1] == '\t')) {
		n--;
	}
	while (n > 0 && (*tok == ' ' || *tok == '\t' || *tok == '\n' || *tok == '\r')) {
		tok++;
		n--;
	}
	char *hdr = NULL;
	if (n > TOKEN_MAX) {
		snprintf(why, whylen, "container: the token of %s is longer than %u bytes", from,
		         TOKEN_MAX);
	} else if (memchr(tok, '\r', n) != NULL || memchr(tok, '\n', n) != NULL ||
	           memchr(tok, '\0', n) != NULL) {
		snprintf(why, whylen, "container: the token of %s holds a line break or a NUL",
		         from);
	} else if ((hdr = malloc(n + sizeof("Authorization: "))) == NULL) {
		snprintf(why, whylen, "container: out of memory");
	} else if (n == 0) {
		hdr[0] = '\0';
	} else {
		memcpy(hdr, "Authorization: ", strlen("Authorization: "));
		memcpy(hdr + strlen("Authorization: "), tok, n);
		hdr[strlen("Authorization: ") + n] = '\0';
	}
	if (text != NULL) {
		explicit_bzero(text, TOKEN_MAX + 1);
		free(text);
	}
	return hdr;
}

/* An error document's code and message, printable, for a message. */
static void ecs_error_doc(const http_response_t *r, char *buf, size_t size)
{
	buf[0] = '\0';
	json_t *o = r->body != NULL ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	if (json_is_object(o)) {
		const char *code = json_string_value(json_object_get(o, "code"));
		const char *msg = json_string_value(json_object_get(o, "message"));
		char c[64] = "", m[200] = "";
		if (code != NULL) {
			printable(c, sizeof(c), code, strlen(code));
		}
		if (msg != NULL) {
			printable(m, sizeof(m), msg, strlen(msg));
		}
		if (c[0] != '\0' || m[0] != '\0') {
			snprintf(buf, size, ": %s%s%s", c, c[0] != '\0' && m[0] != '\0' ? ": " : "",
			         m);
		}
	}
	json_decref(o);
}

int aws_ecs_fetch(aws_creds_t *out, char *why, size_t whylen)
{
	const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	char url[URL_MAX];
	if (rel != NULL && rel[0] != '\0') {
		if (rel[0] != '/') {
			snprintf(why, whylen,
			         "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI does "
			         "not start with /");
			return -EINVAL;
		}
		if (strlen(ECS_HOST) + strlen(rel) >= sizeof(url)) {
			snprintf(why, whylen,
			         "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is "
			         "too long");
			return -EINVAL;
		}
		snprintf(url, sizeof(url), "%s%s", ECS_HOST, rel);
	} else if (full != NULL && full[0] != '\0') {
		if (strlen(full) >= sizeof(url)) {
			snprintf(why, whylen,
			         "container: AWS_CONTAINER_CREDENTIALS_FULL_URI is too "
			         "long");
			return -EINVAL;
		}
		int ret = aws_container_uri_check(full, why, whylen);
		if (ret != 0) {
			return ret;
		}
		snprintf(url, sizeof(url), "%s", full);
	} else {
		snprintf(why, whylen,
		         "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
		         "AWS_CONTAINER_CREDENTIALS_FULL_URI not set");
		return -ENOENT;
	}
	/* Where, for messages: the URL without its user, query or fragment
	 * (a secret may hide in them). */
	char where[200], shown[URL_MAX];
	const char *a = strstr(url, "://") + 3;
	const char *host = a;
	for (const char *q = a; q < a + strcspn(a, "/?#"); q++) {
		host = *q == '@' ? q + 1 : host;
	}
	snprintf(shown, sizeof(shown), "%.*s%s", (int)(a - url), url, host);
	printable(where, sizeof(where), shown, strcspn(shown, "?#"));

	char *auth = ecs_auth(why, whylen);
	if (auth == NULL) {
		return -EINVAL;
	}
	const char *hdr = auth;
	size_t nhdr = auth[0] != '\0' ? 1 : 0;
	http_t *h = http_new(ECS_TIMEOUT_MS);
	if (h == NULL) {
		free(auth);
		snprintf(why, whylen, "container: out of memory");
		return -ENOMEM;
	}
	http_response_t r = { 0 };
	char err[URL_MAX + 512];
	int ret, attempt;
	for (attempt = 1;; attempt++) {
		ret = http_request(h, "GET", url, &hdr, nhdr, NULL, 0, &r, err, sizeof(err));
		bool again = ret == -EIO || (ret == 0 && r.status >= 500);
		if (!again || attempt == ECS_ATTEMPTS) {
			break;
		}
		http_response_free(&r);
		sleep_ms(ECS_PAUSE_MS);
	}
	if (ret != 0) {
		/* http.c says "GET URL: why": said again with where. */
		size_t un = strlen(url);
		const char *cause = strncmp(err, "GET ", 4) == 0 &&
		                                    strncmp(err + 4, url, un) == 0 &&
		                                    strncmp(err + 4 + un, ": ", 2) == 0
		                            ? err + 4 + un + 2
		                            : "no answer";
		snprintf(why, whylen, "container: GET %s: %s (%d attempt%s)", where, cause, attempt,
		         attempt > 1 ? "s" : "");
		goto out;
	}
	if (r.status != 200) {
		char doc[300];
		ecs_error_doc(&r, doc, sizeof(doc));
		snprintf(why, whylen, "container: GET %s: HTTP %ld%s%s", where, r.status, doc,
		         r.status >= 500 ? " (3 attempts)" : "");
		ret = r.status == 401 || r.status == 403 ? -EACCES : -EPROTO;
		goto out;
	}
	char jwhy[256];
	ret = aws_creds_from_json(r.body, r.len, 0, out, jwhy, sizeof(jwhy));
	if (ret != 0) {
		snprintf(why, whylen, "container (%s): %s", where, jwhy);
		goto out;
	}
	snprintf(out->source, sizeof(out->source), "container credentials (%s)", where);
out:
	if (r.body != NULL) {
		explicit_bzero(r.body, r.len);
	}
	http_response_free(&r);
	explicit_bzero(auth, strlen(auth));
	free(auth);
	http_free(h);
	return ret;
}

/* --- credential_process ----------------------------------------------------- */

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

int aws_split_words(const char *cmd, char ***argv, char *why, size_t whylen)
{
	*argv = NULL;
	size_t len = strlen(cmd);
	/* Words take two bytes of cmd each but the last (a blank after), and
	 * their text with its NUL no more than the bytes they came from and
	 * the blank after. */
	size_t maxw = len / 2 + 2;
	char **v = malloc(maxw * sizeof(char *) + len + 1);
	if (v == NULL) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	char *o = (char *)(v + maxw);
	size_t n = 0;
	const char *p = cmd;
	for (;;) {
		while (blank(*p)) {
			p++;
		}
		if (*p == '\0') {
			break;
		}
		char *start = o;
		bool quoted = false;
		while (*p != '\0' && !blank(*p)) {
			if (*p == '\'') {
				const char *q = strchr(p + 1, '\'');
				if (q == NULL) {
					snprintf(why, whylen, "unclosed single quote");
					goto fail;
				}
				memcpy(o, p + 1, (size_t)(q - p - 1));
				o += q - p - 1;
				p = q + 1;
				quoted = true;
			} else if (*p == '"') {
				for (p++; *p != '"'; p++) {
					if (*p == '\0') {
						snprintf(why, whylen, "unclosed double quote");
						goto fail;
					}
					if (*p == '\\' && p[1] == '\n') {
						p++;
					} else if (*p == '\\' && p[1] != '\0' &&
					           strchr("$`\"\\", p[1])) {
						*o++ = *++p;
					} else {
						*o++ = *p;
					}
				}
				p++;
				quoted = true;
			} else if (*p == '\\') {
				if (p[1] == '\0') {
					snprintf(why, whylen, "a backslash at the end");
					goto fail;
				}
				if (p[1] != '\n') {
					*o++ = p[1];
				}
				p += 2;
			} else {
				*o++ = *p++;
			}
		}
		if (o == start && !quoted) {
			continue; /* only line continuations */
		}
		*o++ = '\0';
		v[n++] = start;
	}
	v[n] = NULL;
	*argv = v;
	return (int)n;
fail:
	free(v);
	return -EINVAL;
}

/* The last non-empty line of what the process said on stderr (the last
 * bytes of it in tail[0..n)), printable, for a message. */
static void last_line(char *tail, size_t n, char *buf, size_t size)
{
	while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r' || tail[n - 1] == ' ' ||
	                 tail[n - 1] == '\t')) {
		n--;
	}
	size_t s = n;
	while (s > 0 && tail[s - 1] != '\n' && tail[s - 1] != '\r') {
		s--;
	}
	while (s < n && (tail[s] == ' ' || tail[s] == '\t')) {
		s++;
	}
	printable(buf, size, tail + s, n - s);
}

/* Keep the last sizeof(tail) bytes of the stream in tail. */
static void keep_tail(char *tail, size_t size, size_t *have, const char *data, size_t n)
{
	if (n >= size) {
		memcpy(tail, data + n - size, size);
		*have = size;
		return;
	}
	if (*have + n > size) {
		size_t drop = *have + n - size;
		memmove(tail, tail + drop, *have - drop);
		*have -= drop;
	}
	memcpy(tail + *have, data, n);
	*have += n;
}

int aws_process_run(const char *cmd, long limit_ms, aws_creds_t *out, char *why, size_t whylen)
{
	char **argv = NULL, word[64], err[128];
	int n = aws_split_words(cmd, &argv, err, sizeof(err));
	if (n < 0) {
		snprintf(why, whylen, "credential_process: %s", err);
		return n;
	}
	if (n == 0) {
		free(argv);
		snprintf(why, whylen, "credential_process: empty command");
		return -EINVAL;
	}
	printable(word, sizeof(word), argv[0], strlen(argv[0]));

	int ret = 0;
	int o[2] = { -1, -1 }, e[2] = { -1, -1 };
	char *buf = malloc(PROCESS_MAX_OUT + 1);
	if (buf == NULL) {
		free(argv);
		snprintf(why, whylen, "credential_process (%s): out of memory", word);
		return -ENOMEM;
	}
	if (pipe2(o, O_CLOEXEC) != 0 || pipe2(e, O_CLOEXEC) != 0) {
		ret = -errno;
		snprintf(why, whylen, "credential_process (%s): cannot start it: %s", word,
		         strerror(errno));
		goto out;
	}
	pid_t pid;
	int rc = net_spawn(&pid, argv, environ, -1, o[1], e[1]);
	close(o[1]);
	close(e[1]);
	o[1] = e[1] = -1;
	if (rc != 0) {
		snprintf(why, whylen, "credential_process (%s): cannot run it: %s", word,
		         strerror(rc));
		ret = -rc;
		goto out;
	}

	/* Read both until they close, the time is up or stdout is too long. */
	char tail[4096];
	size_t len = 0, tlen = 0;
	int64_t deadline = now_ms() + limit_ms;
	bool late = false, big = false;
	int failed = 0;
	while ((o[0] >= 0 || e[0] >= 0) && !late && !big && failed == 0) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			late = true;
			break;
		}
		struct pollfd p[2] = { { .fd = o[0], .events = POLLIN },
			               { .fd = e[0], .events = POLLIN } };
		if (poll(p, 2, (int)left) < 0) {
			if (errno != EINTR) {
				failed = errno;
			}
			continue;
		}
		if (p[0].revents != 0) {
			ssize_t r = read(o[0], buf + len, PROCESS_MAX_OUT + 1 - len);
			if (r > 0) {
				len += (size_t)r;
				big = len > PROCESS_MAX_OUT;
			} else if (r == 0 || errno != EINTR) {
				close(o[0]);
				o[0] = -1;
			}
		}
		if (p[1].revents != 0) {
			char chunk[4096];
			ssize_t r = read(e[0], chunk, sizeof(chunk));
			if (r > 0) {
				keep_tail(tail, sizeof(tail), &tlen, chunk, (size_t)r);
			} else if (r == 0 || errno != EINTR) {
				close(e[0]);
				e[0] = -1;
			}
		}
	}
	/* Reaped in every case: killed when it must stop, else waited for
	 * (its output closed: it has exited or soon will) until the deadline. */
	bool killed = false;
	if (late || big || failed != 0) {
		kill(-pid, SIGKILL);
		killed = true;
	}
	int status = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, killed ? 0 : WNOHANG);
		if (w == pid) {
			break;
		}
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w < 0) {
			failed = failed != 0 ? failed
			                     : errno; /* reaped elsewhere (SIGCHLD ignored) */
			status = 0;
			break;
		}
		if (now_ms() >= deadline) {
			late = true;
			kill(-pid, SIGKILL);
			killed = true;
			continue;
		}
		sleep_ms(10);
	}
	char line[201];
	last_line(tail, tlen, line, sizeof(line));
	if (late) {
		snprintf(why, whylen, "credential_process (%s): no answer within %g s, killed",
		         word, (double)limit_ms / 1000);
		ret = -ETIMEDOUT;
	} else if (big) {
		snprintf(why, whylen,
		         "credential_process (%s): more than %u KiB on its standard output, killed",
		         word, PROCESS_MAX_OUT >> 10);
		ret = -EFBIG;
	} else if (failed != 0) {
		snprintf(why, whylen, "credential_process (%s): %s", word, strerror(failed));
		ret = -failed;
	} else if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) {
		char st[32];
		if (WIFSIGNALED(status)) {
			snprintf(st, sizeof(st), "killed by signal %d", WTERMSIG(status));
		} else {
			snprintf(st, sizeof(st), "exit status %d", WEXITSTATUS(status));
		}
		snprintf(why, whylen, "credential_process (%s): %s%s%s", word, st,
		         line[0] != '\0' ? ": " : "", line);
		ret = -ECHILD;
	} else {
		char jwhy[256];
		ret = aws_creds_from_json(buf, len, 1, out, jwhy, sizeof(jwhy));
		if (ret != 0) {
			snprintf(why, whylen, "credential_process (%s): %s", word, jwhy);
		} else {
			snprintf(out->source, sizeof(out->source), "credential_process (%s)", word);
		}
	}
	explicit_bzero(buf, len);
out:
	for (int i = 0; i < 2; i++) {
		if (o[i] >= 0) {
			close(o[i]);
		}
		if (e[i] >= 0) {
			close(e[i]);
		}
	}
	free(buf);
	free(argv);
	return ret;
}

int aws_process_fetch(const char *cmd, aws_creds_t *out, char *why, size_t whylen)
{
	return aws_process_run(cmd, PROCESS_LIMIT_MS, out, why, whylen);
}
