#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libknot/libknot.h>

#include "xfr/xfr.h"

#define Z "example.com."
#define SOA(n) "@ 300 SOA ns1 hm " #n " 60 60 3600 60\n"

static const xfr_limits_t LIM = {
	.max_records = 1000000, .max_bytes = 1 << 30, .timeout_ms = 5000, .io_timeout_ms = 5000
};

static const uint8_t *zname(void)
{
	static knot_dname_storage_t n;
	dns_name_from_str(Z, n);
	return n;
}

/* Append one response message, records given as zone text lines in order. */
static size_t put_msg(uint8_t *out, uint16_t id, uint16_t qtype, bool question, uint8_t rcode,
                      const char *lines)
{
	uint8_t *m = out + 2;
	knot_pkt_t *pkt = knot_pkt_new(m, 65535, NULL);
	knot_pkt_clear(pkt);
	knot_wire_set_id(pkt->wire, id);
	knot_wire_set_qr(pkt->wire);
	knot_wire_set_rcode(pkt->wire, rcode);
	if (question) {
		assert_int_equal(knot_pkt_put_question(pkt, zname(), KNOT_CLASS_IN, qtype), 0);
	}
	assert_int_equal(knot_pkt_begin(pkt, KNOT_ANSWER), 0);
	char *copy = strdup(lines), *save = NULL;
	knot_rrset_t rr[64];
	knot_dname_storage_t owners[64];
	uint8_t *bufs[64] = { 0 };
	size_t sizes[64] = { 0 };
	zone_t recs[64];
	size_t n = 0;
	for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		char line[512];
		snprintf(line, sizeof(line), "%s\n", l);
		records(&recs[n], line);
		zone_rrset_t s;
		size_t pos = 0;
		assert_true(zone_rrset_next(&recs[n], &pos, &s));
		assert_int_equal(zone_rrset_to_knot(&s, &rr[n], owners[n], &bufs[n], &sizes[n]), 0);
		assert_int_equal(knot_pkt_put(pkt, 0, &rr[n], 0), 0);
		n++;
	}
	size_t len = pkt->size;
	knot_pkt_free(pkt);
	for (size_t i = 0; i < n; i++) {
		free(bufs[i]);
		zone_free(&recs[i]);
	}
	free(copy);
	knot_wire_write_u16(out, (uint16_t)len);
	return len + 2;
}

static int parse(const uint8_t *data, size_t len, const uint32_t *have, xfr_result_t *res,
                 char *err)
{
	return xfr_parse_stream(zname(), have, data, len, &LIM, res, err, 512);
}

static void test_axfr(void **state)
{
	(void)state;
	uint8_t buf[8192];
	size_t len = put_msg(buf, 7, KNOT_RRTYPE_AXFR, true, 0,
	                     SOA(5) "www 60 A 192.0.2.1\nwww 60 A 192.0.2.2\n" SOA(5));
	xfr_result_t res;
	char err[512];
	assert_int_equal(parse(buf, len, NULL, &res, err), 0);
	assert_int_equal(res.kind, XFR_FULL);
	assert_int_equal(res.serial, 5);
	assert_int_equal(res.zone.count, 3);
	assert_int_equal(res.records, 4);
	zone_rrset_t s;
	assert_true(find_str(&res.zone, "www.example.com.", KNOT_RRTYPE_A, &s));
	assert_int_equal(s.count, 2);
	xfr_result_free(&res);

	/* Split over three messages, later ones without the question. */
	len = put_msg(buf, 9, KNOT_RRTYPE_AXFR, true, 0, SOA(5) "a 60 A 192.0.2.1\n");
	len += put_msg(buf + len, 9, KNOT_RRTYPE_AXFR, false, 0, "b 60 A 192.0.2.2\n");
	len += put_msg(buf + len, 9, KNOT_RRTYPE_AXFR, false, 0, SOA(5));
	assert_int_equal(parse(buf, len, NULL, &res, err), 0);
	assert_int_equal(res.kind, XFR_FULL);
	assert_int_equal(res.messages, 3);
	assert_int_equal(res.zone.count, 3);
	xfr_result_free(&res);
}

