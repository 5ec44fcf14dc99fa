/* PowerDNS target: zone JSON, error bodies, contents, PATCH bodies,
 * batching, API keys, the view. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>
#include <libknot/descriptor.h>
#include <libzscanner/scanner.h>

#include "conf/conf.h"
#include "target/target.h"
#include "dns/rdata.h"
#include "target/powerdns/pdnsjson.h"
#include "target/powerdns/powerdns.h"
#include "zone/view.h"

static void apex_zone(zone_t *z)
{
	knot_dname_storage_t apex;
	assert_true(dns_name_from_str("example.com.", apex) > 0);
	zone_init(z);
	zone_set_apex(z, apex);
}

/* --- the zone's JSON ------------------------------------------------------ */

static const char ZONE_JSON[] =
	"{\"id\": \"example.com.\", \"kind\": \"Native\", \"soa_edit_api\": \"\", \"rrsets\": ["
	"{\"name\": \"example.com.\", \"type\": \"SOA\", \"ttl\": 3600, \"comments\": [],"
	" \"records\": [{\"content\": \"ns1.example.com. hm.example.com. 7 3600 600 1209600 300\","
	" \"disabled\": false}]},"
	"{\"name\": \"WWW.Example.com.\", \"type\": \"A\", \"ttl\": 300, \"records\": ["
	" {\"content\": \"192.0.2.2\", \"disabled\": false},"
	" {\"content\": \"192.0.2.1\", \"disabled\": false}]},"
	"{\"name\": \"example.com.\", \"type\": \"MX\", \"ttl\": 3600, \"records\": ["
	" {\"content\": \"10 Mail.Example.COM.\", \"disabled\": false}]},"
	"{\"name\": \"txt.example.com.\", \"type\": \"TXT\", \"ttl\": 60, \"records\": ["
	" {\"content\": \"\\\"say \\\\\\\"hi\\\\\\\"\\\" \\\"caf\\\\195\\\\169\\\"\", \"disabled\": false}]},"
	"{\"name\": \"ipsec.example.com.\", \"type\": \"IPSECKEY\", \"ttl\": 60, \"records\": ["
	" {\"content\": \"10 0 2 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==\","
	" \"disabled\": false}]},"
	"{\"name\": \"raw.example.com.\", \"type\": \"TYPE65280\", \"ttl\": 60, \"records\": ["
	" {\"content\": \"\\\\# 3 0a0b0c\", \"disabled\": false}]},"
	/* Left alone: a disabled record, PowerDNS's own type, an unreadable
	 * content, a name outside the zone; a comment-only set is no data. */
	"{\"name\": \"off.example.com.\", \"type\": \"A\", \"ttl\": 60, \"records\": ["
	" {\"content\": \"192.0.2.9\", \"disabled\": false},"
	" {\"content\": \"192.0.2.8\", \"disabled\": true}]},"
	"{\"name\": \"alias.example.com.\", \"type\": \"ALIAS\", \"ttl\": 60, \"records\": ["
	" {\"content\": \"www.example.org.\", \"disabled\": false}]},"
	"{\"name\": \"bad.example.com.\", \"type\": \"A\", \"ttl\": 60, \"records\": ["
	" {\"content\": \"1.2.3\", \"disabled\": false}]},"
	"{\"name\": \"example.org.\", \"type\": \"A\", \"ttl\": 60, \"records\": ["
	" {\"content\": \"192.0.2.1\", \"disabled\": false}]},"
	"{\"name\": \"note.example.com.\", \"type\": \"A\", \"ttl\": 60, \"records\": [],"
	" \"comments\": [{\"content\": \"x\", \"account\": \"\", \"modified_at\": 1}]}"
	"]}";

