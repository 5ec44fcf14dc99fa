#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <libknot/descriptor.h>

#include "store/internal.h"
#include "store/store.h"

#define HEAD "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
#define SOA1 "@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
#define SOA2 "@ SOA ns1 hostmaster 2 7200 3600 1209600 300\n"
#define SOA3 "@ SOA ns1 hostmaster 3 7200 3600 1209600 300\n"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/zonesync-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static const uint8_t *apex(void)
{
	static knot_dname_storage_t a;
	dns_name_from_str("example.com.", a);
	return a;
}

static void assert_stored(store_t *s, const char *text)
{
	zone_t got, want;
	assert_int_equal(store_zone_load(s, apex(), &got), 0);
	load_ok(&want, text);
	char *g = zone_text(&got), *w = zone_text(&want);
	assert_string_equal(g, w);
	free(g);
	free(w);
	zone_free(&got);
	zone_free(&want);
}

static void test_replace_and_reopen(void **state)
{
	(void)state;
	store_t *s;
	char err[256];
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	store_zone_info_t info;
	assert_int_equal(store_zone_info(s, apex(), &info), 0);
	assert_false(info.has_data);
	zone_t z;
	assert_int_equal(store_zone_load(s, apex(), &z), -ENOENT);

	const char *text = HEAD "www A 192.0.2.1\nwww A 192.0.2.2\nWWW AAAA 2001:db8::1\n"
				"b 60 TXT \"x\"\nb 30 TXT \"y\"\n";
	load_ok(&z, text);
	assert_int_equal(store_zone_replace(s, apex(), &z, err, sizeof(err)), 0);
	zone_free(&z);
	assert_int_equal(store_zone_info(s, apex(), &info), 0);
	assert_true(info.has_data);
	assert_int_equal(info.serial, 1);
	assert_stored(s, text);
	store_close(s);

	/* Everything survives a reopen; a second AXFR replaces, not merges. */
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_stored(s, text);
	const char *text2 = "$ORIGIN example.com.\n$TTL 3600\n" SOA2 "only A 192.0.2.9\n";
	load_ok(&z, text2);
	assert_int_equal(store_zone_replace(s, apex(), &z, err, sizeof(err)), 0);
	zone_free(&z);
	assert_stored(s, text2);
	assert_int_equal(store_zone_info(s, apex(), &info), 0);
	assert_int_equal(info.serial, 2);
	store_close(s);
}

static void make_step(zone_delta_t *d, uint32_t from, uint32_t to, const char *del,
		      const char *add)
{
	d->from = from;
	d->to = to;
	records(&d->del, del);
	records(&d->add, add);
}

static void free_steps(zone_delta_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		zone_free(&d[i].del);
		zone_free(&d[i].add);
	}
}

