/* zone/rules.c and the rules in zone/view.c: ignore, exclude, ttl. */
#include "helpers.h"

#include <libknot/descriptor.h>

#include "zone/rules.h"
#include "zone/view.h"

#define ZONE_HEAD                                                                                  \
	"$ORIGIN example.com.\n$TTL 300\n"                                                         \
	"@ SOA ns.example.com. h.example.com. 1 3600 600 86400 300\n"                              \
	"@ NS ns.example.com.\n"

static zone_t zone;
static knot_dname_storage_t apex;

/* A rule that must be made. */
static zone_rule_t rule(const char *name, const char *types, const char *value)
{
	const char *t[8] = { NULL };
	char buf[128];
	size_t n = 0;
	if (types != NULL) {
		snprintf(buf, sizeof(buf), "%s", types);
		for (char *s = strtok(buf, ","); s != NULL && n < 8; s = strtok(NULL, ",")) {
			t[n++] = s;
		}
	}
	zone_rule_t r;
	char err[256] = "";
	int ret = zone_rule_make(name, t, n, value, &r, err, sizeof(err));
	if (ret != 0) {
		fail_msg("rule not made: %s", err);
	}
	return r;
}

/* The error of a rule that must not be made. */
static const char *rule_err(const char *name, const char *type, const char *value)
{
	static char err[256];
	const char *t[1] = { type };
	zone_rule_t r;
	err[0] = '\0';
	assert_int_equal(zone_rule_make(name, t, type != NULL, value, &r, err, sizeof(err)),
	                 -EINVAL);
	assert_true(err[0] != '\0');
	return err;
}

static void load(const char *body)
{
	char text[4096];
	snprintf(text, sizeof(text), ZONE_HEAD "%s", body);
	load_ok(&zone, text);
	assert_true(dns_name_from_str("example.com.", apex) > 0);
}

/* zone_rule_match_set (or _name_type) of set in the zone at ap. */
static bool set_match(const zone_rule_t *r, const knot_dname_t *ap, const zone_rrset_t *set,
                      bool name_type)
{
	char text[KNOT_DNAME_TXT_MAXLEN + 1];
	assert_non_null(dns_name_to_str(ap, text, sizeof(text)));
	zone_rule_owner_t o;
	zone_rule_owner_init(&o, text, set);
	return name_type ? zone_rule_match_name_type(r, &o) : zone_rule_match_set(r, &o);
}

/* Does r match the RRset owner/type of the loaded zone? */
static bool match(const zone_rule_t *r, const char *owner, uint16_t type)
{
	zone_rrset_t set;
	assert_true(find_str(&zone, owner, type, &set));
	return set_match(r, apex, &set, false);
}

static void test_make_errors(void **state)
{
	(void)state;
	assert_non_null(
	        strstr(rule_err(NULL, "BOGUS", NULL), "type: 'BOGUS' is not a record type"));
	assert_non_null(strstr(rule_err(NULL, "A", ""), "value: must not be empty"));
	assert_non_null(strstr(rule_err(NULL, "A", "10.0.0.0/33"), "not an address prefix"));
	assert_non_null(strstr(rule_err(NULL, "AAAA", "2001:db8::/129"), "not an address prefix"));
	assert_non_null(strstr(rule_err(NULL, "A", "10.0.0.0/"), "value:"));
	assert_non_null(strstr(rule_err(NULL, "A", "10.0.0.0/-1"), "value:"));
	assert_non_null(strstr(rule_err(NULL, "A", "example.com."), "value:"));
	assert_non_null(strstr(rule_err("", NULL, NULL), "name:"));
	/* A glob with an address type is a glob, not a prefix. */
	zone_rule_t r = rule(NULL, "A", "10.0.*");
	assert_false(r.prefix);
	zone_rule_free(&r);
	/* A prefix needs all its types to be addresses: with TXT it is a glob. */
	r = rule(NULL, "A,TXT", "10.0.0.0/8");
	assert_false(r.prefix);
	zone_rule_free(&r);
	r = rule("www", "a,Cname", "x*");
	assert_int_equal(r.ntypes, 2);
	assert_int_equal(r.types[0], KNOT_RRTYPE_A);
	assert_int_equal(r.types[1], KNOT_RRTYPE_CNAME);
	assert_string_equal(r.text, "name=www type=a,Cname value=x*");
	zone_rule_free(&r);
	r = rule(NULL, NULL, NULL);
	assert_string_equal(r.text, "all");
	zone_rule_free(&r);
	/* Equal by what they say: names and globs fold case. */
	zone_rule_t a = rule("www", "A", "x*"), b = rule("WWW", "a", "X*"),
	            c = rule("www", "AAAA", "x*"), d = rule("www", NULL, "x*");
	assert_true(zone_rule_equal(&a, &b));
	assert_false(zone_rule_equal(&a, &c));
	assert_false(zone_rule_equal(&a, &d));
	zone_rule_free(&a);
	zone_rule_free(&b);
	zone_rule_free(&c);
	zone_rule_free(&d);
}

