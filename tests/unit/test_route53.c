/* Route 53 target: batching, XML answers, values, credentials, views. */
#include "helpers.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libknot/descriptor.h>
#include <libzscanner/scanner.h>

#include "dns/rdata.h"
#include "net/awscreds.h"
#include "target/route53/r53text.h"
#include "target/route53/r53xml.h"
#include "target/route53/route53.h"
#include "zone/view.h"

#define SOA "@ 300 SOA ns hm 1 2 3 4 5\n@ 300 NS ns\n"

static char *big_text(size_t cap)
{
	char *t = malloc(cap);
	assert_non_null(t);
	t[0] = '\0';
	return t;
}

/* A zone text of SOA + n owners h0..h(n-1), one A each. */
static char *zone_of_hosts(size_t n, const char *extra)
{
	char *t = big_text(64 * n + 4096);
	size_t o = (size_t)sprintf(t, "$ORIGIN example.com.\n" SOA "%s", extra);
	for (size_t i = 0; i < n; i++) {
		o += (size_t)sprintf(t + o, "h%zu 300 A 192.0.2.%zu\n", i, i % 250);
	}
	return t;
}

struct planned {
	zone_t old, new;
	zone_diff_t d;
	r53_plan_t p;
};

static int plan_of(struct planned *x, const char *old, const char *new, bool live_known,
                   char *err)
{
	load_ok(&x->old, old);
	load_ok(&x->new, new);
	assert_int_equal(zone_diff(&x->old, &x->new, &x->d), 0);
	(void)live_known; /* the plan is the same either way (additions CREATE) */
	return r53_plan(&x->d, x->new.apex, NULL, &x->p, err, 512);
}

static void planned_free(struct planned *x)
{
	r53_plan_free(&x->p);
	zone_diff_free(&x->d);
	zone_free(&x->old);
	zone_free(&x->new);
}

/* Every batch within the limits; returns the batch count. */
static size_t check_batches(const r53_plan_t *p)
{
	size_t from = 0;
	for (size_t b = 0; b < p->nbatches; b++) {
		r53_cost_t c = { 0, 0 };
		for (size_t i = from; i < p->batch_end[b]; i++) {
			c.records += p->change[i].cost.records;
			c.chars += p->change[i].cost.chars;
		}
		assert_true(c.records <= R53_MAX_RECORDS);
		assert_true(c.chars <= R53_MAX_CHARS);
		assert_true(p->batch_end[b] > from);
		from = p->batch_end[b];
	}
	assert_int_equal(from, p->count);
	return p->nbatches;
}

static void test_batches_fill_to_limits(void **state)
{
	(void)state;
	char *old = zone_of_hosts(0, ""), *new = zone_of_hosts(2500, "");
	char err[512];
	struct planned x = { 0 };
	/* Known absent: CREATE, each record counts once: 1000 + 1000 + 500. */
	assert_int_equal(plan_of(&x, old, new, true, err), 0);
	assert_int_equal(x.p.count, 2500);
	assert_int_equal(x.p.change[0].action, R53_CREATE);
	assert_int_equal(check_batches(&x.p), 3);
	assert_int_equal(x.p.batch_end[0], 1000);
	planned_free(&x);
	/* Live state unknown (an incremental push): an addition is still a
	 * CREATE, so a set made meanwhile is refused, not overwritten. */
	memset(&x, 0, sizeof(x));
	assert_int_equal(plan_of(&x, old, new, false, err), 0);
	assert_int_equal(x.p.change[0].action, R53_CREATE);
	assert_int_equal(x.p.change[0].cost.records, 1);
	assert_int_equal(check_batches(&x.p), 3);
	assert_int_equal(x.p.batch_end[0], 1000);
	planned_free(&x);
	free(old);
	free(new);
}

/* A changed set is an UPSERT, which Route 53 counts twice (its records and
 * characters): 600 changed single-value sets fill batches of 500.  Fails if
 * an UPSERT is counted once (one batch of 1,200 records, refused). */
static void test_upserts_count_twice(void **state)
{
	(void)state;
	char *old = zone_of_hosts(600, ""), *new = zone_of_hosts(600, "");
	for (char *at = strstr(new, " 300 A "); at != NULL; at = strstr(at, " 300 A ")) {
		memcpy(at, " 060 A ", 7); /* every TTL changed: every set replaced */
	}
	char err[512];
	struct planned x = { 0 };
	assert_int_equal(plan_of(&x, old, new, true, err), 0);
	assert_int_equal(x.p.count, 600);
	assert_int_equal(x.p.change[0].action, R53_UPSERT);
	assert_int_equal(x.p.change[0].cost.records, 2);
	assert_int_equal(check_batches(&x.p), 2);
	assert_int_equal(x.p.batch_end[0], 500);
	planned_free(&x);
	free(old);
	free(new);
}

