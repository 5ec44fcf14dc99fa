#include "helpers.h"

#include <arpa/inet.h>
#include <unistd.h>
#include <netinet/in.h>
#include <libknot/libknot.h>

#include "conf/conf.h"
#include "target/target.h"
#include "sched/sched.h"
#include "xfr/notify.h"

static const char CONF[] = "server:\n"
                           "  notify-rate-limit: 5\n"
                           "key:\n"
                           "  - { id: xfr, algorithm: hmac-sha256, secret: c2VjcmV0c2VjcmV0 }\n"
                           "primary:\n"
                           "  - { id: signed, address: [192.0.2.1@53], key: xfr,\n"
                           "      notify-from: [198.51.100.0/24] }\n"
                           "  - { id: open, address: [\"2001:db8::1\"] }\n"
                           "  - { id: same, address: [192.0.2.1] }\n"
                           "  - { id: idle, address: [203.0.113.9] }\n"
                           "zone:\n"
                           "  - { domain: example.com, primary: signed }\n"
                           "  - { domain: example.net, primary: open }\n"
                           "  - { domain: keyless.example, primary: same }\n";

static conf_t conf;
static int calls;
static const conf_zone_t *last_zone;

static void on_notify(void *ctx, const void *zone, const struct sockaddr *from)
{
	(void)ctx;
	(void)from;
	calls++;
	last_zone = zone;
}

/* The daemon's lookup over the test's configuration. */
static bool on_lookup(void *ctx, const knot_dname_t *qname, const struct sockaddr *from,
                      notify_zone_t *out)
{
	(void)ctx;
	return sched_notify_lookup(&conf, qname, from, out);
}

static notify_t *new_notify(void)
{
	notify_limits_t lim = { .rate_limit = conf.server.notify_rate_limit,
		                .tcp_max_clients = conf.server.tcp_max_clients,
		                .tcp_max_per_source = conf.server.tcp_max_per_source,
		                .tcp_idle_timeout = conf.server.tcp_idle_timeout,
		                .tcp_session_timeout = conf.server.tcp_session_timeout };
	notify_cb_t cb = { .lookup = on_lookup, .accepted = on_notify };
	return notify_new(&lim, &cb);
}

static struct sockaddr_storage v4(const char *ip)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;
	s->sin_family = AF_INET;
	s->sin_port = htons(5353);
	inet_pton(AF_INET, ip, &s->sin_addr);
	return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
	s->sin6_family = AF_INET6;
	inet_pton(AF_INET6, ip, &s->sin6_addr);
	return ss;
}

/* A NOTIFY for zone, signed with secret when given.  Returns its size. */
static size_t make_notify(uint8_t *buf, const char *zone, uint16_t qtype, uint8_t opcode,
                          const char *keyname, const char *secret, uint8_t *mac, size_t *maclen)
{
	knot_pkt_t *pkt = knot_pkt_new(buf, 65535, NULL);
	knot_pkt_clear(pkt);
	knot_wire_set_id(pkt->wire, 0x1234);
	knot_wire_set_opcode(pkt->wire, opcode);
	knot_wire_set_aa(pkt->wire);
	knot_dname_storage_t z;
	dns_name_from_str(zone, z);
	knot_tsig_key_t key;
	if (secret != NULL) {
		assert_int_equal(knot_tsig_key_init(&key, "hmac-sha256", keyname, secret), 0);
		knot_pkt_reserve(pkt, (uint16_t)knot_tsig_wire_size(&key));
	}
	assert_int_equal(knot_pkt_put_question(pkt, z, KNOT_CLASS_IN, qtype), 0);
	size_t len = pkt->size;
	knot_pkt_free(pkt);
	if (secret != NULL) {
		*maclen = 64;
		assert_int_equal(knot_tsig_sign(buf, &len, 65535, NULL, 0, mac, maclen, &key, 0, 0),
		                 0);
		knot_tsig_key_deinit(&key);
	}
	return len;
}

struct answer {
	size_t len;
	uint8_t rcode;
	bool signed_ok;
	uint16_t tsig_error;
	bool has_tsig;
	uint8_t header[12];
};

