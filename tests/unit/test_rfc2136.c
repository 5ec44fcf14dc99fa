/* rfc2136 target: update operations, batching by size, messages, answers,
 * the serial steps of soa-serial: mirror, the view's types, the target's key
 * from the config. */
#include "helpers.h"

#include <errno.h>
#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/packet/pkt.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/soa.h>
#include <libknot/tsig-op.h>

#include "conf/conf.h"
#include "target/target.h"
#include "dns/rdata.h"
#include "dns/serial.h"
#include "target/rfc2136/rfc2136.h"
#include "target/rfc2136/updmsg.h"
#include "zone/view.h"

#define HEAD "$ORIGIN example.com.\n@ 300 SOA ns hm 10 2 3 4 5\n@ 300 NS ns\nns 300 A 192.0.2.1\n"
#define SECRET "Wm9uZXN5bmMgdGVzdCBrZXkgZm9yIHVuaXQgdGVzdHM="

static const upd_limits_t FULL = { UPD_MSG_MAX, 0, 0 };

struct planned {
	zone_t old, new;
	zone_diff_t d;
	upd_plan_t p;
};

static int plan_of(struct planned *x, const char *old, const char *new, bool live_known,
                   const upd_limits_t *lim, char *err)
{
	load_ok(&x->old, old);
	load_ok(&x->new, new);
	assert_int_equal(zone_diff(&x->old, &x->new, &x->d), 0);
	return upd_plan(&x->d, live_known, x->new.apex, lim, &x->p, err, 512);
}

static void planned_free(struct planned *x)
{
	upd_plan_free(&x->p);
	zone_diff_free(&x->d);
	zone_free(&x->old);
	zone_free(&x->new);
}

/* A zone text of HEAD + n owners h0..h(n-1), one A each, plus extra. */
static char *hosts(size_t n, const char *extra)
{
	char *t = malloc(64 * n + 4096);
	if (t == NULL) {
		abort(); /* out of memory in a test */
	}
	size_t o = (size_t)sprintf(t, HEAD "%s", extra);
	for (size_t i = 0; i < n; i++) {
		o += (size_t)sprintf(t + o, "h%zu 300 A 192.0.2.%zu\n", i, i % 250);
	}
	return t;
}

/*
 * Message b written, then read back with libknot as an independent check:
 * an UPDATE for the zone, its size what the plan counted, and its updates
 * as lines "owner CLASS TYPE ttl rdata" (rdata "-" when empty) joined by
 * '\n' into out.
 */
static size_t update_text(const uint8_t *buf, int len, const knot_dname_t *apex, char *out,
                          size_t outlen);

static size_t message_text(const upd_plan_t *p, size_t b, const knot_dname_t *apex, char *out,
                           size_t outlen)
{
	uint8_t *buf = malloc(UPD_MSG_MAX);
	assert_non_null(buf);
	int len = upd_write(p, b, apex, 0x1234, buf, UPD_MSG_MAX);
	assert_true(len > 0);
	size_t want = p->fixed;
	for (size_t i = b == 0 ? 0 : p->batch_end[b - 1]; i < p->batch_end[b]; i++) {
		want += p->op[i].wire;
	}
	assert_int_equal((size_t)len, want);
	size_t n = update_text(buf, len, apex, out, outlen);
	free(buf);
	return n;
}

/* The UPDATE in buf read back (see message_text). */
static size_t update_text(const uint8_t *buf, int len, const knot_dname_t *apex, char *out,
                          size_t outlen)
{
	assert_int_equal(knot_wire_get_opcode(buf), KNOT_OPCODE_UPDATE);
	assert_int_equal(knot_wire_get_id(buf), 0x1234);
	assert_false(knot_wire_get_qr(buf));
	knot_pkt_t *pkt = knot_pkt_new((uint8_t *)buf, (uint16_t)len, NULL);
	assert_non_null(pkt);
	assert_int_equal(knot_pkt_parse(pkt, 0), KNOT_EOK);
	assert_true(dns_name_equal(knot_pkt_qname(pkt), apex));
	assert_int_equal(knot_pkt_qtype(pkt), KNOT_RRTYPE_SOA);
	assert_int_equal(knot_pkt_qclass(pkt), KNOT_CLASS_IN);
	assert_int_equal(knot_wire_get_ancount(buf), 0); /* no prerequisites */
	const knot_pktsection_t *up = knot_pkt_section(pkt, KNOT_AUTHORITY);
	size_t o = 0, n = 0;
	out[0] = '\0';
	for (uint16_t i = 0; i < up->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(up, i);
		char name[DNS_NAME_STR_MAX], type[16];
		dns_name_to_str(rr->owner, name, sizeof(name));
		dns_type_str(rr->type, type, sizeof(type));
		const char *cls = rr->rclass == KNOT_CLASS_IN    ? "IN"
		                  : rr->rclass == KNOT_CLASS_ANY ? "ANY"
		                  : rr->rclass == KNOT_CLASS_NONE ? "NONE"
		                                                  : "?";
		const knot_rdata_t *rd = rr->rrs.rdata;
		for (uint16_t k = 0; k < rr->rrs.count; k++, n++) {
			char *text = NULL;
			size_t tsize = 0;
			if (rd->len > 0) {
				assert_true(dns_rr_text(rr, k, 0, &text, &tsize) >= 0);
			}
			o += (size_t)snprintf(out + o, outlen - o, "%s%s %s %s %u %s", o ? "\n" : "",
			                      name, cls, type, rr->ttl, text ? text : "-");
			free(text);
			rd = knot_rdataset_next((knot_rdata_t *)rd);
		}
	}
	assert_true(o < outlen);
	knot_pkt_free(pkt);
	return n;
}

