/*
 * The configuration loader: every section and key, every error with its
 * exact FILE:LINE:COLUMN, the address and prefix parsers, and the example
 * configurations shipped in examples/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libknot/descriptor.h>

#include "conf/conf.h"
#include "dns/name.h"
#include "target/target.h"

#define NAME "t.yaml"

/* --- helpers ------------------------------------------------------------ */

typedef struct {
	int ret;
	char *text; /* everything written to errs (malloc'd) */
	unsigned lines;
} result_t;

static result_t load(conf_t *conf, const char *yaml, size_t len)
{
	result_t r = { 0 };
	size_t size = 0;
	FILE *f = open_memstream(&r.text, &size);
	assert_non_null(f);
	r.ret = conf_load_string(conf, NAME, yaml, len, target_registry, f);
	assert_int_equal(fclose(f), 0);
	for (const char *p = r.text; *p; p++) {
		r.lines += *p == '\n';
	}
	return r;
}

/* Load text that must be valid. */
static void load_ok(conf_t *conf, const char *yaml)
{
	result_t r = load(conf, yaml, strlen(yaml));
	if (r.ret != 0 || r.text[0] != '\0') {
		fail_msg("unexpected result %d, errors:\n%s", r.ret, r.text);
	}
	free(r.text);
}

/* Line i (0-based) of text, in buf. */
static const char *line_of(const char *text, unsigned i, char *buf, size_t size)
{
	const char *p = text;
	while (i-- > 0 && p != NULL) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (p == NULL) {
		return NULL;
	}
	size_t n = strcspn(p, "\n");
	if (n >= size) {
		n = size - 1;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

/*
 * Load text that must fail with exactly these errors, in order: pairs of
 * "LINE:COLUMN" and a phrase of the message, then NULL.
 */
static void expect_errors_at(const char *file, int line, const char *yaml, size_t len, ...)
{
	conf_t conf;
	result_t r = load(&conf, yaml, len);
	if (r.ret != -EINVAL) {
		fail_msg("%s:%d: loaded with %d, errors:\n%s", file, line, r.ret, r.text);
	}
	/* Nothing is left allocated after a failure. */
	assert_null(conf.root);
	assert_null(conf.zone);
	assert_null(conf.key);
	assert_int_equal(conf.nzone, 0);

	va_list ap;
	va_start(ap, len);
	unsigned n = 0;
	const char *pos;
	while ((pos = va_arg(ap, const char *)) != NULL) {
		const char *phrase = va_arg(ap, const char *);
		char prefix[64], got[1024];
		snprintf(prefix, sizeof(prefix), NAME ":%s: ", pos);
		if (line_of(r.text, n, got, sizeof(got)) == NULL || got[0] == '\0') {
			fail_msg("%s:%d: error %u missing (want %s... %s); errors:\n%s", file, line,
			         n, prefix, phrase, r.text);
		}
		if (strncmp(got, prefix, strlen(prefix)) != 0 || strstr(got, phrase) == NULL) {
			fail_msg("%s:%d: error %u is\n  %s\nwant\n  %s... %s", file, line, n, got,
			         prefix, phrase);
		}
		n++;
	}
	va_end(ap);
	if (r.lines != n) {
		fail_msg("%s:%d: %u errors, want %u:\n%s", file, line, r.lines, n, r.text);
	}
	free(r.text);
}

#define expect_errors(yaml, ...)                                                                   \
	expect_errors_at(__FILE__, __LINE__, (yaml), strlen(yaml), __VA_ARGS__, NULL)
#define expect_error(yaml, pos, phrase) expect_errors(yaml, pos, phrase)

static void assert_addr(const net_addr_t *a, int family, const char *ip, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];
	assert_int_equal(a->ss.ss_family, family);
	if (family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
		assert_int_equal(a->len, sizeof(*v4));
		assert_non_null(inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf)));
		assert_int_equal(ntohs(v4->sin_port), port);
	} else {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
		assert_int_equal(a->len, sizeof(*v6));
		assert_non_null(inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf)));
		assert_int_equal(ntohs(v6->sin6_port), port);
	}
	assert_string_equal(buf, ip);
}

static void assert_prefix(const net_prefix_t *p, int family, const char *ip, unsigned bits)
{
	char buf[INET6_ADDRSTRLEN];
	assert_int_equal(p->ss.ss_family, family);
	const void *a = family == AF_INET
	                        ? (const void *)&((const struct sockaddr_in *)&p->ss)->sin_addr
	                        : (const void *)&((const struct sockaddr_in6 *)&p->ss)->sin6_addr;
	assert_non_null(inet_ntop(family, a, buf, sizeof(buf)));
	assert_string_equal(buf, ip);
	assert_int_equal(p->bits, bits);
}

static const conf_target_t *target_by_id(const conf_t *conf, const char *id)
{
	for (size_t i = 0; i < conf->ntarget; i++) {
		if (strcmp(conf->target[i].id, id) == 0) {
			return &conf->target[i];
		}
	}
	fail_msg("no target '%s'", id);
	return NULL;
}