static struct answer send_notify(notify_t *n, const uint8_t *q, size_t qlen,
                                 struct sockaddr_storage from, uint64_t now, const uint8_t *mac,
                                 size_t maclen)
{
	static uint8_t out[65535];
	struct answer a = { 0 };
	a.len = notify_process(n, q, qlen, (struct sockaddr *)&from, now, out, sizeof(out));
	if (a.len == 0) {
		return a;
	}
	knot_pkt_t *r = knot_pkt_new(out, (uint16_t)a.len, NULL);
	assert_int_equal(knot_pkt_parse(r, 0), 0);
	assert_true(knot_wire_get_qr(out));
	assert_int_equal(knot_wire_get_id(out), knot_wire_get_id(q));
	a.rcode = knot_wire_get_rcode(out);
	memcpy(a.header, out, sizeof(a.header));
	if (r->tsig_rr != NULL) {
		a.has_tsig = true;
		a.tsig_error = knot_tsig_rdata_error(r->tsig_rr);
		knot_tsig_key_t key;
		knot_tsig_key_init(&key, "hmac-sha256", "xfr", "c2VjcmV0c2VjcmV0");
		a.signed_ok = mac != NULL && knot_tsig_client_check(r->tsig_rr, r->wire, r->size,
		                                                    mac, maclen, &key, 0) == 0;
		knot_tsig_key_deinit(&key);
	}
	knot_pkt_free(r);
	return a;
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(conf_load_string(&conf, "t.yaml", CONF, strlen(CONF), target_registry, stderr), 0);
	calls = 0;
	last_zone = NULL;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	conf_free(&conf);
	return 0;
}

static void test_accepted(void **state)
{
	(void)state;
	notify_t *n = new_notify();
	uint8_t q[65535], mac[64];
	size_t maclen;
	size_t len = make_notify(q, "EXAMPLE.com.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, "xfr",
	                         "c2VjcmV0c2VjcmV0", mac, &maclen);
	struct answer a = send_notify(n, q, len, v4("192.0.2.1"), 1000, mac, maclen);
	assert_int_equal(a.rcode, KNOT_RCODE_NOERROR);
	assert_true(a.has_tsig);
	assert_true(a.signed_ok); /* the answer is signed with the key */
	assert_int_equal(calls, 1);
	assert_ptr_equal(last_zone, &conf.zone[0]);
	/* From a notify-from prefix too. */
	len = make_notify(q, "example.com.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, "xfr",
	                  "c2VjcmV0c2VjcmV0", mac, &maclen);
	a = send_notify(n, q, len, v4("198.51.100.77"), 1000, mac, maclen);
	assert_int_equal(a.rcode, KNOT_RCODE_NOERROR);
	assert_int_equal(calls, 2);
	/* A primary without a key takes unsigned NOTIFYs, from its address. */
	len = make_notify(q, "example.net.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, NULL, NULL, NULL,
	                  NULL);
	a = send_notify(n, q, len, v6("2001:db8::1"), 1000, NULL, 0);
	assert_int_equal(a.rcode, KNOT_RCODE_NOERROR);
	assert_false(a.has_tsig);
	assert_int_equal(calls, 3);
	assert_int_equal(notify_stats(n)->accepted, 3);
	notify_free(n);
}