static void test_ixfr(void **state)
{
	(void)state;
	uint8_t buf[8192];
	uint32_t have = 1;
	size_t len = put_msg(
	        buf, 3, KNOT_RRTYPE_IXFR, true, 0,
	        SOA(3) SOA(1) "old 60 A 192.0.2.1\n" SOA(2) "new 60 A 192.0.2.2\n" SOA(
	                2) "new 60 A 192.0.2.2\n" SOA(3) "new 60 AAAA 2001:db8::2\n" SOA(3));
	xfr_result_t res;
	char err[512];
	int ret = parse(buf, len, &have, &res, err);
	if (ret != 0) {
		fail_msg("%s", err);
	}
	assert_int_equal(res.kind, XFR_INCREMENTAL);
	assert_int_equal(res.serial, 3);
	assert_int_equal(res.nsteps, 2);
	/* Folded: "new A" added by step 1 and removed by step 2 leaves
	 * nothing; the SOAs of 2 cancel; 1's goes, 3's comes. */
	assert_int_equal(res.delta.from, 1);
	assert_int_equal(res.delta.to, 3);
	assert_int_equal(res.delta.del.count, 2); /* SOA 1 + old */
	assert_int_equal(res.delta.add.count, 2); /* SOA 3 + new AAAA */
	zone_rrset_t s;
	assert_true(find_str(&res.delta.del, "old.example.com.", KNOT_RRTYPE_A, &s));
	assert_false(find_str(&res.delta.add, "new.example.com.", KNOT_RRTYPE_A, &s));
	assert_true(find_str(&res.delta.add, "new.example.com.", KNOT_RRTYPE_AAAA, &s));
	uint32_t serial;
	assert_int_equal(zone_serial(&res.delta.del, &serial), 0);
	assert_int_equal(serial, 1);
	assert_int_equal(zone_serial(&res.delta.add, &serial), 0);
	assert_int_equal(serial, 3);
	xfr_result_free(&res);

	/* Removed and put back with another TTL: a TTL change stays. */
	len = put_msg(buf, 3, KNOT_RRTYPE_IXFR, true, 0,
	              SOA(3) SOA(1) "old 60 A 192.0.2.1\n" SOA(2) SOA(2) SOA(3)
	                      "OLD 120 A 192.0.2.1\n" SOA(3));
	ret = parse(buf, len, &have, &res, err);
	if (ret != 0) {
		fail_msg("%s", err);
	}
	assert_int_equal(res.delta.del.count, 2);
	assert_true(find_str(&res.delta.add, "old.example.com.", KNOT_RRTYPE_A, &s));
	assert_int_equal(s.ttl, 120);
	xfr_result_free(&res);

	/* A step that adds what an earlier step added is refused. */
	len = put_msg(buf, 3, KNOT_RRTYPE_IXFR, true, 0,
	              SOA(3) SOA(1) SOA(2) "n 60 A 192.0.2.9\n" SOA(2) SOA(3)
	                      "N 60 A 192.0.2.9\n" SOA(3));
	assert_int_equal(parse(buf, len, &have, &res, err), -EPROTO);
	assert_non_null(strstr(err, "IXFR step 2 adds n.example.com. A twice"));
	assert_int_equal(res.nsteps, 0);

	/* Up to date: a lone SOA with our serial (or an older one). */
	have = 3;
	len = put_msg(buf, 3, KNOT_RRTYPE_IXFR, true, 0, SOA(3));
	assert_int_equal(parse(buf, len, &have, &res, err), 0);
	assert_int_equal(res.kind, XFR_UPTODATE);
	xfr_result_free(&res);

	/* Answered as a whole zone (BIND's max-ixfr-ratio). */
	have = 1;
	len = put_msg(buf, 3, KNOT_RRTYPE_IXFR, true, 0, SOA(2) "a 60 A 192.0.2.1\n" SOA(2));
	assert_int_equal(parse(buf, len, &have, &res, err), 0);
	assert_int_equal(res.kind, XFR_FULL);
	assert_int_equal(res.zone.count, 2);
	xfr_result_free(&res);

	/* PowerDNS: the first message holds only the newer SOA. */
	len = put_msg(buf, 4, KNOT_RRTYPE_IXFR, true, 0, SOA(2));
	len += put_msg(buf + len, 4, KNOT_RRTYPE_IXFR, true, 0, "a 60 A 192.0.2.1\n@ 60 NS ns1\n");
	len += put_msg(buf + len, 4, KNOT_RRTYPE_IXFR, true, 0, SOA(2));
	assert_int_equal(parse(buf, len, &have, &res, err), 0);
	assert_int_equal(res.kind, XFR_FULL);
	assert_int_equal(res.zone.count, 3);
	xfr_result_free(&res);

	/* A zone holding only its SOA. */
	len = put_msg(buf, 4, KNOT_RRTYPE_IXFR, true, 0, SOA(2) SOA(2));
	assert_int_equal(parse(buf, len, &have, &res, err), 0);
	assert_int_equal(res.kind, XFR_FULL);
	assert_int_equal(res.zone.count, 1);
	xfr_result_free(&res);

	/* 2^31 apart (RFC 1982 undefined) is not "up to date": a transfer. */
	have = 1;
	len = put_msg(buf, 3, KNOT_RRTYPE_IXFR, true, 0,
		      SOA(2147483649) "a 60 A 192.0.2.1\n" SOA(2147483649));
	assert_int_equal(parse(buf, len, &have, &res, err), 0);
	assert_int_equal(res.kind, XFR_FULL);
	assert_int_equal(res.serial, 2147483649u);
	xfr_result_free(&res);

	/* Serial arithmetic: 1 is newer than 4294967295. */
	have = 4294967295u;
	len = put_msg(buf, 3, KNOT_RRTYPE_IXFR, true, 0,
	              SOA(1) SOA(4294967295) SOA(1) "x 60 A 192.0.2.1\n" SOA(1));
	ret = parse(buf, len, &have, &res, err);
	if (ret != 0) {
		fail_msg("%s", err);
	}
	assert_int_equal(res.kind, XFR_INCREMENTAL);
	assert_int_equal(res.delta.to, 1);
	xfr_result_free(&res);
}

