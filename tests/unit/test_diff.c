#include "helpers.h"

#include <libknot/descriptor.h>

#define HEAD "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
#define HEAD2 "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 2 7200 3600 1209600 300\n"

static char *change_str(const zone_change_t *c)
{
	static const char kinds[] = { '+', '-', '~' };
	const zone_rrset_t *s = c->kind == ZONE_CHANGE_ADD ? &c->new : &c->old;
	char name[DNS_NAME_STR_MAX], type[16];
	dns_key_to_str(s->key, s->keylen, name, sizeof(name));
	knot_rrtype_to_string(s->type, type, sizeof(type));
	char *buf = malloc(strlen(name) + 32);
	sprintf(buf, "%c %s %s", kinds[c->kind], name, type);
	return buf;
}

static void check_diff(const char *old_text, const char *new_text, const char *const *want,
                       size_t nwant)
{
	zone_t a, b;
	load_ok(&a, old_text);
	load_ok(&b, new_text);
	zone_diff_t d;
	assert_int_equal(zone_diff(&a, &b, &d), 0);
	assert_int_equal(d.count, nwant);
	size_t add = 0, del = 0, rep = 0;
	for (size_t i = 0; i < d.count; i++) {
		char *s = change_str(&d.change[i]);
		assert_string_equal(s, want[i]);
		free(s);
		add += d.change[i].kind == ZONE_CHANGE_ADD;
		del += d.change[i].kind == ZONE_CHANGE_DELETE;
		rep += d.change[i].kind == ZONE_CHANGE_REPLACE;
	}
	assert_int_equal(d.added, add);
	assert_int_equal(d.deleted, del);
	assert_int_equal(d.replaced, rep);
	zone_diff_free(&d);
	zone_free(&a);
	zone_free(&b);
}

static void test_equal(void **state)
{
	(void)state;
	check_diff(HEAD "www A 192.0.2.1\nwww A 192.0.2.2\n",
	           HEAD "www A 192.0.2.2\nWWW.example.com. A 192.0.2.1\n", NULL, 0);
}

static void test_add_delete_replace(void **state)
{
	(void)state;
	const char *want[] = { "~ example.com. SOA", "+ api.example.com. A",
		               "- old.example.com. TXT", "~ www.example.com. A",
		               "+ www.example.com. AAAA" };
	check_diff(HEAD "www A 192.0.2.1\nold TXT \"x\"\nsame MX 10 mx\n",
	           HEAD2 "www A 192.0.2.9\napi A 192.0.2.5\nsame MX 10 mx\nwww AAAA 2001:db8::1\n",
	           want, 5);
}

static void test_ttl_only(void **state)
{
	(void)state;
	const char *want[] = { "~ www.example.com. A" };
	check_diff(HEAD "www 300 A 192.0.2.1\n", HEAD "www 600 A 192.0.2.1\n", want, 1);
}

static void test_type_swap(void **state)
{
	(void)state;
	/* An A replaced by a CNAME: two RRsets, a delete and an add. */
	const char *want[] = { "- www.example.com. A", "+ www.example.com. CNAME" };
	check_diff(HEAD "www A 192.0.2.1\n", HEAD "www CNAME host.example.net.\n", want, 2);
}

static void test_member_change(void **state)
{
	(void)state;
	zone_t a, b;
	load_ok(&a, HEAD "ns NS a.example.net.\nns NS b.example.net.\nns NS c.example.net.\n");
	load_ok(&b, HEAD "ns NS a.example.net.\nns NS c.example.net.\nns NS d.example.net.\n");
	zone_diff_t d;
	assert_int_equal(zone_diff(&a, &b, &d), 0);
	assert_int_equal(d.count, 1);
	assert_int_equal(d.change[0].kind, ZONE_CHANGE_REPLACE);
	/* A change carries the whole old and new RRsets. */
	char *o = rrset_text(&d.change[0].old), *n = rrset_text(&d.change[0].new);
	assert_string_equal(o, "|ns.example.com. 3600 IN NS a.example.net.\n"
	                       "|ns.example.com. 3600 IN NS b.example.net.\n"
	                       "|ns.example.com. 3600 IN NS c.example.net.\n");
	assert_string_equal(n, "|ns.example.com. 3600 IN NS a.example.net.\n"
	                       "|ns.example.com. 3600 IN NS c.example.net.\n"
	                       "|ns.example.com. 3600 IN NS d.example.net.\n");
	free(o);
	free(n);
	zone_diff_free(&d);
	zone_free(&a);
	zone_free(&b);
}

static void test_order_and_edges(void **state)
{
	(void)state;
	/* Changes come in canonical order; first and last RRsets count. */
	const char *want[] = { "+ example.com. A", "~ example.com. SOA", "- a.example.com. A",
		               "- z.z.example.com. A", "+ zz.example.com. A" };
	check_diff(HEAD "a A 192.0.2.1\nz.z A 192.0.2.2\n", HEAD2 "zz A 192.0.2.3\n@ A 192.0.2.4\n",
	           want, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal),         cmocka_unit_test(test_add_delete_replace),
		cmocka_unit_test(test_ttl_only),      cmocka_unit_test(test_type_swap),
		cmocka_unit_test(test_member_change), cmocka_unit_test(test_order_and_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