/* Does the prefix match this address (given as text)? */
static bool match(const char *prefix, const char *addr)
{
	net_prefix_t p;
	net_addr_t a;
	assert_int_equal(net_parse_prefix(prefix, &p), 0);
	assert_int_equal(net_parse_addr(addr, 53, &a), 0);
	return net_prefix_match(&p, (const struct sockaddr *)&a.ss);
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The defaults of zonesync.yaml(5). */
static void assert_server_defaults(const conf_t *conf)
{
	assert_int_equal(conf->server.notify_rate_limit, 1000);
	assert_int_equal(conf->server.tcp_max_clients, 100);
	assert_int_equal(conf->server.tcp_max_per_source, 8);
	assert_int_equal(conf->server.tcp_idle_timeout, 10);
	assert_int_equal(conf->server.tcp_session_timeout, 30);
}

static void assert_zone_defaults(const conf_zone_t *z)
{
	assert_int_equal(z->refresh_min, 60);
	assert_int_equal(z->refresh_max, 86400);
	assert_int_equal(z->retry_min, 30);
	assert_int_equal(z->retry_max, 3600);
	assert_int_equal(z->expire_min, 3600);
	assert_int_equal(z->expire_max, 2592000);
	assert_int_equal(z->xfr_max_records, 2000000);
	assert_int_equal(z->xfr_max_bytes, 268435456);
	assert_int_equal(z->xfr_timeout, 300);
	assert_int_equal(z->reconcile_interval, 86400);
}

/* 32 bytes 0x00..0x1f in base64. */
#define SECRET32 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

/* --- valid configurations ------------------------------------------------ */

static const char FULL[] =
        "server:\n"
        "  listen: [127.0.0.1@5353, \"::1@5353\", 192.0.2.7, \"2001:db8::7\"]\n"
        "  state: /srv/zonesync\n"
        "  metrics: \"2001:db8::9\"\n"
        "  user: zs\n"
        "  log: { target: syslog, level: debug }\n"
        "  notify-rate-limit: 0\n"
        "  tcp-max-clients: 65535\n"
        "  tcp-idle-timeout: 1h\n"
        "key:\n"
        "  - { id: k1, algorithm: hmac-sha256, secret: \"" SECRET32 "\" }\n"
        "  - id: K2\n"
        "    algorithm: hmac-md5\n"
        "    secret: AAAA\n"
        "primary:\n"
        "  - id: p1\n"
        "    address: [192.0.2.1@5300, \"2001:db8::1\"]\n"
        "    key: k1\n"
        "    notify-from: [192.0.2.0/24, \"2001:db8::/32\", 198.51.100.7]\n"
        "  - { id: p2, address: 192.0.2.2, key: k2, notify-from: 203.0.113.0/25 }\n"
        "target:\n"
        "  - id: r53\n"
        "    type: route53\n"
        "    hosted-zone-id: Z0123\n"
        "    endpoint: \"http://127.0.0.1:5000\"\n"
        "    region: eu-west-1\n"
        "    profile: zonesync\n"
        "    credentials-file: /etc/zonesync/aws\n"
        "    role-arn: arn:aws:iam::123456789012:role/zonesync\n"
        "    external-id: ext-1\n"
        "    apex-ns: sync\n"
        "    soa-serial: mirror\n"
        "    rate-limit: 7\n"
        "    private: true\n"
        "    vpc-id: vpc-0123456789abcdef0\n"
        "    create: no\n"
        "    serving: [192.0.2.53, \"2001:db8::53@5353\"]\n"
        "    reconcile-interval: 6h\n"
        "    ignore: [{ name: \"_acme-challenge.*\", type: TXT }]\n"
        "    ttl: { max: 1h }\n"
        "    adopt: replace\n"
        "  - id: pdns\n"
        "    type: powerdns\n"
        "    url: \"https://pdns.example.net:8443/api\"\n"
        "    server-id: ns1\n"
        "    api-key-file: /etc/zonesync/pdns.key\n"
        "    api-key-env: PDNS_KEY\n"
        "    serving: 192.0.2.54\n"
        "    create: yes\n"
        "    batch-size: 100000\n"
        "    reconcile-interval: 0\n"
        "    ignore-owned-by: external-dns\n"
        "  - { id: upd, type: rfc2136, address: \"2001:db8::53@5353\", key: K1, apex-ns: keep,"
        " soa-serial: keep, timeout: 3600, batch-size: 65535, serving: [192.0.2.55],"
        " reconcile-interval: 2s }\n"
        "  - { id: file, type: zonefile, path: \"/var/lib/zonesync/%s.zone\",\n"
        "      reconcile-interval: 1w }\n"
        "  - { id: hook, type: exec, command: [/bin/echo, changed], timeout: 86400,\n"
        "      env: [HOME, LC_ALL] }\n"
        "zone:\n"
        "  - { domain: Example.COM, primary: p1, target: [r53, pdns] }\n"
        "  - domain: example.org.\n"
        "    primary: p2\n"
        "    target: [upd, file, hook]\n"
        "    max-delete: 10%\n"
        "    max-update: 250\n"
        "    refresh-min-interval: 5m\n"
        "    refresh-max-interval: 12h\n"
        "    retry-min-interval: 10s\n"
        "    retry-max-interval: 7200\n"
        "    expire-min-interval: 2d\n"
        "    expire-max-interval: 8w\n"
        "    transfer-max-records: 500000\n"
        "    transfer-max-bytes: 512M\n"
        "    transfer-timeout: 15m\n"
        "    reconcile-interval: 3d\n"
        "    ignore:\n"
        "      - { name: \"_*\", type: CNAME, value: \"*.acm-validations.aws.\" }\n"
        "      - name: \"*.example.org.\"\n"
        "        type: [TXT, mx]\n"
        "    exclude:\n"
        "      - { name: \"*.internal\" }\n"
        "      - { type: [A, AAAA], value: 10.0.0.0/8 }\n"
        "    ttl: { min: 1m, max: 2d }\n"
        "  - { domain: example.net, primary: P1, target: R53, max-delete: 0, max-update: 100% }\n";

static void test_full(void **state)
{
	(void)state;
	conf_t conf;
	load_ok(&conf, FULL);
	assert_string_equal(conf.path, NAME);
	assert_non_null(conf.root);

	/* server */
	assert_int_equal(conf.server.nlisten, 4);
	assert_addr(&conf.server.listen[0], AF_INET, "127.0.0.1", 5353);
	assert_addr(&conf.server.listen[1], AF_INET6, "::1", 5353);
	assert_addr(&conf.server.listen[2], AF_INET, "192.0.2.7", 53);
	assert_addr(&conf.server.listen[3], AF_INET6, "2001:db8::7", 53);
	assert_string_equal(conf.server.state, "/srv/zonesync");
	assert_true(conf.server.has_metrics);
	assert_addr(&conf.server.metrics, AF_INET6, "2001:db8::9", 9153);
	assert_string_equal(conf.server.user, "zs");
	assert_int_equal(conf.server.log_target, LOG_TARGET_SYSLOG);
	assert_int_equal(conf.server.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(conf.server.notify_rate_limit, 0);
	assert_int_equal(conf.server.tcp_max_clients, 65535);
	assert_int_equal(conf.server.tcp_idle_timeout, 3600);

	/* keys */
	assert_int_equal(conf.nkey, 2);
	assert_string_equal(conf.key[0].id, "k1");
	assert_int_equal(conf.key[0].tsig.algorithm, DNSSEC_TSIG_HMAC_SHA256);
	assert_int_equal(conf.key[0].tsig.secret.size, 32);
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(conf.key[0].tsig.secret.data[i], i);
	}
	assert_memory_equal(conf.key[0].tsig.name, "\x02k1", 4);
	assert_string_equal(conf.key[1].id, "K2");
	assert_int_equal(conf.key[1].tsig.algorithm, DNSSEC_TSIG_HMAC_MD5);
	assert_int_equal(conf.key[1].tsig.secret.size, 3);
	assert_memory_equal(conf.key[1].tsig.name, "\x02k2", 4); /* lowercased on the wire */

	/* primaries */
	assert_int_equal(conf.nprimary, 2);
	const conf_primary_t *p1 = &conf.primary[0], *p2 = &conf.primary[1];
	assert_string_equal(p1->id, "p1");
	assert_int_equal(p1->naddr, 2);
	assert_addr(&p1->addr[0], AF_INET, "192.0.2.1", 5300);
	assert_addr(&p1->addr[1], AF_INET6, "2001:db8::1", 53);
	assert_ptr_equal(p1->key, &conf.key[0]);
	assert_int_equal(p1->nnotify_from, 3);
	assert_prefix(&p1->notify_from[0], AF_INET, "192.0.2.0", 24);
	assert_prefix(&p1->notify_from[1], AF_INET6, "2001:db8::", 32);
	assert_prefix(&p1->notify_from[2], AF_INET, "198.51.100.7", 32);
	assert_string_equal(p2->id, "p2");
	assert_int_equal(p2->naddr, 1);
	assert_addr(&p2->addr[0], AF_INET, "192.0.2.2", 53);
	assert_ptr_equal(p2->key, &conf.key[1]); /* ids match without case */
	assert_int_equal(p2->nnotify_from, 1);
	assert_prefix(&p2->notify_from[0], AF_INET, "203.0.113.0", 25);

	/* targets */
	assert_int_equal(conf.ntarget, 5);
	const conf_target_t *r53 = target_by_id(&conf, "r53"), *pdns = target_by_id(&conf, "pdns"),
	                    *upd = target_by_id(&conf, "upd"), *file = target_by_id(&conf, "file"),
	                    *hook = target_by_id(&conf, "hook");
	assert_ptr_equal(r53, &conf.target[0]);
	assert_string_equal(r53->type->name, "route53");
	assert_string_equal(pdns->type->name, "powerdns");
	assert_string_equal(upd->type->name, "rfc2136");
	assert_string_equal(file->type->name, "zonefile");
	assert_string_equal(hook->type->name, "exec");
	assert_string_equal(conf_target_str(r53, "hosted-zone-id"), "Z0123");
	assert_string_equal(conf_target_str(r53, "endpoint"), "http://127.0.0.1:5000");
	assert_string_equal(conf_target_str(r53, "region"), "eu-west-1");
	assert_string_equal(conf_target_str(r53, "profile"), "zonesync");
	assert_string_equal(conf_target_str(r53, "credentials-file"), "/etc/zonesync/aws");
	assert_string_equal(conf_target_str(r53, "role-arn"), "arn:aws:iam::123456789012:role/zonesync");
	assert_string_equal(conf_target_str(r53, "external-id"), "ext-1");
	assert_string_equal(conf_target_str(r53, "apex-ns"), "sync");
	assert_string_equal(conf_target_str(r53, "soa-serial"), "mirror");
	assert_int_equal(conf_target_int(r53, "rate-limit", 5), 7);
	assert_true(conf_target_bool(r53, "private", false));
	assert_string_equal(conf_target_str(r53, "vpc-id"), "vpc-0123456789abcdef0");
	assert_false(conf_target_bool(r53, "create", true));
	assert_int_equal(r53->adopt, CONF_ADOPT_REPLACE);
	assert_int_equal(pdns->adopt, CONF_ADOPT_KEEP);
	assert_string_equal(conf_target_str(pdns, "url"), "https://pdns.example.net:8443/api");
	assert_string_equal(conf_target_str(pdns, "server-id"), "ns1");
	assert_string_equal(conf_target_str(pdns, "api-key-file"), "/etc/zonesync/pdns.key");
	assert_string_equal(conf_target_str(pdns, "api-key-env"), "PDNS_KEY");
	assert_true(conf_target_bool(pdns, "create", false));
	assert_int_equal(conf_target_int(pdns, "batch-size", 1), 100000);
	/* ignore-owned-by: stored as its index + 1, absent 0 (no default). */
	assert_int_equal(pdns->ignore_owned_by, CONF_OWNED_EXTERNAL_DNS);
	assert_int_equal(r53->ignore_owned_by, CONF_OWNED_NONE);
	assert_int_equal(hook->ignore_owned_by, CONF_OWNED_NONE);
	assert_string_equal(conf_target_str(upd, "address"), "2001:db8::53@5353");
	assert_string_equal(conf_target_str(upd, "key"), "K1");
	assert_non_null(upd->key);
	assert_string_equal(upd->key->id, "k1"); /* ids match without case */
	assert_int_equal(conf_target_int(upd, "timeout", 30), 3600);
	assert_int_equal(conf_target_int(upd, "batch-size", 0), 65535);
	assert_string_equal(conf_target_str(file, "path"), "/var/lib/zonesync/%s.zone");
	assert_int_equal(conf_target_int(hook, "timeout", 1), 86400);
	/* reconcile-interval: the target's own, else its zone's; none for a
	 * target with nothing to read. */
	assert_int_equal(target_reconcile_interval(r53, &conf.zone[0]), 6 * 3600);
	assert_int_equal(target_reconcile_interval(pdns, &conf.zone[0]), 0);
	assert_int_equal(target_reconcile_interval(upd, &conf.zone[1]), 2);
	assert_int_equal(target_reconcile_interval(file, &conf.zone[1]), 7 * 86400);
	assert_int_equal(target_reconcile_interval(hook, &conf.zone[1]), 0);
	assert_int_equal(target_reconcile_interval(r53, &conf.zone[2]), 6 * 3600);
	/* A list is not a string: read it from the node. */
	assert_null(conf_target_str(hook, "command"));
	const ynode_t *cmd = ynode_get(hook->node, "command");
	assert_non_null(cmd);
	assert_int_equal(cmd->kind, YNODE_SEQ);
	assert_int_equal(cmd->n, 2);
	assert_string_equal(cmd->item[0]->value, "/bin/echo");
	assert_string_equal(cmd->item[1]->value, "changed");
	const ynode_t *env = ynode_get(hook->node, "env");
	assert_true(env != NULL && env->kind == YNODE_SEQ && env->n == 2);
	assert_string_equal(env->item[1]->value, "LC_ALL");
	/* Absent keys give the default. */
	assert_null(conf_target_str(file, "region"));
	assert_int_equal(conf_target_int(file, "timeout", 42), 42);
	assert_false(conf_target_bool(file, "create", false));
	assert_true(conf_target_bool(file, "create", true));

	/* Every key of every registered type is used above, so a key added to
	 * the registry without a test here fails. */
	for (size_t i = 0; target_registry[i] != NULL; i++) {
		const conf_target_t *t = NULL;
		for (size_t j = 0; j < conf.ntarget; j++) {
			if (conf.target[j].type == target_registry[i]) {
				t = &conf.target[j];
			}
		}
		if (t == NULL) {
			fail_msg("type %s is not in the full config", target_registry[i]->name);
		}
		for (const conf_item_t *it = target_registry[i]->items; it->name; it++) {
			if (ynode_get(t->node, it->name) == NULL) {
				fail_msg("key %s of type %s is not in the full config", it->name,
				         target_registry[i]->name);
			}
		}
	}

	/* zones */
	assert_int_equal(conf.nzone, 3);
	const conf_zone_t *z = &conf.zone[0];
	assert_string_equal(z->domain, "example.com.");
	assert_memory_equal(z->name,
	                    "\x07"
	                    "example\x03"
	                    "com\x00",
	                    13);
	assert_ptr_equal(z->primary, p1);
	assert_int_equal(z->ntarget, 2);
	assert_ptr_equal(z->target[0], r53);
	assert_ptr_equal(z->target[1], pdns);
	assert_true(z->max_delete.percent);
	assert_int_equal(z->max_delete.value, 30);
	assert_true(z->max_update.percent);
	assert_int_equal(z->max_update.value, 30);
	assert_zone_defaults(z);

	z = &conf.zone[1];
	assert_string_equal(z->domain, "example.org.");
	assert_ptr_equal(z->primary, p2);
	assert_int_equal(z->ntarget, 3);
	assert_ptr_equal(z->target[0], upd);
	assert_ptr_equal(z->target[1], file);
	assert_ptr_equal(z->target[2], hook);
	assert_true(z->max_delete.percent);
	assert_int_equal(z->max_delete.value, 10);
	assert_false(z->max_update.percent);
	assert_int_equal(z->max_update.value, 250);
	assert_int_equal(z->refresh_min, 300);
	assert_int_equal(z->refresh_max, 43200);
	assert_int_equal(z->retry_min, 10);
	assert_int_equal(z->retry_max, 7200);
	assert_int_equal(z->expire_min, 172800);
	assert_int_equal(z->expire_max, 4838400);
	assert_int_equal(z->xfr_max_records, 500000);
	assert_int_equal(z->xfr_max_bytes, 512ull << 20);
	assert_int_equal(z->xfr_timeout, 900);
	assert_int_equal(z->reconcile_interval, 3 * 86400);
	/* The rules, as zone/rules.h made them. */
	assert_int_equal(z->rules.nignore, 2);
	assert_string_equal(z->rules.ignore[0].name, "_*");
	assert_int_equal(z->rules.ignore[0].ntypes, 1);
	assert_int_equal(z->rules.ignore[0].types[0], KNOT_RRTYPE_CNAME);
	assert_string_equal(z->rules.ignore[0].value, "*.acm-validations.aws.");
	assert_false(z->rules.ignore[0].prefix);
	assert_true(z->rules.ignore[1].absolute);
	assert_int_equal(z->rules.ignore[1].ntypes, 2);
	assert_int_equal(z->rules.ignore[1].types[1], KNOT_RRTYPE_MX);
	assert_null(z->rules.ignore[1].value);
	assert_int_equal(z->rules.nexclude, 2);
	assert_string_equal(z->rules.exclude[0].text, "name=*.internal");
	assert_true(z->rules.exclude[1].prefix);
	assert_int_equal(z->rules.exclude[1].bits, 8);
	assert_int_equal(z->rules.ttl_min, 60);
	assert_int_equal(z->rules.ttl_max, 2 * 86400);
	assert_true(zone_rules_empty(&conf.zone[0].rules));
	assert_int_equal(r53->rules.nignore, 1);
	assert_string_equal(r53->rules.ignore[0].text, "name=_acme-challenge.* type=TXT");
	assert_int_equal(r53->rules.ttl_min, 0);
	assert_int_equal(r53->rules.ttl_max, 3600);
	assert_true(zone_rules_empty(&pdns->rules));

	z = &conf.zone[2];
	assert_string_equal(z->domain, "example.net.");
	assert_ptr_equal(z->primary, p1); /* P1: ids match without case */
	assert_int_equal(z->ntarget, 1);
	assert_ptr_equal(z->target[0], r53);
	assert_false(z->max_delete.percent);
	assert_int_equal(z->max_delete.value, 0);
	assert_true(z->max_update.percent);
	assert_int_equal(z->max_update.value, 100);
	assert_zone_defaults(z);

	conf_free(&conf);
	assert_null(conf.root);
	assert_int_equal(conf.nzone, 0);
	conf_free(&conf); /* twice is harmless */
}

static void test_defaults(void **state)
{
	(void)state;
	conf_t conf;
	load_ok(&conf, "primary:\n"
	               "  - { id: p, address: 192.0.2.1 }\n"
	               "zone:\n"
	               "  - { domain: example.com, primary: p }\n");
	assert_int_equal(conf.server.nlisten, 0);
	assert_string_equal(conf.server.state, "/var/lib/zonesync");
	assert_false(conf.server.has_metrics);
	assert_null(conf.server.user);
	assert_int_equal(conf.server.log_target, LOG_TARGET_STDERR);
	assert_int_equal(conf.server.log_level, LOG_LEVEL_INFO);
	assert_int_equal(conf.nkey, 0);
	assert_null(conf.primary[0].key);
	assert_int_equal(conf.primary[0].nnotify_from, 0);
	assert_addr(&conf.primary[0].addr[0], AF_INET, "192.0.2.1", 53);
	assert_int_equal(conf.nzone, 1);
	assert_int_equal(conf.zone[0].ntarget, 0);
	assert_true(conf.zone[0].max_delete.percent);
	assert_int_equal(conf.zone[0].max_delete.value, 30);
	assert_true(conf.zone[0].max_update.percent);
	assert_int_equal(conf.zone[0].max_update.value, 30);
	/* No server section: its defaults all the same. */
	assert_server_defaults(&conf);
	assert_zone_defaults(&conf.zone[0]);
	conf_free(&conf);

	/* A server section with a partial log map keeps the other default. */
	load_ok(&conf, "server:\n"
	               "  listen: 127.0.0.1\n"
	               "  metrics: 127.0.0.1\n"
	               "  log: { level: error }\n");
	assert_int_equal(conf.server.nlisten, 1);
	assert_addr(&conf.server.listen[0], AF_INET, "127.0.0.1", 53);
	assert_true(conf.server.has_metrics);
	assert_addr(&conf.server.metrics, AF_INET, "127.0.0.1", 9153);
	assert_string_equal(conf.server.state, "/var/lib/zonesync");
	assert_int_equal(conf.server.log_target, LOG_TARGET_STDERR);
	assert_int_equal(conf.server.log_level, LOG_LEVEL_ERROR);
	assert_server_defaults(&conf);
	conf_free(&conf);

	/* One new key given leaves the others at their defaults. */
	load_ok(&conf, "server: { tcp-max-clients: 7 }\n"
	               "primary: [{ id: p, address: 192.0.2.1 }]\n"
	               "zone:\n"
	               "  - { domain: example.com, primary: p, retry-max-interval: 2h }\n"
	               "  - { domain: example.net, primary: p, transfer-timeout: 1 }\n");
	assert_int_equal(conf.server.notify_rate_limit, 1000);
	assert_int_equal(conf.server.tcp_max_clients, 7);
	assert_int_equal(conf.server.tcp_idle_timeout, 10);
	assert_int_equal(conf.zone[0].retry_max, 7200);
	conf.zone[0].retry_max = 3600;
	assert_zone_defaults(&conf.zone[0]);
	assert_int_equal(conf.zone[1].xfr_timeout, 1);
	conf.zone[1].xfr_timeout = 300;
	assert_zone_defaults(&conf.zone[1]);
	conf_free(&conf);

	/* Every log level, by name. */
	static const char *const levels[] = { "debug", "info", "notice", "warning", "error" };
	for (int i = 0; i < 5; i++) {
		char yaml[100];
		snprintf(yaml, sizeof(yaml), "server: { log: { target: stderr, level: %s } }\n",
		         levels[i]);
		load_ok(&conf, yaml);
		assert_int_equal(conf.server.log_level, i);
		assert_int_equal(conf.server.log_target, LOG_TARGET_STDERR);
		conf_free(&conf);
	}
}

static void test_empty_file(void **state)
{
	(void)state;
	static const char *const empty[] = { "",      "\n\n",           "# only a comment\n",
		                             "---\n", "--- # c\n...\n", "{}\n" };
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		conf_t conf;
		load_ok(&conf, empty[i]);
		assert_non_null(conf.root);
		assert_int_equal(conf.nzone, 0);
		assert_int_equal(conf.ntarget, 0);
		assert_int_equal(conf.nprimary, 0);
		assert_int_equal(conf.nkey, 0);
		assert_string_equal(conf.server.state, "/var/lib/zonesync");
		assert_server_defaults(&conf);
		conf_free(&conf);
	}
	/* Empty sections are fine too. */
	conf_t conf;
	load_ok(&conf, "server: {}\nkey: []\nprimary: []\ntarget: []\nzone: []\n");
	assert_int_equal(conf.nzone, 0);
	assert_server_defaults(&conf);
	conf_free(&conf);
}

/* --- unknown keys --------------------------------------------------------- */

static void test_unknown_key_top(void **state)
{
	(void)state;
	expect_error("server: {}\n"
	             "zones: []\n",
	             "2:1",
	             "unknown key 'zones' in the configuration (sections are server, key, "
	             "primary, target, zone, template, catalog)");
	/* The root must be a map. */
	expect_error("- server\n", "1:1",
	             "the configuration must be a map of sections, not a list");
	expect_error("server\n", "1:1", "the configuration must be a map of sections, not a value");
}

static void test_unknown_key_server(void **state)
{
	(void)state;
	expect_errors("server:\n"
	              "  listen: 127.0.0.1\n"
	              "  listn: 127.0.0.1\n"
	              "  log: { target: stderr, lvl: info }\n",
	              "3:3", "unknown key 'listn' in server", /* */
	              "4:26", "unknown key 'lvl' in server.log");
}

static void test_unknown_key_key(void **state)
{
	(void)state;
	expect_error("key:\n"
	             "  - { id: k, algorithm: hmac-sha256, secret: AAAA, salt: x }\n",
	             "2:52", "unknown key 'salt' in key 'k'");
}

static void test_unknown_key_primary(void **state)
{
	(void)state;
	expect_error("primary:\n"
	             "  - id: p\n"
	             "    address: 192.0.2.1\n"
	             "    notify: 192.0.2.0/24\n",
	             "4:5", "unknown key 'notify' in primary 'p'");
}

static void test_unknown_key_target(void **state)
{
	(void)state;
	/* Keys are checked against the table of the target's own type. */
	expect_errors("target:\n"
	              "  - { id: a, type: route53, url: \"http://x\" }\n"
	              "  - { id: b, type: powerdns, url: \"http://x\", hosted-zone-id: Z1 }\n"
	              "  - { id: c, type: zonefile, path: /tmp/z, command: [x] }\n"
	              "  - { id: d, type: exec, command: x, path: /tmp/z }\n"
	              "  - { id: e, type: rfc2136, address: 192.0.2.1, url: \"http://x\" }\n",
	              "2:29", "unknown key 'url' in target 'a' (type route53)",             /* */
	              "3:47", "unknown key 'hosted-zone-id' in target 'b' (type powerdns)", /* */
	              "4:44", "unknown key 'command' in target 'c' (type zonefile)",        /* */
	              "5:38", "unknown key 'path' in target 'd' (type exec)",               /* */
	              "6:49", "unknown key 'url' in target 'e' (type rfc2136)");
}

static void test_unknown_key_zone(void **state)
{
	(void)state;
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "zone:\n"
	             "  - domain: example.com\n"
	             "    primary: p\n"
	             "    max-deletes: 5\n",
	             "5:5", "unknown key 'max-deletes' in zone 'example.com'");
}

/* --- wrong types and empty values ----------------------------------------- */