static void expect_fail(const uint8_t *buf, size_t len, const uint32_t *have, int want_ret,
                        const char *want)
{
	xfr_result_t res;
	char err[512];
	int ret = parse(buf, len, have, &res, err);
	if (ret != want_ret) {
		fail_msg("expected %d (%s), got %d: %s", want_ret, want, ret, ret ? err : "");
	}
	if (strstr(err, want) == NULL) {
		fail_msg("expected '%s' in '%s'", want, err);
	}
	/* Nothing half-received is handed out. */
	assert_int_equal(res.zone.count, 0);
	assert_int_equal(res.nsteps, 0);
}

static void test_errors(void **state)
{
	(void)state;
	uint8_t buf[8192];
	uint32_t have = 1;
	size_t len;

	len = put_msg(buf, 1, KNOT_RRTYPE_AXFR, true, 0, SOA(5) "a 60 A 192.0.2.1\n" SOA(6));
	expect_fail(buf, len, NULL, -EPROTO, "closing SOA has serial 6, opening had 5");
	len = put_msg(buf, 1, KNOT_RRTYPE_AXFR, true, 0, SOA(5) "a 60 A 192.0.2.1\n");
	expect_fail(buf, len, NULL, -EPROTO, "ends before the closing SOA");
	len = put_msg(buf, 1, KNOT_RRTYPE_AXFR, true, 0, "a 60 A 192.0.2.1\n" SOA(5));
	expect_fail(buf, len, NULL, -EPROTO, "does not start with the SOA");
	len = put_msg(buf, 1, KNOT_RRTYPE_AXFR, true, 0,
	              SOA(5) "x.example.org. 60 A 192.0.2.1\n" SOA(5));
	expect_fail(buf, len, NULL, -EPROTO, "record x.example.org. is outside the zone");
	len = put_msg(buf, 1, KNOT_RRTYPE_AXFR, true, 0,
	              SOA(5) "sub 60 SOA a b 1 1 1 1 1\n" SOA(5));
	expect_fail(buf, len, NULL, -EPROTO, "SOA record sub.example.com. is not at the apex");
	len = put_msg(buf, 1, KNOT_RRTYPE_AXFR, true, 0, SOA(5) SOA(5) "a 60 A 192.0.2.1\n");
	expect_fail(buf, len, NULL, -EPROTO, "records after the closing SOA");
	len = put_msg(buf, 1, KNOT_RRTYPE_AXFR, true, KNOT_RCODE_NOTAUTH, "");
	expect_fail(buf, len, NULL, -EPROTO, "AXFR answered NOTAUTH");
	/* A refused IXFR tells the caller to try AXFR. */
	len = put_msg(buf, 1, KNOT_RRTYPE_IXFR, true, KNOT_RCODE_NOTIMPL, "");
	expect_fail(buf, len, &have, -ENOTSUP, "IXFR answered NOTIMP");
	len = put_msg(buf, 1, KNOT_RRTYPE_IXFR, true, KNOT_RCODE_REFUSED, "");
	expect_fail(buf, len, &have, -ENOTSUP, "IXFR answered REFUSED");
	/* The answer must be for our question. */
	len = put_msg(buf, 1, KNOT_RRTYPE_AXFR, true, 0, SOA(5) SOA(5));
	expect_fail(buf, len, &have, -EPROTO, "response for another question");
	len = put_msg(buf, 1, KNOT_RRTYPE_AXFR, false, 0, SOA(5) SOA(5));
	expect_fail(buf, len, NULL, -EPROTO, "response without our question");
	/* A second message with another ID. */
	len = put_msg(buf, 1, KNOT_RRTYPE_AXFR, true, 0, SOA(5));
	len += put_msg(buf + len, 2, KNOT_RRTYPE_AXFR, false, 0, SOA(5));
	expect_fail(buf, len, NULL, -EPROTO, "wrong ID");
	/* IXFR steps must chain. */
	len = put_msg(buf, 1, KNOT_RRTYPE_IXFR, true, 0, SOA(3) SOA(1) SOA(2) SOA(7) SOA(3) SOA(3));
	expect_fail(buf, len, &have, -EPROTO,
	            "IXFR step starts at serial 7, the previous ended at 2");
	/* An empty first answer. */
	len = put_msg(buf, 1, KNOT_RRTYPE_AXFR, true, 0, "");
	expect_fail(buf, len, NULL, -EPROTO, "AXFR answer is empty");
	/* Garbage. */
	memset(buf, 0xff, 64);
	buf[0] = 0;
	buf[1] = 40;
	expect_fail(buf, 42, NULL, -EPROTO, "stream: ");
}