static void test_names(void **state)
{
	(void)state;
	load("www A 192.0.2.1\n"
	     "a.b.c A 192.0.2.2\n"
	     "_acme-challenge.www TXT \"token\"\n"
	     "_acme-challenge TXT \"apex token\"\n"
	     "Mixed.Case A 192.0.2.3\n"
	     "@ MX 10 mail\n");
	zone_rule_t r = rule("www", NULL, NULL);
	assert_true(match(&r, "www.example.com.", KNOT_RRTYPE_A));
	assert_false(match(&r, "a.b.c.example.com.", KNOT_RRTYPE_A));
	assert_false(match(&r, "_acme-challenge.www.example.com.", KNOT_RRTYPE_TXT));
	zone_rule_free(&r);
	/* '@' is the apex, and only it. */
	r = rule("@", NULL, NULL);
	assert_true(match(&r, "example.com.", KNOT_RRTYPE_MX));
	assert_true(match(&r, "example.com.", KNOT_RRTYPE_SOA));
	assert_false(match(&r, "www.example.com.", KNOT_RRTYPE_A));
	zone_rule_free(&r);
	/* '*' crosses dots. */
	r = rule("_acme-challenge.*", NULL, NULL);
	assert_true(match(&r, "_acme-challenge.www.example.com.", KNOT_RRTYPE_TXT));
	assert_false(match(&r, "_acme-challenge.example.com.", KNOT_RRTYPE_TXT));
	zone_rule_free(&r);
	r = rule("a.*", NULL, NULL);
	assert_true(match(&r, "a.b.c.example.com.", KNOT_RRTYPE_A));
	zone_rule_free(&r);
	r = rule("*", NULL, NULL);
	assert_true(match(&r, "a.b.c.example.com.", KNOT_RRTYPE_A));
	assert_true(match(&r, "example.com.", KNOT_RRTYPE_MX)); /* "@" too: all names */
	zone_rule_free(&r);
	/* Absolute: ends with a dot, matched on the full name. */
	r = rule("*.b.c.example.com.", NULL, NULL);
	assert_true(match(&r, "a.b.c.example.com.", KNOT_RRTYPE_A));
	assert_false(match(&r, "www.example.com.", KNOT_RRTYPE_A));
	zone_rule_free(&r);
	r = rule("example.com.", NULL, NULL);
	assert_true(r.absolute);
	assert_true(match(&r, "example.com.", KNOT_RRTYPE_MX));
	assert_false(match(&r, "www.example.com.", KNOT_RRTYPE_A));
	zone_rule_free(&r);
	/* A relative glob that happens to be the full name does not match. */
	r = rule("www.example.com", NULL, NULL);
	assert_false(match(&r, "www.example.com.", KNOT_RRTYPE_A));
	zone_rule_free(&r);
	/* Case folded both ways. */
	r = rule("MIXED.case", NULL, NULL);
	assert_true(match(&r, "mixed.case.example.com.", KNOT_RRTYPE_A));
	zone_rule_free(&r);
	r = rule("*.EXAMPLE.COM.", NULL, NULL);
	assert_true(match(&r, "Mixed.Case.example.com.", KNOT_RRTYPE_A));
	zone_rule_free(&r);
	/* A name outside the zone never matches a relative rule. */
	zone_rrset_t set;
	knot_dname_storage_t other;
	assert_true(dns_name_from_str("example.net.", other) > 0);
	r = rule("*", NULL, NULL);
	assert_true(find_str(&zone, "www.example.com.", KNOT_RRTYPE_A, &set));
	assert_false(set_match(&r, other, &set, false));
	zone_rule_free(&r);
	zone_free(&zone);
}