static void test_parse_zone(void **state)
{
	(void)state;
	zone_t z, want;
	apex_zone(&z);
	pdns_zone_info_t info;
	char err[512] = "";
	assert_int_equal(pdns_parse_zone(ZONE_JSON, strlen(ZONE_JSON), &z, &info, err, 512), 0);
	assert_int_equal(zone_finish(&z), 0);
	assert_string_equal(info.kind, "Native");
	assert_string_equal(info.soa_edit_api, "");
	assert_int_equal(info.foreign, 4);
	assert_int_equal(info.disabled, 1);
	assert_int_equal(info.nsets, 2); /* the disabled and the unreadable set */

	load_ok(&want, "$ORIGIN example.com.\n"
	               "@ 3600 SOA ns1 hm 7 3600 600 1209600 300\n"
	               "@ 3600 MX 10 mail\n"
	               "www 300 A 192.0.2.1\nwww 300 A 192.0.2.2\n"
	               "txt 60 TXT \"say \\\"hi\\\"\" \"caf\\195\\169\"\n"
	               "ipsec 60 IPSECKEY 10 0 2 . AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==\n"
	               "raw 60 TYPE65280 \\# 3 0a0b0c\n");
	zone_diff_t d;
	assert_int_equal(zone_diff(&want, &z, &d), 0);
	if (d.count != 0) {
		char *a = zone_text(&z), *b = zone_text(&want);
		fail_msg("parsed:\n%s\nwanted:\n%s", a, b);
	}
	zone_diff_free(&d);

	zone_rrset_t s;
	assert_true(find_str(&z, "www.example.com.", KNOT_RRTYPE_A, &s));
	assert_false(pdns_zone_info_has(&info, &s));
	zone_t other;
	records(&other, "off 60 A 192.0.2.9\nbad 60 A 192.0.2.1\nbad 60 AAAA ::1\n");
	assert_true(find_str(&other, "off.example.com.", KNOT_RRTYPE_A, &s));
	assert_true(pdns_zone_info_has(&info, &s));
	assert_true(find_str(&other, "bad.example.com.", KNOT_RRTYPE_A, &s));
	assert_true(pdns_zone_info_has(&info, &s));
	assert_true(find_str(&other, "bad.example.com.", KNOT_RRTYPE_AAAA, &s));
	assert_false(pdns_zone_info_has(&info, &s));
	zone_free(&other);
	pdns_zone_info_free(&info);
	zone_free(&want);
	zone_free(&z);
}

static void parse_fails(const char *json, const char *msg)
{
	zone_t z;
	apex_zone(&z);
	pdns_zone_info_t info;
	char err[512] = "";
	assert_int_equal(pdns_parse_zone(json, strlen(json), &z, &info, err, 512), -EINVAL);
	if (strstr(err, msg) == NULL) {
		fail_msg("error '%s' lacks '%s'", err, msg);
	}
	pdns_zone_info_free(&info);
	zone_free(&z);
}

static void test_parse_zone_errors(void **state)
{
	(void)state;
	parse_fails("Not Found", "not JSON (line 1");
	parse_fails("[1]", "not a JSON object");
	parse_fails("{\"kind\": \"Native\"}", "no list of rrsets");
	parse_fails("{\"rrsets\": [{\"type\": \"A\"}]}", "rrsets[0]: not an object with a name");
	parse_fails("{\"rrsets\": [1]}", "rrsets[0]");
	parse_fails("{\"rrsets\": [{\"name\": \"www.example.com.\", \"type\": \"A\", \"ttl\": -1,"
	            " \"records\": [{\"content\": \"192.0.2.1\"}]}]}",
	            "rrset 'www.example.com.' A: no TTL");
	parse_fails("{\"rrsets\": [{\"name\": \"www.example.com.\", \"type\": \"A\", \"ttl\": 1,"
	            " \"records\": [{\"disabled\": false}]}]}",
	            "rrset 'www.example.com.' A: records[0] without a content");
	parse_fails("{\"rrsets\": [{\"name\": \"www.example.com.\", \"type\": \"A\", \"ttl\": 1,"
	            " \"records\": {}}]}",
	            "records is not a list");
	parse_fails("{\"rrsets\": [{\"name\": \"a..b.\", \"type\": \"A\", \"ttl\": 1,"
	            " \"records\": []}]}",
	            "rrset 'a..b.' A: not a domain name");
}