/* --- operations ------------------------------------------------------------- */

static void test_replace_delete_add(void **state)
{
	(void)state;
	struct planned x;
	char err[512], text[4096];
	assert_int_equal(plan_of(&x, HEAD "www 300 A 192.0.2.80\ngone TXT \"x\"\n",
	                         HEAD "www 60 A 192.0.2.81\nwww 60 A 192.0.2.82\n"
	                              "new MX 10 mail.example.com.\n",
	                         true, &FULL, err),
	                 0);
	assert_int_equal(x.p.count, 3);
	assert_int_equal(x.p.nbatches, 1);
	assert_int_equal(message_text(&x.p, 0, x.new.apex, text, sizeof(text)), 5);
	/* Names whose addresses change first, then the rest, each group in
	 * canonical order. */
	assert_string_equal(text, "www.example.com. ANY A 0 -\n"
	                          "www.example.com. IN A 60 192.0.2.81\n"
	                          "www.example.com. IN A 60 192.0.2.82\n"
	                          "gone.example.com. ANY TXT 0 -\n"
	                          "new.example.com. IN MX 3600 10 mail.example.com.");
	planned_free(&x);
}

static void test_add_without_fresh_read_replaces(void **state)
{
	(void)state;
	/* An incremental push does not know what the server holds at a new
	 * RRset: it deletes it first, so that the result is exact. */
	struct planned x;
	char err[512], text[4096];
	assert_int_equal(plan_of(&x, HEAD, HEAD "new 300 A 192.0.2.9\n", false, &FULL, err), 0);
	assert_int_equal(x.p.count, 1);
	assert_int_equal(x.p.op[0].action, UPD_REPLACE);
	message_text(&x.p, 0, x.new.apex, text, sizeof(text));
	assert_string_equal(text, "new.example.com. ANY A 0 -\n"
	                          "new.example.com. IN A 300 192.0.2.9");
	planned_free(&x);
	assert_int_equal(plan_of(&x, HEAD, HEAD "new 300 A 192.0.2.9\n", true, &FULL, err), 0);
	assert_int_equal(x.p.op[0].action, UPD_ADD);
	planned_free(&x);
}

static void test_cname_changes_delete_first(void **state)
{
	(void)state;
	struct planned x;
	char err[512], text[4096];
	/* A CNAME replacing an A, and an A (and TXT) replacing a CNAME: at
	 * each name the deletion goes first, in the same message. */
	assert_int_equal(plan_of(&x, HEAD "a 300 A 192.0.2.1\nc 300 CNAME www.example.com.\n",
	                         HEAD "a 300 CNAME www.example.com.\nc 300 A 192.0.2.3\n"
	                              "c 300 TXT \"t\"\n",
	                         true, &FULL, err),
	                 0);
	assert_int_equal(x.p.nbatches, 1);
	message_text(&x.p, 0, x.new.apex, text, sizeof(text));
	assert_string_equal(text, "c.example.com. ANY CNAME 0 -\n"
	                          "c.example.com. IN A 300 192.0.2.3\n"
	                          "c.example.com. IN TXT 300 \"t\"\n"
	                          "a.example.com. ANY A 0 -\n"
	                          "a.example.com. IN CNAME 300 www.example.com.");
	planned_free(&x);
}

/* --- apex ------------------------------------------------------------------- */

static void test_apex_soa_last_never_added_or_deleted(void **state)
{
	(void)state;
	struct planned x;
	char err[512], text[4096];
	/* The SOA goes last, after the changes that sort after it. */
	assert_int_equal(plan_of(&x, HEAD "z 300 A 192.0.2.1\n",
	                         "$ORIGIN example.com.\n@ 300 SOA ns hm 20 2 3 4 5\n@ 300 NS ns\n"
	                         "ns 300 A 192.0.2.1\nz 300 A 192.0.2.2\n",
	                         true, &FULL, err),
	                 0);
	assert_int_equal(x.p.count, 2);
	assert_int_equal(x.p.op[1].action, UPD_SOA);
	assert_true(x.p.has_soa && !x.p.soa_behind);
	assert_int_equal(x.p.soa_have, 10);
	assert_int_equal(x.p.soa_want, 20);
	message_text(&x.p, 0, x.new.apex, text, sizeof(text));
	assert_string_equal(text, "z.example.com. ANY A 0 -\n"
	                          "z.example.com. IN A 300 192.0.2.2\n"
	                          "example.com. IN SOA 300 ns.example.com. hm.example.com. 20 2 3 4 5");
	planned_free(&x);

	/* A lower serial would be ignored by the server: not sent, said (the
	 * push steps the serial after its messages). */
	assert_int_equal(plan_of(&x, HEAD,
	                         "$ORIGIN example.com.\n@ 300 SOA ns hm 9 2 3 4 5\n@ 300 NS ns\n"
	                         "ns 300 A 192.0.2.1\n",
	                         true, &FULL, err),
	                 0);
	assert_int_equal(x.p.count, 0);
	assert_int_equal(x.p.nbatches, 0);
	assert_true(x.p.soa_behind);
	planned_free(&x);

	/* An SOA added or deleted (views that differ on it) is never sent. */
	zone_t a, b;
	zone_diff_t d;
	upd_plan_t p;
	load_ok(&a, HEAD "x 300 A 192.0.2.5\n");
	load_ok(&b, HEAD);
	zone_view_rules_t keep = { 0 }, mirror = { .apex_soa = true };
	zone_t va, vb;
	assert_int_equal(zone_view(&a, &mirror, &va, NULL), 0);
	assert_int_equal(zone_view(&b, &keep, &vb, NULL), 0);
	assert_int_equal(zone_diff(&va, &vb, &d), 0);
	assert_int_equal(upd_plan(&d, true, a.apex, &FULL, &p, err, sizeof(err)), 0);
	assert_int_equal(p.count, 1); /* x A only */
	assert_int_equal(p.dropped, 1);
	upd_plan_free(&p);
	zone_diff_free(&d);
	assert_int_equal(zone_diff(&vb, &va, &d), 0);
	assert_int_equal(upd_plan(&d, true, a.apex, &FULL, &p, err, sizeof(err)), 0);
	assert_int_equal(p.count, 1);
	assert_int_equal(p.dropped, 1);
	upd_plan_free(&p);
	zone_diff_free(&d);
	zone_view_free(&va);
	zone_view_free(&vb);
	zone_free(&a);
	zone_free(&b);
}