static void test_types(void **state)
{
	(void)state;
	load("www A 192.0.2.1\nwww AAAA 2001:db8::1\nwww TXT \"t\"\n");
	zone_rule_t r = rule(NULL, "A,AAAA", NULL);
	assert_true(match(&r, "www.example.com.", KNOT_RRTYPE_A));
	assert_true(match(&r, "www.example.com.", KNOT_RRTYPE_AAAA));
	assert_false(match(&r, "www.example.com.", KNOT_RRTYPE_TXT));
	zone_rule_free(&r);
	r = rule("www", "txt", NULL);
	assert_false(match(&r, "www.example.com.", KNOT_RRTYPE_A));
	assert_true(match(&r, "www.example.com.", KNOT_RRTYPE_TXT));
	zone_rule_free(&r);
	zone_free(&zone);
}

static void test_values(void **state)
{
	(void)state;
	load("_abc123 CNAME _xyz.acm-validations.aws.\n"
	     "_other CNAME target.example.net.\n"
	     "t TXT \"v=spf1 -all\"\n"
	     "t2 TXT \"hello\" \"world\"\n"
	     "mx MX 10 Mail.Example.com.\n");
	zone_rule_t r = rule("_*", "CNAME", "*.acm-validations.aws.");
	assert_true(match(&r, "_abc123.example.com.", KNOT_RRTYPE_CNAME));
	assert_false(match(&r, "_other.example.com.", KNOT_RRTYPE_CNAME));
	/* By name and type alone, the value aside. */
	zone_rrset_t set;
	assert_true(find_str(&zone, "_other.example.com.", KNOT_RRTYPE_CNAME, &set));
	assert_true(set_match(&r, apex, &set, true));
	assert_true(find_str(&zone, "t.example.com.", KNOT_RRTYPE_TXT, &set));
	assert_false(set_match(&r, apex, &set, true));
	zone_rule_free(&r);
	/* The presentation form: TXT with its quotes. */
	r = rule(NULL, "TXT", "\"v=spf1*");
	assert_true(match(&r, "t.example.com.", KNOT_RRTYPE_TXT));
	zone_rule_free(&r);
	r = rule(NULL, "TXT", "v=spf1*");
	assert_false(match(&r, "t.example.com.", KNOT_RRTYPE_TXT));
	zone_rule_free(&r);
	r = rule(NULL, "TXT", "\"hello\" \"world\"");
	assert_true(match(&r, "t2.example.com.", KNOT_RRTYPE_TXT));
	zone_rule_free(&r);
	/* Case folded; the whole rdata. */
	r = rule(NULL, "MX", "10 mail.example.com.");
	assert_true(match(&r, "mx.example.com.", KNOT_RRTYPE_MX));
	zone_rule_free(&r);
	r = rule(NULL, "MX", "mail.example.com.");
	assert_false(match(&r, "mx.example.com.", KNOT_RRTYPE_MX));
	zone_rule_free(&r);
	zone_free(&zone);
}