static void test_parse_error(void **state)
{
	(void)state;
	char msg[256];
	const char *j = "{\"error\": \"RRset x. IN CNAME: Conflicts with pre-existing RRset\"}";
	assert_int_equal(pdns_parse_error(j, strlen(j), msg, sizeof(msg)), 0);
	assert_string_equal(msg, "RRset x. IN CNAME: Conflicts with pre-existing RRset");
	assert_int_equal(pdns_parse_error("Unauthorized\n", 13, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "Unauthorized");
	assert_int_equal(pdns_parse_error(NULL, 0, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "(empty body)");
	assert_int_equal(pdns_parse_error("a\x01z", 3, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "a z");
}

/* Two hosts: the zone's serial, read right before a PATCH. */
static void test_parse_serial(void **state)
{
	(void)state;
	uint32_t serial = 0;
	const char *j = "{\"name\": \"example.com.\", \"serial\": 4294967295, \"rrsets\": []}";
	assert_int_equal(pdns_parse_serial(j, strlen(j), &serial), 0);
	assert_int_equal(serial, 4294967295u);
	static const char *const bad[] = { "{\"serial\": 4294967296}", "{\"serial\": -1}",
		                           "{\"serial\": \"7\"}", "{}", "[7]", "7", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pdns_parse_serial(bad[i], strlen(bad[i]), &serial), -EINVAL);
	}
	assert_int_equal(pdns_parse_serial(NULL, 0, &serial), -EINVAL);
}

/* --- contents --------------------------------------------------------------- */

/* The content text of the one record of zone text line, checked. */
static char *content_of(const char *line)
{
	zone_t z;
	records(&z, line);
	size_t pos = 0;
	zone_rrset_t s;
	assert_true(zone_rrset_next(&z, &pos, &s));
	knot_rrset_t rr;
	uint8_t owner[KNOT_DNAME_MAXLEN];
	uint8_t *buf = NULL;
	size_t bsize = 0, tsize = 0;
	char *text = NULL;
	assert_int_equal(zone_rrset_to_knot(&s, &rr, owner, &buf, &bsize), 0);
	zs_scanner_t *sc = dns_scanner_new();
	int n = pdns_content_from_rr(&rr, 0, sc, &text, &tsize);
	if (n < 0) {
		fail_msg("%s: %d", line, n);
	}
	dns_scanner_free(sc);
	free(buf);
	zone_free(&z);
	return text;
}

static void content_is(const char *line, const char *want)
{
	char *got = content_of(line);
	if (strcmp(got, want) != 0) {
		fail_msg("%s: '%s', want '%s'", line, got, want);
	}
	free(got);
}

static void test_contents(void **state)
{
	(void)state;
	content_is("a 60 A 192.0.2.1", "192.0.2.1");
	content_is("a 60 MX 10 Mail.example.com.", "10 mail.example.com.");
	content_is("a 60 TXT \"a\\\"b\" \"\\255\"", "\"a\\\"b\" \"\\255\"");
	/* PowerDNS's own LOC text (it refuses any other). */
	content_is("a 60 LOC 52 22 23 N 4 53 32 E -2m", "52 22 23.000 N 4 53 32.000 E -2.00m "
	                                               "1.00m 10000.00m 10.00m");
	content_is("a 60 LOC 0 0 0.001 S 179 59 59.999 W 100m 1000000m 1m 0.01m",
	           "0 0 0.001 S 179 59 59.999 W 100.00m 1000000.00m 1.00m 0.01m");
	/* An IPSECKEY without a gateway: no "." (PowerDNS's form). */
	content_is("a 60 IPSECKEY 10 0 2 . AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==",
	           "10 0 2 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==");
	content_is("a 60 IPSECKEY 10 1 2 192.0.2.1 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==",
	           "10 1 2 192.0.2.1 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==");
	/* Types PowerDNS does not parse: RFC 3597. */
	content_is("a 60 TYPE10 \\# 3 010203", "\\# 3 010203");
	content_is("a 60 RT 10 relay.example.com.", "\\# 21 000a0572656c6179076578616d706c6503636f6d00");
	content_is("a 60 TYPE65280 \\# 0", "\\# 0");
	assert_true(pdns_type_has_text(KNOT_RRTYPE_SVCB));
	assert_false(pdns_type_has_text(KNOT_RRTYPE_NULL));

	uint8_t rd[DNS_RDATA_MAX];
	zs_scanner_t *sc = dns_scanner_new();
	assert_int_equal(pdns_content_to_rdata(sc, KNOT_RRTYPE_A, "192.0.2.1", rd, sizeof(rd)), 4);
	assert_int_equal(pdns_content_to_rdata(sc, KNOT_RRTYPE_A, "1.2.3", rd, sizeof(rd)), -EINVAL);
	assert_int_equal(pdns_content_to_rdata(sc, KNOT_RRTYPE_A, "192.0.2.1\nx A 1.1.1.1", rd,
	                                       sizeof(rd)),
	                 -EINVAL);
	/* A parenthesis or an error leaves no state behind. */
	assert_int_equal(pdns_content_to_rdata(sc, KNOT_RRTYPE_TXT, "(\"a\"", rd, sizeof(rd)),
	                 -EINVAL);
	assert_int_equal(pdns_content_to_rdata(sc, KNOT_RRTYPE_TXT, "\"(\"", rd, sizeof(rd)), 2);
	assert_int_equal(pdns_content_to_rdata(sc, KNOT_RRTYPE_A, "192.0.2.1", rd, sizeof(rd)), 4);
	assert_int_equal(pdns_content_to_rdata(sc, KNOT_RRTYPE_NULL, "\\# 2 0102", rd, sizeof(rd)),
	                 2);
	dns_scanner_free(sc);
}

static void test_names(void **state)
{
	(void)state;
	struct {
		const char *name, *id;
		bool ok;
	} cases[] = {
		{ "example.com.", "example.com.", true },
		{ ".", "=2E", true },
		{ "_sip._tcp.Example.com.", "=5Fsip.=5Ftcp.example.com.", true },
		{ "*.wild.example.com.", "=2A.wild.example.com.", true },
		{ "0/24.2.0.192.in-addr.arpa.", "0=2F24.2.0.192.in-addr.arpa.", true },
		{ "a\\.b.example.com.", "a=5C.b.example.com.", false },
		{ "a.*.example.com.", "a.=2A.example.com.", false },
		{ "sp\\032ace.example.com.", "sp=5C032ace.example.com.", false },
		{ "par\\(en.example.com.", "par=5C=28en.example.com.", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		knot_dname_storage_t n;
		char id[256];
		assert_true(dns_name_from_str(cases[i].name, n) > 0);
		assert_true(pdns_zone_id(n, id, sizeof(id)) > 0);
		if (strcmp(id, cases[i].id) != 0) {
			fail_msg("%s: id '%s', want '%s'", cases[i].name, id, cases[i].id);
		}
		assert_true(strpbrk(id, "\\()*/_ ") == NULL);
		if (pdns_name_ok(n) != cases[i].ok) {
			fail_msg("%s: name_ok %d", cases[i].name, !cases[i].ok);
		}
	}
	knot_dname_storage_t n;
	char small[4];
	dns_name_from_str("example.com.", n);
	assert_int_equal(pdns_zone_id(n, small, sizeof(small)), -ENOSPC);
}

/* --- PATCH bodies and batches --------------------------------------------------- */

struct planned {
	zone_t old, new;
	zone_diff_t d;
	pdns_plan_t p;
};

static void plan_of(struct planned *x, const char *old, const char *new, size_t batch)
{
	records(&x->old, old);
	records(&x->new, new);
	assert_int_equal(zone_diff(&x->old, &x->new, &x->d), 0);
	assert_int_equal(pdns_plan(&x->d, batch, &x->p), 0);
}

static void planned_free(struct planned *x)
{
	pdns_plan_free(&x->p);
	zone_diff_free(&x->d);
	zone_free(&x->old);
	zone_free(&x->new);
}

/* Every change once, batches within the size, none empty; the count. */
static size_t check_plan(const struct planned *x, size_t batch)
{
	assert_int_equal(x->p.count, x->d.count);
	for (size_t i = 0; i < x->d.count; i++) {
		size_t seen = 0;
		for (size_t k = 0; k < x->p.count; k++) {
			seen += x->p.order[k] == &x->d.change[i];
		}
		assert_int_equal(seen, 1);
	}
	size_t from = 0;
	for (size_t b = 0; b < x->p.nbatches; b++) {
		assert_true(x->p.batch_end[b] > from);
		assert_true(batch == 0 || x->p.batch_end[b] - from <= batch);
		from = x->p.batch_end[b];
	}
	assert_int_equal(from, x->p.count);
	return x->p.nbatches;
}

static void test_plan_one_batch_deletes_first(void **state)
{
	(void)state;
	struct planned x;
	/* A CNAME replacing an A and a TXT: at "a" the deletions go first. */
	plan_of(&x, "a 60 A 192.0.2.1\na 60 TXT \"t\"\nb 60 A 192.0.2.2\nc 60 CNAME b\n",
	        "a 60 CNAME b\nb 60 A 192.0.2.3\nc 60 A 192.0.2.4\n", 0);
	assert_int_equal(check_plan(&x, 0), 1);
	const zone_change_t *const *o = (const zone_change_t *const *)x.p.order;
	assert_int_equal(x.p.count, 6);
	assert_int_equal(o[0]->kind, ZONE_CHANGE_DELETE);
	assert_int_equal(o[0]->old.type, KNOT_RRTYPE_A);
	assert_int_equal(o[1]->kind, ZONE_CHANGE_DELETE);
	assert_int_equal(o[1]->old.type, KNOT_RRTYPE_TXT);
	assert_int_equal(o[2]->kind, ZONE_CHANGE_ADD);
	assert_int_equal(o[2]->new.type, KNOT_RRTYPE_CNAME);
	assert_int_equal(o[3]->kind, ZONE_CHANGE_REPLACE);
	/* An A replacing a CNAME: the DELETE of the CNAME first. */
	assert_int_equal(o[4]->kind, ZONE_CHANGE_DELETE);
	assert_int_equal(o[4]->old.type, KNOT_RRTYPE_CNAME);
	assert_int_equal(o[5]->kind, ZONE_CHANGE_ADD);
	assert_int_equal(o[5]->new.type, KNOT_RRTYPE_A);
	planned_free(&x);

	plan_of(&x, "a 60 A 192.0.2.1\n", "a 60 A 192.0.2.1\n", 0);
	assert_int_equal(x.p.nbatches, 0);
	planned_free(&x);
}

static void test_plan_batch_size(void **state)
{
	(void)state;
	struct planned x;
	/* 10 single changes at 10 owners, 3 per batch: 3 3 3 1. */
	char *t = malloc(4096);
	size_t o = 0;
	for (int i = 0; i < 10; i++) {
		o += (size_t)sprintf(t + o, "h%d 60 A 192.0.2.%d\n", i, i);
	}
	plan_of(&x, "", t, 3);
	assert_int_equal(check_plan(&x, 3), 4);
	planned_free(&x);
	plan_of(&x, "", t, 1);
	assert_int_equal(check_plan(&x, 1), 10);
	planned_free(&x);
	plan_of(&x, "", t, 100000);
	assert_int_equal(check_plan(&x, 100000), 1);
	planned_free(&x);
	free(t);

	/* An owner's changes stay together when they fit: a(1) b(3) c(1) with
	 * batches of 3 -> [a] [b b b] [c], not [a b b] [b c]. */
	plan_of(&x, "b 60 A 192.0.2.1\nb 60 TXT \"x\"\n",
	        "a 60 A 192.0.2.1\nb 60 CNAME a\nc 60 A 192.0.2.3\n", 3);
	assert_int_equal(check_plan(&x, 3), 3);
	assert_int_equal(x.p.batch_end[0], 1);
	assert_int_equal(x.p.batch_end[1], 4);
	planned_free(&x);

	/* An owner with more changes than a batch: cut in order, deletions
	 * still first. */
	plan_of(&x, "b 60 A 192.0.2.1\nb 60 TXT \"x\"\nb 60 AAAA ::1\n",
	        "b 60 CNAME a\n", 2);
	assert_int_equal(check_plan(&x, 2), 2);
	assert_int_equal(x.p.order[0]->kind, ZONE_CHANGE_DELETE);
	assert_int_equal(x.p.order[1]->kind, ZONE_CHANGE_DELETE);
	assert_int_equal(x.p.order[2]->kind, ZONE_CHANGE_DELETE);
	assert_int_equal(x.p.order[3]->kind, ZONE_CHANGE_ADD);
	planned_free(&x);
}

static void test_patch_body(void **state)
{
	(void)state;
	struct planned x;
	plan_of(&x, "a 60 A 192.0.2.1\nn 60 TXT \"x\"\n",
	        "a 300 A 192.0.2.2\na 300 A 192.0.2.1\nr 60 RT 10 relay.example.com.\n", 0);
	zs_scanner_t *sc = dns_scanner_new();
	char *body = NULL, err[256] = "";
	size_t len = 0;
	assert_int_equal(pdns_patch_body((const zone_change_t *const *)x.p.order, 0, x.p.count, sc,
	                                 &body, &len, err, sizeof(err)),
	                 0);
	assert_int_equal(len, strlen(body));
	json_error_t je;
	json_t *root = json_loads(body, 0, &je);
	assert_non_null(root);
	json_t *rrsets = json_object_get(root, "rrsets");
	assert_int_equal(json_array_size(rrsets), 3);
	json_t *a = json_array_get(rrsets, 0);
	assert_string_equal(json_string_value(json_object_get(a, "name")), "a.example.com.");
	assert_string_equal(json_string_value(json_object_get(a, "type")), "A");
	assert_string_equal(json_string_value(json_object_get(a, "changetype")), "REPLACE");
	assert_int_equal(json_integer_value(json_object_get(a, "ttl")), 300);
	json_t *recs = json_object_get(a, "records");
	assert_int_equal(json_array_size(recs), 2);
	assert_string_equal(
	        json_string_value(json_object_get(json_array_get(recs, 0), "content")),
	        "192.0.2.1");
	assert_true(json_is_false(json_object_get(json_array_get(recs, 1), "disabled")));
	json_t *n = json_array_get(rrsets, 1);
	assert_string_equal(json_string_value(json_object_get(n, "changetype")), "DELETE");
	assert_null(json_object_get(n, "records"));
	json_t *r = json_array_get(rrsets, 2);
	assert_string_equal(json_string_value(json_object_get(r, "type")), "TYPE21");
	json_decref(root);
	free(body);

	knot_dname_storage_t apex;
	dns_name_from_str("example.com.", apex);
	char *create = pdns_create_body(apex);
	root = json_loads(create, 0, &je);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "name")), "example.com.");
	assert_string_equal(json_string_value(json_object_get(root, "kind")), "Native");
	assert_string_equal(json_string_value(json_object_get(root, "soa_edit_api")), "");
	assert_int_equal(json_array_size(json_object_get(root, "nameservers")), 0);
	json_decref(root);
	free(create);
	dns_scanner_free(sc);
	planned_free(&x);
}

