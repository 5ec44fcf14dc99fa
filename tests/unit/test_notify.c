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
                           "zone:\n"
                           "  - { domain: example.com, primary: signed }\n"
                           "  - { domain: example.net, primary: open }\n";

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
		                .tcp_idle_timeout = conf.server.tcp_idle_timeout };
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
	/* A zone we do not have. */
	len = make_notify(q, "example.org.", KNOT_RRTYPE_SOA, KNOT_OPCODE_NOTIFY, NULL, NULL, NULL,
	                  NULL);
	a = send_notify(n, q, len, v4("192.0.2.1"), 1000, NULL, 0);
	assert_int_equal(a.rcode, KNOT_RCODE_NOTAUTH);
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
	assert_int_equal(st->refused, 2);
	assert_int_equal(st->notauth, 4);
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

static void test_log_flood(void **state)
{
	(void)state;
	/* A flood of refused NOTIFYs writes at most 10 lines a second, then
	 * one line with the count of the rest. */
	char path[] = "/tmp/zonesync-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
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
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	FILE *f = fdopen(fd, "r");
	rewind(f);
	char line[512];
	int refused = 0, summary = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		refused += strstr(line, "NOTIFY refused: zone=example.com.") != NULL;
		summary += strstr(line, "NOTIFY refusals not logged: count=40") != NULL;
	}
	fclose(f);
	unlink(path);
	assert_int_equal(refused, 11);
	assert_int_equal(summary, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_flood, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