static void test_prefixes(void **state)
{
	(void)state;
	load("a A 10.1.2.3\n"
	     "b A 172.16.0.1\n"
	     "c A 172.31.255.255\n"
	     "d A 172.32.0.0\n"
	     "e AAAA 2001:db8::1\n"
	     "f AAAA 2001:db8:0:0:8000::1\n"
	     "g AAAA ::ffff:10.1.2.3\n");
	zone_rule_t r = rule(NULL, "A,AAAA", "10.0.0.0/8");
	assert_true(r.prefix);
	assert_true(match(&r, "a.example.com.", KNOT_RRTYPE_A));
	assert_false(match(&r, "b.example.com.", KNOT_RRTYPE_A));
	assert_false(match(&r, "g.example.com.", KNOT_RRTYPE_AAAA)); /* a v4 prefix, a v6 record */
	zone_rule_free(&r);
	/* /12: not a byte boundary. */
	r = rule(NULL, "A", "172.16.0.0/12");
	assert_true(match(&r, "b.example.com.", KNOT_RRTYPE_A));
	assert_true(match(&r, "c.example.com.", KNOT_RRTYPE_A));
	assert_false(match(&r, "d.example.com.", KNOT_RRTYPE_A));
	assert_false(match(&r, "a.example.com.", KNOT_RRTYPE_A));
	zone_rule_free(&r);
	/* An address alone is all its bits; host bits in a prefix are masked. */
	r = rule(NULL, "A", "172.16.0.1");
	assert_true(match(&r, "b.example.com.", KNOT_RRTYPE_A));
	assert_false(match(&r, "c.example.com.", KNOT_RRTYPE_A));
	zone_rule_free(&r);
	r = rule(NULL, "A", "172.20.1.1/12");
	assert_true(match(&r, "c.example.com.", KNOT_RRTYPE_A));
	zone_rule_free(&r);
	r = rule(NULL, "A", "0.0.0.0/0");
	assert_true(match(&r, "d.example.com.", KNOT_RRTYPE_A));
	zone_rule_free(&r);
	/* v6, /64 and /65: the 65th bit decides. */
	r = rule(NULL, "AAAA", "2001:db8::/64");
	assert_true(match(&r, "e.example.com.", KNOT_RRTYPE_AAAA));
	assert_true(match(&r, "f.example.com.", KNOT_RRTYPE_AAAA));
	zone_rule_free(&r);
	r = rule(NULL, "AAAA", "2001:db8::/65");
	assert_true(match(&r, "e.example.com.", KNOT_RRTYPE_AAAA));
	assert_false(match(&r, "f.example.com.", KNOT_RRTYPE_AAAA));
	zone_rule_free(&r);
	r = rule(NULL, "AAAA", "2001:db8:0:0:8000::/65");
	assert_false(match(&r, "e.example.com.", KNOT_RRTYPE_AAAA));
	assert_true(match(&r, "f.example.com.", KNOT_RRTYPE_AAAA));
	zone_rule_free(&r);
	/* A glob on an address's text. */
	r = rule(NULL, "A", "172.3*");
	assert_true(match(&r, "c.example.com.", KNOT_RRTYPE_A));
	assert_true(match(&r, "d.example.com.", KNOT_RRTYPE_A));
	assert_false(match(&r, "b.example.com.", KNOT_RRTYPE_A));
	zone_rule_free(&r);
	zone_free(&zone);
}

static bool has(const zone_t *z, const char *owner, uint16_t type)
{
	zone_rrset_t set;
	return find_str(z, owner, type, &set);
}

static const zone_view_kept_t *kept_of(const zone_view_skipped_t *s, const zone_rule_t *r)
{
	for (size_t i = 0; i < s->nkept; i++) {
		if (s->kept[i].rule == r) {
			return &s->kept[i];
		}
	}
	return NULL;
}

/* Ignore: both sides; the provider side reports what it held. */
static void test_view_ignore(void **state)
{
	(void)state;
	load("_abc CNAME _x.acm-validations.aws.\n"
	     "_acme-challenge.www TXT \"tok\"\n"
	     "www A 192.0.2.1\n");
	zone_rules_t rules = { 0 };
	rules.ignore = calloc(2, sizeof(*rules.ignore));
	rules.ignore[0] = rule("_*", "CNAME", "*.acm-validations.aws.");
	rules.ignore[1] = rule("_acme-challenge.*", "TXT", NULL);
	rules.nignore = 2;
	for (int side = 0; side < 2; side++) {
		zone_view_rules_t vr = { .apex_soa = true,
			                 .apex_ns = true,
			                 .filter = &rules,
			                 .primary_side = side == 0 };
		zone_t v;
		zone_view_skipped_t sk = { 0 };
		assert_int_equal(zone_view(&zone, &vr, &v, &sk), 0);
		assert_false(has(&v, "_abc.example.com.", KNOT_RRTYPE_CNAME));
		assert_false(has(&v, "_acme-challenge.www.example.com.", KNOT_RRTYPE_TXT));
		assert_true(has(&v, "www.example.com.", KNOT_RRTYPE_A));
		assert_int_equal(v.rrsets, 3);
		assert_int_equal(sk.rrsets, 0); /* not "skipped": kept out */
		assert_int_equal(sk.nkept, 2);
		const zone_view_kept_t *k = kept_of(&sk, &rules.ignore[0]);
		assert_non_null(k);
		assert_true(k->ignore);
		assert_int_equal(k->rrsets, 1);
		assert_string_equal(k->names[0], "_abc.example.com. CNAME");
		assert_int_equal(sk.nheld, 2);
		zone_view_skipped_free(&sk);
		zone_view_free(&v);
	}
	zone_rules_free(&rules);
	zone_free(&zone);
}