static void test_batches_count_characters(void **state)
{
	(void)state;
	/* 100 TXT sets of one 250-byte string, 252 characters quoted: 25,200
	 * characters, plus 100 x 'x' escaped... keep it simple: 130 sets of
	 * 252 characters = 32,760 > 32,000: two batches though only 130 records. */
	char *t = big_text(200000);
	size_t o = (size_t)sprintf(t, "$ORIGIN example.com.\n" SOA);
	char s[251];
	memset(s, 'x', 250);
	s[250] = '\0';
	for (int i = 0; i < 130; i++) {
		o += (size_t)sprintf(t + o, "t%d 300 TXT \"%s\"\n", i, s);
	}
	char *old = zone_of_hosts(0, "");
	char err[512];
	struct planned x = { 0 };
	assert_int_equal(plan_of(&x, old, t, true, err), 0);
	assert_int_equal(x.p.change[0].cost.chars, 252);
	assert_int_equal(check_batches(&x.p), 2);
	planned_free(&x);
	free(t);
	free(old);
}

static void test_cname_replacing_a_stays_in_one_batch(void **state)
{
	(void)state;
	/* 999 additions (a1..) then, at "www", an A deleted and a CNAME added:
	 * the pair must not straddle the batch boundary, DELETE first. */
	char *old = zone_of_hosts(0, "www 300 A 192.0.2.1\n");
	char *t = big_text(200000);
	size_t o = (size_t)sprintf(t, "$ORIGIN example.com.\n" SOA "www 300 CNAME h0\n");
	for (int i = 0; i < 999; i++) {
		o += (size_t)sprintf(t + o, "a%d 300 A 192.0.2.9\n", i);
	}
	char err[512];
	struct planned x = { 0 };
	assert_int_equal(plan_of(&x, old, t, true, err), 0);
	size_t del = SIZE_MAX, add = SIZE_MAX;
	for (size_t i = 0; i < x.p.count; i++) {
		if (x.p.change[i].set->type == KNOT_RRTYPE_CNAME) {
			add = i;
		} else if (x.p.change[i].action == R53_DELETE) {
			del = i;
		}
	}
	assert_true(del != SIZE_MAX && add == del + 1);
	assert_int_equal(x.p.change[add].action, R53_CREATE);
	/* 1001 records: two batches, the www pair wholly in the second. */
	assert_int_equal(check_batches(&x.p), 2);
	assert_true(x.p.batch_end[0] <= del);
	planned_free(&x);
	free(old);
	free(t);
}

static void test_apex_soa_ns_never_deleted_or_created(void **state)
{
	(void)state;
	char err[512];
	struct planned x = { 0 };
	/* The old side has apex NS the new lacks (a view with apex-ns sync
	 * against a primary without...): never a DELETE; an apex SOA addition
	 * is an UPSERT even when known absent. */
	const char *old = "$ORIGIN example.com.\n@ 300 SOA ns hm 1 2 3 4 5\n@ 300 NS ns\n";
	const char *new = "$ORIGIN example.com.\n@ 300 SOA ns hm 2 2 3 4 5\nx 300 A 192.0.2.1\n";
	assert_int_equal(plan_of(&x, old, new, true, err), 0);
	for (size_t i = 0; i < x.p.count; i++) {
		assert_int_not_equal(x.p.change[i].action, R53_DELETE);
	}
	assert_int_equal(x.p.count, 2); /* SOA UPSERT, x CREATE */
	assert_int_equal(x.p.change[0].set->type, KNOT_RRTYPE_SOA);
	assert_int_equal(x.p.change[0].action, R53_UPSERT);
	planned_free(&x);
}

static void test_too_many_values(void **state)
{
	(void)state;
	char *t = big_text(100000);
	size_t o = (size_t)sprintf(t, "$ORIGIN example.com.\n" SOA);
	for (int i = 0; i < 401; i++) {
		o += (size_t)sprintf(t + o, "big 300 A 10.0.%d.%d\n", i / 250, i % 250);
	}
	char *old = zone_of_hosts(0, "");
	char err[512] = "";
	struct planned x = { 0 };
	assert_int_equal(plan_of(&x, old, t, true, err), -E2BIG);
	assert_non_null(strstr(err, "big.example.com. A: 401 values"));
	planned_free(&x);
	free(t);
	free(old);
}

static const char PAGE[] =
        "<?xml version=\"1.0\"?>\n"
        "<ListResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
        "<ResourceRecordSets>"
        "<ResourceRecordSet><Name>example.com.</Name><Type>NS</Type><TTL>172800</TTL>"
        "<ResourceRecords><ResourceRecord><Value>ns-1.awsdns-1.com.</Value></ResourceRecord>"
        "</ResourceRecords></ResourceRecordSet>"
        "<ResourceRecordSet><Name>\\052.example.com.</Name><Type>TXT</Type><TTL>60</TTL>"
        "<ResourceRecords><ResourceRecord><Value>\"a\\040b\" \"\\303\\251\\\"q\"</Value>"
        "</ResourceRecord></ResourceRecords></ResourceRecordSet>"
        "<ResourceRecordSet><Name>alias.example.com.</Name><Type>A</Type>"
        "<AliasTarget><HostedZoneId>Z1</HostedZoneId><DNSName>x.</DNSName>"
        "<EvaluateTargetHealth>false</EvaluateTargetHealth></AliasTarget></ResourceRecordSet>"
        "<ResourceRecordSet><Name>w.example.com.</Name><Type>A</Type>"
        "<SetIdentifier>one</SetIdentifier><Weight>1</Weight><TTL>60</TTL><ResourceRecords>"
        "<ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords>"
        "</ResourceRecordSet>"
        "<ResourceRecordSet><Name>mx.example.com.</Name><Type>MX</Type><TTL>300</TTL>"
        "<ResourceRecords><ResourceRecord><Value>10 MAIL.example.com.</Value></ResourceRecord>"
        "<ResourceRecord><Value>20 mail2.example.com</Value></ResourceRecord>"
        "</ResourceRecords></ResourceRecordSet>"
        "</ResourceRecordSets><IsTruncated>true</IsTruncated>"
        "<NextRecordName>next.example.com.</NextRecordName><NextRecordType>A</NextRecordType>"
        "<MaxItems>300</MaxItems></ListResourceRecordSetsResponse>";