static void test_wrong_type_map(void **state)
{
	(void)state;
	expect_error("server: [a]\n", "1:9", "'server' must be a map, not a list");
	expect_error("zone: { domain: example.com }\n", "1:7",
	             "'zone' must be a list of maps, not a map");
	expect_error("key: [ [a] ]\n", "1:8", "each 'key' entry must be a map, not a list");
	expect_error("server:\n"
	             "  listen: { ip: 127.0.0.1 }\n",
	             "2:11", "'listen' must be a value or a list of values, not a map");
	expect_error("server: { log: stderr }\n", "1:16", "'log' must be a map, not a value");
	expect_error("primary:\n"
	             "  - { id: p, address: [ { ip: 192.0.2.1 } ] }\n",
	             "2:25", "'address' must be a list of values, not a map");
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "zone:\n"
	             "  - { domain: example.com, primary: p, target: { id: t } }\n",
	             "3:48", "'target' must be a value or a list of values, not a map");
	expect_error("target:\n"
	             "  - { id: h, type: exec, command: { argv: x } }\n",
	             "2:35", "'command' must be a value or a list of values, not a map");
}

static void test_wrong_type_list(void **state)
{
	(void)state;
	expect_error("server: { state: [a, b] }\n", "1:18", "'state' must be a value, not a list");
	expect_error("server: { metrics: [127.0.0.1] }\n", "1:20",
	             "'metrics' must be a value, not a list");
	expect_error("key: [{ id: [k], algorithm: hmac-sha256, secret: AAAA }]\n", "1:13",
	             "'id' must be a value, not a list");
	expect_error("key: [{ id: k, algorithm: [hmac-sha256], secret: AAAA }]\n", "1:27",
	             "'algorithm' must be a value, not a list");
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "zone:\n"
	             "  - { domain: example.com, primary: [p] }\n",
	             "3:37", "'primary' must be a value, not a list");
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "zone:\n"
	             "  - { domain: example.com, primary: p, max-delete: [5] }\n",
	             "3:52", "'max-delete' must be a value, not a list");
	expect_error("target: [{ id: a, type: route53, region: [us-east-1] }]\n", "1:42",
	             "'region' must be a value, not a list");
	expect_error("target: [{ id: a, type: [route53] }]\n", "1:25",
	             "'type' must be a value, not a list");
}

static void test_empty_values(void **state)
{
	(void)state;
	expect_error("server: { state: \"\" }\n", "1:18", "'state' must not be empty");
	expect_error("server:\n"
	             "  user:\n",
	             "2:8", "'user' must not be empty");
	expect_error("server: { listen: [] }\n", "1:19", "'listen' must not be an empty list");
	expect_error("server: { listen: [127.0.0.1, \"\"] }\n", "1:31",
	             "'listen' must not be empty");
	expect_error("key: [{ id: k, algorithm: hmac-sha256, secret: \"\" }]\n", "1:48",
	             "'secret' must not be empty");
	expect_error("key: [{ id: \"\", algorithm: hmac-sha256, secret: AAAA }]\n", "1:13",
	             "'id' must not be empty");
	expect_error("primary: [{ id: p, address: [] }]\n", "1:29",
	             "'address' must not be an empty list");
	expect_error("primary: [{ id: p, address: 192.0.2.1, notify-from: [] }]\n", "1:53",
	             "'notify-from' must not be an empty list");
	expect_error("target: [{ id: pd, type: powerdns, url: \"\" }]\n", "1:41",
	             "'url' must not be empty");
	expect_error("target: [{ id: h, type: exec, command: [] }]\n", "1:40",
	             "target 'h' (type exec): 'command' must not be an empty list");
	expect_error("target: [{ id: h, type: exec, command: [x, \"\"] }]\n", "1:44",
	             "'command' must not be empty");
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "zone:\n"
	             "  - { domain: \"\", primary: p }\n",
	             "3:15", "'domain' must not be empty");
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "zone:\n"
	             "  - { domain: example.com, primary: p, target: [] }\n",
	             "3:48", "'target' must not be an empty list");
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "zone:\n"
	             "  - { domain: example.com, primary: p, max-update: }\n",
	             "3:52", "'max-update' must not be empty");
}

/* --- required keys and references ------------------------------------------ */

static void test_missing_required(void **state)
{
	(void)state;
	expect_error("key: [{ algorithm: hmac-sha256, secret: AAAA }]\n", "1:7",
	             "key: missing required key 'id'");
	expect_error("key:\n"
	             "  - id: k\n"
	             "    secret: AAAA\n",
	             "2:5", "key 'k': missing required key 'algorithm'");
	expect_error("primary: [{ id: p }]\n", "1:11",
	             "primary 'p': missing required key 'address'");
	expect_error("target: [{ id: t }]\n", "1:10", "target 't': missing required key 'type'");
	expect_error("zone: [{ primary: p }]\n", "1:8", "zone: missing required key 'domain'");
	expect_error("zone: [{ domain: example.com }]\n", "1:8",
	             "zone 'example.com': missing required key 'primary'");
}

static void test_undefined_refs(void **state)
{
	(void)state;
	expect_error("primary: [{ id: p, address: 192.0.2.1, key: nokey }]\n", "1:45",
	             "primary 'p': key 'nokey' is not defined");
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "zone:\n"
	             "  - { domain: example.com, primary: q }\n",
	             "3:37", "zone 'example.com': primary 'q' is not defined");
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "target: [{ id: t, type: zonefile, path: /tmp/z }]\n"
	             "zone:\n"
	             "  - { domain: example.com, primary: p, target: [t, u] }\n",
	             "4:52", "zone 'example.com': target 'u' is not defined");
	expect_error("target:\n"
	             "  - { id: u, type: rfc2136, address: 192.0.2.1, key: nokey }\n",
	             "2:54", "target 'u' (type rfc2136): key 'nokey' is not defined");
	/* A key is defined before it is referenced, in any section order. */
	conf_t conf;
	load_ok(&conf, "target: [{ id: u, type: rfc2136, address: 192.0.2.1, key: k }]\n"
	               "primary: [{ id: p, address: 192.0.2.1, key: k }]\n"
	               "key: [{ id: k, algorithm: hmac-sha256, secret: AAAA }]\n");
	assert_ptr_equal(conf.primary[0].key, &conf.key[0]);
	conf_free(&conf);
}

/* A section that fails its own checks is reported once, not again at every
 * reference to it. */
static void test_no_cascade(void **state)
{
	(void)state;
	expect_error("key: [{ id: k, algorithm: hmac-sha256, secret: \"!!\" }]\n"
	             "primary: [{ id: p, address: 192.0.2.1, key: k }]\n"
	             "target: [{ id: u, type: rfc2136, address: 192.0.2.1, key: k }]\n",
	             "1:48", "key 'k': secret is not valid base64");
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "target: [{ id: t, type: bind }]\n"
	             "zone: [{ domain: example.com, primary: p, target: t }]\n",
	             "2:25", "target 't': unknown type 'bind'");
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "target: [{ id: t }]\n"
	             "zone: [{ domain: example.com, primary: p, target: [T] }]\n",
	             "2:10", "target 't': missing required key 'type'");
	expect_error("primary: [{ id: p, address: 999.0.0.1 }]\n"
	             "zone: [{ domain: example.com, primary: p }]\n",
	             "1:29", "bad address '999.0.0.1'");
}

static void test_target_listed_twice(void **state)
{
	(void)state;
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "target: [{ id: t, type: zonefile, path: /tmp/z }]\n"
	             "zone:\n"
	             "  - { domain: example.com, primary: p, target: [t, T] }\n",
	             "4:52", "zone 'example.com': target 'T' is listed twice");
}

static void test_duplicate_zone(void **state)
{
	(void)state;
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "zone:\n"
	             "  - { domain: Example.COM, primary: p }\n"
	             "  - { domain: example.com., primary: p }\n",
	             "4:15", "zone example.com. is defined twice");
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "zone:\n"
	             "  - { domain: example.org, primary: p }\n"
	             "  - { domain: example.com, primary: p }\n"
	             "  - domain: example.org\n"
	             "    primary: p\n",
	             "5:13", "zone example.org. is defined twice");
	/* Not a valid name: an empty label. */
	expect_error("primary: [{ id: p, address: 192.0.2.1 }]\n"
	             "zone: [{ domain: \"a..b\", primary: p }]\n",
	             "2:18", "zone 'a..b' is not a valid domain name");
}

/* n zones z0.example ... (a quarter from primary q), loaded. */
static void load_many(conf_t *conf, int n)
{
	size_t cap = 200 + (size_t)n * 48, len = 0;
	char *yaml = malloc(cap);
	assert_non_null(yaml);
	len += (size_t)snprintf(yaml + len, cap - len,
	                        "primary: [{ id: p, address: 192.0.2.1 }, "
	                        "{ id: q, address: 192.0.2.2 }]\nzone:\n");
	for (int i = 0; i < n; i++) {
		len += (size_t)snprintf(yaml + len, cap - len,
		                        "  - { domain: z%d.example, primary: %s }\n", i,
		                        i % 4 == 0 ? "q" : "p");
	}
	result_t r = load(conf, yaml, len);
	assert_int_equal(r.ret, 0);
	free(r.text);
	free(yaml);
}

/* CPU seconds of `lookups` finds of existing zones of conf, cycled. */
static double time_finds(const conf_t *conf, int lookups)
{
	clock_t t0 = clock();
	for (int i = 0; i < lookups; i++) {
		assert_non_null(conf_zone_find(conf, conf->zone[(size_t)i % conf->nzone].name));
	}
	return (double)(clock() - t0) / CLOCKS_PER_SEC;
}

/* conf_zone_find by hash: every zone of many found, in any case, none
 * that is not there; a primary counts its zones.  A find costs the same
 * among 500 zones as among 8,000 (a linear search: 16 times more). */
static void test_zone_find_many(void **state)
{
	(void)state;
	enum { N = 8000 };
	conf_t conf, small;
	load_many(&conf, N);
	assert_int_equal(conf.nzone, N);
	assert_int_equal(conf.primary[0].nzone, N - N / 4);
	assert_int_equal(conf.primary[1].nzone, N / 4);
	for (int i = 0; i < N; i++) {
		char text[64];
		knot_dname_storage_t name;
		snprintf(text, sizeof(text), i % 2 ? "Z%d.EXAMPLE." : "z%d.example", i);
		assert_non_null(knot_dname_from_str(name, text, sizeof(name)));
		assert_ptr_equal(conf_zone_find(&conf, name), &conf.zone[i]);
		snprintf(text, sizeof(text), "y%d.example", i);
		assert_non_null(knot_dname_from_str(name, text, sizeof(name)));
		assert_null(conf_zone_find(&conf, name));
	}
	load_many(&small, N / 16);
	double t_small = time_finds(&small, 100000), t_big = time_finds(&conf, 100000);
	if (t_big > 4 * t_small + 0.05) {
		fail_msg("100,000 finds: %.3f s among %d zones, %.3f s among %d", t_small, N / 16,
		         t_big, N);
	}
	conf_free(&small);
	conf_free(&conf);
}

static void test_duplicate_ids(void **state)
{
	(void)state;
	expect_error("key:\n"
	             "  - { id: a, algorithm: hmac-sha256, secret: AAAA }\n"
	             "  - { id: A, algorithm: hmac-sha256, secret: AAAA }\n",
	             "3:11", "key 'A' is defined twice (first at line 2)");
	expect_error("primary:\n"
	             "  - { id: p, address: 192.0.2.1 }\n"
	             "  - { id: q, address: 192.0.2.2 }\n"
	             "  - id: p\n"
	             "    address: 192.0.2.3\n",
	             "4:9", "primary 'p' is defined twice (first at line 2)");
	expect_error("target:\n"
	             "  - { id: t, type: zonefile, path: /tmp/z }\n"
	             "  - { id: t, type: exec, command: x }\n",
	             "3:11", "target 't' is defined twice (first at line 2)");
	/* The same id in different sections is fine. */
	conf_t conf;
	load_ok(&conf, "key: [{ id: x, algorithm: hmac-sha256, secret: AAAA }]\n"
	               "primary: [{ id: x, address: 192.0.2.1, key: x }]\n"
	               "target: [{ id: x, type: zonefile, path: /tmp/z }]\n"
	               "zone: [{ domain: x, primary: x, target: x }]\n");
	assert_ptr_equal(conf.zone[0].primary, &conf.primary[0]);
	assert_ptr_equal(conf.zone[0].target[0], &conf.target[0]);
	assert_string_equal(conf.zone[0].domain, "x.");
	conf_free(&conf);
}

/* --- values ------------------------------------------------------------- */

static void test_bad_address(void **state)
{
	(void)state;
	expect_errors(
	        "primary:\n"
	        "  - id: p\n"
	        "    address: [999.0.2.1, 192.0.2.1@0, 192.0.2.1@70000, 1.2.3.4@x, \"[::1]:53\","
	        " 192.0.2.1@, \"2001:db8::1@53\"]\n",
	        "3:15", "'address': bad address '999.0.2.1', expected IP[@PORT]", /* */
	        "3:26", "bad address '192.0.2.1@0'",                              /* */
	        "3:39", "bad address '192.0.2.1@70000'",                          /* */
	        "3:56", "bad address '1.2.3.4@x'",                                /* */
	        "3:67", "bad address '[::1]:53'",                                 /* */
	        "3:79", "bad address '192.0.2.1@'");
	expect_error("server: { listen: example.com }\n", "1:19",
	             "'listen': bad address 'example.com'");
	expect_error("server: { metrics: 127.0.0.1@65536 }\n", "1:20",
	             "'metrics': bad address '127.0.0.1@65536'");
	expect_error("target: [{ id: u, type: rfc2136, address: 192.0.2.1@0 }]\n", "1:43",
	             "target 'u' (type rfc2136): 'address': bad address '192.0.2.1@0'");
}

static void test_bad_prefix(void **state)
{
	(void)state;
	expect_errors("primary:\n"
	              "  - id: p\n"
	              "    address: 192.0.2.1\n"
	              "    notify-from:\n"
	              "      - 192.0.2.1/24\n"
	              "      - 192.0.2.0/33\n"
	              "      - \"2001:db8::/129\"\n"
	              "      - \"2001:db8::1/64\"\n"
	              "      - 192.0.2.0/\n"
	              "      - 192.0.2.0/24\n",
	              "5:9",
	              "'notify-from': bad prefix '192.0.2.1/24', expected IP[/BITS] with no host "
	              "bits set",
	              "6:9", "bad prefix '192.0.2.0/33'",   /* */
	              "7:9", "bad prefix '2001:db8::/129'", /* */
	              "8:9", "bad prefix '2001:db8::1/64'", /* */
	              "9:9", "bad prefix '192.0.2.0/'");
}

static void test_bad_base64(void **state)
{
	(void)state;
	expect_error("key: [{ id: k, algorithm: hmac-sha256, secret: \"not base64!!\" }]\n", "1:48",
	             "key 'k': secret is not valid base64");
	expect_error("key: [{ id: k, algorithm: hmac-sha256, secret: AAA }]\n", "1:48",
	             "key 'k': secret is not valid base64");
}

static void test_unknown_algorithm(void **state)
{
	(void)state;
	expect_error("key: [{ id: k, algorithm: hmac-sha999, secret: AAAA }]\n", "1:27",
	             "key 'k': unknown algorithm 'hmac-sha999' (hmac-md5, hmac-sha1, hmac-sha224, "
	             "hmac-sha256, hmac-sha384, hmac-sha512)");
	/* Every listed algorithm is accepted. */
	static const char *const algs[] = { "hmac-md5",    "hmac-sha1",   "hmac-sha224",
		                            "hmac-sha256", "hmac-sha384", "hmac-sha512" };
	for (size_t i = 0; i < 6; i++) {
		char yaml[200];
		snprintf(yaml, sizeof(yaml), "key: [{ id: k, algorithm: %s, secret: AAAA }]\n",
		         algs[i]);
		conf_t conf;
		load_ok(&conf, yaml);
		assert_int_equal(conf.key[0].tsig.algorithm, DNSSEC_TSIG_HMAC_MD5 + (int)i);
		conf_free(&conf);
	}
}