static void test_apply(void **state)
{
	(void)state;
	store_t *s;
	char err[256];
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	zone_t z;
	load_ok(&z, HEAD "www A 192.0.2.1\nold TXT \"x\"\nns NS a.example.net.\n");
	assert_int_equal(store_zone_replace(s, apex(), &z, err, sizeof(err)), 0);
	zone_free(&z);

	/* Two steps in one transaction: 1 -> 2 -> 3. */
	zone_delta_t d[2];
	make_step(&d[0], 1, 2, SOA1 "www A 192.0.2.1\n", SOA2 "www A 192.0.2.2\n");
	make_step(&d[1], 2, 3, SOA2 "old TXT \"x\"\n", SOA3 "new 60 AAAA 2001:db8::5\n");
	assert_int_equal(store_zone_apply(s, apex(), d, 2, err, sizeof(err)), 0);
	free_steps(d, 2);
	const char *want = "$ORIGIN example.com.\n$TTL 3600\n" SOA3
			   "www A 192.0.2.2\nns NS a.example.net.\nnew 60 AAAA 2001:db8::5\n";
	assert_stored(s, want);
	store_zone_info_t info;
	assert_int_equal(store_zone_info(s, apex(), &info), 0);
	assert_int_equal(info.serial, 3);

	/* Refused deltas change nothing, and say why. */
	struct {
		const char *del, *add;
		uint32_t to;
		const char *msg;
	} bad[] = {
		{ SOA3 "www A 192.0.2.9\n", SOA2, 2,
		  "delta removes a record the zone does not have: www.example.com. 3600 IN A "
		  "192.0.2.9" },
		{ SOA3, SOA2 "www A 192.0.2.2\n", 2,
		  "delta adds a record the zone already has: www.example.com. 3600 IN A "
		  "192.0.2.2" },
		{ SOA3, SOA2 "x.example.org. A 192.0.2.1\n", 2,
		  "delta adds a record outside the zone: x.example.org." },
		{ SOA3, SOA2 "sub SOA a b 1 1 1 1 1\n", 2, "delta adds an SOA below the apex" },
		{ SOA3, "", 2, "delta leaves 0 SOA records at the apex" },
		{ "", SOA2, 2, "delta leaves 2 SOA records at the apex" },
		{ SOA3, SOA2, 7, "delta ends at serial 7 but the SOA says 2" },
		/* TTL is not part of matching: 999 still removes the record. */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		zone_delta_t b;
		make_step(&b, 3, bad[i].to, bad[i].del, bad[i].add);
		assert_int_equal(store_zone_apply(s, apex(), &b, 1, err, sizeof(err)), -EINVAL);
		if (strstr(err, bad[i].msg) == NULL) {
			fail_msg("case %zu: expected '%s' in '%s'", i, bad[i].msg, err);
		}
		free_steps(&b, 1);
		assert_stored(s, want);
		assert_int_equal(store_zone_info(s, apex(), &info), 0);
		assert_int_equal(info.serial, 3);
	}

	/* A later step failing rolls back the earlier ones too. */
	make_step(&d[0], 3, 4, SOA3 "www A 192.0.2.2\n",
		  "@ SOA ns1 hostmaster 4 7200 3600 1209600 300\n");
	make_step(&d[1], 4, 5, "nope A 192.0.2.1\n", "");
	assert_int_equal(store_zone_apply(s, apex(), d, 2, err, sizeof(err)), -EINVAL);
	free_steps(d, 2);
	assert_stored(s, want);

	/* Removal matches whatever the TTL says. */
	make_step(&d[0], 3, 4, SOA3 "new 999 AAAA 2001:db8::5\n",
		  "@ SOA ns1 hostmaster 4 7200 3600 1209600 300\n");
	assert_int_equal(store_zone_apply(s, apex(), d, 1, err, sizeof(err)), 0);
	free_steps(d, 1);

	/* Names match whatever their case (the NS target too); a record
	 * removed and added back takes the TTL it is added with. */
	make_step(&d[0], 4, 5,
		  "@ SOA ns1 hostmaster 4 7200 3600 1209600 300\nNS NS A.Example.NET.\n",
		  "@ SOA ns1 hostmaster 5 7200 3600 1209600 300\nns 60 NS a.example.net.\n");
	assert_int_equal(store_zone_apply(s, apex(), d, 1, err, sizeof(err)), 0);
	free_steps(d, 1);
	assert_stored(s, "$ORIGIN example.com.\n$TTL 3600\n"
			 "@ SOA ns1 hostmaster 5 7200 3600 1209600 300\n"
			 "www A 192.0.2.2\nns 60 NS a.example.net.\n");

	/* Without a stored zone there is nothing to apply to. */
	knot_dname_storage_t other;
	dns_name_from_str("example.org.", other);
	make_step(&d[0], 1, 2, SOA1, SOA2);
	assert_int_equal(store_zone_apply(s, other, d, 1, err, sizeof(err)), -EINVAL);
	free_steps(d, 1);
	store_close(s);
}