static void test_parse_rrsets(void **state)
{
	(void)state;
	zone_t z;
	zone_init(&z);
	knot_dname_storage_t apex;
	dns_name_from_str("example.com.", apex);
	zone_set_apex(&z, apex);
	target_foreign_t foreign = { 0 };
	r53_next_t next;
	char err[512] = "";
	r53_raw_t raw = { 0 };
	assert_int_equal(r53_parse_rrsets(PAGE, strlen(PAGE), &z, &raw, &foreign, &next, err, 512), 0);
	assert_int_equal(zone_finish(&z), 0);
	/* A DELETE repeats the values as listed, not as we would write them. */
	zone_rrset_t mx;
	knot_dname_storage_t mxname;
	dns_name_from_str("mx.example.com.", mxname);
	assert_true(zone_find(&z, mxname, KNOT_RRTYPE_MX, &mx));
	assert_string_equal(r53_raw_find(&raw, &mx, 0), "10 MAIL.example.com.");
	assert_string_equal(r53_raw_find(&raw, &mx, 1), "20 mail2.example.com");
	r53_raw_free(&raw);
	/* The alias and the weighted set, named for plan. */
	assert_int_equal(foreign.count, 2);
	assert_string_equal(foreign.set[0].why, "alias");
	assert_string_equal(foreign.set[1].why, "routing policy");
	target_foreign_free(&foreign);
	assert_true(next.truncated);
	assert_string_equal(next.name, "next.example.com.");
	assert_string_equal(next.type, "A");
	/* Every set of the page counts, those left alone too: a listing's
	 * bounds are in sets a page. */
	assert_int_equal(next.sets, 5);
	assert_int_equal(z.count, 4);
	/* The same records written as zone text. */
	zone_t want;
	load_ok(&want, "$ORIGIN example.com.\n@ 300 SOA ns hm 1 2 3 4 5\n"
	               "@ 172800 NS ns-1.awsdns-1.com.\n"
	               "* 60 TXT \"a b\" \"\\195\\169\\\"q\"\n"
	               "mx 300 MX 10 mail.example.com.\nmx 300 MX 20 mail2.example.com.\n");
	zone_diff_t d;
	/* Only the SOA differs (the page has none). */
	assert_int_equal(zone_diff(&z, &want, &d), 0);
	assert_int_equal(d.count, 1);
	assert_int_equal(d.change[0].new.type, KNOT_RRTYPE_SOA);
	zone_diff_free(&d);
	zone_free(&want);
	zone_free(&z);
}

/* TXT and SPF values in the form zonesync wrote before issue 14 (a space as
 * \040): the same rdata as the plain form, so no change; a DELETE repeats
 * the listed text, an UPSERT sends the new form. */
static const char OLD_PAGE[] =
        "<?xml version=\"1.0\"?>\n"
        "<ListResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
        "<ResourceRecordSets>"
        "<ResourceRecordSet><Name>example.com.</Name><Type>TXT</Type><TTL>300</TTL>"
        "<ResourceRecords><ResourceRecord><Value>\"v=spf1\\040mx\\040-all\"</Value>"
        "</ResourceRecord></ResourceRecords></ResourceRecordSet>"
        "<ResourceRecordSet><Name>spf.example.com.</Name><Type>SPF</Type><TTL>300</TTL>"
        "<ResourceRecords><ResourceRecord><Value>\"v=spf1\\040-all\"</Value>"
        "</ResourceRecord></ResourceRecords></ResourceRecordSet>"
        "<ResourceRecordSet><Name>t.example.com.</Name><Type>TXT</Type><TTL>300</TTL>"
        "<ResourceRecords><ResourceRecord><Value>\"say\\040\\\"hi\\\"\\040\\\\o/\"</Value>"
        "</ResourceRecord></ResourceRecords></ResourceRecordSet>"
        "<ResourceRecordSet><Name>u.example.com.</Name><Type>TXT</Type><TTL>300</TTL>"
        "<ResourceRecords><ResourceRecord><Value>\"a\\040b\"</Value>"
        "</ResourceRecord></ResourceRecords></ResourceRecordSet>"
        "</ResourceRecordSets><IsTruncated>false</IsTruncated>"
        "<MaxItems>300</MaxItems></ListResourceRecordSetsResponse>";