static void test_secret_both_or_neither(void **state)
{
	(void)state;
	expect_error("key:\n"
	             "  - id: k\n"
	             "    algorithm: hmac-sha256\n"
	             "    secret: AAAA\n"
	             "    secret-file: /etc/zonesync/k.key\n",
	             "5:18", "key 'k': give 'secret' or 'secret-file', not both");
	expect_error("key:\n"
	             "  - id: k\n"
	             "    algorithm: hmac-sha256\n",
	             "2:5", "key 'k': missing 'secret' or 'secret-file'");
}

static void test_secret_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_conf.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char sub[64], keyfile[96], absfile[96], big[96], empty[96], conffile[96];
	snprintf(sub, sizeof(sub), "%s/keys", dir);
	snprintf(keyfile, sizeof(keyfile), "%s/keys/xfr.key", dir);
	snprintf(absfile, sizeof(absfile), "%s/abs.key", dir);
	snprintf(big, sizeof(big), "%s/big.key", dir);
	snprintf(empty, sizeof(empty), "%s/empty.key", dir);
	snprintf(conffile, sizeof(conffile), "%s/zonesync.yaml", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	/* Surrounding whitespace is ignored. */
	write_file(keyfile, "\n  " SECRET32 "  \n\n", strlen(SECRET32) + 7);
	write_file(absfile, "AAAA", 4);
	char *bigtext = malloc(5000);
	assert_non_null(bigtext);
	memset(bigtext, 'A', 5000);
	write_file(big, bigtext, 5000);
	free(bigtext);
	write_file(empty, " \n", 2);

	/* Relative to the directory of the config file, not the current one;
	 * absolute as given. */
	char yaml[512];
	int n = snprintf(yaml, sizeof(yaml),
	                 "key:\n"
	                 "  - { id: rel, algorithm: hmac-sha256, secret-file: keys/xfr.key }\n"
	                 "  - { id: abs, algorithm: hmac-sha1, secret-file: %s }\n",
	                 absfile);
	write_file(conffile, yaml, (size_t)n);
	conf_t conf;
	char *errs = NULL;
	size_t errlen = 0;
	FILE *f = open_memstream(&errs, &errlen);
	assert_non_null(f);
	int ret = conf_load(&conf, conffile, target_registry, f);
	fclose(f);
	if (ret != 0) {
		fail_msg("conf_load: %s", errs);
	}
	assert_string_equal(errs, "");
	free(errs);
	assert_string_equal(conf.path, conffile);
	assert_int_equal(conf.nkey, 2);
	assert_int_equal(conf.key[0].tsig.secret.size, 32);
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(conf.key[0].tsig.secret.data[i], i);
	}
	assert_int_equal(conf.key[1].tsig.algorithm, DNSSEC_TSIG_HMAC_SHA1);
	assert_int_equal(conf.key[1].tsig.secret.size, 3);
	conf_free(&conf);

	/* Missing, a directory, too large, empty: each reported with the path
	 * it tried. */
	n = snprintf(yaml, sizeof(yaml),
	             "key:\n"
	             "  - { id: a, algorithm: hmac-sha256, secret-file: missing.key }\n"
	             "  - { id: b, algorithm: hmac-sha256, secret-file: keys }\n"
	             "  - { id: c, algorithm: hmac-sha256, secret-file: big.key }\n"
	             "  - { id: d, algorithm: hmac-sha256, secret-file: empty.key }\n");
	write_file(conffile, yaml, (size_t)n);
	errs = NULL;
	f = open_memstream(&errs, &errlen);
	assert_non_null(f);
	assert_int_equal(conf_load(&conf, conffile, target_registry, f), -EINVAL);
	fclose(f);
	char want[1024];
	snprintf(want, sizeof(want),
	         "%s:2:51: key 'a': secret-file '%s/missing.key': no such file\n"
	         "%s:3:51: key 'b': secret-file '%s/keys' is not a regular file\n"
	         "%s:4:51: key 'c': cannot read secret-file '%s/big.key': file too large\n"
	         "%s:5:51: key 'd': secret is not valid base64\n",
	         conffile, dir, conffile, dir, conffile, dir, conffile);
	assert_string_equal(errs, want);
	free(errs);
	assert_null(conf.root);
	/* status reads none of them: each key has its name and algorithm and
	 * no material; the file's digest is kept. */
	assert_int_equal(
	        conf_load_flags(&conf, conffile, target_registry, CONF_LOAD_NO_SECRETS, NULL), 0);
	assert_int_equal(conf.nkey, 4);
	assert_string_equal(conf.key[2].id, "c");
	assert_int_equal(conf.key[2].tsig.algorithm, DNSSEC_TSIG_HMAC_SHA256);
	assert_int_equal(conf.key[2].tsig.secret.size, 0);
	assert_int_equal(strlen(conf.sha256), 64);
	assert_int_equal(strspn(conf.sha256, "0123456789abcdef"), 64);
	conf_free(&conf);

	/* Without a directory in the name (conf_load_string), a relative path
	 * is taken from the current directory. */
	expect_error("key: [{ id: k, algorithm: hmac-sha256, secret-file: /nonexistent/k.key }]\n",
	             "1:53", "key 'k': secret-file '/nonexistent/k.key': no such file");

	/* A missing config file. */
	char missing[128];
	snprintf(missing, sizeof(missing), "%s/nope.yaml", dir);
	errs = NULL;
	f = open_memstream(&errs, &errlen);
	assert_non_null(f);
	assert_int_equal(conf_load(&conf, missing, target_registry, f), -EINVAL);
	fclose(f);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory\n", missing);
	assert_string_equal(errs, want);
	free(errs);
	assert_int_equal(conf_load(&conf, missing, target_registry, NULL), -EINVAL);

	assert_int_equal(unlink(keyfile), 0);
	assert_int_equal(unlink(absfile), 0);
	assert_int_equal(unlink(big), 0);
	assert_int_equal(unlink(empty), 0);
	assert_int_equal(unlink(conffile), 0);
	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_unknown_target_type(void **state)
{
	(void)state;
	expect_error(
	        "target:\n"
	        "  - id: t\n"
	        "    type: bind\n",
	        "3:11",
	        "target 't': unknown type 'bind' (route53, powerdns, rfc2136, zonefile, exec)");
	/* Type names are exact. */
	expect_error("target: [{ id: t, type: Route53 }]\n", "1:25",
	             "target 't': unknown type 'Route53'");
}

static void test_missing_target_keys(void **state)
{
	(void)state;
	expect_error("target:\n"
	             "  - id: pd\n"
	             "    type: powerdns\n"
	             "    server-id: localhost\n",
	             "2:5", "target 'pd' (type powerdns): missing required key 'url'");
	expect_error("target: [{ id: f, type: zonefile }]\n", "1:10",
	             "target 'f' (type zonefile): missing required key 'path'");
	expect_error("target: [{ id: u, type: rfc2136 }]\n", "1:10",
	             "target 'u' (type rfc2136): missing required key 'address'");
	expect_error("target: [{ id: h, type: exec, timeout: 5 }]\n", "1:10",
	             "target 'h' (type exec): missing required key 'command'");
	/* route53 needs nothing but its type. */
	conf_t conf;
	load_ok(&conf, "target: [{ id: a, type: route53 }]\n");
	assert_int_equal(conf.ntarget, 1);
	assert_null(conf_target_str(&conf.target[0], "hosted-zone-id"));
	assert_int_equal(conf_target_int(&conf.target[0], "rate-limit", 5), 5);
	conf_free(&conf);
}

static void test_bad_url(void **state)
{
	(void)state;
	expect_errors("target:\n"
	              "  - { id: a, type: powerdns, url: \"ftp://x\" }\n"
	              "  - { id: b, type: powerdns, url: \"http://\" }\n"
	              "  - { id: c, type: powerdns, url: \"http:///api\" }\n"
	              "  - { id: d, type: powerdns, url: \"http://a b\" }\n"
	              "  - { id: e, type: route53, endpoint: 127.0.0.1:5000 }\n",
	              "2:35",
	              "target 'a' (type powerdns): 'url': bad URL 'ftp://x', expected "
	              "http://HOST[:PORT][/PATH]",
	              "3:35", "'url': bad URL 'http://'",     /* */
	              "4:35", "'url': bad URL 'http:///api'", /* */
	              "5:35", "'url': bad URL 'http://a b'",  /* */
	              "6:39", "target 'e' (type route53): 'endpoint': bad URL '127.0.0.1:5000'");
}

static void test_enum(void **state)
{
	(void)state;
	expect_errors("target:\n"
	              "  - { id: a, type: route53, apex-ns: maybe, soa-serial: increment }\n"
	              "  - { id: u, type: rfc2136, address: 192.0.2.1, apex-ns: KEEP }\n",
	              "2:38",
	              "target 'a' (type route53): 'apex-ns' is 'maybe', expected one of keep, sync",
	              "2:57", "'soa-serial' is 'increment', expected one of keep, mirror", /* */
	              "3:58", "target 'u' (type rfc2136): 'apex-ns' is 'KEEP', expected one of");
	expect_errors("target:\n"
	              "  - { id: a, type: route53, ignore-owned-by: External-DNS }\n"
	              "  - { id: b, type: route53, ignore-owned-by: [external-dns] }\n",
	              "2:46",
	              "target 'a' (type route53): 'ignore-owned-by' is 'External-DNS', expected "
	              "one of external-dns",
	              "3:46", "ignore-owned-by");
	expect_errors("server:\n"
	              "  log: { target: file, level: verbose }\n",
	              "2:18", "'target': 'file' is not one of stderr, syslog", /* */
	              "2:31",
	              "'level': 'verbose' is not one of debug, info, notice, warning, error");
}

static void test_int_range(void **state)
{
	(void)state;
	expect_errors("target:\n"
	              "  - { id: a, type: route53, rate-limit: 0 }\n"
	              "  - { id: b, type: route53, rate-limit: 1001 }\n"
	              "  - { id: c, type: powerdns, url: \"http://x\", batch-size: 100001 }\n"
	              "  - { id: d, type: exec, command: x, timeout: abc }\n"
	              "  - { id: e, type: exec, command: x, timeout: \" 5\" }\n"
	              "  - { id: f, type: exec, command: x, timeout: 5s }\n"
	              "  - { id: g, type: exec, command: x, timeout: 99999999999999999999 }\n",
	              "2:41",
	              "target 'a' (type route53): 'rate-limit' must be an integer from 1 to 1000, "
	              "not '0'",
	              "3:41", "'rate-limit' must be an integer from 1 to 1000, not '1001'", /* */
	              "4:59",
	              "'batch-size' must be an integer from 1 to 100000, not '100001'",  /* */
	              "5:47", "'timeout' must be an integer from 1 to 86400, not 'abc'", /* */
	              "6:47", "not ' 5'",                                                /* */
	              "7:47", "not '5s'",                                                /* */
	              "8:47", "not '99999999999999999999'");
	/* The bounds themselves are fine. */
	conf_t conf;
	load_ok(&conf, "target:\n"
	               "  - { id: a, type: route53, rate-limit: 1 }\n"
	               "  - { id: b, type: route53, rate-limit: 1000 }\n"
	               "  - { id: c, type: exec, command: x, timeout: 1 }\n");
	assert_int_equal(conf_target_int(&conf.target[0], "rate-limit", 5), 1);
	assert_int_equal(conf_target_int(&conf.target[1], "rate-limit", 5), 1000);
	assert_int_equal(conf_target_int(&conf.target[2], "timeout", 9), 1);
	conf_free(&conf);
}

static void test_bool(void **state)
{
	(void)state;
	expect_error("target: [{ id: p, type: powerdns, url: \"http://x\", create: maybe }]\n",
	             "1:60",
	             "target 'p' (type powerdns): 'create' must be true or false, not 'maybe'");
	expect_error("target: [{ id: p, type: powerdns, url: \"http://x\", create: 1 }]\n", "1:60",
	             "'create' must be true or false, not '1'");
	static const char *const yes[] = { "true", "yes", "on", "True", "YES" };
	static const char *const no[] = { "false", "no", "off", "False", "OFF" };
	for (size_t i = 0; i < 5; i++) {
		char yaml[200];
		conf_t conf;
		snprintf(yaml, sizeof(yaml),
		         "target:\n"
		         "  - { id: a, type: powerdns, url: \"http://x\", create: %s }\n"
		         "  - { id: b, type: powerdns, url: \"http://x\", create: %s }\n",
		         yes[i], no[i]);
		load_ok(&conf, yaml);
		assert_true(conf_target_bool(&conf.target[0], "create", false));
		assert_false(conf_target_bool(&conf.target[1], "create", true));
		conf_free(&conf);
	}
}

static void test_max_delete(void **state)
{
	(void)state;
	expect_errors(
	        "primary: [{ id: p, address: 192.0.2.1 }]\n"
	        "zone:\n"
	        "  - { domain: a.example, primary: p, max-delete: 120% }\n"
	        "  - { domain: b.example, primary: p, max-delete: -1 }\n"
	        "  - { domain: c.example, primary: p, max-delete: abc }\n"
	        "  - { domain: d.example, primary: p, max-delete: \"%\" }\n"
	        "  - { domain: e.example, primary: p, max-update: 10%% }\n"
	        "  - { domain: f.example, primary: p, max-update: 4294967296 }\n"
	        "  - { domain: g.example, primary: p, max-update: \"5 %\" }\n",
	        "3:50",
	        "zone 'a.example': 'max-delete' must be a percentage (0%-100%) or a count of "
	        "RRsets, not '120%'",
	        "4:50",
	        "'max-delete' must be a percentage (0%-100%) or a count of RRsets, not '-1'",
	        "5:50", "not 'abc'", /* */
	        "6:50", "not '%'",   /* */
	        "7:50",
	        "'max-update' must be a percentage (0%-100%) or a count of RRsets, not '10%%'",
	        "8:50", "not '4294967296'", /* */
	        "9:50", "not '5 %'");
	conf_t conf;
	load_ok(&conf,
	        "primary: [{ id: p, address: 192.0.2.1 }]\n"
	        "zone:\n"
	        "  - { domain: a.example, primary: p, max-delete: 0%, max-update: 4294967295 }\n"
	        "  - { domain: b.example, primary: p, max-delete: 100%, max-update: 0 }\n");
	assert_true(conf.zone[0].max_delete.percent);
	assert_int_equal(conf.zone[0].max_delete.value, 0);
	assert_false(conf.zone[0].max_update.percent);
	assert_int_equal(conf.zone[0].max_update.value, 4294967295u);
	assert_true(conf.zone[1].max_delete.percent);
	assert_int_equal(conf.zone[1].max_delete.value, 100);
	assert_false(conf.zone[1].max_update.percent);
	assert_int_equal(conf.zone[1].max_update.value, 0);
	conf_free(&conf);
}

/* --- SOA timer bounds, transfer limits, server limits ---------------------- */

#define ZONE_HEAD                                                                                  \
	"primary: [{ id: p, address: 192.0.2.1 }]\n"                                               \
	"zone:\n"                                                                                  \
	"  - domain: example.com\n"                                                                \
	"    primary: p\n"