static void test_limits(void **state)
{
	(void)state;
	uint8_t buf[8192];
	size_t len =
	        put_msg(buf, 1, KNOT_RRTYPE_AXFR, true, 0,
	                SOA(5) "a 60 A 192.0.2.1\nb 60 A 192.0.2.1\nc 60 A 192.0.2.1\n" SOA(5));
	xfr_limits_t lim = LIM;
	lim.max_records = 3;
	xfr_result_t res;
	char err[512];
	assert_int_equal(xfr_parse_stream(zname(), NULL, buf, len, &lim, &res, err, sizeof(err)),
	                 -EFBIG);
	assert_non_null(strstr(err, "transfer exceeds 3 records"));
	lim = LIM;
	lim.max_bytes = 50;
	assert_int_equal(xfr_parse_stream(zname(), NULL, buf, len, &lim, &res, err, sizeof(err)),
	                 -EFBIG);
	assert_non_null(strstr(err, "AXFR exceeds 50 bytes"));
}

/* --- TSIG over a real socket: a primary played by a thread ---------------- */

struct server {
	int lfd;
	knot_tsig_key_t *key;
	int mode; /* 0: all signed, 1: 2 unsigned in the middle, 2: last unsigned,
	             3: bad MAC, 4: first unsigned */
};

static void send_msg(int fd, const uint8_t *m, size_t len)
{
	uint8_t l[2];
	knot_wire_write_u16(l, (uint16_t)len);
	/* The client may hang up first (it refused the stream): no asserts. */
	if (send(fd, l, 2, MSG_NOSIGNAL) == 2) {
		(void)!send(fd, m, len, MSG_NOSIGNAL);
	}
}