static void test_old_txt_form(void **state)
{
	(void)state;
	zone_t live;
	zone_init(&live);
	knot_dname_storage_t apex;
	dns_name_from_str("example.com.", apex);
	zone_set_apex(&live, apex);
	r53_next_t next;
	char err[512] = "";
	r53_raw_t raw = { 0 };
	assert_int_equal(
	        r53_parse_rrsets(OLD_PAGE, strlen(OLD_PAGE), &live, &raw, NULL, &next, err, 512),
	        0);
	assert_int_equal(zone_finish(&live), 0);
	assert_int_equal(live.count, 4);

	/* The zone as people write it: only the SOA (not on the page) differs. */
	zone_t same;
	load_ok(&same, "$ORIGIN example.com.\n@ 300 SOA ns hm 1 2 3 4 5\n"
	               "@ 300 TXT \"v=spf1 mx -all\"\nspf 300 SPF \"v=spf1 -all\"\n"
	               "t 300 TXT \"say \\\"hi\\\" \\\\o/\"\nu 300 TXT \"a b\"\n");
	zone_diff_t d;
	assert_int_equal(zone_diff(&live, &same, &d), 0);
	assert_int_equal(d.count, 1);
	assert_int_equal(d.change[0].new.type, KNOT_RRTYPE_SOA);
	zone_diff_free(&d);
	zone_free(&same);

	/* t deleted, u changed: the DELETE sends t's text as listed, the
	 * UPSERT u's new value as people write it. */
	zone_t want;
	load_ok(&want, "$ORIGIN example.com.\n@ 300 SOA ns hm 1 2 3 4 5\n"
	               "@ 300 TXT \"v=spf1 mx -all\"\nspf 300 SPF \"v=spf1 -all\"\n"
	               "u 300 TXT \"a b\" \"c\"\n");
	assert_int_equal(zone_diff(&live, &want, &d), 0);
	r53_plan_t p;
	assert_int_equal(r53_plan(&d, apex, &raw, &p, err, 512), 0);
	size_t deletes = 0, upserts = 0;
	for (size_t i = 0; i < p.count; i++) {
		const r53_change_t *c = &p.change[i];
		if (c->set->type == KNOT_RRTYPE_SOA) {
			continue;
		}
		assert_int_equal(c->set->type, KNOT_RRTYPE_TXT);
		assert_int_equal(c->set->count, 1);
		if (c->action == R53_DELETE) {
			assert_string_equal(c->values[0], "\"say\\040\\\"hi\\\"\\040\\\\o/\"");
			deletes++;
		} else {
			assert_int_equal(c->action, R53_UPSERT);
			assert_string_equal(c->values[0], "\"a b\" \"c\"");
			upserts++;
		}
	}
	assert_int_equal(deletes, 1);
	assert_int_equal(upserts, 1);
	r53_plan_free(&p);
	zone_diff_free(&d);
	zone_free(&want);
	r53_raw_free(&raw);
	zone_free(&live);
}

static void test_parse_rrsets_errors(void **state)
{
	(void)state;
	zone_t z;
	zone_init(&z);
	target_foreign_t foreign = { 0 };
	r53_next_t next;
	char err[512] = "";
	const char *bad_ttl =
	        "<ListResourceRecordSetsResponse><ResourceRecordSets><ResourceRecordSet>"
	        "<Name>a.example.com.</Name><Type>A</Type><TTL>x1</TTL></ResourceRecordSet>"
	        "</ResourceRecordSets><IsTruncated>false</IsTruncated>"
	        "</ListResourceRecordSetsResponse>";
	assert_int_equal(r53_parse_rrsets(bad_ttl, strlen(bad_ttl), &z, NULL, &foreign, &next, err, 512),
	                 -EINVAL);
	assert_non_null(strstr(err, "a.example.com.' A: bad TTL 'x1'"));
	assert_int_equal(r53_parse_rrsets("<x", 2, &z, NULL, &foreign, &next, err, 512), -EINVAL);
	/* An unreadable value: the set is left alone, the rest read. */
	const char *bad_value =
	        "<ListResourceRecordSetsResponse><ResourceRecordSets><ResourceRecordSet>"
	        "<Name>a.example.com.</Name><Type>A</Type><TTL>1</TTL><ResourceRecords>"
	        "<ResourceRecord><Value>192.0.2.1</Value></ResourceRecord>"
	        "<ResourceRecord><Value>not-an-address</Value></ResourceRecord>"
	        "</ResourceRecords></ResourceRecordSet></ResourceRecordSets>"
	        "<IsTruncated>false</IsTruncated></ListResourceRecordSetsResponse>";
	assert_int_equal(
	        r53_parse_rrsets(bad_value, strlen(bad_value), &z, NULL, &foreign, &next, err, 512), 0);
	assert_int_equal(foreign.count, 1);
	assert_string_equal(foreign.set[0].name, "a.example.com.");
	assert_string_equal(foreign.set[0].type, "A");
	target_foreign_free(&foreign);
	assert_int_equal(z.count, 0);
	zone_free(&z);
}