static void test_interval_keys(void **state)
{
	(void)state;
	/* Every bound key, with every suffix; min and max equal is fine. */
	static const struct {
		const char *min, *max;
		size_t off_min, off_max;
	} keys[] = {
		{ "refresh-min-interval", "refresh-max-interval",
		  offsetof(conf_zone_t, refresh_min), offsetof(conf_zone_t, refresh_max) },
		{ "retry-min-interval", "retry-max-interval", offsetof(conf_zone_t, retry_min),
		  offsetof(conf_zone_t, retry_max) },
		{ "expire-min-interval", "expire-max-interval", offsetof(conf_zone_t, expire_min),
		  offsetof(conf_zone_t, expire_max) },
	};
	static const struct {
		const char *text;
		uint32_t secs;
	} values[] = {
		{ "0", 0 },
		{ "90", 90 },
		{ "90s", 90 },
		{ "15m", 900 },
		{ "2h", 7200 },
		{ "1d", 86400 },
		{ "1w", 604800 },
		{ "0w", 0 },
		{ "007", 7 },
		{ "4294967295", UINT32_MAX },
		{ "4294967295s", UINT32_MAX },
		{ "71582788m", 4294967280u },
		{ "7101w", 4294684800u },
	};
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
			char yaml[300];
			snprintf(yaml, sizeof(yaml), ZONE_HEAD "    %s: %s\n    %s: %s\n",
			         keys[k].min, values[v].text, keys[k].max, values[v].text);
			conf_t conf;
			load_ok(&conf, yaml);
			const char *z = (const char *)&conf.zone[0];
			uint32_t got_min, got_max;
			memcpy(&got_min, z + keys[k].off_min, sizeof(got_min));
			memcpy(&got_max, z + keys[k].off_max, sizeof(got_max));
			if (got_min != values[v].secs || got_max != values[v].secs) {
				fail_msg("%s/%s: '%s' read as %u/%u, want %u", keys[k].min,
				         keys[k].max, values[v].text, got_min, got_max,
				         values[v].secs);
			}
			conf_free(&conf);
		}
	}
}

static void test_interval_errors(void **state)
{
	(void)state;
	/* Bad syntax and overflow, each at its value. */
	expect_errors(
	        ZONE_HEAD "    refresh-min-interval: x\n"
	                  "    refresh-max-interval: 1y\n"
	                  "    retry-min-interval: \"-1\"\n"
	                  "    retry-max-interval: 4294967296\n"
	                  "    expire-min-interval: 1.5h\n"
	                  "    expire-max-interval: 5 m\n",
	        "5:27",
	        "zone 'example.com': 'refresh-min-interval' must be a duration (seconds, or a "
	        "number with s, m, h, d or w), not 'x'",
	        "6:27",
	        "zone 'example.com': 'refresh-max-interval' must be a duration (seconds, or a "
	        "number with s, m, h, d or w), not '1y'",
	        "7:25",
	        "'retry-min-interval' must be a duration (seconds, or a number with s, "
	        "m, h, d or w), not '-1'",
	        "8:25", "'retry-max-interval' must be a duration", /* */
	        "9:26", "'expire-min-interval' must be a duration", "10:26",
	        "'expire-max-interval' must be a duration (seconds, or a number with s, "
	        "m, h, d or w), not '5 m'");
	/* Overflow through the unit.  Errors come in the order the keys are
	 * checked (refresh, retry, expire), not the order of the file. */
	expect_errors(ZONE_HEAD "    expire-max-interval: 7102w\n"
	                        "    retry-max-interval: 49711d\n"
	                        "    refresh-max-interval: 71582789m\n",
	              "7:27", "'refresh-max-interval' must be a duration", /* */
	              "6:25", "not '49711d'",                              /* */
	              "5:26", "not '7102w'");
	/* The wrong YAML kind, empty. */
	expect_errors(ZONE_HEAD "    refresh-min-interval: [1]\n"
	                        "    retry-min-interval: { a: 1 }\n"
	                        "    expire-min-interval: \"\"\n",
	              "5:27", "'refresh-min-interval' must be a value, not a list", "6:25",
	              "'retry-min-interval' must be a value, not a map", /* */
	              "7:26", "'expire-min-interval' must not be empty");
	/* Min above max: reported at the max. */
	expect_error(ZONE_HEAD "    refresh-min-interval: 2m\n"
	                       "    refresh-max-interval: 60\n",
	             "6:27",
	             "zone 'example.com': 'refresh-max-interval' (60) is below "
	             "'refresh-min-interval' (120)");
	expect_error(ZONE_HEAD "    retry-max-interval: 1m\n"
	                       "    retry-min-interval: 1h\n",
	             "5:25",
	             "zone 'example.com': 'retry-max-interval' (60) is below 'retry-min-interval' "
	             "(3600)");
	/* ... against the default min too. */
	expect_error(ZONE_HEAD "    expire-max-interval: 59m\n", "5:26",
	             "zone 'example.com': 'expire-max-interval' (3540) is below "
	             "'expire-min-interval' (3600)");
	expect_error(ZONE_HEAD "    retry-max-interval: 29\n", "5:25",
	             "zone 'example.com': 'retry-max-interval' (29) is below 'retry-min-interval' "
	             "(30)");
	/* With the default max, at the min, saying so. */
	expect_error(ZONE_HEAD "    refresh-min-interval: 2d\n", "5:27",
	             "zone 'example.com': 'refresh-max-interval' (86400, the default) is below "
	             "'refresh-min-interval' (172800)");
	expect_error(ZONE_HEAD "    expire-min-interval: 31d\n", "5:26",
	             "zone 'example.com': 'expire-max-interval' (2592000, the default) is below "
	             "'expire-min-interval' (2678400)");
	/* All three pairs in one zone, and only once each: a bad value is not
	 * compared. */
	expect_errors(ZONE_HEAD "    refresh-min-interval: 1w\n"
	                        "    refresh-max-interval: 6d\n"
	                        "    retry-min-interval: 10\n"
	                        "    retry-max-interval: 9\n"
	                        "    expire-min-interval: bad\n"
	                        "    expire-max-interval: 1\n",
	              "6:27",
	              "'refresh-max-interval' (518400) is below 'refresh-min-interval' (604800)",
	              "8:25", "'retry-max-interval' (9) is below 'retry-min-interval' (10)", "9:26",
	              "'expire-min-interval' must be a duration");
	/* The edges are fine: equal values, and the defaults at their limits. */
	conf_t conf;
	load_ok(&conf, ZONE_HEAD "    refresh-min-interval: 1d\n"
	                         "    retry-max-interval: 30s\n"
	                         "    expire-max-interval: 1h\n"
	                         "    expire-min-interval: 0\n");
	assert_int_equal(conf.zone[0].refresh_min, 86400);
	assert_int_equal(conf.zone[0].refresh_max, 86400);
	assert_int_equal(conf.zone[0].retry_min, 30);
	assert_int_equal(conf.zone[0].retry_max, 30);
	assert_int_equal(conf.zone[0].expire_min, 0);
	assert_int_equal(conf.zone[0].expire_max, 3600);
	conf_free(&conf);
}