static void test_refused(void **state)
{
	(void)state;
	notify_t *n = new_notify();
	uint8_t q[65535], mac[64];
	size_t maclen;
	struct answer a;
	size_t len;

	/* Unsigned where a key is required. */
	len = make_notify(q, "example.com.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, NULL, NULL, NULL,
	                  NULL);
	a = send_notify(n, q, len, v4("192.0.2.1"), 1000, NULL, 0);
	assert_int_equal(a.rcode, KNOT_RCODE_REFUSED);
	/* Signed, but from a foreign address. */
	len = make_notify(q, "example.com.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, "xfr",
	                  "c2VjcmV0c2VjcmV0", mac, &maclen);
	a = send_notify(n, q, len, v4("203.0.113.5"), 1000, mac, maclen);
	assert_int_equal(a.rcode, KNOT_RCODE_REFUSED);
	/* The right name, the wrong secret: NOTAUTH with BADSIG. */
	len = make_notify(q, "example.com.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, "xfr",
	                  "d3JvbmdzZWNyZXQ=", mac, &maclen);
	a = send_notify(n, q, len, v4("192.0.2.1"), 1000, mac, maclen);
	assert_int_equal(a.rcode, KNOT_RCODE_NOTAUTH);
	assert_true(a.has_tsig);
	assert_int_equal(a.tsig_error, KNOT_RCODE_BADSIG);
	/* A key we do not know: BADKEY. */
	len = make_notify(q, "example.com.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, "other",
	                  "c2VjcmV0c2VjcmV0", mac, &maclen);
	a = send_notify(n, q, len, v4("192.0.2.1"), 1000, mac, maclen);
	assert_int_equal(a.rcode, KNOT_RCODE_NOTAUTH);
	assert_int_equal(a.tsig_error, KNOT_RCODE_BADKEY);
	/* Signed for a primary that has no key. */
	len = make_notify(q, "example.net.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, "xfr",
	                  "c2VjcmV0c2VjcmV0", mac, &maclen);
	a = send_notify(n, q, len, v6("2001:db8::1"), 1000, mac, maclen);
	assert_int_equal(a.rcode, KNOT_RCODE_NOTAUTH);
	/* A zone we do not have: REFUSED too (test_unknown_zone). */
	len = make_notify(q, "example.org.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, NULL, NULL, NULL,
	                  NULL);
	a = send_notify(n, q, len, v4("192.0.2.1"), 1000, NULL, 0);
	assert_int_equal(a.rcode, KNOT_RCODE_REFUSED);
	/* Not a NOTIFY; not for an SOA. */
	len = make_notify(q, "example.net.", KNOT_RRTYPE_SOA, KNOT_OPCODE_QUERY, NULL, NULL, NULL,
	                  NULL);
	a = send_notify(n, q, len, v6("2001:db8::1"), 1000, NULL, 0);
	assert_int_equal(a.rcode, KNOT_RCODE_NOTIMPL);
	len = make_notify(q, "example.net.", KNOT_RRTYPE_A, KNOT_OPCODE_NOTIFY, NULL, NULL, NULL,
	                  NULL);
	a = send_notify(n, q, len, v6("2001:db8::1"), 1000, NULL, 0);
	assert_int_equal(a.rcode, KNOT_RCODE_FORMERR);
	/* Garbage after a NOTIFY header. */
	memset(q + 12, 0xff, 20);
	knot_wire_set_qdcount(q, 1);
	a = send_notify(n, q, 32, v6("2001:db8::1"), 1000, NULL, 0);
	assert_int_equal(a.rcode, KNOT_RCODE_FORMERR);
	/* A response, or less than a header: no answer at all. */
	knot_wire_set_qr(q);
	assert_int_equal(send_notify(n, q, len, v6("2001:db8::1"), 1000, NULL, 0).len, 0);
	assert_int_equal(send_notify(n, q, 11, v6("2001:db8::1"), 1000, NULL, 0).len, 0);

	assert_int_equal(calls, 0);
	const notify_stats_t *st = notify_stats(n);
	assert_int_equal(st->accepted, 0);
	assert_int_equal(st->refused, 3);
	assert_int_equal(st->notauth, 3);
	notify_free(n);
}

static void test_rate_limit(void **state)
{
	(void)state;
	notify_t *n = new_notify();
	uint8_t q[65535];
	size_t len = make_notify(q, "example.net.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, NULL, NULL,
	                         NULL, NULL);
	/* 5 per second from one source: the 6th at the same instant is refused,
	 * but still answered. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(send_notify(n, q, len, v6("2001:db8::1"), 5000, NULL, 0).rcode,
		                 KNOT_RCODE_NOERROR);
	}
	struct answer a = send_notify(n, q, len, v6("2001:db8::1"), 5000, NULL, 0);
	assert_true(a.len > 0);
	assert_int_equal(a.rcode, KNOT_RCODE_REFUSED);
	assert_int_equal(notify_stats(n)->ratelimited, 1);
	assert_int_equal(calls, 5);
	/* 400 ms later two tokens are back. */
	assert_int_equal(send_notify(n, q, len, v6("2001:db8::1"), 5400, NULL, 0).rcode,
	                 KNOT_RCODE_NOERROR);
	assert_int_equal(send_notify(n, q, len, v6("2001:db8::1"), 5400, NULL, 0).rcode,
	                 KNOT_RCODE_NOERROR);
	assert_int_equal(send_notify(n, q, len, v6("2001:db8::1"), 5400, NULL, 0).rcode,
	                 KNOT_RCODE_REFUSED);
	notify_free(n);
}