static void test_parse_errors_both_forms(void **state)
{
	(void)state;
	char code[64], msg[512];
	const char *e1 = "<ErrorResponse xmlns=\"x\"><Error><Type>Sender</Type><Code>Throttling</Code>"
	                 "<Message>Rate exceeded</Message></Error><RequestId>r</RequestId>"
	                 "</ErrorResponse>";
	assert_int_equal(r53_parse_error(e1, strlen(e1), code, 64, msg, 512), 0);
	assert_string_equal(code, "Throttling");
	assert_string_equal(msg, "Rate exceeded");
	const char *e2 = "<InvalidChangeBatch xmlns=\"x\"><Messages><Message>one</Message>"
	                 "<Message>two</Message></Messages><RequestId>r</RequestId>"
	                 "</InvalidChangeBatch>";
	assert_int_equal(r53_parse_error(e2, strlen(e2), code, 64, msg, 512), 0);
	assert_string_equal(code, "InvalidChangeBatch");
	assert_string_equal(msg, "one; two");
	assert_int_equal(r53_parse_error("nope", 4, code, 64, msg, 512), -EINVAL);
}

/*
 * Which failed answers are sent again: Route 53 throttles with 400 and the
 * code Throttling (as well as 429), which a check of the status alone takes
 * for a bad request and gives up on; a 400 of any other code (an invalid
 * batch) is final.  Fails if any row's class changes.
 */
static void test_retry_class(void **state)
{
	(void)state;
	static const struct {
		long status;
		const char *code;
		r53_retry_t want;
	} cases[] = {
		{ 400, "Throttling", R53_THROTTLED },
		{ 429, "", R53_THROTTLED },
		{ 0, "", R53_RETRY }, /* no answer */
		{ 500, "", R53_RETRY },
		{ 502, "", R53_RETRY },
		{ 503, "", R53_RETRY },
		{ 504, "", R53_RETRY },
		{ 400, "PriorRequestNotComplete", R53_RETRY },
		{ 400, "InvalidChangeBatch", R53_GIVE_UP },
		{ 400, "InvalidInput", R53_GIVE_UP },
		{ 403, "SignatureDoesNotMatch", R53_GIVE_UP },
		{ 404, "NoSuchHostedZone", R53_GIVE_UP },
		{ 501, "", R53_GIVE_UP },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (r53_retry_class(cases[i].status, cases[i].code) != cases[i].want) {
			fail_msg("status %ld code \"%s\": class %d, want %d", cases[i].status,
			         cases[i].code, r53_retry_class(cases[i].status, cases[i].code),
			         cases[i].want);
		}
	}
}

static void test_parse_zone_list(void **state)
{
	(void)state;
	r53_zones_t z = { 0 };
	r53_zone_next_t next;
	char err[256];
	/* A page: a private and a public zone of one name, another name in
	 * capitals, a zone without an id (left out); truncated. */
	const char *p1 =
	        "<ListHostedZonesResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	        "<HostedZones>"
	        "<HostedZone><Id>/hostedzone/ZPRIV</Id><Name>example.com.</Name>"
	        "<CallerReference>r1</CallerReference>"
	        "<Config><Comment>c</Comment><PrivateZone>true</PrivateZone></Config>"
	        "<ResourceRecordSetCount>2</ResourceRecordSetCount></HostedZone>"
	        "<HostedZone><Id>/hostedzone/ZPUB</Id><Name>example.com.</Name>"
	        "<Config><PrivateZone>false</PrivateZone></Config></HostedZone>"
	        "<HostedZone><Id>/hostedzone/ZNET</Id><Name>Example.NET.</Name></HostedZone>"
	        "<HostedZone><Name>noid.example.</Name></HostedZone>"
	        "</HostedZones><Marker></Marker><IsTruncated>true</IsTruncated>"
	        "<NextMarker>ZNEXT</NextMarker><MaxItems>100</MaxItems></ListHostedZonesResponse>";
	assert_int_equal(r53_parse_zone_list(p1, strlen(p1), &z, 100, &next, err, sizeof(err)), 0);
	assert_int_equal(next.zones, 4);
	assert_true(next.truncated);
	assert_string_equal(next.marker, "ZNEXT");
	assert_int_equal(z.count, 3);
	/* The last page: a sub-zone. */
	const char *p2 = "<ListHostedZonesResponse><HostedZones>"
	                 "<HostedZone><Id>ZSUB</Id><Name>sub.example.com</Name>"
	                 "<Config><PrivateZone>false</PrivateZone></Config></HostedZone>"
	                 "</HostedZones><IsTruncated>false</IsTruncated></ListHostedZonesResponse>";
	assert_int_equal(r53_parse_zone_list(p2, strlen(p2), &z, 100, &next, err, sizeof(err)), 0);
	assert_false(next.truncated);
	assert_int_equal(z.count, 4);
	r53_zones_sort(&z);

	knot_dname_storage_t name;
	size_t first, n;
	dns_name_from_str("EXAMPLE.com.", name);
	n = r53_zones_find(&z, name, &first);
	assert_int_equal(n, 2);
	assert_string_equal(z.e[first].id, "ZPRIV"); /* by id within a name */
	assert_true(z.e[first].private_zone);
	assert_string_equal(z.e[first + 1].id, "ZPUB");
	assert_false(z.e[first + 1].private_zone);
	dns_name_from_str("example.net.", name);
	assert_int_equal(r53_zones_find(&z, name, &first), 1);
	assert_string_equal(z.e[first].id, "ZNET");
	dns_name_from_str("sub.example.com.", name);
	assert_int_equal(r53_zones_find(&z, name, &first), 1);
	dns_name_from_str("com.", name);
	assert_int_equal(r53_zones_find(&z, name, &first), 0);
	dns_name_from_str("example.org.", name);
	assert_int_equal(r53_zones_find(&z, name, &first), 0);

	/* Dropped (NoSuchHostedZone), added (created), found again. */
	r53_zones_drop(&z, "ZPUB");
	dns_name_from_str("example.com.", name);
	assert_int_equal(r53_zones_find(&z, name, &first), 1);
	assert_int_equal(r53_zones_add(&z, name, "ZNEW", false), 0);
	r53_zones_sort(&z);
	assert_int_equal(r53_zones_find(&z, name, &first), 2);
	assert_string_equal(z.e[first].id, "ZNEW");

	/* Bounded; not a listing; truncated without a marker. */
	assert_int_equal(r53_parse_zone_list(p2, strlen(p2), &z, z.count, &next, err,
	                                     sizeof(err)),
	                 -EFBIG);
	const char *bad = "<ListHostedZonesByNameResponse/>";
	assert_int_equal(r53_parse_zone_list(bad, strlen(bad), &z, 100, &next, err, sizeof(err)),
	                 -EINVAL);
	const char *nomark = "<ListHostedZonesResponse><HostedZones/><IsTruncated>true"
	                     "</IsTruncated></ListHostedZonesResponse>";
	assert_int_equal(r53_parse_zone_list(nomark, strlen(nomark), &z, 100, &next, err,
	                                     sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "NextMarker"));
	r53_zones_free(&z);

	/* Many zones: found by bisection, each. */
	for (int i = 0; i < 3000; i++) {
		char text[64], id[32];
		snprintf(text, sizeof(text), "z%d.example.", (i * 7919) % 3000);
		snprintf(id, sizeof(id), "Z%d", (i * 7919) % 3000);
		dns_name_from_str(text, name);
		assert_int_equal(r53_zones_add(&z, name, id, i % 2 == 0), 0);
	}
	r53_zones_sort(&z);
	for (int i = 0; i < 3000; i += 97) {
		char text[64], id[32];
		snprintf(text, sizeof(text), "Z%d.EXAMPLE.", i);
		snprintf(id, sizeof(id), "Z%d", i);
		dns_name_from_str(text, name);
		assert_int_equal(r53_zones_find(&z, name, &first), 1);
		assert_string_equal(z.e[first].id, id);
	}
	r53_zones_free(&z);
}