/* --- open: the API key ------------------------------------------------------------- */

static int open_with(const char *keys, char *err, size_t errlen)
{
	char yaml[1024];
	snprintf(yaml, sizeof(yaml),
	         "primary:\n  - { id: p, address: [127.0.0.1] }\n"
	         "target:\n  - { id: pd, type: powerdns, url: \"http://127.0.0.1:1/\"%s }\n"
	         "zone:\n  - { domain: example.com, primary: p, target: pd }\n",
	         keys);
	conf_t conf;
	assert_int_equal(conf_load_string(&conf, "t.yaml", yaml, strlen(yaml), target_registry, stderr), 0);
	target_t *t = NULL;
	target_stats_t stats = { 0 };
	err[0] = '\0';
	int ret = powerdns_type.ops->open(&conf.target[0], &conf.zone[0], &t, &stats, err, errlen);
	if (ret == 0) {
		powerdns_type.ops->close(t);
	}
	assert_int_equal(stats.requests, 0); /* open sends nothing */
	conf_free(&conf);
	return ret;
}

static void test_api_key(void **state)
{
	(void)state;
	char err[512], path[] = "/tmp/zs-pdns-key-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "  s3cret \nignored\n", 18), 18);
	close(fd);
	char keys[256];
	snprintf(keys, sizeof(keys), ", api-key-file: %s", path);
	assert_int_equal(open_with(keys, err, sizeof(err)), 0);

	assert_int_equal(open_with("", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no API key: set api-key-file or api-key-env"));
	snprintf(keys, sizeof(keys), ", api-key-file: %s, api-key-env: ZS_K", path);
	assert_int_equal(open_with(keys, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "both set"));

	unsetenv("ZS_TEST_PDNS_KEY");
	assert_int_equal(open_with(", api-key-env: ZS_TEST_PDNS_KEY", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "api-key-env ZS_TEST_PDNS_KEY: no key"));
	setenv("ZS_TEST_PDNS_KEY", "k\x01y", 1);
	assert_int_equal(open_with(", api-key-env: ZS_TEST_PDNS_KEY", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "control character"));
	assert_null(strstr(err, "k\x01y"));
	setenv("ZS_TEST_PDNS_KEY", "key", 1);
	assert_int_equal(open_with(", api-key-env: ZS_TEST_PDNS_KEY", err, sizeof(err)), 0);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "\n s3cret\n", 9), 9);
	close(fd);
	snprintf(keys, sizeof(keys), ", api-key-file: %s", path);
	assert_int_equal(open_with(keys, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "the first line is empty"));
	unlink(path);
	assert_true(open_with(keys, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "api-key-file "));
	assert_non_null(strstr(err, ": no such file"));
}