/* Exclude: one record of an RRset; provider side not at all. */
static void test_view_exclude(void **state)
{
	(void)state;
	load("www A 10.0.0.1\nwww A 192.0.2.1\nwww AAAA 2001:db8::1\n"
	     "db.internal A 192.0.2.9\n"
	     "all10 A 10.1.1.1\nall10 A 10.2.2.2\n");
	zone_rules_t rules = { 0 };
	rules.exclude = calloc(2, sizeof(*rules.exclude));
	rules.exclude[0] = rule("*.internal", NULL, NULL);
	rules.exclude[1] = rule(NULL, "A,AAAA", "10.0.0.0/8");
	rules.nexclude = 2;
	zone_view_rules_t vr = {
		.apex_soa = true, .apex_ns = true, .filter = &rules, .primary_side = true
	};
	zone_t v;
	zone_view_skipped_t sk = { 0 };
	assert_int_equal(zone_view(&zone, &vr, &v, &sk), 0);
	zone_rrset_t set;
	assert_true(find_str(&v, "www.example.com.", KNOT_RRTYPE_A, &set));
	assert_int_equal(set.count, 1);
	assert_memory_equal(set.rr[0].rd->data, "\xc0\x00\x02\x01", 4);
	assert_true(has(&v, "www.example.com.", KNOT_RRTYPE_AAAA));
	assert_false(has(&v, "db.internal.example.com.", KNOT_RRTYPE_A));
	assert_false(has(&v, "all10.example.com.", KNOT_RRTYPE_A)); /* all its records */
	assert_int_equal(v.rrsets, 4);                              /* SOA, NS, www A, www AAAA */
	const zone_view_kept_t *k = kept_of(&sk, &rules.exclude[1]);
	assert_non_null(k);
	assert_false(k->ignore);
	assert_int_equal(k->rrsets, 2);
	assert_int_equal(k->records, 3);
	k = kept_of(&sk, &rules.exclude[0]);
	assert_int_equal(k->rrsets, 1);
	assert_string_equal(k->names[0], "db.internal.example.com. A");
	assert_int_equal(sk.nheld, 0);
	zone_view_skipped_free(&sk);
	zone_view_free(&v);
	/* The provider side: exclude does not apply (a record found there is
	 * deleted like any other that is not wanted). */
	vr.primary_side = false;
	assert_int_equal(zone_view(&zone, &vr, &v, &sk), 0);
	assert_true(has(&v, "db.internal.example.com.", KNOT_RRTYPE_A));
	assert_true(find_str(&v, "www.example.com.", KNOT_RRTYPE_A, &set));
	assert_int_equal(set.count, 2);
	assert_int_equal(sk.nkept, 0);
	zone_view_skipped_free(&sk);
	zone_view_free(&v);
	zone_rules_free(&rules);
	zone_free(&zone);
}