static void test_apex_ns_one_by_one_never_all(void **state)
{
	(void)state;
	struct planned x;
	char err[512], text[4096];
	const char *old = "$ORIGIN example.com.\n@ 300 SOA ns hm 10 2 3 4 5\n"
	                  "@ 300 NS a.ns.net.\n@ 300 NS b.ns.net.\n";
	const char *new = "$ORIGIN example.com.\n@ 300 SOA ns hm 10 2 3 4 5\n"
	                  "@ 600 NS b.ns.net.\n@ 600 NS c.ns.net.\n";
	assert_int_equal(plan_of(&x, old, new, true, &FULL, err), 0);
	assert_int_equal(x.p.count, 1);
	assert_int_equal(x.p.op[0].action, UPD_NS);
	message_text(&x.p, 0, x.new.apex, text, sizeof(text));
	/* New ones in first (with the new TTL), then the old one out by
	 * itself: the set is never empty, never deleted whole. */
	assert_string_equal(text, "example.com. IN NS 600 b.ns.net.\n"
	                          "example.com. IN NS 600 c.ns.net.\n"
	                          "example.com. NONE NS 0 a.ns.net.");
	planned_free(&x);

	/* No apex NS in the new view: nothing is deleted. */
	zone_t a, b, va, vb;
	zone_diff_t d;
	upd_plan_t p;
	load_ok(&a, old);
	load_ok(&b, old);
	zone_view_rules_t sync = { .apex_ns = true }, keep = { 0 };
	assert_int_equal(zone_view(&a, &sync, &va, NULL), 0);
	assert_int_equal(zone_view(&b, &keep, &vb, NULL), 0);
	assert_int_equal(zone_diff(&va, &vb, &d), 0);
	assert_int_equal(d.count, 1);
	assert_int_equal(upd_plan(&d, true, a.apex, &FULL, &p, err, sizeof(err)), 0);
	assert_int_equal(p.count, 0);
	assert_int_equal(p.dropped, 1);
	upd_plan_free(&p);
	zone_diff_free(&d);
	zone_view_free(&va);
	zone_view_free(&vb);
	zone_free(&a);
	zone_free(&b);
}

/* --- batching ----------------------------------------------------------------- */

/* Every message within the limit, every operation in one message, in
 * order; the message count. */
static size_t check_batches(const upd_plan_t *p, const upd_limits_t *lim)
{
	size_t from = 0;
	for (size_t b = 0; b < p->nbatches; b++) {
		size_t bytes = p->fixed;
		assert_true(p->batch_end[b] > from);
		for (size_t i = from; i < p->batch_end[b]; i++) {
			bytes += p->op[i].wire;
		}
		assert_true(bytes + lim->tsig <= lim->msg_max);
		if (lim->max_changes > 0) {
			assert_true(p->batch_end[b] - from <= lim->max_changes);
		}
		from = p->batch_end[b];
	}
	assert_int_equal(from, p->count);
	return p->nbatches;
}

static void test_batches_fill_64k(void **state)
{
	(void)state;
	struct planned x;
	char err[512];
	char *text = malloc(UPD_MSG_MAX * 4);
	assert_non_null(text);
	char *big = hosts(20000, "");
	upd_limits_t lim = { UPD_MSG_MAX, 85, 0 }; /* hmac-sha256 "upd" TSIG */
	assert_int_equal(plan_of(&x, HEAD, big, true, &lim, err), 0);
	assert_int_equal(x.p.count, 20000);
	size_t total = 0;
	for (size_t i = 0; i < x.p.count; i++) {
		total += x.p.op[i].wire;
	}
	size_t room = UPD_MSG_MAX - 85 - x.p.fixed;
	size_t n = check_batches(&x.p, &lim);
	/* Filled: one more message than the bytes need at most. */
	assert_true(n <= total / room + 2);
	assert_true(n >= (total + room - 1) / room);
	size_t rrs = 0;
	for (size_t b = 0; b < n; b++) {
		rrs += message_text(&x.p, b, x.new.apex, text, UPD_MSG_MAX * 4);
	}
	assert_int_equal(rrs, 20000);
	planned_free(&x);

	/* A count limit cuts earlier. */
	lim.max_changes = 1000;
	assert_int_equal(plan_of(&x, HEAD, big, true, &lim, err), 0);
	assert_int_equal(check_batches(&x.p, &lim), 20);
	planned_free(&x);
	free(big);
	free(text);
}

static void test_one_change_one_message(void **state)
{
	(void)state;
	struct planned x;
	char err[512];
	char *a = hosts(5000, ""), *b = hosts(5000, "h17 300 A 198.51.100.1\n");
	assert_int_equal(plan_of(&x, a, b, false, &FULL, err), 0);
	assert_int_equal(x.p.count, 1);
	assert_int_equal(x.p.nbatches, 1);
	planned_free(&x);
	free(a);
	free(b);
}