static void test_transfer_limits(void **state)
{
	(void)state;
	static const struct {
		const char *records, *bytes, *timeout;
		uint64_t want_records, want_bytes;
		uint32_t want_timeout;
	} ok[] = {
		{ "1", "1", "1", 1, 1, 1 },
		{ "4294967295", "1099511627776", "86400", UINT32_MAX, 1ull << 40, 86400 },
		{ "10000000", "1K", "1s", 10000000, 1024, 1 },
		{ "250000", "512M", "90", 250000, 512ull << 20, 90 },
		{ "007", "1G", "90s", 7, 1ull << 30, 90 },
		{ "+5", "1024G", "15m", 5, 1ull << 40, 900 },
		{ "2", "1048576K", "2h", 2, 1ull << 30, 7200 },
		{ "3", "0001M", "1d", 3, 1ull << 20, 86400 },
		{ "4", "1073741824", "24h", 4, 1ull << 30, 86400 },
		{ "5", "1048576M", "1440m", 5, 1ull << 40, 86400 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char yaml[300];
		snprintf(yaml, sizeof(yaml),
		         ZONE_HEAD "    transfer-max-records: %s\n"
		                   "    transfer-max-bytes: %s\n"
		                   "    transfer-timeout: %s\n",
		         ok[i].records, ok[i].bytes, ok[i].timeout);
		conf_t conf;
		load_ok(&conf, yaml);
		assert_int_equal(conf.zone[0].xfr_max_records, ok[i].want_records);
		assert_int_equal(conf.zone[0].xfr_max_bytes, ok[i].want_bytes);
		assert_int_equal(conf.zone[0].xfr_timeout, ok[i].want_timeout);
		conf_free(&conf);
	}

	expect_errors(
	        ZONE_HEAD "    transfer-max-records: 0\n"
	                  "    transfer-max-bytes: 0\n"
	                  "    transfer-timeout: 0\n",
	        "5:27",
	        "zone 'example.com': 'transfer-max-records' must be an integer from 1 to "
	        "4294967295, not '0'",
	        "6:25",
	        "zone 'example.com': 'transfer-max-bytes' must be a size from 1 to "
	        "1099511627776 bytes (a number, or one with K, M or G), not '0'",
	        "7:23",
	        "zone 'example.com': 'transfer-timeout' must be a duration from 1s to 1d, not "
	        "'0'");
	expect_errors(ZONE_HEAD "    transfer-max-records: 4294967296\n"
	                        "    transfer-max-bytes: 1099511627777\n"
	                        "    transfer-timeout: 86401\n",
	              "5:27",
	              "'transfer-max-records' must be an integer from 1 to 4294967295, not "
	              "'4294967296'",
	              "6:25",
	              "'transfer-max-bytes' must be a size from 1 to 1099511627776 bytes", /* */
	              "7:23", "'transfer-timeout' must be a duration from 1s to 1d, not '86401'");
	expect_errors(ZONE_HEAD "    transfer-max-records: 1K\n"
	                        "    transfer-max-bytes: 1025G\n"
	                        "    transfer-timeout: 2d\n",
	              "5:27",
	              "'transfer-max-records' must be an integer from 1 to 4294967295, not "
	              "'1K'",
	              "6:25", "not '1025G'", /* */
	              "7:23", "'transfer-timeout' must be a duration from 1s to 1d, not '2d'");
	expect_errors(ZONE_HEAD "    transfer-max-records: -1\n"
	                        "    transfer-max-bytes: 1T\n"
	                        "    transfer-timeout: 1w\n",
	              "5:27", "not '-1'", /* */
	              "6:25", "not '1T'", /* */
	              "7:23", "'transfer-timeout' must be a duration from 1s to 1d, not '1w'");
	/* Syntax: lower-case units, spaces, signs, empty units, two units. */
	expect_errors(ZONE_HEAD "    transfer-max-records: 1e6\n"
	                        "    transfer-max-bytes: 512m\n"
	                        "    transfer-timeout: 10M\n",
	              "5:27", "not '1e6'",  /* */
	              "6:25", "not '512m'", /* */
	              "7:23",
	              "'transfer-timeout' must be a duration (seconds, or a number with s, m, h, d "
	              "or w), not '10M'");
	expect_errors(ZONE_HEAD "    transfer-max-bytes: \"1 G\"\n"
	                        "    transfer-timeout: \" 5\"\n",
	              "5:25", "not '1 G'", /* */
	              "6:23", "'transfer-timeout' must be a duration (seconds");
	expect_errors(ZONE_HEAD "    transfer-max-bytes: K\n"
	                        "    transfer-timeout: 1hs\n",
	              "5:25", "not 'K'", /* */
	              "6:23", "not '1hs'");
	expect_errors(ZONE_HEAD "    transfer-max-bytes: \"+1\"\n"
	                        "    transfer-timeout: 99999999999999999999999\n",
	              "5:25", "not '+1'", /* */
	              "6:23", "not '99999999999999999999999'");
	expect_errors(ZONE_HEAD "    transfer-max-bytes: 18446744073709551616G\n"
	                        "    transfer-max-records: 99999999999999999999999\n",
	              "6:27", "not '99999999999999999999999'", /* */
	              "5:25", "not '18446744073709551616G'");
	expect_errors(ZONE_HEAD "    transfer-max-bytes: [1]\n"
	                        "    transfer-timeout:\n",
	              "5:25", "'transfer-max-bytes' must be a value, not a list", /* */
	              "6:22", "'transfer-timeout' must not be empty");
}

static void test_server_limits(void **state)
{
	(void)state;
	static const struct {
		const char *rate, *clients, *idle;
		uint32_t want_rate, want_clients, want_idle;
	} ok[] = {
		{ "0", "1", "1", 0, 1, 1 },
		{ "1000000", "65535", "3600", 1000000, 65535, 3600 },
		{ "1", "100", "1s", 1, 100, 1 },
		{ "20", "2", "90", 20, 2, 90 },
		{ "500", "1000", "90s", 500, 1000, 90 },
		{ "1000", "10", "15m", 1000, 10, 900 },
		{ "999999", "65534", "1h", 999999, 65534, 3600 },
		{ "3", "4", "60m", 3, 4, 3600 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char yaml[300];
		snprintf(yaml, sizeof(yaml),
		         "server:\n"
		         "  notify-rate-limit: %s\n"
		         "  tcp-max-clients: %s\n"
		         "  tcp-idle-timeout: %s\n",
		         ok[i].rate, ok[i].clients, ok[i].idle);
		conf_t conf;
		load_ok(&conf, yaml);
		assert_int_equal(conf.server.notify_rate_limit, ok[i].want_rate);
		assert_int_equal(conf.server.tcp_max_clients, ok[i].want_clients);
		assert_int_equal(conf.server.tcp_idle_timeout, ok[i].want_idle);
		conf_free(&conf);
	}

	expect_errors("server:\n"
	              "  notify-rate-limit: -1\n"
	              "  tcp-max-clients: 0\n"
	              "  tcp-idle-timeout: 0\n",
	              "2:22", "'notify-rate-limit' must be an integer from 0 to 1000000, not '-1'",
	              "3:20", "'tcp-max-clients' must be an integer from 1 to 65535, not '0'",
	              "4:21", "'tcp-idle-timeout' must be a duration from 1s to 1h, not '0'");
	expect_errors("server:\n"
	              "  notify-rate-limit: 1000001\n"
	              "  tcp-max-clients: 65536\n"
	              "  tcp-idle-timeout: 3601\n",
	              "2:22", "not '1000001'", /* */
	              "3:20", "not '65536'",   /* */
	              "4:21", "'tcp-idle-timeout' must be a duration from 1s to 1h, not '3601'");
	expect_errors("server:\n"
	              "  notify-rate-limit: 10/s\n"
	              "  tcp-max-clients: 1K\n"
	              "  tcp-idle-timeout: 10x\n",
	              "2:22", "not '10/s'", /* */
	              "3:20", "not '1K'",   /* */
	              "4:21",
	              "'tcp-idle-timeout' must be a duration (seconds, or a number with s, m, h, d "
	              "or w), not '10x'");
	expect_errors(
	        "server: { tcp-idle-timeout: 2h, notify-rate-limit: [1], tcp-max-clients: }\n",
	        "1:52", "'notify-rate-limit' must be a value, not a list", /* */
	        "1:74", "'tcp-max-clients' must not be empty",             /* */
	        "1:29", "'tcp-idle-timeout' must be a duration from 1s to 1h, not '2h'");
	/* Unknown keys next to them are still reported. */
	expect_error("server: { tcp-max-client: 5 }\n", "1:11",
	             "unknown key 'tcp-max-client' in server");
}

/* --- YAML --------------------------------------------------------------- */

static void test_yaml_syntax(void **state)
{
	(void)state;
	expect_error("server:\n"
	             "  state: /x\n"
	             " user: y\n",
	             "3:2",
	             "did not find expected key while parsing a block mapping started at line 1, "
	             "column 1");
	/* An unclosed bracket or quote is found at the end: the message also
	 * says where it was opened. */
	expect_error("zone: [ { domain: x }\n", "2:1",
	             "did not find expected ',' or ']' while parsing a flow sequence started at "
	             "line 1, column 7");
	expect_error("server: { state: \"/x }\n\n\n", "4:1",
	             "found unexpected end of stream while scanning a quoted scalar started at "
	             "line 1, column 18");
	expect_error("a: 1\n"
	             "  b: 2\n",
	             "2:4", "mapping values are not allowed in this context");
	expect_error("server: {}\n"
	             "\tkey: []\n",
	             "2:1", "found character that cannot start any token");
	expect_error("server: {}\n"
	             "---\n"
	             "zone: []\n",
	             "2:1", "only one YAML document is allowed");
	expect_error("? [a]\n"
	             ": b\n",
	             "1:3", "a key must be a plain value");
	/* A NUL inside a value would cut it short without notice. */
	static const char nul[] = "server: { user: \"a\\0b\" }\n";
	expect_errors_at(__FILE__, __LINE__, nul, sizeof(nul) - 1, "1:17",
	                 "NUL character in a value", NULL);
	/* Deep nesting is refused, not a stack overflow. */
	char deep[300];
	memset(deep, '[', 200);
	strcpy(deep + 200, "\n");
	expect_errors_at(__FILE__, __LINE__, deep, strlen(deep), "1:66", "nesting too deep", NULL);
}

static void test_yaml_anchors(void **state)
{
	(void)state;
	expect_error("server: &s { state: /x }\n", "1:9",
	             "anchors are not supported in the configuration");
	expect_error("server: { state: &s /x, user: y }\n", "1:18",
	             "anchors are not supported in the configuration");
	expect_error("zone: &z []\n", "1:7", "anchors are not supported in the configuration");
	expect_error("server:\n"
	             "  state: /x\n"
	             "  user: *s\n",
	             "3:9", "aliases are not supported in the configuration");
}

static void test_yaml_duplicate_key(void **state)
{
	(void)state;
	expect_error("server: {}\n"
	             "zone: []\n"
	             "server: {}\n",
	             "3:1", "duplicate key 'server' (first at line 1)");
	expect_error("key:\n"
	             "  - { id: a, algorithm: hmac-sha256,\n"
	             "      id: b, secret: AAAA }\n",
	             "3:7", "duplicate key 'id' (first at line 2)");
}

static void test_many_errors(void **state)
{
	(void)state;
	expect_errors("server:\n"
	              "  listen: [127.0.0.1@0]\n"
	              "  log: { level: loud }\n"
	              "key:\n"
	              "  - { id: k, algorithm: md5, secret: AAAA }\n"
	              "primary:\n"
	              "  - { id: p, address: 192.0.2.1, notify-from: 10.0.0.1/8 }\n"
	              "target:\n"
	              "  - { id: t, type: powerdns }\n"
	              "  - { id: u, type: exec, command: x, timeout: 0 }\n"
	              "zone:\n"
	              "  - { domain: example.com, primary: q, target: [t, v], max-delete: 200% }\n"
	              "frobnicate: yes\n",
	              "13:1", "unknown key 'frobnicate'",                               /* */
	              "2:12", "'listen': bad address '127.0.0.1@0'",                    /* */
	              "3:17", "'level': 'loud' is not one of",                          /* */
	              "5:25", "key 'k': unknown algorithm 'md5'",                       /* */
	              "7:47", "'notify-from': bad prefix '10.0.0.1/8'",                 /* */
	              "9:5", "target 't' (type powerdns): missing required key 'url'",  /* */
	              "10:47", "'timeout' must be an integer from 1 to 86400, not '0'", /* */
	              "12:37", "zone 'example.com': primary 'q' is not defined",        /* */
	              "12:52", "zone 'example.com': target 'v' is not defined",         /* */
	              "12:68", "'max-delete' must be a percentage");
	/* With no error stream the result is the same. */
	conf_t conf;
	static const char bad[] = "zone: {}\n";
	assert_int_equal(conf_load_string(&conf, NAME, bad, strlen(bad), target_registry, NULL), -EINVAL);
	assert_null(conf.root);
}

/* --- parsers ------------------------------------------------------------ */

static void test_parse_addr(void **state)
{
	(void)state;
	net_addr_t a;
	assert_int_equal(net_parse_addr("192.0.2.1", 53, &a), 0);
	assert_addr(&a, AF_INET, "192.0.2.1", 53);
	assert_int_equal(net_parse_addr("192.0.2.1@5353", 53, &a), 0);
	assert_addr(&a, AF_INET, "192.0.2.1", 5353);
	assert_int_equal(net_parse_addr("192.0.2.1", 9153, &a), 0);
	assert_addr(&a, AF_INET, "192.0.2.1", 9153);
	assert_int_equal(net_parse_addr("2001:db8::1", 53, &a), 0);
	assert_addr(&a, AF_INET6, "2001:db8::1", 53);
	assert_int_equal(net_parse_addr("2001:db8::1@1", 53, &a), 0);
	assert_addr(&a, AF_INET6, "2001:db8::1", 1);
	assert_int_equal(net_parse_addr("::@65535", 53, &a), 0);
	assert_addr(&a, AF_INET6, "::", 65535);
	assert_int_equal(net_parse_addr("::ffff:192.0.2.1", 53, &a), 0);
	assert_addr(&a, AF_INET6, "::ffff:192.0.2.1", 53);

	static const char *const bad[] = {
		"",
		"@53",
		"192.0.2.1@",
		"192.0.2.1@0",
		"192.0.2.1@65536",
		"1.2.3.4@x",
		"1.2.3.4@-1",
		"1.2.3.4@ 53",
		"1.2.3.4@53 ",
		"1.2.3.4 ",
		"[::1]:53",
		"[::1]",
		"::1@53@53",
		"256.0.0.1",
		"1.2.3",
		"host",
		"fe80::1%eth0",
		"2001:db8::1/64",
		"192.0.2.1:53",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (net_parse_addr(bad[i], 53, &a) != -EINVAL) {
			fail_msg("'%s' accepted", bad[i]);
		}
	}
}

static void test_parse_prefix(void **state)
{
	(void)state;
	net_prefix_t p;
	assert_int_equal(net_parse_prefix("192.0.2.0/24", &p), 0);
	assert_prefix(&p, AF_INET, "192.0.2.0", 24);
	assert_int_equal(net_parse_prefix("192.0.2.1", &p), 0);
	assert_prefix(&p, AF_INET, "192.0.2.1", 32);
	assert_int_equal(net_parse_prefix("192.0.2.1/32", &p), 0);
	assert_prefix(&p, AF_INET, "192.0.2.1", 32);
	assert_int_equal(net_parse_prefix("0.0.0.0/0", &p), 0);
	assert_prefix(&p, AF_INET, "0.0.0.0", 0);
	assert_int_equal(net_parse_prefix("192.0.16.0/20", &p), 0);
	assert_prefix(&p, AF_INET, "192.0.16.0", 20);
	assert_int_equal(net_parse_prefix("2001:db8::", &p), 0);
	assert_prefix(&p, AF_INET6, "2001:db8::", 128);
	assert_int_equal(net_parse_prefix("2001:db8::/32", &p), 0);
	assert_prefix(&p, AF_INET6, "2001:db8::", 32);
	assert_int_equal(net_parse_prefix("::/0", &p), 0);
	assert_prefix(&p, AF_INET6, "::", 0);
	assert_int_equal(net_parse_prefix("2001:db8::80/121", &p), 0);
	assert_prefix(&p, AF_INET6, "2001:db8::80", 121);
	assert_int_equal(net_parse_prefix("2001:db8::1/128", &p), 0);
	assert_prefix(&p, AF_INET6, "2001:db8::1", 128);

	static const char *const bad[] = {
		"",
		"/24",
		"192.0.2.0/",
		"192.0.2.1/24",
		"192.0.2.0/33",
		"192.0.2.0/-1",
		"192.0.2.0/ 8",
		"192.0.2.0/8x",
		"192.0.24.0/20",
		"10.0.0.1/8",
		"0.0.0.1/0",
		"2001:db8::/129",
		"2001:db8::1/64",
		"2001:db8::40/121",
		"::1/0",
		"192.0.2.0/24/1",
		"host/8",
		"192.0.2.0@53",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (net_parse_prefix(bad[i], &p) != -EINVAL) {
			fail_msg("'%s' accepted", bad[i]);
		}
	}
}

static void test_prefix_match(void **state)
{
	(void)state;
	/* /0 matches every address of its family, and only that family. */
	assert_true(match("0.0.0.0/0", "192.0.2.1"));
	assert_true(match("0.0.0.0/0", "255.255.255.255"));
	assert_false(match("0.0.0.0/0", "2001:db8::1"));
	assert_true(match("::/0", "2001:db8::1"));
	assert_false(match("::/0", "192.0.2.1"));
	/* /32 and /128: exactly one address. */
	assert_true(match("192.0.2.1/32", "192.0.2.1"));
	assert_false(match("192.0.2.1/32", "192.0.2.2"));
	assert_true(match("192.0.2.1", "192.0.2.1@5353")); /* the port plays no part */
	assert_true(match("2001:db8::1/128", "2001:db8::1"));
	assert_false(match("2001:db8::1/128", "2001:db8::2"));
	assert_false(match("2001:db8::1/128", "2001:db8:0:0:1::1"));
	/* Whole bytes. */
	assert_true(match("192.0.2.0/24", "192.0.2.255"));
	assert_false(match("192.0.2.0/24", "192.0.3.0"));
	assert_true(match("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(match("2001:db8::/32", "2001:db9::1"));
	/* Odd bit counts: /20 is 192.0.16.0 to 192.0.31.255. */
	assert_true(match("192.0.16.0/20", "192.0.16.0"));
	assert_true(match("192.0.16.0/20", "192.0.31.255"));
	assert_false(match("192.0.16.0/20", "192.0.32.0"));
	assert_false(match("192.0.16.0/20", "192.0.15.255"));
	/* /121 is the upper half of the last byte here: ::80 to ::ff. */
	assert_true(match("2001:db8::80/121", "2001:db8::80"));
	assert_true(match("2001:db8::80/121", "2001:db8::ff"));
	assert_false(match("2001:db8::80/121", "2001:db8::7f"));
	assert_false(match("2001:db8::80/121", "2001:db8::180"));
	assert_true(match("2001:db8::/121", "2001:db8::7f"));
	assert_false(match("2001:db8::/121", "2001:db8::80"));
	/* /1 and /31 edges. */
	assert_true(match("128.0.0.0/1", "255.0.0.1"));
	assert_false(match("128.0.0.0/1", "127.255.255.255"));
	assert_true(match("192.0.2.2/31", "192.0.2.3"));
	assert_false(match("192.0.2.2/31", "192.0.2.4"));

	/* A socket address of another family never matches. */
	net_prefix_t p;
	assert_int_equal(net_parse_prefix("0.0.0.0/0", &p), 0);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	assert_false(net_prefix_match(&p, (const struct sockaddr *)&ss));
}

static void test_parse_duration(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint32_t secs;
	} ok[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "90", 90 },
		{ "90s", 90 },
		{ "15m", 900 },
		{ "2h", 7200 },
		{ "1d", 86400 },
		{ "1w", 604800 },
		{ "0s", 0 },
		{ "0w", 0 },
		{ "00", 0 },
		{ "010", 10 },
		{ "4294967295", 4294967295u },
		{ "4294967295s", 4294967295u },
		{ "00000000000000000000004294967295", 4294967295u },
		{ "71582788m", 4294967280u },
		{ "1193046h", 4294965600u },
		{ "49710d", 4294944000u },
		{ "7101w", 4294684800u },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint32_t v = 12345;
		if (conf_parse_duration(ok[i].text, &v) != 0 || v != ok[i].secs) {
			fail_msg("'%s': got %u, want %u", ok[i].text, v, ok[i].secs);
		}
	}
	static const char *const bad[] = {
		"",
		"4294967296",
		"4294967296s",
		"18446744073709551616",
		"99999999999999999999999999",
		"71582789m",
		"1193047h",
		"49711d",
		"7102w",
		"1x",
		"1y",
		"1ms",
		"1hs",
		"1S",
		"1M",
		"1H",
		"1D",
		"1W",
		"-1",
		"+1",
		" 5",
		"5 ",
		"5 s",
		"\t5",
		"s",
		"m",
		"1.5",
		"1.5h",
		"0x10",
		"1e3",
		"1,000",
		"1_000",
		"1h30m",
		"one",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t v = 12345;
		if (conf_parse_duration(bad[i], &v) != -EINVAL) {
			fail_msg("'%s' accepted as %u", bad[i], v);
		}
		/* Nothing is written on failure. */
		assert_int_equal(v, 12345);
	}
}

/* A socket address for text, in its own (not storage-sized) structure. */
static bool match_v4(const char *prefix, const char *ip)
{
	net_prefix_t p;
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(53);
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	assert_int_equal(net_parse_prefix(prefix, &p), 0);
	return net_prefix_match(&p, (const struct sockaddr *)&sin);
}

static void test_prefix_match_mapped(void **state)
{
	(void)state;
	/* An IPv4 peer on a dual-stack socket is ::ffff:a.b.c.d: it is matched
	 * against IPv4 prefixes. */
	assert_true(match("192.0.2.0/24", "::ffff:192.0.2.1"));
	assert_true(match("192.0.2.0/24", "::ffff:192.0.2.255@5353"));
	assert_false(match("192.0.2.0/24", "::ffff:192.0.3.1"));
	assert_true(match("192.0.2.1", "::ffff:192.0.2.1"));
	assert_false(match("192.0.2.1", "::ffff:192.0.2.2"));
	assert_true(match("192.0.16.0/20", "::ffff:192.0.31.255"));
	assert_false(match("192.0.16.0/20", "::ffff:192.0.32.0"));
	assert_true(match("0.0.0.0/0", "::ffff:203.0.113.9"));
	/* Only the ::ffff:0:0/96 form: not IPv4-compatible (::a.b.c.d), not
	 * NAT64 (64:ff9b::a.b.c.d), not ::fffe:... */
	assert_false(match("192.0.2.0/24", "::192.0.2.1"));
	assert_false(match("192.0.2.0/24", "64:ff9b::192.0.2.1"));
	assert_false(match("192.0.2.0/24", "::fffe:c000:201"));
	assert_false(match("192.0.2.0/24", "1::ffff:192.0.2.1"));
	assert_false(match("0.0.0.0/0", "2001:db8::1"));
	/* The other way: an IPv4 address against an IPv6 prefix within
	 * ::ffff:0:0/96. */
	assert_true(match("::ffff:192.0.2.0/120", "192.0.2.77"));
	assert_false(match("::ffff:192.0.2.0/120", "192.0.3.77"));
	assert_true(match("::ffff:0.0.0.0/96", "198.51.100.1"));
	assert_true(match("::ffff:192.0.2.1", "192.0.2.1"));
	assert_false(match("::ffff:192.0.2.1", "192.0.2.2"));
	/* ... but not against a wider IPv6 prefix: ::/0 is IPv6 only, as
	 * before; a mapped address is IPv6 to it, as written. */
	assert_false(match("::/0", "192.0.2.1"));
	assert_false(match("::/95", "192.0.2.1"));
	assert_false(match("::/80", "192.0.2.1")); /* holds ::ffff:0:0/96 */
	assert_true(match("::/0", "::ffff:192.0.2.1"));
	assert_true(match("::ffff:192.0.2.0/120", "::ffff:192.0.2.1"));
	assert_false(match("::ffff:192.0.2.0/120", "::ffff:192.0.3.1"));
	/* A plain struct sockaddr_in, as recvfrom() fills it. */
	assert_true(match_v4("192.0.2.0/24", "192.0.2.9"));
	assert_false(match_v4("192.0.2.0/24", "192.0.3.9"));
	assert_true(match_v4("::ffff:192.0.2.0/120", "192.0.2.9"));
	assert_false(match_v4("2001:db8::/32", "192.0.2.9"));
	/* Another family never matches, mapped or not. */
	net_prefix_t p;
	assert_int_equal(net_parse_prefix("::ffff:0:0/96", &p), 0);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	assert_false(net_prefix_match(&p, (const struct sockaddr *)&ss));
}

/* Does primary p of this config allow a NOTIFY from addr (as text)? */
static bool allows(const conf_t *conf, size_t p, const char *addr)
{
	net_addr_t a;
	assert_int_equal(net_parse_addr(addr, 53, &a), 0);
	return conf_primary_allows(&conf->primary[p], (const struct sockaddr *)&a.ss);
}

static void test_primary_allows(void **state)
{
	(void)state;
	conf_t conf;
	load_ok(&conf, "primary:\n"
	               "  - { id: a, address: [192.0.2.1@5300, \"2001:db8::1\"] }\n"
	               "  - id: b\n"
	               "    address: \"::ffff:198.51.100.1\"\n"
	               "    notify-from: [203.0.113.0/25, \"2001:db8:2::/48\", 192.0.2.9]\n"
	               "  - { id: c, address: 192.0.2.3, notify-from: \"::ffff:10.0.0.0/104\" }\n");
	/* Its own addresses, whatever the port. */
	assert_true(allows(&conf, 0, "192.0.2.1"));
	assert_true(allows(&conf, 0, "192.0.2.1@5300"));
	assert_true(allows(&conf, 0, "192.0.2.1@40000"));
	assert_true(allows(&conf, 0, "2001:db8::1@1234"));
	assert_false(allows(&conf, 0, "192.0.2.2"));
	assert_false(allows(&conf, 0, "2001:db8::2"));
	assert_false(allows(&conf, 0, "203.0.113.1")); /* b's network */
	/* IPv4-mapped, both ways. */
	assert_true(allows(&conf, 0, "::ffff:192.0.2.1"));
	assert_false(allows(&conf, 0, "::ffff:192.0.2.2"));
	assert_false(allows(&conf, 0, "::192.0.2.1"));
	assert_true(allows(&conf, 1, "198.51.100.1"));
	assert_true(allows(&conf, 1, "::ffff:198.51.100.1@99"));
	assert_false(allows(&conf, 1, "198.51.100.2"));
	/* notify-from, any family, mapped too. */
	assert_true(allows(&conf, 1, "203.0.113.127"));
	assert_false(allows(&conf, 1, "203.0.113.128"));
	assert_true(allows(&conf, 1, "::ffff:203.0.113.5"));
	assert_true(allows(&conf, 1, "2001:db8:2:ffff::1"));
	assert_false(allows(&conf, 1, "2001:db8:3::1"));
	assert_true(allows(&conf, 1, "192.0.2.9"));
	assert_false(allows(&conf, 1, "192.0.2.1")); /* a's address */
	assert_true(allows(&conf, 2, "192.0.2.3"));
	assert_true(allows(&conf, 2, "10.1.2.3"));
	assert_true(allows(&conf, 2, "::ffff:10.255.0.1"));
	assert_false(allows(&conf, 2, "11.0.0.1"));
	/* A plain struct sockaddr_in6 / sockaddr_in. */
	struct sockaddr_in6 sin6;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.1", &sin6.sin6_addr), 1);
	assert_true(conf_primary_allows(&conf.primary[0], (const struct sockaddr *)&sin6));
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, "192.0.2.9", &sin.sin_addr), 1);
	assert_true(conf_primary_allows(&conf.primary[1], (const struct sockaddr *)&sin));
	assert_false(conf_primary_allows(&conf.primary[0], (const struct sockaddr *)&sin));
	/* Neither IPv4 nor IPv6, or nothing: no. */
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	assert_false(conf_primary_allows(&conf.primary[0], (const struct sockaddr *)&ss));
	assert_false(conf_primary_allows(&conf.primary[0], NULL));
	assert_false(conf_primary_allows(NULL, (const struct sockaddr *)&sin));
	conf_free(&conf);
}