static void test_parse_zone_info(void **state)
{
	(void)state;
	r53_zone_info_t info;
	/* CreateHostedZone's answer: id and delegation set. */
	const char *created =
	        "<CreateHostedZoneResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
	        "<HostedZone><Id>/hostedzone/ZNEW</Id><Name>example.com.</Name>"
	        "<CallerReference>zonesync-x</CallerReference><Config><Comment>zonesync</Comment>"
	        "<PrivateZone>false</PrivateZone></Config></HostedZone>"
	        "<ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status></ChangeInfo>"
	        "<DelegationSet><NameServers><NameServer>ns-1.awsdns-01.COM</NameServer>"
	        "<NameServer>ns-2.awsdns-02.net.</NameServer></NameServers></DelegationSet>"
	        "</CreateHostedZoneResponse>";
	assert_int_equal(r53_parse_zone_info(created, strlen(created), &info), 0);
	assert_string_equal(info.id, "ZNEW");
	assert_false(info.private_zone);
	assert_int_equal(info.ns, 2);
	knot_dname_storage_t ns1;
	dns_name_from_str("ns-1.awsdns-01.com.", ns1);
	assert_true(knot_dname_is_equal(info.nameserver[0], ns1));
	assert_int_equal(info.vpcs, 0);
	/* GetHostedZone of a private zone: its VPCs, no delegation set. */
	const char *priv =
	        "<GetHostedZoneResponse><HostedZone><Id>/hostedzone/ZP</Id>"
	        "<Name>example.com.</Name><Config><PrivateZone>true</PrivateZone></Config>"
	        "</HostedZone><VPCs><VPC><VPCRegion>us-east-1</VPCRegion><VPCId>vpc-1</VPCId>"
	        "</VPC><VPC><VPCRegion>eu-west-1</VPCRegion><VPCId>vpc-2</VPCId></VPC></VPCs>"
	        "</GetHostedZoneResponse>";
	assert_int_equal(r53_parse_zone_info(priv, strlen(priv), &info), 0);
	assert_true(info.private_zone);
	assert_int_equal(info.vpcs, 2);
	assert_string_equal(info.vpc[1], "vpc-2");
	assert_int_equal(info.ns, 0);
	/* Neither answer, or no id. */
	const char *other = "<ListHostedZonesResponse/>";
	assert_int_equal(r53_parse_zone_info(other, strlen(other), &info), -EINVAL);
	const char *noid = "<GetHostedZoneResponse><HostedZone><Name>a.</Name></HostedZone>"
	                   "</GetHostedZoneResponse>";
	assert_int_equal(r53_parse_zone_info(noid, strlen(noid), &info), -EINVAL);
	assert_int_equal(r53_parse_zone_info("<a", 2, &info), -EINVAL);
}