static void test_rrset_never_split(void **state)
{
	(void)state;
	struct planned x;
	char err[512];
	/* Sets of 40 records (each ~40 bytes) in 1,000-byte messages: every
	 * set in one message, messages never over the limit. */
	char *t = malloc(200000);
	assert_non_null(t);
	size_t o = (size_t)sprintf(t, HEAD);
	for (int s = 0; s < 30; s++) {
		for (int r = 0; r < 20; r++) {
			o += (size_t)sprintf(t + o, "set%d 300 TXT \"value %d\"\n", s, r);
		}
	}
	upd_limits_t lim = { 1000, 0, 0 };
	assert_int_equal(plan_of(&x, HEAD, t, true, &lim, err), 0);
	assert_int_equal(x.p.count, 30);
	assert_true(check_batches(&x.p, &lim) >= 15);
	for (size_t i = 0; i < x.p.count; i++) {
		assert_int_equal(x.p.op[i].rrs, 20);
	}
	planned_free(&x);

	/* A set bigger than a message: refused, named. */
	o += (size_t)sprintf(t + o, "huge 300 TXT \"%0200d\"\nhuge 300 TXT \"%0201d\"\n"
	                            "huge 300 TXT \"%0202d\"\nhuge 300 TXT \"%0203d\"\n"
	                            "huge 300 TXT \"%0204d\"\n",
	                     1, 2, 3, 4, 5);
	assert_int_equal(plan_of(&x, HEAD, t, true, &lim, err), -E2BIG);
	assert_non_null(strstr(err, "huge.example.com. TXT"));
	assert_non_null(strstr(err, "1000 bytes"));
	zone_diff_free(&x.d);
	zone_free(&x.old);
	zone_free(&x.new);
	free(t);
}

static void test_name_kept_whole_unless_too_big(void **state)
{
	(void)state;
	struct planned x;
	char err[512], text[8192];
	/* Changes at one name stay in one message when they fit: m (first:
	 * its address changes) has four changes; the message is closed
	 * before a's. */
	const char *old = HEAD "a 300 TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n"
	                       "m 300 CNAME a.example.com.\n";
	const char *new = HEAD "a 300 TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\n"
	                       "m 300 A 192.0.2.1\nm 300 TXT \"m\"\nm 300 MX 1 a.example.com.\n";
	upd_limits_t lim = { 180, 0, 0 };
	assert_int_equal(plan_of(&x, old, new, true, &lim, err), 0);
	assert_int_equal(check_batches(&x.p, &lim), 2);
	assert_int_equal(x.p.batch_end[0], 4);
	message_text(&x.p, 0, x.new.apex, text, sizeof(text));
	assert_non_null(strstr(text, "m.example.com. ANY CNAME 0 -\n"));
	assert_true(strstr(text, "ANY CNAME") < strstr(text, "IN A"));
	planned_free(&x);

	/* Too big for one message: split between its RRsets, the
	 * deletion still first. */
	lim.msg_max = 79;
	assert_int_equal(plan_of(&x, HEAD "m 300 CNAME a.example.com.\n",
	                         HEAD "m 300 A 192.0.2.1\nm 300 TXT \"m\"\nm 300 MX 1 a.example.com.\n",
	                         true, &lim, err),
	                 0);
	assert_int_equal(check_batches(&x.p, &lim), 2);
	message_text(&x.p, 0, x.new.apex, text, sizeof(text));
	assert_true(strncmp(text, "m.example.com. ANY CNAME 0 -\n", 29) == 0);
	planned_free(&x);

	/* Two names of two changes each, in messages with room for the
	 * first name and one change of the second: the second name opens the
	 * next message whole (fails if a name's changes may straddle two). */
	const char *o2 = HEAD "p 300 TXT \"1\"\np 300 MX 1 a.example.com.\n"
	                      "q 300 TXT \"1\"\nq 300 MX 1 a.example.com.\n";
	const char *n2 = HEAD "p 300 TXT \"2\"\np 300 MX 2 a.example.com.\n"
	                      "q 300 TXT \"2\"\nq 300 MX 2 a.example.com.\n";
	lim = (upd_limits_t){ UPD_MSG_MAX, 0, 0 };
	assert_int_equal(plan_of(&x, o2, n2, true, &lim, err), 0);
	size_t k = 1;
	const zone_rrset_t *first = &x.p.op[0].change->new;
	while (k < x.p.count && x.p.op[k].change->new.keylen == first->keylen &&
	       memcmp(x.p.op[k].change->new.key, first->key, first->keylen) == 0) {
		k++;
	}
	assert_true(k >= 2 && x.p.count - k >= 2);
	size_t room = x.p.fixed;
	for (size_t i = 0; i <= k; i++) {
		room += x.p.op[i].wire;
	}
	planned_free(&x);
	lim.msg_max = room;
	assert_int_equal(plan_of(&x, o2, n2, true, &lim, err), 0);
	assert_int_equal(check_batches(&x.p, &lim), 2);
	assert_int_equal(x.p.batch_end[0], k);
	planned_free(&x);
}