static void test_timers_and_targets(void **state)
{
	(void)state;
	store_t *s;
	char err[256];
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(store_zone_timers(s, apex(), 1000, 5000, true), 0);
	store_zone_info_t info;
	assert_int_equal(store_zone_info(s, apex(), &info), 0);
	assert_false(info.has_data);
	assert_int_equal(info.refreshed, 1000);
	assert_int_equal(info.expire_at, 5000);
	assert_true(info.expired);

	store_target_t t;
	assert_int_equal(store_target_get(s, apex(), "aws", &t), 0);
	assert_false(t.has_serial);
	t = (store_target_t){ .has_serial = true, .serial = 42, .dirty = true, .last_ok = 77 };
	snprintf(t.last_error, sizeof(t.last_error), "Throttling: Rate exceeded");
	assert_int_equal(store_target_set(s, apex(), "aws", &t), 0);
	store_close(s);

	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	store_target_t back;
	assert_int_equal(store_target_get(s, apex(), "aws", &back), 0);
	assert_true(back.has_serial);
	assert_int_equal(back.serial, 42);
	assert_true(back.dirty);
	assert_int_equal(back.last_ok, 77);
	assert_string_equal(back.last_error, "Throttling: Rate exceeded");
	assert_false(back.refused);
	assert_int_equal(store_target_get(s, apex(), "pdns", &back), 0);
	assert_false(back.has_serial);
	/* A refusal keeps the serial refused (0 included) until cleared. */
	t = (store_target_t){ .has_serial = true, .serial = 42, .refused = true };
	snprintf(t.last_error, sizeof(t.last_error), "would delete 9 of 20 RRsets");
	assert_int_equal(store_target_set(s, apex(), "aws", &t), 0);
	assert_int_equal(store_target_get(s, apex(), "aws", &back), 0);
	assert_true(back.refused);
	assert_int_equal(back.refused_serial, 0);
	t.refused_serial = 43;
	assert_int_equal(store_target_set(s, apex(), "aws", &t), 0);
	assert_int_equal(store_target_get(s, apex(), "aws", &back), 0);
	assert_int_equal(back.refused_serial, 43);
	t.refused = false;
	assert_int_equal(store_target_set(s, apex(), "aws", &t), 0);
	assert_int_equal(store_target_get(s, apex(), "aws", &back), 0);
	assert_false(back.refused);
	assert_false(back.unadopted);
	/* Unadopted (first contact left records) until cleared. */
	t.unadopted = true;
	assert_int_equal(store_target_set(s, apex(), "aws", &t), 0);
	assert_int_equal(store_target_get(s, apex(), "aws", &back), 0);
	assert_true(back.unadopted);
	t.unadopted = false;
	assert_int_equal(store_target_set(s, apex(), "aws", &t), 0);
	assert_int_equal(store_target_get(s, apex(), "aws", &back), 0);
	assert_false(back.unadopted);
	store_close(s);
}

static void test_zone_checked(void **state)
{
	(void)state;
	store_t *s;
	char err[256];
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	store_zone_info_t info;
	assert_int_equal(store_zone_info(s, apex(), &info), 0);
	assert_false(info.has_primary_serial);
	uint32_t serial = 7;
	assert_int_equal(store_zone_checked(s, apex(), 100, &serial, NULL), 0);
	assert_int_equal(store_zone_info(s, apex(), &info), 0);
	assert_int_equal(info.checked, 100);
	assert_true(info.has_primary_serial);
	assert_int_equal(info.primary_serial, 7);
	assert_string_equal(info.check_error, "");
	/* A failed check keeps the last serial heard and says why. */
	assert_int_equal(store_zone_checked(s, apex(), 200, NULL, "SOA query: timed out"), 0);
	assert_int_equal(store_zone_info(s, apex(), &info), 0);
	assert_int_equal(info.checked, 200);
	assert_int_equal(info.primary_serial, 7);
	assert_string_equal(info.check_error, "SOA query: timed out");
	store_close(s);
}

/*
 * A state file of version 3 with a target pushed before: brought to 4 with
 * its target adopted (its records were the primary's already: that
 * zonesync deleted what the primary lacked), its state kept.  Would fail
 * if the migration marked old targets unadopted (a notice, and deletions
 * held, on every target after an upgrade) or lost their serial.
 */