/* stderr (the log) into a temporary file, until log_end(). */
struct log_capture {
	char path[32];
	int fd, saved;
};

static void log_begin(struct log_capture *c)
{
	snprintf(c->path, sizeof(c->path), "/tmp/zonesync-log-XXXXXX");
	c->fd = mkstemp(c->path);
	assert_true(c->fd >= 0);
	fflush(stderr);
	c->saved = dup(2);
	dup2(c->fd, 2);
}

/* The number of lines holding each of the n strings, into count[]. */
static void log_end(struct log_capture *c, const char *const *want, int *count, size_t n)
{
	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	FILE *f = fdopen(c->fd, "r");
	rewind(f);
	char line[512];
	memset(count, 0, n * sizeof(*count));
	while (fgets(line, sizeof(line), f) != NULL) {
		fputs(line, stderr);
		for (size_t i = 0; i < n; i++) {
			count[i] += strstr(line, want[i]) != NULL;
		}
	}
	fclose(f);
	unlink(c->path);
}

static void test_log_flood(void **state)
{
	(void)state;
	/* A flood of refused NOTIFYs writes at most 10 lines a second, then
	 * one line with the count of the rest. */
	struct log_capture cap;
	log_begin(&cap);
	notify_t *n = new_notify();
	uint8_t q[65535];
	size_t len = make_notify(q, "example.com.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, NULL, NULL,
	                         NULL, NULL);
	for (int i = 0; i < 50; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "198.51.100.%d", i + 1); /* under the rate limit */
		assert_int_equal(send_notify(n, q, len, v4(ip), 10000, NULL, 0).rcode,
		                 KNOT_RCODE_REFUSED);
	}
	send_notify(n, q, len, v4("192.0.2.1"), 11500, NULL, 0);
	notify_free(n);
	const char *const want[] = { "NOTIFY refused: zone=example.com.",
		                     "NOTIFY refusals not logged: count=40" };
	int count[2];
	log_end(&cap, want, count, 2);
	assert_int_equal(count[0], 11);
	assert_int_equal(count[1], 1);
}

/* Unsigned and badly signed NOTIFYs in the primary's name, far over the
 * rate limit, and unsigned ones accepted for a keyless zone of the same
 * address: none of them spends the signed budget, so the primary's own
 * signed NOTIFY that follows at once is accepted (issue 13: knotd does
 * not retry a refused NOTIFY). */
static void test_spoofed_flood(void **state)
{
	(void)state;
	notify_t *n = new_notify();
	uint8_t q[65535], mac[64];
	size_t maclen;
	struct answer a;
	size_t len = make_notify(q, "example.com.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, NULL, NULL,
	                         NULL, NULL);
	/* The refusal budget: 5 answered, then no answer at all. */
	for (int i = 0; i < 100; i++) {
		a = send_notify(n, q, len, v4("192.0.2.1"), 2000, NULL, 0);
		if (i < 5) {
			assert_int_equal(a.rcode, KNOT_RCODE_REFUSED);
		} else {
			assert_int_equal(a.len, 0);
		}
	}
	len = make_notify(q, "example.com.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, "xfr",
	                  "d3JvbmdzZWNyZXQ=", mac, &maclen);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(send_notify(n, q, len, v4("192.0.2.1"), 2000, mac, maclen).len, 0);
	}
	/* Valid unsigned ones (a primary without a key): their own budget. */
	len = make_notify(q, "keyless.example.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, NULL, NULL,
	                  NULL, NULL);
	for (int i = 0; i < 10; i++) {
		a = send_notify(n, q, len, v4("192.0.2.1"), 2000, NULL, 0);
		assert_int_equal(a.rcode, i < 5 ? KNOT_RCODE_NOERROR : KNOT_RCODE_REFUSED);
	}
	assert_int_equal(calls, 5);

	/* The primary, at the same instant. */
	len = make_notify(q, "example.com.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, "xfr",
	                  "c2VjcmV0c2VjcmV0", mac, &maclen);
	a = send_notify(n, q, len, v4("192.0.2.1"), 2000, mac, maclen);
	assert_int_equal(a.rcode, KNOT_RCODE_NOERROR);
	assert_true(a.signed_ok);
	assert_int_equal(calls, 6);
	assert_ptr_equal(last_zone, &conf.zone[0]);
	const notify_stats_t *st = notify_stats(n);
	assert_int_equal(st->dropped, 195);
	assert_int_equal(st->refused, 5);
	assert_int_equal(st->ratelimited, 5);
	assert_int_equal(st->accepted, 6);

	/* The signed budget is limited too, for the key's holder: past it,
	 * REFUSED, and the answer still signed. */
	for (int i = 0; i < 4; i++) {
		len = make_notify(q, "example.com.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, "xfr",
		                  "c2VjcmV0c2VjcmV0", mac, &maclen);
		a = send_notify(n, q, len, v4("192.0.2.1"), 2000, mac, maclen);
		assert_int_equal(a.rcode, KNOT_RCODE_NOERROR);
	}
	len = make_notify(q, "example.com.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, "xfr",
	                  "c2VjcmV0c2VjcmV0", mac, &maclen);
	a = send_notify(n, q, len, v4("192.0.2.1"), 2000, mac, maclen);
	assert_int_equal(a.rcode, KNOT_RCODE_REFUSED);
	assert_true(a.signed_ok);
	assert_int_equal(calls, 10);
	notify_free(n);
}