static void test_addresses_before_what_names_them(void **state)
{
	(void)state;
	struct planned x;
	char err[512];
	/* An MX at the apex (sorted first) naming "zz" (sorted last), many
	 * names between: zz's address is in the first message, never in a
	 * later one than the MX (BIND refuses an MX without its address). */
	char *t = hosts(0, "@ 300 MX 10 zz.example.com.\nzz 300 A 192.0.2.25\n"
	                   "zz 300 TXT \"mail\"\n");
	size_t o = strlen(t);
	t = realloc(t, o + 64 * 3000);
	assert_non_null(t);
	for (int i = 0; i < 3000; i++) {
		o += (size_t)sprintf(t + o, "t%d 300 TXT \"filler %d\"\n", i, i);
	}
	upd_limits_t lim = { 4096, 0, 0 };
	assert_int_equal(plan_of(&x, HEAD, t, true, &lim, err), 0);
	assert_true(check_batches(&x.p, &lim) > 10);
	size_t mx = SIZE_MAX, a = SIZE_MAX;
	for (size_t i = 0; i < x.p.count; i++) {
		const zone_rrset_t *s = &x.p.op[i].change->new;
		if (s->type == KNOT_RRTYPE_MX) {
			mx = i;
		} else if (s->type == KNOT_RRTYPE_A && s->keylen > 0 && s->key[s->keylen - 2] == 'z') {
			a = i;
		}
	}
	assert_true(a < x.p.batch_end[0]); /* zz's A in the first message */
	assert_true(a < mx);
	/* zz's TXT with its A: one name, one unit. */
	assert_int_equal(x.p.op[a + 1].change->new.type, KNOT_RRTYPE_TXT);
	planned_free(&x);
	free(t);
}

/* --- answers ------------------------------------------------------------------- */

struct exchange {
	knot_tsig_key_t key;
	uint8_t req[UPD_MSG_MAX];
	size_t reqlen;
	uint8_t mac[64];
	size_t maclen;
	uint8_t ans[UPD_MSG_MAX];
	size_t anslen;
	knot_dname_storage_t apex;
};

/* A signed one-change request, and a plain answer to it (QR, rcode,
 * zone section echoed). */
static struct exchange *exchange_new(uint8_t rcode)
{
	struct exchange *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	assert_int_equal(knot_tsig_key_init(&e->key, "hmac-sha256", "upd", SECRET), KNOT_EOK);
	struct planned x;
	char err[512];
	assert_int_equal(plan_of(&x, HEAD, HEAD "new 300 A 192.0.2.9\n", true, &FULL, err), 0);
	memcpy(e->apex, x.new.apex, x.new.apex_len);
	int len = upd_write(&x.p, 0, x.new.apex, 0x4242, e->req, sizeof(e->req));
	assert_true(len > 0);
	e->reqlen = (size_t)len;
	e->maclen = sizeof(e->mac);
	assert_int_equal(knot_tsig_sign(e->req, &e->reqlen, sizeof(e->req), NULL, 0, e->mac,
	                                &e->maclen, &e->key, 0, 0),
	                 KNOT_EOK);
	size_t zlen = x.p.fixed;
	memcpy(e->ans, e->req, zlen);
	knot_wire_set_qr(e->ans);
	knot_wire_set_rcode(e->ans, rcode);
	knot_wire_set_nscount(e->ans, 0);
	knot_wire_set_arcount(e->ans, 0);
	e->anslen = zlen;
	planned_free(&x);
	return e;
}

static void exchange_free(struct exchange *e)
{
	knot_tsig_key_deinit(&e->key);
	free(e);
}

/* The answer signed as a server signs it (request MAC first). */
static void sign_answer(struct exchange *e)
{
	uint8_t digest[64];
	size_t dlen = sizeof(digest);
	assert_int_equal(knot_tsig_sign(e->ans, &e->anslen, sizeof(e->ans), e->mac, e->maclen,
	                                digest, &dlen, &e->key, 0, 0),
	                 KNOT_EOK);
}

static int parse(struct exchange *e, const knot_tsig_key_t *key, upd_answer_t *a, char *err)
{
	return upd_parse_answer(e->ans, e->anslen, 0x4242, e->apex, key, e->mac, e->maclen,
	                        "192.0.2.53@53", a, err, 512);
}

static void test_answer_plain(void **state)
{
	(void)state;
	char err[512];
	upd_answer_t a;
	struct exchange *e = exchange_new(KNOT_RCODE_NOERROR);
	assert_int_equal(parse(e, NULL, &a, err), 0);
	assert_int_equal(a.rcode, KNOT_RCODE_NOERROR);
	assert_false(a.is_signed);

	/* An answer without the zone section (a FORMERR) is still read. */
	e->anslen = KNOT_WIRE_HEADER_SIZE;
	knot_wire_set_qdcount(e->ans, 0);
	knot_wire_set_rcode(e->ans, KNOT_RCODE_FORMERR);
	assert_int_equal(parse(e, NULL, &a, err), 0);
	assert_int_equal(a.rcode, KNOT_RCODE_FORMERR);
	exchange_free(e);

	/* Not an answer to our message. */
	e = exchange_new(KNOT_RCODE_NOERROR);
	knot_wire_set_id(e->ans, 0x4243);
	assert_int_equal(parse(e, NULL, &a, err), -EPROTO);
	assert_non_null(strstr(err, "192.0.2.53@53: answer with a wrong ID"));
	knot_wire_set_id(e->ans, 0x4242);
	knot_wire_clear_qr(e->ans);
	assert_int_equal(parse(e, NULL, &a, err), -EPROTO);
	knot_wire_set_qr(e->ans);
	knot_wire_set_opcode(e->ans, KNOT_OPCODE_QUERY);
	assert_int_equal(parse(e, NULL, &a, err), -EPROTO);
	assert_non_null(strstr(err, "not UPDATE"));
	knot_wire_set_opcode(e->ans, KNOT_OPCODE_UPDATE);
	e->ans[KNOT_WIRE_HEADER_SIZE + 1] = 'x'; /* "example" -> "xxample" */
	assert_int_equal(parse(e, NULL, &a, err), -EPROTO);
	assert_non_null(strstr(err, "another zone"));
	e->ans[KNOT_WIRE_HEADER_SIZE + 1] = 'e';
	assert_int_equal(parse(e, NULL, &a, err), 0);
	e->anslen -= 3; /* the zone section cut */
	assert_int_equal(parse(e, NULL, &a, err), -EPROTO);
	assert_non_null(strstr(err, "malformed answer"));
	e->anslen = 5;
	assert_int_equal(parse(e, NULL, &a, err), -EPROTO);
	exchange_free(e);
}