static void value_round(const char *zone_line, uint16_t type, const char *r53)
{
	char text[512];
	snprintf(text, sizeof(text), "$ORIGIN example.com.\n" SOA "%s\n", zone_line);
	zone_t z;
	load_ok(&z, text);
	zone_rrset_t s;
	size_t pos = 0;
	do {
		assert_true(zone_rrset_next(&z, &pos, &s));
	} while (s.type != type);
	knot_rrset_t rr;
	knot_dname_storage_t owner;
	uint8_t *buf = NULL;
	size_t bsize = 0;
	char *v = NULL;
	size_t vsize = 0;
	assert_int_equal(zone_rrset_to_knot(&s, &rr, owner, &buf, &bsize), 0);
	zs_scanner_t *sc = dns_scanner_new();
	assert_true(r53_value_from_rr(&rr, 0, NULL, &v, &vsize) > 0);
	assert_string_equal(v, r53);
	assert_true(r53_value_from_rr(&rr, 0, sc, &v, &vsize) > 0); /* checked form */
	/* And back to the same rdata. */
	uint8_t rd[DNS_RDATA_MAX];
	int n = r53_value_to_rdata(sc, type, v, rd, sizeof(rd));
	assert_int_equal(n, s.rr[0].rd->len);
	assert_memory_equal(rd, s.rr[0].rd->data, (size_t)n);
	dns_scanner_free(sc);
	free(v);
	free(buf);
	zone_free(&z);
}

static void test_values(void **state)
{
	(void)state;
	value_round("m MX 10 Mail.Example.com.", KNOT_RRTYPE_MX, "10 mail.example.com.");
	value_round("c CAA 0 issue \"letsencrypt.org\"", KNOT_RRTYPE_CAA,
	            "0 issue \"letsencrypt.org\"");
	value_round("t TXT \"caf\\195\\169\" \"q\\\"\"", KNOT_RRTYPE_TXT,
	            "\"caf\\303\\251\" \"q\\\"\"");
	value_round("s SRV 1 2 443 t.example.com.", KNOT_RRTYPE_SRV, "1 2 443 t.example.com.");
	/* ';' and parentheses inside quotes are data, not zone-file syntax. */
	value_round("c CAA 0 issue \"ca.example.net; account=230123\"", KNOT_RRTYPE_CAA,
	            "0 issue \"ca.example.net; account=230123\"");
	value_round("n NAPTR 100 10 \"u\" \"E2U+sip\" \"!^(.*)$!sip:\\\\1@x.example!\" .",
	            KNOT_RRTYPE_NAPTR, "100 10 \"u\" \"E2U+sip\" \"!^(.*)$!sip:\\\\1@x.example!\" .");
	value_round("h HTTPS 1 . alpn=h2", KNOT_RRTYPE_HTTPS, "1 . alpn=h2");
	/* A name with an odd byte inside rdata: decimal in zone text, octal for
	 * Route 53. */
	value_round("p PTR a\\032b.example.com.", KNOT_RRTYPE_PTR, "a\\040b.example.com.");
	/* Values that must not parse. */
	zs_scanner_t *sc = dns_scanner_new();
	uint8_t rd[DNS_RDATA_MAX];
	assert_true(r53_value_to_rdata(sc, KNOT_RRTYPE_A, "1.2.3", rd, sizeof(rd)) < 0);
	assert_true(r53_value_to_rdata(sc, KNOT_RRTYPE_A, "1.2.3.4\nx A 1.2.3.4", rd,
	                               sizeof(rd)) < 0);
	assert_true(r53_value_to_rdata(sc, KNOT_RRTYPE_A, "1.2.3.4", rd, sizeof(rd)) == 4);
	/* A parenthesis opens a multi-line group in zone text: the scanner
	 * must not carry that state into the next value (found by fuzzing). */
	r53_value_to_rdata(sc, KNOT_RRTYPE_CAA, "1 issue( \"ca.example\"", rd, sizeof(rd));
	assert_int_equal(r53_value_to_rdata(sc, KNOT_RRTYPE_HTTPS, "1 . alpn=h2,h3 port=443", rd,
	                                    sizeof(rd)),
	                 19);
	dns_scanner_free(sc);
}

static bool only_a(uint16_t t)
{
	return t == KNOT_RRTYPE_A || t == KNOT_RRTYPE_SOA || t == KNOT_RRTYPE_NS;
}

static void test_view(void **state)
{
	(void)state;
	zone_t z;
	load_ok(&z, "$ORIGIN example.com.\n" SOA "a 300 A 192.0.2.1\na 300 RRSIG A 13 3 300 "
	            "20300101000000 20200101000000 1 example.com. AAAA\n"
	            "b 300 NSEC c A\nsub 300 NS ns.sub\n*.w 300 NS ns.w\n");
	zone_view_rules_t r = { .type_ok = only_a, .no_wildcard_ns = true };
	zone_t v;
	zone_view_skipped_t sk = { 0 };
	assert_int_equal(zone_view(&z, &r, &v, &sk), 0);
	/* a/A and sub/NS stay; apex SOA and NS out by policy (not counted). */
	assert_int_equal(v.rrsets, 2);
	assert_int_equal(sk.rrsets, 3); /* RRSIG, NSEC, the wildcard NS */
	assert_int_equal(sk.count, 3);
	assert_int_equal(sk.skip[0].type, KNOT_RRTYPE_NS);
	zone_view_free(&v);
	zone_view_skipped_free(&sk);
	r.apex_soa = r.apex_ns = true;
	assert_int_equal(zone_view(&z, &r, &v, NULL), 0);
	assert_int_equal(v.rrsets, 4);
	zone_view_free(&v);
	zone_free(&z);
}