static void test_zone_find(void **state)
{
	(void)state;
	conf_t conf;
	load_ok(&conf, "primary: [{ id: p, address: 192.0.2.1 }]\n"
	               "zone:\n"
	               "  - { domain: Example.COM, primary: p }\n"
	               "  - { domain: sub.example.com., primary: p }\n"
	               "  - { domain: 2.0.192.in-addr.arpa, primary: p }\n");
	assert_ptr_equal(conf_zone_find(&conf, (const knot_dname_t *)"\x07"
	                                                             "example\x03"
	                                                             "com"),
	                 &conf.zone[0]);
	assert_ptr_equal(conf_zone_find(&conf, (const knot_dname_t *)"\x07"
	                                                             "EXAMPLE\x03"
	                                                             "cOm"),
	                 &conf.zone[0]);
	assert_ptr_equal(conf_zone_find(&conf, (const knot_dname_t *)"\x03"
	                                                             "SUB\x07"
	                                                             "example\x03"
	                                                             "com"),
	                 &conf.zone[1]);
	assert_ptr_equal(conf_zone_find(&conf, (const knot_dname_t *)"\x01"
	                                                             "2\x01"
	                                                             "0\x03"
	                                                             "192\x07"
	                                                             "in-addr\x04"
	                                                             "arpa"),
	                 &conf.zone[2]);
	/* Not a zone: a name below one, above one, the root, another. */
	assert_null(conf_zone_find(&conf, (const knot_dname_t *)"\x03"
	                                                        "www\x07"
	                                                        "example\x03"
	                                                        "com"));
	assert_null(conf_zone_find(&conf, (const knot_dname_t *)"\x03"
	                                                        "com"));
	assert_null(conf_zone_find(&conf, (const knot_dname_t *)""));
	assert_null(conf_zone_find(&conf, (const knot_dname_t *)"\x07"
	                                                        "example\x03"
	                                                        "net"));
	assert_null(conf_zone_find(&conf, NULL));
	conf_free(&conf);
	/* No zones at all. */
	load_ok(&conf, "");
	assert_null(conf_zone_find(&conf, (const knot_dname_t *)"\x03"
	                                                        "com"));
	conf_free(&conf);
}

/* --- examples ----------------------------------------------------------- */

static const char *const EXAMPLES[] = {
	"catalog.yaml", "exec.yaml",    "multi.yaml",    "powerdns.yaml", "quickstart-route53.yaml",
	"rfc2136.yaml", "route53.yaml", "zonefile.yaml", "zonesync.yaml",
};
#define NEXAMPLES (sizeof(EXAMPLES) / sizeof(EXAMPLES[0]))

static void test_examples(void **state)
{
	(void)state;
	for (size_t i = 0; i < NEXAMPLES; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/examples/%s", SRCDIR, EXAMPLES[i]);
		char *errs = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&errs, &len);
		assert_non_null(f);
		conf_t conf;
		int ret = conf_load(&conf, path, target_registry, f);
		fclose(f);
		if (ret != 0 || errs[0] != '\0') {
			fail_msg("%s: %d\n%s", path, ret, errs);
		}
		free(errs);
		assert_true(conf.nzone >= 1);
		assert_true(conf.ntarget >= 1);
		for (size_t z = 0; z < conf.nzone; z++) {
			assert_non_null(conf.zone[z].primary);
			/* A catalog zone is pushed nowhere. */
			assert_true(conf.zone[z].ntarget >= 1 || conf.zone[z].catalog != NULL);
		}
		if (strcmp(EXAMPLES[i], "catalog.yaml") == 0) {
			assert_int_equal(conf.ncatalog, 1);
			assert_int_equal(conf.ntemplate, 2);
			assert_int_equal(conf.catalog[0].ngroup, 1);
		}
		if (strcmp(EXAMPLES[i], "zonesync.yaml") == 0) {
			/* The design's example: two providers for one zone, and the
			 * secret read from xfr.key next to the file. */
			assert_int_equal(conf.nzone, 1);
			assert_string_equal(conf.zone[0].domain, "example.com.");
			assert_int_equal(conf.zone[0].ntarget, 2);
			assert_string_equal(conf.zone[0].target[0]->type->name, "route53");
			assert_string_equal(conf.zone[0].target[1]->type->name, "powerdns");
			assert_int_equal(conf.nkey, 1);
			assert_int_equal(conf.key[0].tsig.secret.size, 32);
			assert_ptr_equal(conf.zone[0].primary->key, &conf.key[0]);
		}
		if (strcmp(EXAMPLES[i], "multi.yaml") == 0) {
			assert_true(conf.nzone >= 2);
			assert_true(conf.nprimary >= 2);
			assert_true(conf.ntarget >= 2);
			/* It shows the server limits and a zone's timer bounds and
			 * transfer limits. */
			assert_int_equal(conf.server.notify_rate_limit, 50);
			assert_int_equal(conf.server.tcp_idle_timeout, 30);
			const conf_zone_t *org =
			        conf_zone_find(&conf, (const knot_dname_t *)"\x07"
			                                                    "example\x03"
			                                                    "org");
			assert_non_null(org);
			assert_int_equal(org->refresh_min, 300);
			assert_int_equal(org->refresh_max, 6 * 3600);
			assert_int_equal(org->xfr_max_bytes, 4ull << 30);
			assert_int_equal(org->xfr_timeout, 3600);
		}
		conf_free(&conf);
	}

	/* Every example is listed above, so a new one cannot go untested. */
	DIR *d = opendir(SRCDIR "/examples");
	assert_non_null(d);
	struct dirent *e;
	size_t seen = 0;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 5, ".yaml") != 0) {
			continue;
		}
		bool listed = false;
		for (size_t i = 0; i < NEXAMPLES; i++) {
			listed |= strcmp(EXAMPLES[i], e->d_name) == 0;
		}
		if (!listed) {
			fail_msg("examples/%s is not listed in test_examples", e->d_name);
		}
		seen++;
	}
	closedir(d);
	assert_int_equal(seen, NEXAMPLES);
}

/* --- the schema tables -------------------------------------------------- */

static bool is_text_item(const conf_item_t *it)
{
	return it->type == CONF_STR || it->type == CONF_PATH || it->type == CONF_URL ||
	       it->type == CONF_DNAME;
}

/* Does item it hold the same value in a and b (two structures of its section)? */
static void assert_same_value(const conf_item_t *it, const void *a, const void *b)
{
	const char *fa = (const char *)a + it->off, *fb = (const char *)b + it->off;
	if (is_text_item(it)) {
		const char *sa, *sb;
		memcpy(&sa, fa, sizeof(sa));
		memcpy(&sb, fb, sizeof(sb));
		assert_non_null(sa);
		assert_non_null(sb);
		assert_string_equal(sa, sb);
	} else if (memcmp(fa, fb, it->size) != 0) {
		fail_msg("'%s': its default differs from '%s' written out", it->name, it->def);
	}
}

/* Each default of a table (given as text) is what a minimal configuration
 * holds, exactly as if written out in the file: the key in open ... close,
 * in the server, the first zone or the first target (in). */
enum { IN_SERVER, IN_ZONE, IN_TARGET, IN_PRIMARY };

static const void *section_of(const conf_t *c, int in)
{
	return in == IN_ZONE ? (const void *)&c->zone[0]
	       : in == IN_TARGET  ? (const void *)&c->target[0]
	       : in == IN_PRIMARY ? (const void *)&c->primary[0]
	                          : (const void *)c;
}

static unsigned check_defaults(const conf_item_t *items, const conf_t *min, const char *open,
                               const char *close, int in)
{
	unsigned n = 0;
	for (const conf_item_t *it = items; it->name != NULL; it++) {
		if (it->type == CONF_MAP) {
			char sub_open[256], sub_close[64];
			snprintf(sub_open, sizeof(sub_open), "%s%s: { ", open, it->name);
			snprintf(sub_close, sizeof(sub_close), " }%s", close);
			n += check_defaults(it->sub, min, sub_open, sub_close, in);
			continue;
		}
		if (it->def == NULL) {
			continue;
		}
		if (it->size == 0 || it->required || it->list) {
			fail_msg("'%s' has a default but is not stored, or is required, or a list",
			         it->name);
		}
		char yaml[512];
		snprintf(yaml, sizeof(yaml), "%s%s: \"%s\"%s", open, it->name, it->def, close);
		conf_t c;
		load_ok(&c, yaml);
		assert_same_value(it, section_of(min, in), section_of(&c, in));
		conf_free(&c);
		n++;
	}
	return n;
}

#define MINIMAL "primary: [{ id: p, address: 192.0.2.1 }]\n"

/* --- ignore, exclude, ttl ------------------------------------------------- */

static void test_rules_errors(void **state)
{
	(void)state;
	expect_errors(ZONE_HEAD
	              "    ignore:\n"
	              "      - {}\n"
	              "      - { name: x, kind: A }\n"
	              "      - { type: [A, [AAAA]] }\n"
	              "      - { type: [] }\n"
	              "      - { type: BOGUS }\n"
	              "      - { type: A, value: 10.0.0.0/33 }\n"
	              "      - just-a-name\n"
	              "    exclude: { name: x }\n"
	              "    ttl: { min: 10m, max: 5m }\n",
	              "6:9", "zone 'example.com': ignore[0]: a rule needs at least one of name, "
	                     "type and value",
	              "7:20", "unknown key 'kind' in zone 'example.com': ignore[1]",
	              "8:21", "zone 'example.com': ignore[2]: type must be a type or a list of types",
	              "9:17", "zone 'example.com': ignore[3]: type must be a type or a list of 1 to 64",
	              "10:17", "zone 'example.com': ignore[4]: type: 'BOGUS' is not a record type",
	              "11:27", "zone 'example.com': ignore[5]: value: '10.0.0.0/33' is not an address "
	                       "prefix",
	              "12:9", "'ignore[6]' must be a map {name, type, value}, not a value",
	              "13:14", "zone 'example.com': 'exclude' must be a list of rules",
	              "14:27", "zone 'example.com': 'max' (300) is below 'min' (600)");
	/* The parts' own values name the rule too. */
	expect_errors(ZONE_HEAD
	              "    exclude: [{ name: \"\" }, { value: [a] }]\n",
	              "5:23", "'exclude[0].name' must not be empty",
	              "5:38", "'exclude[1].value' must be a value, not a list");
	/* A target's keys, the same way. */
	expect_errors("primary: [{ id: p, address: 192.0.2.1 }]\n"
	              "target:\n"
	              "  - { id: f, type: zonefile, path: /tmp/x, ttl: { min: 1d, max: 1h },\n"
	              "      ignore: [{ type: TXT, value: \"\" }] }\n"
	              "zone: [{ domain: example.com, primary: p, target: f }]\n",
	              "4:36", "'ignore[0].value' must not be empty",
	              "3:65", "target 'f' (type zonefile): 'max' (3600) is below 'min' (86400)");
	/* ttl: max 0 is no bound to give; min 0 is none. */
	expect_error(ZONE_HEAD "    ttl: { max: 0 }\n", "5:17", "'max' must be a duration from 1s");
	conf_t conf;
	load_ok(&conf, ZONE_HEAD "    ttl: { min: 0 }\n    ignore: [{ name: \"@\" }]\n");
	assert_int_equal(conf.zone[0].rules.ttl_min, 0);
	assert_int_equal(conf.zone[0].rules.nignore, 1);
	conf_free(&conf);
}