static void test_answer_tsig(void **state)
{
	(void)state;
	char err[512];
	upd_answer_t a;
	struct exchange *e = exchange_new(KNOT_RCODE_NOERROR);
	sign_answer(e);
	assert_int_equal(parse(e, &e->key, &a, err), 0);
	assert_true(a.is_signed);
	assert_int_equal(a.rcode, KNOT_RCODE_NOERROR);
	/* The buffer is not changed by parsing (TSIG stripped in a copy). */
	assert_int_equal(knot_wire_get_arcount(e->ans), 1);
	assert_int_equal(parse(e, &e->key, &a, err), 0);

	/* Changed after signing: refused. */
	knot_wire_set_rcode(e->ans, KNOT_RCODE_REFUSED);
	assert_int_equal(parse(e, &e->key, &a, err), -EPERM);
	assert_non_null(strstr(err, "TSIG that fails the check"));
	exchange_free(e);

	/* Signed with another secret. */
	e = exchange_new(KNOT_RCODE_NOERROR);
	knot_tsig_key_t other;
	assert_int_equal(knot_tsig_key_init(&other, "hmac-sha256", "upd",
	                                    "b3RoZXIgc2VjcmV0IG9mIDMyIGJ5dGVzIGZvciB0ZXN0cw=="),
	                 KNOT_EOK);
	sign_answer(e);
	assert_int_equal(parse(e, &other, &a, err), -EPERM);
	knot_tsig_key_deinit(&other);
	exchange_free(e);

	/* Success must be signed; a refusal may come unsigned. */
	e = exchange_new(KNOT_RCODE_NOERROR);
	assert_int_equal(parse(e, &e->key, &a, err), -EPERM);
	assert_non_null(strstr(err, "without a TSIG signature (key upd.)"));
	knot_wire_set_rcode(e->ans, KNOT_RCODE_REFUSED);
	assert_int_equal(parse(e, &e->key, &a, err), 0);
	assert_int_equal(a.rcode, KNOT_RCODE_REFUSED);
	assert_false(a.is_signed);
	exchange_free(e);

	/* The server does not know the key: NOTAUTH, TSIG error BADKEY. */
	e = exchange_new(KNOT_RCODE_NOTAUTH);
	knot_pkt_t *req = knot_pkt_new(e->req, (uint16_t)e->reqlen, NULL);
	assert_non_null(req);
	assert_int_equal(knot_pkt_parse(req, 0), KNOT_EOK);
	assert_non_null(req->tsig_rr);
	assert_int_equal(knot_tsig_add(e->ans, &e->anslen, sizeof(e->ans), KNOT_RCODE_BADKEY,
	                               req->tsig_rr),
	                 KNOT_EOK);
	knot_pkt_free(req);
	assert_int_equal(parse(e, &e->key, &a, err), -EPERM);
	assert_int_equal(a.tsig_error, KNOT_RCODE_BADKEY);
	assert_non_null(strstr(err, "refused TSIG key upd.: BADKEY"));
	exchange_free(e);
}

/* --- soa-serial: mirror: serial steps ------------------------------------------- */

#define RING 4294967296ull /* 2^32 */

static void test_serial_steps(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		uint32_t have, want;
		size_t n;
		uint32_t step[UPD_SERIAL_STEPS];
	} cases[] = {
		{ "equal: nothing to send", 5, 5, 0, { 0 } },
		{ "equal at 0", 0, 0, 0, { 0 } },
		{ "far behind: one ordinary raise", 5, 1000, 1, { 1000 } },
		{ "behind by the largest increase", 0, 0x7fffffff, 1, { 0x7fffffff } },
		{ "behind, across 2^32", 0xfffffff0, 5, 1, { 5 } },
		{ "one ahead: three steps", 8, 7, 3, { 0x80000007, 6, 7 } },
		{ "one ahead, across 2^32", 0, 0xffffffff, 3,
		  { 0x7fffffff, 0xfffffffe, 0xffffffff } },
		{ "one ahead at 2^32 - 1", 0xffffffff, 0xfffffffe, 3,
		  { 0x7ffffffe, 0xfffffffd, 0xfffffffe } },
		{ "two ahead: two largest increases", 9, 7, 2, { 0x80000008, 7 } },
		{ "ahead by 995", 1000, 5, 2, { 0x800003e7, 5 } },
		{ "ahead, across 2^32", 5, 0xfffffff0, 2, { 0x80000004, 0xfffffff0 } },
		{ "exactly 2^31 apart", 0, 0x80000000, 2, { 0x7fffffff, 0x80000000 } },
		{ "exactly 2^31 apart, the other way", 0x80000000, 0, 2, { 0xffffffff, 0 } },
		{ "2^31 + 1 ahead is 2^31 - 1 behind: one raise", 0x80000001, 0, 1, { 0 } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t step[UPD_SERIAL_STEPS] = { 0 };
		size_t n = upd_serial_steps(cases[i].have, cases[i].want, step);
		if (n != cases[i].n) {
			fail_msg("%s: %zu steps, want %zu", cases[i].what, n, cases[i].n);
		}
		for (size_t k = 0; k < n; k++) {
			if (step[k] != cases[i].step[k]) {
				fail_msg("%s: step %zu is %u, want %u", cases[i].what, k + 1, step[k],
				         cases[i].step[k]);
			}
		}
	}
}