/* Two hosts: every batch of a fenced push starts with DELETE of the SOA the
 * provider holds (read, then as the first batch left it) + CREATE of ours. */
static void check_fenced(const r53_plan_t *p, const zone_rrset_t *old, const zone_rrset_t *new)
{
	size_t from = 0;
	for (size_t b = 0; b < p->nbatches; b++) {
		const r53_change_t *d = &p->change[from], *c = &p->change[from + 1];
		assert_true(p->batch_end[b] >= from + 2);
		assert_int_equal(d->action, R53_DELETE);
		assert_int_equal(d->set->type, KNOT_RRTYPE_SOA);
		assert_ptr_equal(d->set, b == 0 ? old : new);
		assert_int_equal(c->action, R53_CREATE);
		assert_ptr_equal(c->set, new);
		for (size_t i = from + 2; i < p->batch_end[b]; i++) {
			assert_int_not_equal(p->change[i].set->type, KNOT_RRTYPE_SOA);
		}
		from = p->batch_end[b];
	}
}

static void test_fenced_batches(void **state)
{
	(void)state;
	char err[512];
	struct planned x;
	char *new = zone_of_hosts(2500, "");
	memcpy(strstr(new, " hm 1 "), " hm 2 ", 6);
	load_ok(&x.old, "$ORIGIN example.com.\n" SOA);
	load_ok(&x.new, new);
	free(new);
	assert_int_equal(zone_diff(&x.old, &x.new, &x.d), 0);
	zone_rrset_t old_soa, new_soa;
	assert_true(zone_find(&x.old, x.old.apex, KNOT_RRTYPE_SOA, &old_soa));
	assert_true(zone_find(&x.new, x.new.apex, KNOT_RRTYPE_SOA, &new_soa));

	/* Unfenced: the SOA is one UPSERT in one batch. */
	assert_int_equal(r53_plan(&x.d, x.new.apex, NULL, &x.p, err, 512), 0);
	size_t soas = 0;
	for (size_t i = 0; i < x.p.count; i++) {
		soas += x.p.change[i].set->type == KNOT_RRTYPE_SOA;
	}
	assert_int_equal(soas, 1);
	r53_plan_free(&x.p);

	/* Fenced: 2,500 records need 3 batches (998 records and the fence). */
	assert_int_equal(r53_plan_fenced(&x.d, x.new.apex, NULL, &old_soa, &new_soa, &x.p, err,
	                                 512), 0);
	assert_int_equal(check_batches(&x.p), 3);
	check_fenced(&x.p, &old_soa, &new_soa);
	assert_string_equal(x.p.change[0].values[0], "ns.example.com. hm.example.com. 1 2 3 4 5");
	assert_string_equal(x.p.change[1].values[0], "ns.example.com. hm.example.com. 2 2 3 4 5");
	assert_string_equal(x.p.change[x.p.batch_end[0]].values[0],
	                    "ns.example.com. hm.example.com. 2 2 3 4 5");
	size_t records = 0;
	for (size_t i = 0; i < x.p.batch_end[0]; i++) {
		records += x.p.change[i].cost.records;
	}
	assert_int_equal(records, R53_MAX_RECORDS);
	r53_plan_free(&x.p);

	/* At our serial with other data: the fence deletes and creates the
	 * same SOA, so the batch still fails if another host moved it. */
	zone_diff_free(&x.d);
	zone_t same;
	char *t = zone_of_hosts(3, "");
	load_ok(&same, t);
	free(t);
	assert_int_equal(zone_diff(&x.old, &same, &x.d), 0);
	assert_int_equal(r53_plan_fenced(&x.d, same.apex, NULL, &old_soa, &old_soa, &x.p, err,
	                                 512), 0);
	assert_int_equal(x.p.nbatches, 1);
	assert_int_equal(x.p.count, 5);
	check_fenced(&x.p, &old_soa, &old_soa);
	zone_free(&same);
	planned_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches_fill_to_limits),
		cmocka_unit_test(test_upserts_count_twice),
		cmocka_unit_test(test_batches_count_characters),
		cmocka_unit_test(test_cname_replacing_a_stays_in_one_batch),
		cmocka_unit_test(test_apex_soa_ns_never_deleted_or_created),
		cmocka_unit_test(test_too_many_values),
		cmocka_unit_test(test_parse_rrsets),
		cmocka_unit_test(test_old_txt_form),
		cmocka_unit_test(test_parse_rrsets_errors),
		cmocka_unit_test(test_parse_errors_both_forms),
		cmocka_unit_test(test_retry_class),
		cmocka_unit_test(test_parse_zone_list),
		cmocka_unit_test(test_parse_zone_info),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_view),
		cmocka_unit_test(test_fenced_batches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