/* A zone we do not serve and a served one this source may not notify get
 * the same answer, signed or not, from any address; the log tells them
 * apart. */
static void test_unknown_zone(void **state)
{
	(void)state;
	struct log_capture cap;
	log_begin(&cap);
	notify_t *n = new_notify();
	uint8_t q[65535], mac[64];
	size_t maclen;
	const char *from[] = { "203.0.113.5", "192.0.2.1" };
	for (size_t f = 0; f < 2; f++) {
		for (int sign = 0; sign < 2; sign++) {
			struct answer a[2];
			const char *zones[] = { "example.org.", "example.net." };
			for (int z = 0; z < 2; z++) {
				size_t len =
				        make_notify(q, zones[z], KNOT_RRTYPE_SOA,
				                    KNOT_OPCODE_NOTIFY, sign ? "xfr" : NULL,
				                    sign ? "c2VjcmV0c2VjcmV0" : NULL, mac, &maclen);
				a[z] = send_notify(n, q, len, v4(from[f]), 3000, mac, maclen);
			}
			assert_int_equal(a[0].rcode, KNOT_RCODE_REFUSED);
			assert_int_equal(a[0].len, a[1].len);
			assert_memory_equal(a[0].header, a[1].header, sizeof(a[0].header));
			assert_false(a[0].has_tsig || a[1].has_tsig);
		}
	}
	notify_free(n);
	const char *const want[] = { "zone=example.org. from=203.0.113.5@5353 reason=unknown-zone",
		                     "zone=example.net. from=203.0.113.5@5353 "
		                     "reason=source-not-allowed" };
	int count[2];
	log_end(&cap, want, count, 2);
	assert_int_equal(count[0], 2);
	assert_int_equal(count[1], 2);
	assert_int_equal(calls, 0);
}

/* What a TCP connection is asked at accept: a primary's own address, only
 * within a notify-from prefix, or neither (also: a primary no zone uses). */
static void test_sources(void **state)
{
	(void)state;
	static const struct {
		bool v6;
		const char *ip;
		notify_source_t want;
	} cases[] = {
		{ false, "192.0.2.1", NOTIFY_SOURCE_PRIMARY },
		{ true, "::ffff:192.0.2.1", NOTIFY_SOURCE_PRIMARY },
		{ true, "2001:db8::1", NOTIFY_SOURCE_PRIMARY },
		{ false, "198.51.100.77", NOTIFY_SOURCE_PREFIX },
		{ false, "198.51.101.1", NOTIFY_SOURCE_NONE },
		{ false, "203.0.113.9", NOTIFY_SOURCE_NONE },
		{ true, "2001:db8::2", NOTIFY_SOURCE_NONE },
		{ false, "127.0.0.1", NOTIFY_SOURCE_NONE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss = cases[i].v6 ? v6(cases[i].ip) : v4(cases[i].ip);
		assert_int_equal(sched_notify_source(&conf, (struct sockaddr *)&ss), cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spoofed_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