/* Every step an RFC 1982 increase (by dns/serial.c, not the arithmetic of
 * updmsg.c), the last the wanted serial, and no fewer steps can do. */
static void test_serial_steps_valid(void **state)
{
	(void)state;
	static const uint32_t edge[] = { 0,          1,          2,          7,
		                         8,          1000,       0x7ffffffe, 0x7fffffff,
		                         0x80000000, 0x80000001, 0xfffffffe, 0xffffffff };
	uint32_t x = 2463534242u; /* xorshift32, a fixed sequence */
	for (size_t i = 0; i < 20000; i++) {
		uint32_t have, want;
		if (i < 144) {
			have = edge[i / 12];
			want = edge[i % 12];
		} else {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			have = x;
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			want = i % 3 == 0 ? have - (x % 5) : x; /* often just ahead */
		}
		uint32_t step[UPD_SERIAL_STEPS];
		size_t n = upd_serial_steps(have, want, step);
		uint64_t distance = (want - have) % RING;
		assert_true(n <= UPD_SERIAL_STEPS);
		assert_int_equal(n, (distance + 0x7ffffffeull) / 0x7fffffffull);
		assert_true(n == 0 || n * 0x7fffffffull >= distance);
		assert_true(n == 0 || (n - 1) * 0x7fffffffull < distance); /* minimal */
		uint32_t at = have;
		for (size_t k = 0; k < n; k++) {
			if (serial_cmp(step[k], at) != SERIAL_GT) {
				fail_msg("%u -> %u: step %zu (%u -> %u) is no increase", have, want,
				         k + 1, at, step[k]);
			}
			at = step[k];
		}
		assert_int_equal(at, want);
	}
}

static void test_soa_step_message(void **state)
{
	(void)state;
	zone_t z;
	load_ok(&z, HEAD);
	zone_rrset_t soa;
	assert_true(zone_find(&z, z.apex, KNOT_RRTYPE_SOA, &soa));
	knot_rdata_t *rd = malloc(knot_rdata_size(soa.rr[0].rd->len));
	assert_non_null(rd);
	memcpy(rd, soa.rr[0].rd, knot_rdata_size(soa.rr[0].rd->len));
	knot_soa_serial_set(rd, 0x80000007);
	uint8_t buf[512];
	int len = upd_write_soa(z.apex, 0x1234, 300, rd, buf, sizeof(buf));
	assert_true(len > 0);
	char text[512];
	/* The SOA alone, class IN (an add), owner the zone section's name. */
	assert_int_equal(update_text(buf, len, z.apex, text, sizeof(text)), 1);
	assert_string_equal(text, "example.com. IN SOA 300 ns.example.com. hm.example.com. "
	                          "2147483655 2 3 4 5");
	/* header, zone (13 + 4), owner pointer, type class TTL rdlength, rdata */
	assert_int_equal(len, 12 + 13 + 4 + 2 + 10 + rd->len);
	assert_int_equal(upd_write_soa(z.apex, 1, 300, rd, buf, (size_t)len - 1), -ENOSPC);
	knot_rdata_t empty = { 0 };
	assert_int_equal(upd_write_soa(z.apex, 1, 300, &empty, buf, sizeof(buf)), -EINVAL);
	free(rd);
	zone_free(&z);
}

/* Two hosts: a fenced message carries one prerequisite, "the apex SOA is
 * exactly this" (RFC 2136 2.4.2: class IN, TTL 0, the rdata), before its
 * updates, which stay as they were. */
static void check_fence(const uint8_t *buf, int len, const knot_dname_t *apex,
                        const knot_rdata_t *fence)
{
	assert_int_equal(knot_wire_get_ancount(buf), 1); /* PRCOUNT */
	knot_pkt_t *pkt = knot_pkt_new((uint8_t *)buf, (uint16_t)len, NULL);
	assert_non_null(pkt);
	assert_int_equal(knot_pkt_parse(pkt, 0), KNOT_EOK);
	const knot_pktsection_t *pr = knot_pkt_section(pkt, KNOT_ANSWER);
	assert_int_equal(pr->count, 1);
	const knot_rrset_t *rr = knot_pkt_rr(pr, 0);
	assert_true(dns_name_equal(rr->owner, apex));
	assert_int_equal(rr->type, KNOT_RRTYPE_SOA);
	assert_int_equal(rr->rclass, KNOT_CLASS_IN);
	assert_int_equal(rr->ttl, 0);
	assert_int_equal(rr->rrs.count, 1);
	assert_int_equal(rr->rrs.rdata->len, fence->len);
	assert_memory_equal(rr->rrs.rdata->data, fence->data, fence->len);
	knot_pkt_free(pkt);
}