static void *serve(void *arg)
{
	struct server *sv = arg;
	int fd = accept(sv->lfd, NULL, NULL);
	uint8_t q[65535], m[65535 + 2];
	uint8_t l[2];
	if (fd < 0 || read(fd, l, 2) != 2) {
		return NULL;
	}
	size_t qlen = knot_wire_read_u16(l), got = 0;
	while (got < qlen) {
		ssize_t n = read(fd, q + got, qlen - got);
		if (n <= 0) {
			close(fd);
			return NULL;
		}
		got += (size_t)n;
	}
	knot_pkt_t *qp = knot_pkt_new(q, (uint16_t)qlen, NULL);
	knot_pkt_parse(qp, 0);
	uint16_t id = knot_wire_get_id(q);
	const char *parts[4] = { SOA(5) "a 60 A 192.0.2.1\n", "b 60 A 192.0.2.2\n",
		                 "c 60 A 192.0.2.3\n", "d 60 A 192.0.2.4\n" SOA(5) };
	uint8_t digest[64];
	size_t dlen = sizeof(digest);
	uint8_t prev[64];
	size_t prevlen = knot_tsig_rdata_mac_length(qp->tsig_rr);
	memcpy(prev, knot_tsig_rdata_mac(qp->tsig_rr), prevlen);
	uint8_t *pending = malloc(4 * 65535);
	size_t plen = 0;
	for (int i = 0; i < 4; i++) {
		size_t len = put_msg(m, id, KNOT_RRTYPE_AXFR, i == 0, 0, parts[i]) - 2;
		uint8_t *msg = m + 2;
		bool sign = true;
		if (sv->mode == 1 && (i == 1 || i == 2)) {
			sign = false;
		}
		if (sv->mode == 2 && i == 3) {
			sign = false;
		}
		if (sv->mode == 4 && i == 0) {
			sign = false;
		}
		if (!sign) {
			memcpy(pending + plen, msg, len);
			plen += len;
			send_msg(fd, msg, len);
			continue;
		}
		dlen = sizeof(digest);
		if (i == 0) {
			assert_int_equal(knot_tsig_sign(msg, &len, 65535, prev, prevlen, digest,
			                                &dlen, sv->key, 0, 0),
			                 0);
		} else {
			/* RFC 8945: the MAC covers the unsigned messages before. */
			memcpy(pending + plen, msg, len);
			assert_int_equal(knot_tsig_sign_next(msg, &len, 65535, prev, prevlen,
			                                     digest, &dlen, sv->key, pending,
			                                     plen + len),
			                 0);
		}
		if (sv->mode == 3 && i == 2) {
			msg[len - 30] ^= 0x55; /* inside the MAC */
		}
		plen = 0;
		memcpy(prev, digest, dlen);
		prevlen = dlen;
		send_msg(fd, msg, len);
	}
	free(pending);
	knot_pkt_free(qp);
	close(fd);
	return NULL;
}

static int run_tsig(int mode, const char *peer_secret, char *err, xfr_result_t *res)
{
	knot_tsig_key_t skey, ckey;
	assert_int_equal(knot_tsig_key_init(&skey, "hmac-sha256", "xfr", "c2VjcmV0c2VjcmV0"), 0);
	assert_int_equal(knot_tsig_key_init(&ckey, "hmac-sha256", "xfr", peer_secret), 0);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	listen(lfd, 1);
	struct server sv = { .lfd = lfd, .key = &skey, .mode = mode };
	pthread_t th;
	pthread_create(&th, NULL, serve, &sv);
	net_addr_t addr = { .len = sizeof(sa) };
	memcpy(&addr.ss, &sa, sizeof(sa));
	xfr_peer_t peer = { .addr = &addr, .key = &ckey };
	int ret = xfr_transfer(&peer, zname(), NULL, &LIM, res, err, 512);
	shutdown(lfd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(lfd);
	knot_tsig_key_deinit(&skey);
	knot_tsig_key_deinit(&ckey);
	return ret;
}

static void test_tsig(void **state)
{
	(void)state;
	char err[512];
	xfr_result_t res;
	int ret = run_tsig(0, "c2VjcmV0c2VjcmV0", err, &res);
	if (ret != 0) {
		fail_msg("%s", err);
	}
	assert_int_equal(res.zone.count, 5);
	assert_int_equal(res.messages, 4);
	xfr_result_free(&res);

	ret = run_tsig(1, "c2VjcmV0c2VjcmV0", err, &res);
	if (ret != 0) {
		fail_msg("unsigned messages in the middle: %s", err);
	}
	assert_int_equal(res.zone.count, 5);
	xfr_result_free(&res);

	assert_int_equal(run_tsig(2, "c2VjcmV0c2VjcmV0", err, &res), -EPERM);
	assert_non_null(strstr(err, "the last message is not signed"));
	assert_int_equal(run_tsig(3, "c2VjcmV0c2VjcmV0", err, &res), -EPERM);
	assert_non_null(strstr(err, "TSIG check failed"));
	assert_int_equal(run_tsig(4, "c2VjcmV0c2VjcmV0", err, &res), -EPERM);
	assert_non_null(strstr(err, "response is not signed"));
	/* Our key differs from the primary's. */
	assert_int_equal(run_tsig(0, "b3RoZXJvdGhlcg==", err, &res), -EPERM);
	assert_non_null(strstr(err, "TSIG check failed"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_axfr),   cmocka_unit_test(test_ixfr),
		cmocka_unit_test(test_errors), cmocka_unit_test(test_limits),
		cmocka_unit_test(test_tsig),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