/* Two exclude rules taking turns in one RRset count it once each. */
static void test_view_exclude_interleaved(void **state)
{
	(void)state;
	load("x A 1.0.0.1\nx A 1.0.0.2\nx A 2.0.0.1\nx A 9.9.9.9\n");
	zone_rules_t rules = { 0 };
	rules.exclude = calloc(2, sizeof(*rules.exclude));
	rules.exclude[0] = rule(NULL, "A", "*.1");
	rules.exclude[1] = rule(NULL, "A", "*.2");
	rules.nexclude = 2;
	zone_view_rules_t vr = { .filter = &rules, .primary_side = true };
	zone_t v;
	zone_view_skipped_t sk = { 0 };
	assert_int_equal(zone_view(&zone, &vr, &v, &sk), 0);
	zone_rrset_t set;
	assert_true(find_str(&v, "x.example.com.", KNOT_RRTYPE_A, &set));
	assert_int_equal(set.count, 1);
	const zone_view_kept_t *k = kept_of(&sk, &rules.exclude[0]);
	assert_int_equal(k->records, 2);
	assert_int_equal(k->rrsets, 1);
	assert_int_equal(k->nnames, 1);
	k = kept_of(&sk, &rules.exclude[1]);
	assert_int_equal(k->rrsets, 1);
	zone_view_skipped_free(&sk);
	zone_view_free(&v);
	zone_rules_free(&rules);
	zone_free(&zone);
}

static uint32_t ttl_of(const zone_t *z, const char *owner, uint16_t type)
{
	zone_rrset_t set;
	assert_true(find_str(z, owner, type, &set));
	return set.ttl;
}

static void test_view_ttl(void **state)
{
	(void)state;
	load("low 5 A 192.0.2.1\nmid 600 A 192.0.2.2\nhigh 86400 A 192.0.2.3\n"
	     "high 86400 A 192.0.2.4\n");
	zone_rules_t rules = { .ttl_min = 60, .ttl_max = 3600 };
	zone_view_rules_t vr = {
		.apex_soa = true, .apex_ns = true, .filter = &rules, .primary_side = true
	};
	zone_t v;
	zone_view_skipped_t sk = { 0 };
	assert_int_equal(zone_view(&zone, &vr, &v, &sk), 0);
	assert_int_equal(ttl_of(&v, "low.example.com.", KNOT_RRTYPE_A), 60);
	assert_int_equal(ttl_of(&v, "mid.example.com.", KNOT_RRTYPE_A), 600);
	assert_int_equal(ttl_of(&v, "high.example.com.", KNOT_RRTYPE_A), 3600);
	assert_int_equal(ttl_of(&v, "example.com.", KNOT_RRTYPE_SOA), 300);
	assert_int_equal(sk.ttl_clamped, 2); /* RRsets, not records */
	zone_view_skipped_free(&sk);
	zone_view_free(&v);
	/* The source is untouched (the view copies the records it clamps). */
	assert_int_equal(ttl_of(&zone, "low.example.com.", KNOT_RRTYPE_A), 5);
	/* max only. */
	rules.ttl_min = 0;
	assert_int_equal(zone_view(&zone, &vr, &v, &sk), 0);
	assert_int_equal(ttl_of(&v, "low.example.com.", KNOT_RRTYPE_A), 5);
	assert_int_equal(ttl_of(&v, "high.example.com.", KNOT_RRTYPE_A), 3600);
	assert_int_equal(sk.ttl_clamped, 1);
	zone_view_skipped_free(&sk);
	zone_view_free(&v);
	/* The provider side is never clamped. */
	vr.primary_side = false;
	assert_int_equal(zone_view(&zone, &vr, &v, &sk), 0);
	assert_int_equal(ttl_of(&v, "high.example.com.", KNOT_RRTYPE_A), 86400);
	assert_int_equal(sk.ttl_clamped, 0);
	zone_view_skipped_free(&sk);
	zone_view_free(&v);
	zone_free(&zone);
}

/* A target's bounds after its zone's: each one set replaces the zone's,
 * and the pair stays ordered (the target's bound wins). */