static void test_table_defaults(void **state)
{
	(void)state;
	conf_t min;
	load_ok(&min, MINIMAL "zone: [{ domain: example.com, primary: p }]\n");
	/* Not an empty loop: at least the keys of today. */
	assert_true(check_defaults(conf_zone_items, &min,
	                           MINIMAL "zone: [{ domain: example.com, primary: p, ", " }]\n",
	                           IN_ZONE) >= 11);
	assert_true(check_defaults(conf_server_items, &min, "server: { ", " }\n", IN_SERVER) >= 6);
	/* They are the documented values (zonesync.yaml(5)). */
	assert_server_defaults(&min);
	assert_zone_defaults(&min.zone[0]);
	assert_string_equal(min.server.state, "/var/lib/zonesync");
	assert_int_equal(min.server.log_target, LOG_TARGET_STDERR);
	assert_int_equal(min.server.log_level, LOG_LEVEL_INFO);
	assert_true(min.zone[0].max_delete.percent);
	assert_int_equal(min.zone[0].max_delete.value, 30);
	/* The key section has none; a primary's: max-transfers. */
	assert_int_equal(check_defaults(conf_key_items, &min, "", "", IN_SERVER), 0);
	assert_int_equal(min.primary[0].max_transfers, 8);
	assert_int_equal(check_defaults(conf_primary_items, &min,
	                                "primary: [{ id: p, address: 192.0.2.1, ", " }]\n",
	                                IN_PRIMARY),
	                 1);
	conf_free(&min);
	/* A target's: adopt, max-pushes. */
#define MIN_TARGET MINIMAL "target: [{ id: f, type: zonefile, path: /tmp/%s.zone"
	load_ok(&min, MIN_TARGET " }]\n");
	assert_int_equal(min.target[0].adopt, CONF_ADOPT_KEEP);
	assert_int_equal(min.target[0].max_pushes, 4);
	assert_int_equal(check_defaults(conf_target_items, &min, MIN_TARGET ", ", " }]\n", IN_TARGET),
	                 2);
#undef MIN_TARGET
	conf_free(&min);
}

/* Every at_least names an earlier number key of its own table. */
static void test_table_at_least(void **state)
{
	(void)state;
	const conf_item_t *const tables[] = { conf_server_items, conf_key_items, conf_primary_items,
		                              conf_target_items, conf_zone_items };
	unsigned n = 0;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		for (const conf_item_t *it = tables[i]; it->name != NULL; it++) {
			if (it->at_least == NULL) {
				continue;
			}
			const conf_item_t *lo = tables[i];
			while (lo < it && strcmp(lo->name, it->at_least) != 0) {
				lo++;
			}
			if (lo == it || lo->type != it->type) {
				fail_msg("'%s': at_least '%s' is not an earlier key of its type",
				         it->name, it->at_least);
			}
			n++;
		}
	}
	assert_true(n >= 3);
}

/* --- the tables against zonesync.yaml(5) ---------------------------------- */

/* Is key a ".B key" or ".BR key" line under the .SH or .SS heading of the
 * page (a '-' may be written '\-')? */
static bool documented(const char *page, const char *heading, const char *key)
{
	bool in = false;
	for (const char *p = page; *p != '\0';) {
		size_t len = strcspn(p, "\n");
		char line[512];
		snprintf(line, sizeof(line), "%.*s", (int)(len < 511 ? len : 511), p);
		p += len + (p[len] == '\n');
		if (strncmp(line, ".SH ", 4) == 0 || strncmp(line, ".SS ", 4) == 0) {
			char *h = line + 4;
			if (*h == '"') {
				h++;
				h[strcspn(h, "\"")] = '\0';
			}
			in = strcmp(h, heading) == 0;
			continue;
		}
		const char *w = strncmp(line, ".B ", 3) == 0    ? line + 3
		                : strncmp(line, ".BR ", 4) == 0 ? line + 4
		                                                : NULL;
		if (!in || w == NULL) {
			continue;
		}
		char word[128];
		size_t n = 0;
		for (; *w != '\0' && *w != ' ' && *w != '\t' && n + 1 < sizeof(word); w++) {
			if (w[0] == '\\' && (w[1] == '-' || w[1] == '%')) {
				w++;
				if (*w == '%') {
					continue;
				}
			}
			word[n++] = *w;
		}
		word[n] = '\0';
		if (strcmp(word, key) == 0) {
			return true;
		}
	}
	return false;
}

static void check_documented(const char *page, const char *heading, const conf_item_t *items,
                             char *missing, size_t size)
{
	for (const conf_item_t *it = items; it->name != NULL; it++) {
		if (!documented(page, heading, it->name)) {
			size_t len = strlen(missing);
			snprintf(missing + len, size - len, "  %s: %s\n", heading, it->name);
		}
		if (it->type == CONF_MAP) {
			check_documented(page, heading, it->sub, missing, size);
		}
	}
}


/* --- templates and catalogs ------------------------------------------------ */

#define CATALOG_CONF                                                                               \
	"primary: [{ id: p, address: 192.0.2.1 }]\n"                                               \
	"target:\n"                                                                                \
	"  - { id: a, type: zonefile, path: \"/tmp/a/%s\" }\n"                                     \
	"  - { id: b, type: zonefile, path: \"/tmp/b/%s\" }\n"                                     \
	"zone: [{ domain: explicit.example, primary: p, target: [a] }]\n"                          \
	"template:\n"                                                                              \
	"  - { id: members, target: [a, b], max-delete: 5 }\n"                                     \
	"  - { id: internal, target: [b], on-remove: purge }\n"                                    \
	"catalog:\n"                                                                               \
	"  - { domain: Catalog.Example, primary: p, template: members,\n"                         \
	"      group: { int: internal }, max-remove: 3 }\n"

static knot_dname_t *dn(const char *s)
{
	static knot_dname_storage_t buf[32];
	static unsigned i;
	knot_dname_t *d = buf[i++ % 32];
	assert_true(dns_name_from_str(s, d) > 0);
	return d;
}

static void test_catalog_sections(void **state)
{
	(void)state;
	conf_t conf, with;
	load_ok(&conf, CATALOG_CONF);
	assert_int_equal(conf.ntemplate, 2);
	assert_int_equal(conf.template[0].on_remove, CONF_ON_REMOVE_KEEP);
	assert_int_equal(conf.template[1].on_remove, CONF_ON_REMOVE_PURGE);
	assert_int_equal(conf.ncatalog, 1);
	const conf_catalog_t *cat = &conf.catalog[0];
	assert_string_equal(cat->domain, "catalog.example.");
	assert_ptr_equal(cat->template, &conf.template[0]);
	assert_int_equal(cat->ngroup, 1);
	assert_string_equal(cat->group[0].name, "int");
	assert_ptr_equal(cat->group[0].template, &conf.template[1]);
	assert_false(cat->max_remove.percent);
	assert_int_equal(cat->max_remove.value, 3);
	/* The catalog is a zone of its own, without targets. */
	assert_int_equal(conf.nzone, 2);
	const conf_zone_t *cz = conf_zone_find(&conf, dn("catalog.example"));
	assert_non_null(cz);
	assert_ptr_equal(cz->catalog, cat);
	assert_int_equal(cz->ntarget, 0);
	assert_string_equal(cz->primary->id, "p");
	assert_ptr_equal(conf_catalog_find(&conf, dn("CATALOG.example.")), cat);

	const conf_member_t m[] = {
		{ dn("one.example"), dn("catalog.example"), NULL },
		{ dn("two.example"), dn("catalog.example"), "int" },
		{ dn("three.example"), dn("catalog.example"), "no-such-group" },
		{ dn("explicit.example"), dn("catalog.example"), NULL }, /* a zone already */
		{ dn("four.example"), dn("other.example"), NULL },       /* no such catalog */
		{ dn("one.example"), dn("catalog.example"), "int" },     /* twice */
	};
	assert_int_equal(conf_with_members(&conf, m, 6, &with, stderr), 0);
	assert_int_equal(with.nzone, 5);
	const conf_zone_t *one = conf_zone_find(&with, dn("one.example"));
	const conf_zone_t *two = conf_zone_find(&with, dn("two.example"));
	const conf_zone_t *three = conf_zone_find(&with, dn("three.example"));
	assert_non_null(one);
	assert_non_null(two);
	assert_non_null(three);
	assert_null(conf_zone_find(&with, dn("four.example")));
	assert_string_equal(one->domain, "one.example.");
	assert_string_equal(one->primary->id, "p");
	assert_ptr_equal(one->member_of, &with.catalog[0]);
	assert_string_equal(one->template->id, "members");
	assert_int_equal(one->ntarget, 2);
	assert_int_equal(one->max_delete.value, 5);
	assert_string_equal(two->template->id, "internal");
	assert_int_equal(two->ntarget, 1);
	assert_string_equal(two->target[0]->id, "b");
	assert_int_equal(two->max_delete.value, 30); /* the default */
	assert_string_equal(three->template->id, "members");
	assert_null(conf_zone_find(&with, dn("explicit.example"))->member_of);
	/* A member is the same zone while its template is; the file's zones
	 * and the catalog stay the same. */
	conf_t again;
	const conf_member_t moved[] = {
		{ dn("one.example"), dn("catalog.example"), "int" },
		{ dn("two.example"), dn("catalog.example"), "int" },
	};
	assert_int_equal(conf_with_members(&with, moved, 2, &again, stderr), 0);
	assert_int_equal(again.nzone, 4); /* from's members are not carried over */
	assert_false(conf_zone_same(one, conf_zone_find(&again, dn("one.example"))));
	assert_true(conf_zone_same(two, conf_zone_find(&again, dn("two.example"))));
	assert_true(conf_zone_same(&with.zone[0], &again.zone[0]));
	assert_true(conf_zone_same(cz, conf_zone_find(&again, dn("catalog.example"))));
	assert_false(conf_zone_same(&with.zone[0], conf_zone_find(&again, dn("catalog.example"))));
	conf_free(&again);
	conf_free(&with);
	conf_free(&conf);
}

static void test_catalog_errors(void **state)
{
	(void)state;
	expect_errors("primary: [{ id: p, address: 192.0.2.1 }]\n"
	              "target: [{ id: f, type: zonefile, path: /tmp/one }]\n"
	              "zone: [{ domain: c.example, primary: p }]\n"
	              "template:\n"
	              "  - { id: t, target: [f], on-remove: wipe, domain: x }\n"
	              "catalog:\n"
	              "  - { domain: c.example, primary: p, template: t }\n"
	              "  - { domain: d.example, primary: p, template: nope, group: { g: none } }\n"
	              "  - { domain: e.example, primary: q, template: t, group: [a] }\n",
	              "5:44", "unknown key 'domain' in template 't'", /* */
	              "5:38", "'on-remove' is 'wipe', expected one of keep, purge", /* */
	              "7:15", "catalog 'c.example' is also a zone", /* */
	              "8:48", "template 'nope' is not defined", /* */
	              "8:66", "group 'g': template 'none' is not defined", /* */
	              "9:35", "primary 'q' is not defined", /* */
	              "9:58", "'group' must be a map of group to template, not a list");
}

/* Every key of every table, the sections' and each target type's, is
 * documented in zonesync.yaml(5) under its section's heading (a type's
 * keys under its .SS).  tests/system/test_docs_keys.py runs this too. */
static void test_docs_keys(void **state)
{
	(void)state;
	FILE *f = fopen(SRCDIR "/docs/zonesync.yaml.5", "r");
	assert_non_null(f);
	char *page = calloc(1, 1 << 20);
	assert_non_null(page);
	size_t len = fread(page, 1, (1 << 20) - 1, f);
	fclose(f);
	assert_true(len > 0 && len < (1 << 20) - 1);

	static const struct {
		const char *heading;
		const conf_item_t *items;
	} sections[] = {
		{ "SERVER SECTION", conf_server_items },   { "KEY SECTION", conf_key_items },
		{ "PRIMARY SECTION", conf_primary_items }, { "TARGET SECTION", conf_target_items },
		{ "ZONE SECTION", conf_zone_items },       { "TEMPLATE SECTION", conf_template_items },
		{ "CATALOG SECTION", conf_catalog_items },
	};
	char missing[4096] = "";
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		check_documented(page, sections[i].heading, sections[i].items, missing,
		                 sizeof(missing));
	}
	for (size_t i = 0; target_registry[i] != NULL; i++) {
		check_documented(page, target_registry[i]->name, target_registry[i]->items, missing,
		                 sizeof(missing));
	}
	if (missing[0] != '\0') {
		fail_msg("keys not documented in docs/zonesync.yaml.5 (a .B or .BR line under "
		         "the heading of their section):\n%s",
		         missing);
	}
	/* The check itself: a key is found in its section only, in either
	 * spelling of '-'. */
	assert_true(documented(page, "ZONE SECTION", "max-delete"));
	assert_true(documented(page, "SERVER SECTION", "level"));
	assert_false(documented(page, "ZONE SECTION", "listen"));
	assert_false(documented(page, "route53", "url"));
	assert_false(documented(page, "ZONE SECTION", "no-such-key"));
	assert_true(documented(".SH \"A B\"\n.BR a\\-b \" (x)\"\n", "A B", "a-b"));
	assert_false(documented(".SH A\n.BR a-bc\n.SH B\n.B a-b\n", "A", "a-b"));
	free(page);
}

int main(int argc, char **argv)
{
	/* "test_conf docs": the man page check alone (test_docs_keys.py). */
	const struct CMUnitTest docs[] = {
		cmocka_unit_test(test_docs_keys),
	};
	if (argc > 1 && strcmp(argv[1], "docs") == 0) {
		return cmocka_run_group_tests(docs, NULL, NULL);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_rules_errors),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_unknown_key_top),
		cmocka_unit_test(test_unknown_key_server),
		cmocka_unit_test(test_unknown_key_key),
		cmocka_unit_test(test_unknown_key_primary),
		cmocka_unit_test(test_unknown_key_target),
		cmocka_unit_test(test_unknown_key_zone),
		cmocka_unit_test(test_wrong_type_map),
		cmocka_unit_test(test_wrong_type_list),
		cmocka_unit_test(test_empty_values),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_undefined_refs),
		cmocka_unit_test(test_no_cascade),
		cmocka_unit_test(test_target_listed_twice),
		cmocka_unit_test(test_duplicate_zone),
		cmocka_unit_test(test_duplicate_ids),
		cmocka_unit_test(test_zone_find_many),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_bad_prefix),
		cmocka_unit_test(test_bad_base64),
		cmocka_unit_test(test_unknown_algorithm),
		cmocka_unit_test(test_secret_both_or_neither),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_unknown_target_type),
		cmocka_unit_test(test_missing_target_keys),
		cmocka_unit_test(test_bad_url),
		cmocka_unit_test(test_enum),
		cmocka_unit_test(test_int_range),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_max_delete),
		cmocka_unit_test(test_interval_keys),
		cmocka_unit_test(test_interval_errors),
		cmocka_unit_test(test_transfer_limits),
		cmocka_unit_test(test_server_limits),
		cmocka_unit_test(test_yaml_syntax),
		cmocka_unit_test(test_yaml_anchors),
		cmocka_unit_test(test_yaml_duplicate_key),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_parse_prefix),
		cmocka_unit_test(test_prefix_match),
		cmocka_unit_test(test_prefix_match_mapped),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_primary_allows),
		cmocka_unit_test(test_zone_find),
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_table_defaults),
		cmocka_unit_test(test_table_at_least),
		cmocka_unit_test(test_catalog_sections),
		cmocka_unit_test(test_catalog_errors),
		cmocka_unit_test(test_docs_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