static void test_fenced_messages(void **state)
{
	(void)state;
	zone_t z;
	load_ok(&z, HEAD);
	zone_rrset_t soa;
	assert_true(zone_find(&z, z.apex, KNOT_RRTYPE_SOA, &soa));
	const knot_rdata_t *fence = soa.rr[0].rd;
	knot_rdata_t *rd = malloc(knot_rdata_size(fence->len));
	assert_non_null(rd);
	memcpy(rd, fence, knot_rdata_size(fence->len));
	knot_soa_serial_set(rd, 9);
	uint8_t buf[1024];
	int len = upd_write_soa_fenced(z.apex, 0x1234, 300, rd, fence, buf, sizeof(buf));
	assert_true(len > 0);
	check_fence(buf, len, z.apex, fence);
	/* the SOA-only message plus one RR: owner pointer, fixed part, rdata */
	assert_int_equal(len, 12 + 13 + 4 + 2 * (2 + 10) + rd->len + fence->len);
	assert_true(2 + 10 + fence->len <= UPD_FENCE_MAX);

	/* A plan's message: the same updates, the fence before them. */
	zone_t old, new;
	load_ok(&old, HEAD "a 300 A 192.0.2.1\n");
	load_ok(&new, HEAD "a 300 A 192.0.2.2\nb 300 A 192.0.2.3\n");
	zone_diff_t d;
	assert_int_equal(zone_diff(&old, &new, &d), 0);
	upd_limits_t lim = { .msg_max = UPD_MSG_MAX - UPD_FENCE_MAX };
	upd_plan_t p;
	char err[256];
	assert_int_equal(upd_plan(&d, true, z.apex, &lim, &p, err, sizeof(err)), 0);
	uint8_t *plain = malloc(UPD_MSG_MAX), *fenced = malloc(UPD_MSG_MAX);
	assert_non_null(plain);
	assert_non_null(fenced);
	int n0 = upd_write(&p, 0, z.apex, 0x1234, plain, UPD_MSG_MAX);
	int n1 = upd_write_fenced(&p, 0, z.apex, 0x1234, fence, fenced, UPD_MSG_MAX);
	assert_true(n0 > 0);
	assert_int_equal(n1, n0 + 2 + 10 + fence->len);
	check_fence(fenced, n1, z.apex, fence);
	/* After the zone section, the prerequisite; then the same bytes. */
	size_t head = 12 + 13 + 4;
	assert_memory_equal(fenced + head + 12 + fence->len, plain + head, (size_t)n0 - head);
	free(plain);
	free(fenced);
	upd_plan_free(&p);
	zone_diff_free(&d);
	zone_free(&old);
	zone_free(&new);
	free(rd);
	zone_free(&z);
}

/* --- view, config -------------------------------------------------------------- */

static void test_types(void **state)
{
	(void)state;
	uint16_t out[] = { KNOT_RRTYPE_RRSIG, KNOT_RRTYPE_NSEC,    KNOT_RRTYPE_NSEC3,
		           KNOT_RRTYPE_NSEC3PARAM, KNOT_RRTYPE_DNSKEY, KNOT_RRTYPE_CDS,
		           KNOT_RRTYPE_CDNSKEY, 65534 };
	uint16_t in[] = { KNOT_RRTYPE_A,   KNOT_RRTYPE_NS,  KNOT_RRTYPE_SOA,  KNOT_RRTYPE_DS,
		          KNOT_RRTYPE_TXT, KNOT_RRTYPE_LOC, KNOT_RRTYPE_SVCB, 65000 };
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		assert_false(rfc2136_type_ok(out[i]));
	}
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		assert_true(rfc2136_type_ok(in[i]));
	}
	/* The rules from the config keys. */
	const char *yaml = "key:\n  - { id: upd, algorithm: hmac-sha512, secret: " SECRET " }\n"
	                   "primary:\n  - { id: p, address: 192.0.2.1 }\n"
	                   "target:\n"
	                   "  - { id: a, type: rfc2136, address: 192.0.2.2, key: upd }\n"
	                   "  - { id: b, type: rfc2136, address: \"2001:db8::2@5353\", "
	                   "apex-ns: sync, soa-serial: mirror, timeout: 5, batch-size: 10 }\n"
	                   "zone:\n  - { domain: example.com, primary: p, target: [a, b] }\n";
	conf_t conf;
	assert_int_equal(conf_load_string(&conf, "t.yaml", yaml, strlen(yaml), target_registry, stderr), 0);
	const conf_target_t *a = &conf.target[0], *b = &conf.target[1];
	assert_ptr_equal(target_type(a), &rfc2136_type);
	assert_non_null(a->key);
	assert_string_equal(a->key->id, "upd");
	assert_int_equal(a->key->tsig.algorithm, DNSSEC_TSIG_HMAC_SHA512);
	assert_null(b->key);
	zone_view_rules_t ra = target_ops(a)->rules(a), rb = target_ops(b)->rules(b);
	assert_false(ra.apex_ns || ra.apex_soa);
	assert_true(rb.apex_ns && rb.apex_soa);
	assert_ptr_equal(ra.type_ok, rfc2136_type_ok);
	conf_free(&conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace_delete_add),
		cmocka_unit_test(test_add_without_fresh_read_replaces),
		cmocka_unit_test(test_cname_changes_delete_first),
		cmocka_unit_test(test_apex_soa_last_never_added_or_deleted),
		cmocka_unit_test(test_apex_ns_one_by_one_never_all),
		cmocka_unit_test(test_batches_fill_64k),
		cmocka_unit_test(test_one_change_one_message),
		cmocka_unit_test(test_rrset_never_split),
		cmocka_unit_test(test_name_kept_whole_unless_too_big),
		cmocka_unit_test(test_addresses_before_what_names_them),
		cmocka_unit_test(test_answer_plain),
		cmocka_unit_test(test_answer_tsig),
		cmocka_unit_test(test_serial_steps),
		cmocka_unit_test(test_serial_steps_valid),
		cmocka_unit_test(test_soa_step_message),
		cmocka_unit_test(test_fenced_messages),
		cmocka_unit_test(test_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