static void test_migrate_v3(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/state.db", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	const char *v3 =
	        "CREATE TABLE meta(k TEXT PRIMARY KEY, v);"
	        "INSERT INTO meta VALUES('schema', 3);"
	        "CREATE TABLE zone(id INTEGER PRIMARY KEY, name BLOB NOT NULL UNIQUE,"
	        "  has_data INTEGER NOT NULL DEFAULT 0, serial INTEGER NOT NULL DEFAULT 0,"
	        "  refreshed INTEGER NOT NULL DEFAULT 0, expire_at INTEGER NOT NULL DEFAULT 0,"
	        "  expired INTEGER NOT NULL DEFAULT 0, checked INTEGER NOT NULL DEFAULT 0,"
	        "  primary_serial INTEGER, check_error TEXT NOT NULL DEFAULT '');"
	        "CREATE TABLE rr(zone INTEGER NOT NULL, owner BLOB NOT NULL, type INTEGER NOT NULL,"
	        "  rdata BLOB NOT NULL, ttl INTEGER NOT NULL,"
	        "  PRIMARY KEY(zone, owner, type, rdata)) WITHOUT ROWID;"
	        "CREATE TABLE target(zone INTEGER NOT NULL, id TEXT NOT NULL,"
	        "  has_serial INTEGER NOT NULL DEFAULT 0, serial INTEGER NOT NULL DEFAULT 0,"
	        "  dirty INTEGER NOT NULL DEFAULT 0, last_ok INTEGER NOT NULL DEFAULT 0,"
	        "  last_error TEXT NOT NULL DEFAULT '', refused INTEGER,"
	        "  PRIMARY KEY(zone, id));"
	        "INSERT INTO zone(name, has_data, serial) "
	        "  VALUES(x'076578616d706c6503636f6d00', 1, 41);"
	        "INSERT INTO target(zone, id, has_serial, serial, last_ok, refused) "
	        "  VALUES(1, 'aws', 1, 41, 99, 42);";
	assert_int_equal(sqlite3_exec(db, v3, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	store_t *s;
	char err[256];
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	store_target_t t;
	assert_int_equal(store_target_get(s, apex(), "aws", &t), 0);
	assert_true(t.has_serial);
	assert_int_equal(t.serial, 41);
	assert_int_equal(t.last_ok, 99);
	assert_true(t.refused);
	assert_int_equal(t.refused_serial, 42);
	assert_false(t.unadopted);
	t.unadopted = true;
	assert_int_equal(store_target_set(s, apex(), "aws", &t), 0);
	store_close(s);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k='schema'", -1, &st,
	                                    NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 5);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(store_target_get(s, apex(), "aws", &t), 0);
	assert_true(t.unadopted);
	store_close(s);
}

/* Text that grows (zone text for load_ok). */
typedef struct {
	char *p;
	size_t len, cap;
} text_t;

static void text_add(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(text_t *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->cap - t->len < (size_t)n + 1) {
		t->cap = (t->cap + (size_t)n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		assert_non_null(t->p);
	}
	va_start(ap, fmt);
	vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* Record i of the zones below: of several sizes and types, so that chunks
 * are cut in different places; -1 is an apex A, which sorts before the
 * apex SOA (the zone's first record). */
static void record(text_t *t, int i)
{
	if (i < 0) {
		text_add(t, "@ A 192.0.2.53\n");
	} else if (i % 7 == 0) {
		text_add(t, "h%d TXT \"%0*d\"\n", i, 10 + i % 200, i);
	} else {
		text_add(t, "h%d A 10.%d.%d.%d\n", i / 10, i % 10, (i / 256) % 256, i % 256);
	}
}

static char *model_text(const bool *present, int n, uint32_t serial)
{
	text_t t = { 0 };
	text_add(&t, "$ORIGIN example.com.\n$TTL 3600\n"
		     "@ SOA ns1 hostmaster %u 7200 3600 1209600 300\n",
		 serial);
	for (int i = -1; i < n; i++) {
		if (present[i + 1]) {
			record(&t, i);
		}
	}
	return t.p;
}

/*
 * IXFRs on a zone of many chunks, checked against a model: one record, a
 * few, thousands at once (chunks split), most of the zone removed (chunks
 * emptied and dropped), a record below the zone's first (the first chunk
 * grows downward), and several steps in one transaction.
 */
static void test_chunk_edits(void **state)
{
	(void)state;
	enum { N = 6000 };
	static bool present[N + 1];
	store_t *s;
	char err[256];
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	for (int i = -1; i < N; i++) {
		present[i + 1] = i >= 0 && i % 2 == 0;
	}
	uint32_t serial = 1;
	char *text = model_text(present, N, serial);
	zone_t z;
	load_ok(&z, text);
	assert_int_equal(store_zone_replace(s, apex(), &z, err, sizeof(err)), 0);
	zone_free(&z);
	assert_stored(s, text);
	free(text);

	srand(4711);
	static const int sizes[] = { 1, 3, 50, 3000, 1, 4000, 5000, 200, 2, 6000, 700, 1 };
	for (size_t round = 0; round < sizeof(sizes) / sizeof(sizes[0]); round++) {
		/* Two steps: toggle k records, then toggle the apex A. */
		text_t del = { 0 }, add = { 0 };
		text_add(&del, "@ SOA ns1 hostmaster %u 7200 3600 1209600 300\n", serial);
		text_add(&add, "@ SOA ns1 hostmaster %u 7200 3600 1209600 300\n", serial + 1);
		static bool seen[N];
		memset(seen, 0, sizeof(seen));
		for (int k = 0; k < sizes[round]; k++) {
			int i = sizes[round] == 6000 ? k : rand() % N;
			if (seen[i]) {
				continue;
			}
			seen[i] = true;
			/* The round of 6000 removes everything there is. */
			if (present[i + 1] || sizes[round] == 6000) {
				if (present[i + 1]) {
					record(&del, i);
				}
				present[i + 1] = false;
			} else {
				record(&add, i);
				present[i + 1] = true;
			}
		}
		zone_delta_t d[2];
		make_step(&d[0], serial, serial + 1, del.p, add.p);
		free(del.p);
		free(add.p);
		del = (text_t){ 0 };
		add = (text_t){ 0 };
		text_add(&del, "@ SOA ns1 hostmaster %u 7200 3600 1209600 300\n", serial + 1);
		text_add(&add, "@ SOA ns1 hostmaster %u 7200 3600 1209600 300\n", serial + 2);
		record(present[0] ? &del : &add, -1);
		present[0] = !present[0];
		make_step(&d[1], serial + 1, serial + 2, del.p, add.p);
		free(del.p);
		free(add.p);
		serial += 2;
		if (store_zone_apply(s, apex(), d, 2, err, sizeof(err)) != 0) {
			fail_msg("round %zu: %s", round, err);
		}
		free_steps(d, 2);
		text = model_text(present, N, serial);
		assert_stored(s, text);
		load_ok(&z, text);
		size_t sets = 0;
		assert_int_equal(store_zone_rrsets(s, apex(), &sets), 0);
		assert_int_equal(sets, z.rrsets);
		zone_free(&z);
		free(text);
		store_soa_t soa;
		assert_int_equal(store_zone_soa(s, apex(), &soa), 0);
		assert_int_equal(soa.serial, serial);
	}

	/* Reading back a few RRsets finds them wherever their chunk is. */
	zone_t which, got;
	text_t t = { 0 };
	text_add(&t, "@ SOA ns1 hostmaster 1 1 1 1 1\n");
	for (int i = 0; i < N; i += 97) {
		record(&t, i);
	}
	records(&which, t.p);
	free(t.p);
	assert_int_equal(store_zone_load_sets(s, apex(), &which, &got), 0);
	zone_t all;
	assert_int_equal(store_zone_load(s, apex(), &all), 0);
	size_t pos = 0, want = 0;
	zone_rrset_t set;
	while (zone_rrset_next(&all, &pos, &set)) {
		zone_rrset_t w, g;
		knot_dname_storage_t owner;
		assert_int_equal(dns_name_from_key(set.key, set.keylen, owner) > 0, true);
		if (!zone_find(&which, owner, set.type, &w)) {
			assert_false(zone_find(&got, owner, set.type, &g));
			continue;
		}
		want++;
		assert_true(zone_find(&got, owner, set.type, &g));
		assert_true(zone_rrset_equal(&set, &g));
	}
	assert_int_equal(got.rrsets, want);
	assert_true(want > 10);
	zone_free(&all);
	zone_free(&which);
	zone_free(&got);
	store_close(s);
}

/* A zone of n records whose owners start with c, at serial. */
static char *big_zone(char c, int n, uint32_t serial)
{
	text_t t = { 0 };
	text_add(&t, "$ORIGIN example.com.\n$TTL 3600\n"
		     "@ SOA ns1 hostmaster %u 7200 3600 1209600 300\n",
		 serial);
	for (int i = 0; i < n; i++) {
		text_add(&t, "%c%d A 10.%d.%d.%d\n", c, i, (int)serial % 256, (i / 256) % 256,
			 i % 256);
	}
	return t.p;
}

/*
 * SIGKILL while an AXFR is being committed leaves the zone as it was before
 * or as it is after, never a mix: a child replaces the zone over and over
 * (a... records at serial 1, b... at serial 2), killed at times spread over
 * its commits; each time the stored zone is read back whole.
 */
static void test_kill_during_replace(void **state)
{
	(void)state;
	enum { N = 30000 };
	zone_t za, zb;
	char *ta = big_zone('a', N, 1), *tb = big_zone('b', N, 2);
	load_ok(&za, ta);
	load_ok(&zb, tb);
	store_t *s;
	char err[256];
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(store_zone_replace(s, apex(), &za, err, sizeof(err)), 0);
	store_close(s);
	char *want[2] = { zone_text(&za), zone_text(&zb) };
	size_t seen[2] = { 0, 0 };
	for (int round = 0; round < 12; round++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (store_open(dir, &s, err, sizeof(err)) != 0) {
				_exit(1);
			}
			for (unsigned k = 0;; k++) {
				if (store_zone_replace(s, apex(), k % 2 ? &za : &zb, err,
				                       sizeof(err)) != 0) {
					_exit(1);
				}
			}
		}
		struct timespec ts = { 0, (long)(20 + round * 37 % 200) * 1000000 };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));

		assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
		zone_t got;
		assert_int_equal(store_zone_load(s, apex(), &got), 0);
		store_zone_info_t info;
		assert_int_equal(store_zone_info(s, apex(), &info), 0);
		assert_true(info.serial == 1 || info.serial == 2);
		char *g = zone_text(&got);
		assert_string_equal(g, want[info.serial - 1]);
		seen[info.serial - 1]++;
		free(g);
		zone_free(&got);
		store_close(s);
	}
	printf("after the kills: %zu times the a... zone, %zu times the b...\n", seen[0],
	       seen[1]);
	free(want[0]);
	free(want[1]);
	free(ta);
	free(tb);
	zone_free(&za);
	zone_free(&zb);
}

static int64_t file_size(const char *name)
{
	char path[128];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

static int64_t chunk_rows(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/state.db", dir);
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM chunk", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Many AXFRs of a zone leave as many rows, and a file no larger, than a
 * few: the old records go with each commit. */
static void test_replace_bounded(void **state)
{
	(void)state;
	enum { N = 20000 };
	zone_t z[2];
	char *t[2] = { big_zone('a', N, 1), big_zone('b', N, 2) };
	load_ok(&z[0], t[0]);
	load_ok(&z[1], t[1]);
	store_t *s;
	char err[256];
	int64_t rows = 0, size = 0;
	for (int k = 0; k < 40; k++) {
		assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
		assert_int_equal(store_zone_replace(s, apex(), &z[k % 2], err, sizeof(err)), 0);
		store_close(s); /* the last close checkpoints: state.db holds it all */
		if (k == 1) {
			rows = chunk_rows();
			size = file_size("state.db");
			assert_true(rows > 10);
		}
	}
	assert_int_equal(chunk_rows(), rows);
	int64_t end = file_size("state.db") + file_size("state.db-wal");
	if (end > size + size / 4) {
		fail_msg("state.db grew from %lld to %lld bytes", (long long)size, (long long)end);
	}
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_stored(s, t[1]);
	store_close(s);
	for (int i = 0; i < 2; i++) {
		zone_free(&z[i]);
		free(t[i]);
	}
}

/*
 * A state file of schema 4 (a row per record) is read after the upgrade to
 * chunks: its records are packed in the migration, several chunks' worth,
 * and the zone then reads back, counts and takes an IXFR as before.
 */
static void test_migrate_v4(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/state.db", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	const char *v4 =
	        "PRAGMA journal_mode=WAL;"
	        "CREATE TABLE meta(k TEXT PRIMARY KEY, v);"
	        "INSERT INTO meta VALUES('schema', 4);"
	        "CREATE TABLE zone(id INTEGER PRIMARY KEY, name BLOB NOT NULL UNIQUE,"
	        "  has_data INTEGER NOT NULL DEFAULT 0, serial INTEGER NOT NULL DEFAULT 0,"
	        "  refreshed INTEGER NOT NULL DEFAULT 0, expire_at INTEGER NOT NULL DEFAULT 0,"
	        "  expired INTEGER NOT NULL DEFAULT 0, checked INTEGER NOT NULL DEFAULT 0,"
	        "  primary_serial INTEGER, check_error TEXT NOT NULL DEFAULT '');"
	        "CREATE TABLE rr(zone INTEGER NOT NULL, owner BLOB NOT NULL, type INTEGER NOT NULL,"
	        "  rdata BLOB NOT NULL, ttl INTEGER NOT NULL,"
	        "  PRIMARY KEY(zone, owner, type, rdata)) WITHOUT ROWID;"
	        "CREATE TABLE target(zone INTEGER NOT NULL, id TEXT NOT NULL,"
	        "  has_serial INTEGER NOT NULL DEFAULT 0, serial INTEGER NOT NULL DEFAULT 0,"
	        "  dirty INTEGER NOT NULL DEFAULT 0, last_ok INTEGER NOT NULL DEFAULT 0,"
	        "  last_error TEXT NOT NULL DEFAULT '', refused INTEGER,"
	        "  unadopted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(zone, id));"
	        "INSERT INTO zone(name, has_data, serial) "
	        "  VALUES(x'076578616d706c6503636f6d00', 1, 1);"
	        "INSERT INTO zone(name, has_data, serial) VALUES(x'036f726700', 1, 1);"
	        "INSERT INTO target(zone, id, has_serial, serial, unadopted) "
	        "  VALUES(1, 'aws', 1, 1, 1);";
	assert_int_equal(sqlite3_exec(db, v4, NULL, NULL, NULL), SQLITE_OK);
	/* The rows as schema 4 wrote them: owner sort key, canonical rdata,
	 * each record's own TTL; zone 2 (org.) holds one record. */
	char *text = big_zone('h', 3000, 1);
	text_t t = { 0 };
	text_add(&t, "%sx 60 TXT \"one\"\nx 30 TXT \"two\"\n", text);
	free(text);
	zone_t z;
	load_ok(&z, t.p);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO rr VALUES(?1, ?2, ?3, ?4, ?5)", -1,
	                                    &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (size_t i = 0; i <= z.count; i++) {
		const zone_rr_t *rr = &z.rr[i < z.count ? i : 0];
		sqlite3_bind_int(st, 1, i < z.count ? 1 : 2);
		sqlite3_bind_blob(st, 2, rr->key, rr->keylen, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, rr->type);
		sqlite3_bind_blob(st, 4, rr->rd->data, rr->rd->len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, rr->ttl);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_finalize(st);
	sqlite3_close(db);

	store_t *s;
	char err[256];
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_stored(s, t.p);
	size_t sets;
	assert_int_equal(store_zone_rrsets(s, apex(), &sets), 0);
	assert_int_equal(sets, z.rrsets);
	store_target_t tg;
	assert_int_equal(store_target_get(s, apex(), "aws", &tg), 0);
	assert_true(tg.unadopted);
	knot_dname_storage_t org;
	dns_name_from_str("org.", org);
	assert_int_equal(store_zone_rrsets(s, org, &sets), 0);
	assert_int_equal(sets, 1);
	zone_delta_t d;
	make_step(&d, 1, 2, SOA1 "h5 A 10.1.0.5\n", SOA2 "h5 A 10.1.0.6\n");
	assert_int_equal(store_zone_apply(s, apex(), &d, 1, err, sizeof(err)), 0);
	free_steps(&d, 1);
	store_close(s);
	zone_free(&z);
	free(t.p);

	/* The old table is gone, the version is 5. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT v FROM meta WHERE k='schema'), "
	                                        "(SELECT count(*) FROM sqlite_master WHERE "
	                                        "name='rr'), (SELECT count(*) FROM chunk)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 5);
	assert_int_equal(sqlite3_column_int(st, 1), 0);
	assert_true(sqlite3_column_int(st, 2) > 3);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A state file written by the first schema (version 1) is brought up to
 * date when opened, its data kept. */
static void test_migrate_v1(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/state.db", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	const char *v1 =
	        "CREATE TABLE meta(k TEXT PRIMARY KEY, v);"
	        "INSERT INTO meta VALUES('schema', 1);"
	        "CREATE TABLE zone(id INTEGER PRIMARY KEY, name BLOB NOT NULL UNIQUE,"
	        "  has_data INTEGER NOT NULL DEFAULT 0, serial INTEGER NOT NULL DEFAULT 0,"
	        "  refreshed INTEGER NOT NULL DEFAULT 0, expire_at INTEGER NOT NULL DEFAULT 0,"
	        "  expired INTEGER NOT NULL DEFAULT 0);"
	        "INSERT INTO zone(name, has_data, serial, refreshed) "
	        "  VALUES(x'076578616d706c6503636f6d00', 1, 41, 1234);";
	assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	store_t *s;
	char err[256];
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	store_zone_info_t info;
	assert_int_equal(store_zone_info(s, apex(), &info), 0);
	assert_true(info.has_data);
	assert_int_equal(info.serial, 41);
	assert_int_equal(info.refreshed, 1234);
	assert_int_equal(info.checked, 0);
	assert_false(info.has_primary_serial);
	uint32_t serial = 42;
	assert_int_equal(store_zone_checked(s, apex(), 300, &serial, NULL), 0);
	/* Version 3: a target's refusal. */
	store_target_t t = { .has_serial = true, .serial = 41, .refused = true,
		             .refused_serial = 42 };
	assert_int_equal(store_target_set(s, apex(), "aws", &t), 0);
	store_close(s);

	/* Opened again: already the current version, nothing to do. */
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(store_zone_info(s, apex(), &info), 0);
	assert_int_equal(info.primary_serial, 42);
	assert_int_equal(store_target_get(s, apex(), "aws", &t), 0);
	assert_true(t.refused);
	assert_int_equal(t.refused_serial, 42);
	store_close(s);

	/* A newer schema than this zonesync knows is refused, untouched. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET v=99 WHERE k='schema'", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "schema version 99, this zonesync knows 5"));
}

static void test_open_errors(void **state)
{
	(void)state;
	store_t *s;
	char err[256];
	assert_true(store_open("/proc/zonesync-no/such", &s, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot create state directory /proc/zonesync-no/such"));
	/* A file that is not a database. */
	char path[128];
	snprintf(path, sizeof(path), "%s/bad", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/bad/state.db", dir);
	FILE *f = fopen(path, "w");
	fputs("this is not sqlite, but long enough to be looked at as a header......\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/bad", dir);
	assert_int_equal(store_open(path, &s, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "state.db"));
}

/* A write that fails is remembered on the connection (store_error), even
 * where the caller only logs it; reads that succeed leave it alone. */
static void test_state_error(void **state)
{
	(void)state;
	store_t *s;
	char err[256];
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	store_target_t t = { .has_serial = true, .serial = 1 };
	assert_int_equal(store_target_set(s, apex(), "aws", &t), 0);
	assert_null(store_error(s));
	/* As a state the process may no longer write. */
	assert_int_equal(store_exec(s, "PRAGMA query_only=1"), 0);
	assert_int_equal(store_target_get(s, apex(), "aws", &t), 0);
	assert_null(store_error(s));
	t.serial = 2;
	assert_int_equal(store_target_set(s, apex(), "aws", &t), -EIO);
	assert_non_null(store_error(s));
	assert_non_null(strstr(store_error(s), "recording the target's state: "));
	assert_non_null(strstr(store_error(s), "readonly"));
	/* The first failure stays. */
	assert_int_equal(store_zone_checked(s, apex(), 5, NULL, NULL), -EIO);
	assert_non_null(strstr(store_error(s), "recording the target's state: "));
	store_close(s);
}

/* status's open: nothing created or written; an immutable read when no
 * writer has a -wal, and a stale read seen. */
static void test_open_readonly(void **state)
{
	(void)state;
	store_t *s, *r;
	char err[256], path[128];
	assert_int_equal(store_open_readonly(dir, &r, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	store_target_t t = { .has_serial = true, .serial = 7 };
	assert_int_equal(store_target_set(s, apex(), "aws", &t), 0);
	store_close(s);
	snprintf(path, sizeof(path), "%s/state.db-wal", dir);
	assert_int_equal(access(path, F_OK), -1);

	assert_int_equal(store_open_readonly(dir, &r, err, sizeof(err)), 0);
	assert_int_equal(store_target_get(r, apex(), "aws", &t), 0);
	assert_int_equal(t.serial, 7);
	assert_false(store_readonly_stale(r));
	assert_int_equal(access(path, F_OK), -1); /* made nothing */
	assert_int_equal(store_target_set(r, apex(), "aws", &t), -EIO);
	/* A writer comes: the read must be done again. */
	assert_int_equal(store_open(dir, &s, err, sizeof(err)), 0);
	t.serial = 8;
	assert_int_equal(store_target_set(s, apex(), "aws", &t), 0);
	assert_true(store_readonly_stale(r));
	store_close(r);
	/* With the writer's -wal there, read through it. */
	assert_int_equal(store_open_readonly(dir, &r, err, sizeof(err)), 0);
	assert_int_equal(store_target_get(r, apex(), "aws", &t), 0);
	assert_int_equal(t.serial, 8);
	assert_false(store_readonly_stale(r));
	store_close(r);
	store_close(s);

	/* An older schema is not migrated by a reader. */
	snprintf(path, sizeof(path), "%s/state.db", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET v=1 WHERE k='schema'", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open_readonly(dir, &r, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "schema version 1, this zonesync reads 5"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replace_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timers_and_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunk_edits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_during_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_readonly, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