static void test_rules_add(void **state)
{
	(void)state;
	zone_rules_t z = { .ttl_min = 60, .ttl_max = 3600 }, t = { .ttl_max = 30 }, all = { 0 };
	z.ignore = calloc(1, sizeof(*z.ignore));
	z.ignore[0] = rule("a", NULL, NULL);
	z.nignore = 1;
	t.ignore = calloc(1, sizeof(*t.ignore));
	t.ignore[0] = rule("b", NULL, NULL);
	t.nignore = 1;
	assert_true(zone_rules_empty(&all));
	assert_int_equal(zone_rules_add(&all, &z), 0);
	assert_int_equal(zone_rules_add(&all, &t), 0);
	assert_false(zone_rules_empty(&all));
	assert_int_equal(all.nignore, 2);
	assert_string_equal(all.ignore[0].name, "a");
	assert_string_equal(all.ignore[1].name, "b");
	assert_int_equal(all.ttl_max, 30);
	assert_true(all.ttl_min <= all.ttl_max);
	zone_rules_free(&all);
	/* A target's min above the zone's max. */
	zone_rules_t t2 = { .ttl_min = 7200 };
	assert_int_equal(zone_rules_add(&all, &z), 0);
	assert_int_equal(zone_rules_add(&all, &t2), 0);
	assert_int_equal(all.ttl_min, 7200);
	assert_true(all.ttl_max == 0 || all.ttl_max >= 7200);
	zone_rules_free(&all);
	zone_rules_free(&z);
	zone_rules_free(&t);
}

/* The names reported per rule stop at ZONE_VIEW_NAMES; the counts do not. */
static void test_view_names_capped(void **state)
{
	(void)state;
	char body[2048] = "";
	for (int i = 0; i < ZONE_VIEW_NAMES + 5; i++) {
		char line[64];
		snprintf(line, sizeof(line), "h%02d.internal A 192.0.2.%d\n", i, i + 1);
		strcat(body, line);
	}
	load(body);
	zone_rules_t rules = { 0 };
	rules.exclude = calloc(1, sizeof(*rules.exclude));
	rules.exclude[0] = rule("*.internal", NULL, NULL);
	rules.nexclude = 1;
	zone_view_rules_t vr = { .filter = &rules, .primary_side = true };
	zone_t v;
	zone_view_skipped_t sk = { 0 };
	assert_int_equal(zone_view(&zone, &vr, &v, &sk), 0);
	assert_int_equal(v.rrsets, 0); /* the apex SOA and NS are not in this view */
	assert_int_equal(sk.nkept, 1);
	assert_int_equal(sk.kept[0].rrsets, ZONE_VIEW_NAMES + 5);
	assert_int_equal(sk.kept[0].nnames, ZONE_VIEW_NAMES);
	assert_string_equal(sk.kept[0].names[0], "h00.internal.example.com. A");
	zone_view_skipped_free(&sk);
	zone_view_free(&v);
	zone_rules_free(&rules);
	zone_free(&zone);
}

/* The provider side's hold hook: held like an ignored set, never on the
 * primary side. */
static const zone_rule_t *hold_all_txt(void *ctx, const zone_rrset_t *set)
{
	return set->type == KNOT_RRTYPE_TXT ? ctx : NULL;
}

static void test_view_hold(void **state)
{
	(void)state;
	load("owned TXT \"heritage=external-dns\"\nwww A 192.0.2.1\n");
	zone_rule_t held = rule(NULL, "TXT", NULL);
	zone_view_rules_t vr = { .hold = hold_all_txt, .hold_ctx = &held };
	zone_t v;
	zone_view_skipped_t sk = { 0 };
	assert_int_equal(zone_view(&zone, &vr, &v, &sk), 0);
	assert_false(has(&v, "owned.example.com.", KNOT_RRTYPE_TXT));
	assert_int_equal(sk.nheld, 1);
	assert_int_equal(sk.nkept, 1);
	assert_ptr_equal(sk.kept[0].rule, &held);
	zone_view_skipped_free(&sk);
	zone_view_free(&v);
	vr.primary_side = true;
	assert_int_equal(zone_view(&zone, &vr, &v, &sk), 0);
	assert_true(has(&v, "owned.example.com.", KNOT_RRTYPE_TXT));
	assert_int_equal(sk.nheld, 0);
	zone_view_skipped_free(&sk);
	zone_view_free(&v);
	zone_rule_free(&held);
	zone_free(&zone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_view_ignore),
		cmocka_unit_test(test_view_exclude),
		cmocka_unit_test(test_view_exclude_interleaved),
		cmocka_unit_test(test_view_ttl),
		cmocka_unit_test(test_rules_add),
		cmocka_unit_test(test_view_names_capped),
		cmocka_unit_test(test_view_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