/* --- the view ------------------------------------------------------------------------ */

static void test_view(void **state)
{
	(void)state;
	zone_t z, v;
	load_ok(&z, "$ORIGIN example.com.\n@ 300 SOA ns hm 1 2 3 4 5\n@ 300 NS ns\n"
	            "@ 300 DNSKEY 257 3 13 kXKkvWU3vGYfTJGl3qBd4qhiWp5aRs7YtkCJxD2d+t7KXqwahww5IgJt"
	            "xJT2yFItlggazyfXqJEVOmMJ3qT0tQ==\n"
	            "@ 300 CDS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef01234567"
	            "89abcdef\n"
	            "x 300 NSEC www.example.com. A NSEC\n"
	            "www 300 A 192.0.2.1\n*.w 300 NS ns\nm 300 TYPE7 \\# 1 00\n"
	            "r 300 RT 10 relay.example.com.\n");
	zone_view_rules_t rules = powerdns_type.ops->rules(NULL);
	zone_view_skipped_t sk = { 0 };
	assert_int_equal(zone_view(&z, &rules, &v, &sk), 0);
	zone_rrset_t s;
	assert_true(find_str(&v, "example.com.", KNOT_RRTYPE_SOA, &s));
	assert_true(find_str(&v, "example.com.", KNOT_RRTYPE_NS, &s));
	assert_true(find_str(&v, "*.w.example.com.", KNOT_RRTYPE_NS, &s));
	assert_true(find_str(&v, "r.example.com.", KNOT_RRTYPE_RT, &s));
	assert_int_equal(v.rrsets, 5);
	assert_int_equal(sk.rrsets, 4); /* DNSKEY, CDS, NSEC, TYPE7 (MB) */
	zone_view_skipped_free(&sk);
	zone_view_free(&v);
	zone_free(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_zone),
		cmocka_unit_test(test_parse_zone_errors),
		cmocka_unit_test(test_parse_error),
		cmocka_unit_test(test_parse_serial),
		cmocka_unit_test(test_contents),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_plan_one_batch_deletes_first),
		cmocka_unit_test(test_plan_batch_size),
		cmocka_unit_test(test_patch_body),
		cmocka_unit_test(test_api_key),
		cmocka_unit_test(test_view),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
