/* The sync engine against a real store and a zone file target, or a fake
 * provider held in memory: what one push records, says and writes. */
#include "helpers.h"

#include <fcntl.h>
#include <unistd.h>

#include "conf/conf.h"
#include "obs/log.h"
#include "store/store.h"
#include "sync/engine.h"
#include "target/target.h"

/* The zone at a serial: printf with the serial, then the extra records. */
#define ZONE                                                                                       \
	"$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster %u 7200 3600 1209600 300\n"         \
	"@ NS ns1\nns1 A 192.0.2.1\n%s"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/zonesync-engine-XXXXXX");
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

static void load_conf(conf_t *c)
{
	char text[1024];
	snprintf(text, sizeof(text),
	         "server: { listen: [127.0.0.1@5353], state: %s }\n"
	         "primary:\n  - { id: p, address: [192.0.2.1] }\n"
	         "target:\n  - { id: f, type: zonefile, path: \"%s/%%s.zone\" }\n"
	         "zone:\n  - { domain: example.com, primary: p, target: [f] }\n",
	         dir, dir);
	assert_int_equal(
	        conf_load_string(c, "test.yaml", text, strlen(text), target_registry, stderr), 0);
}

static void store_at(store_t *st, uint32_t serial, const char *extra)
{
	char text[512];
	snprintf(text, sizeof(text), ZONE, serial, extra);
	zone_t z;
	char err[256];
	load_ok(&z, text);
	assert_int_equal(store_zone_replace(st, z.apex, &z, err, sizeof(err)), 0);
	zone_free(&z);
}

/* Run f with stderr going to a file; what it wrote (malloc'd). */
static char *captured(void (*f)(void *), void *arg)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/stderr", dir);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	f(arg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	off_t len = lseek(fd, 0, SEEK_END);
	char *text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)len, 0), len);
	close(fd);
	return text;
}

typedef struct {
	engine_zone_t *ez;
	const conf_zone_t *zc;
	engine_result_t r;
} push_t;

static void push(void *arg)
{
	push_t *p = arg;
	engine_opts_t o = { 0 };
	engine_push(p->ez, p->zc, p->zc->target[0], &o, &p->r);
}

/*
 * A target job is handed the serial of the transfer that started it; by
 * the time it reads the snapshot a newer transfer may have committed.  The
 * push then carries the newer data: its log line and the target's recorded
 * serial must say so, not the serial the job was started with.
 */
static void test_serial_is_the_pushed_snapshots(void **state)
{
	(void)state;
	log_init(LOG_TARGET_STDERR, LOG_LEVEL_INFO);
	conf_t c;
	load_conf(&c);
	const conf_zone_t *zc = &c.zone[0];
	store_t *st;
	char err[256];
	assert_int_equal(store_open(dir, &st, err, sizeof(err)), 0);
	store_at(st, 1, "");
	/* Serial 2 commits after the job for serial 1 started. */
	store_at(st, 2, "www A 192.0.2.80\n");

	engine_zone_t ez = { .store = st, .serial = 1 };
	push_t p = { &ez, zc, { 0 } };
	char *log = captured(push, &p);
	assert_int_equal(p.r.ret, 0);
	if (strstr(log, "target synced: zone=example.com. target=f serial=2 ") == NULL) {
		fail_msg("no log line of serial 2 in:\n%s", log);
	}
	free(log);

	store_target_t ts;
	assert_int_equal(store_target_get(st, zc->name, "f", &ts), 0);
	assert_true(ts.has_serial && !ts.dirty);
	assert_int_equal(ts.serial, 2);
	zone_t written;
	char path[128];
	zone_error_t zerr;
	snprintf(path, sizeof(path), "%s/example.com.zone", dir);
	assert_int_equal(zone_load_file(&written, path, NULL, &zerr), 0);
	uint32_t serial = 0;
	assert_int_equal(zone_serial(&written, &serial), 0);
	assert_int_equal(serial, 2);
	zone_free(&written);

	engine_result_free(&p.r);
	engine_zone_free(&ez);
	store_close(st);
	conf_free(&c);
	log_close();
}

/* --- first contact ---------------------------------------------------------
 *
 * The decision as a table, then the engine with a fake provider: a zone
 * held in memory that read copies and apply edits, per target.
 */

static void test_adopt_decision(void **state)
{
	(void)state;
	/* clang-format off */
	static const struct {
		engine_adopt_in_t in;
		engine_adopt_t out;
	} cases[] = {
		/* First push, the provider holds what the primary lacks: held. */
		{ { .guarded = true, .read = true, .deletions = 2 },
		  { .hold = true, .unadopted = true } },
		/* First push, nothing to leave (an empty zone): adopted at once. */
		{ { .guarded = true, .read = true }, { .adopts = true } },
		/* Forced or adopt: replace: nothing held, adopted. */
		{ { .guarded = true, .read = true, .force = true, .deletions = 2 }, { .adopts = true } },
		{ { .guarded = true, .read = true, .replace = true, .deletions = 2 },
		  { .adopts = true } },
		/* Unadopted, read again (reconcile, --full, a dirty target). */
		{ { .guarded = true, .known = true, .unadopted = true, .read = true, .deletions = 2 },
		  { .hold = true, .unadopted = true } },
		/* Unadopted, a read with nothing left to hold: adopted. */
		{ { .guarded = true, .known = true, .unadopted = true, .read = true },
		  { .adopts = true } },
		/* Unadopted, an IXFR's changes (no read): the primary's deletions
		 * go, the pair stays unadopted. */
		{ { .guarded = true, .known = true, .unadopted = true, .deletions = 1 },
		  { .unadopted = true } },
		/* Unadopted, forced or replace: a read is asked, then adopted. */
		{ { .guarded = true, .known = true, .unadopted = true, .force = true },
		  { .read = true, .adopts = true } },
		{ { .guarded = true, .known = true, .unadopted = true, .replace = true,
		    .read = true, .deletions = 3 },
		  { .read = true, .adopts = true } },
		/* Adopted: deletions go, read or not. */
		{ { .guarded = true, .known = true, .read = true, .deletions = 5 }, { 0 } },
		{ { .guarded = true, .known = true, .deletions = 5 }, { 0 } },
		/* A zone file or a notifier: never. */
		{ { .read = true, .deletions = 5 }, { 0 } },
		{ { .known = true, .unadopted = true, .read = true, .deletions = 5 }, { 0 } },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		engine_adopt_t a = engine_adopt(&cases[i].in);
		if (a.read != cases[i].out.read || a.hold != cases[i].out.hold ||
		    a.unadopted != cases[i].out.unadopted || a.adopts != cases[i].out.adopts) {
			fail_msg("case %zu: read=%d hold=%d unadopted=%d adopts=%d", i, a.read,
			         a.hold, a.unadopted, a.adopts);
		}
	}
}

/* The fake provider: one zone per target id, in memory. */
static struct fake {
	const char *id;
	zone_t live;
	size_t applies, deleted; /* apply calls, RRsets deleted */
} fakes[2] = { { .id = "f" }, { .id = "g" } };

static struct fake *fake_of(const conf_target_t *tc)
{
	for (size_t i = 0; i < 2; i++) {
		if (strcmp(fakes[i].id, tc->id) == 0) {
			return &fakes[i];
		}
	}
	fail_msg("no fake %s", tc->id);
	return NULL;
}

static int fake_open(const conf_target_t *tc, const conf_zone_t *zc, target_t **out,
                     target_stats_t *stats, char *err, size_t errlen)
{
	(void)zc, (void)stats, (void)err, (void)errlen;
	*out = (target_t *)fake_of(tc);
	return 0;
}

static void fake_close(target_t *t)
{
	(void)t;
}

/* Copy the records of from into to (finished), but those of the RRsets
 * the diff deletes or replaces; then the new sides of d. */
static void fake_copy(const zone_t *from, const zone_diff_t *d, zone_t *to)
{
	zone_init(to);
	zone_set_apex(to, from->apex);
	size_t pos = 0;
	zone_rrset_t set;
	while (zone_rrset_next(from, &pos, &set)) {
		bool gone = false;
		for (size_t i = 0; d != NULL && i < d->count && !gone; i++) {
			const zone_change_t *c = &d->change[i];
			gone = c->kind != ZONE_CHANGE_ADD && zone_rrset_cmp(&c->old, &set) == 0;
		}
		for (size_t i = 0; !gone && i < set.count; i++) {
			assert_int_equal(zone_add_keyed(to, set.key, set.keylen, set.type, set.ttl,
			                                set.rr[i].rd),
			                 0);
		}
	}
	for (size_t i = 0; d != NULL && i < d->count; i++) {
		const zone_rrset_t *n = &d->change[i].new;
		for (size_t k = 0; d->change[i].kind != ZONE_CHANGE_DELETE && k < n->count; k++) {
			assert_int_equal(
			        zone_add_keyed(to, n->key, n->keylen, n->type, n->ttl, n->rr[k].rd),
			        0);
		}
	}
	assert_int_equal(zone_finish(to), 0);
}

static int fake_read(target_t *t, zone_t *live, target_foreign_t *foreign, target_stats_t *stats,
                     char *err, size_t errlen)
{
	(void)foreign, (void)err, (void)errlen;
	struct fake *f = (struct fake *)t;
	stats->requests++;
	fake_copy(&f->live, NULL, live);
	return 0;
}

static int fake_apply(target_t *t, const target_push_t *p, const target_opts_t *o,
                      target_stats_t *stats, char *err, size_t errlen)
{
	(void)o, (void)err, (void)errlen;
	struct fake *f = (struct fake *)t;
	zone_t next;
	fake_copy(&f->live, p->diff, &next);
	zone_free(&f->live);
	f->live = next;
	f->applies++;
	f->deleted += p->diff->deleted;
	stats->requests++;
	return 0;
}

static zone_view_rules_t fake_rules(const conf_target_t *tc)
{
	(void)tc;
	return (zone_view_rules_t){ .apex_soa = false, .apex_ns = false };
}

static const target_ops_t fake_ops = {
	.open = fake_open,
	.close = fake_close,
	.read = fake_read,
	.apply = fake_apply,
	.rules = fake_rules,
};
static const conf_item_t fake_items[] = { TARGET_ITEM_RECONCILE_INTERVAL, TARGET_ITEM_END };
static const target_type_t fake_type = { .conf = { .name = "fake", .items = fake_items },
	                                 .ops = &fake_ops };
static const conf_type_t *const fake_registry[] = { &fake_type.conf, NULL };

static void fake_conf(conf_t *c, const char *zone_extra)
{
	char text[1024];
	snprintf(text, sizeof(text),
	         "server: { listen: [127.0.0.1@5353], state: %s }\n"
	         "primary:\n  - { id: p, address: [192.0.2.1] }\n"
	         "target:\n  - { id: f, type: fake }\n  - { id: g, type: fake, adopt: replace }\n"
	         "zone:\n  - { domain: example.com, primary: p, target: [f, g]%s }\n",
	         dir, zone_extra);
	assert_int_equal(
	        conf_load_string(c, "test.yaml", text, strlen(text), fake_registry, stderr), 0);
}

/* The provider's zone: the apex and ns1 (as the primary has them), then
 * extra. */
static void fake_holds(struct fake *f, const char *extra)
{
	char text[2048];
	snprintf(text, sizeof(text), ZONE, 1u, extra);
	zone_free(&f->live);
	load_ok(&f->live, text);
	f->applies = f->deleted = 0;
}

static bool fake_has(const struct fake *f, const char *owner, uint16_t type)
{
	knot_dname_storage_t name;
	assert_true(dns_name_from_str(owner, name) > 0);
	zone_rrset_t set;
	return zone_find(&f->live, name, type, &set);
}

typedef struct {
	engine_zone_t *ez;
	const conf_zone_t *zc;
	const conf_target_t *tc;
	engine_opts_t o;
	engine_result_t r;
} fpush_t;

static void fpush(void *arg)
{
	fpush_t *p = arg;
	engine_push(p->ez, p->zc, p->tc, &p->o, &p->r);
}

/* One push of target tc with options o: its result in p (free it), its
 * log returned (malloc'd). */
static char *push_fake(fpush_t *p, engine_zone_t *ez, const conf_zone_t *zc,
                       const conf_target_t *tc, engine_opts_t o)
{
	*p = (fpush_t){ .ez = ez, .zc = zc, .tc = tc, .o = o };
	char *log = captured(fpush, p);
	assert_int_equal(p->r.ret, 0);
	return log;
}

static store_target_t state_of(store_t *st, const conf_zone_t *zc, const char *id)
{
	store_target_t ts;
	assert_int_equal(store_target_get(st, zc->name, id, &ts), 0);
	return ts;
}

#define HANDMADE "legacy A 192.0.2.10\nlegacy TXT \"made by hand\"\nacme TXT \"token\"\n"

/*
 * First contact with a provider holding RRsets the primary lacks: the
 * primary's records arrive, none of the provider's is deleted (reported in
 * r.left, logged at notice), the pair stays unadopted through a second full
 * push, an IXFR push still deletes what the primary deleted, and --force
 * adopts it (reading it though it is up to date): then, and only then, the
 * hand-made RRsets go, and later drift is repaired as ever.  Fails with the
 * engine of before first contact (the first push deleted the three) or with
 * a forced push that took the target for up to date (nothing deleted).
 */
static void test_first_contact_keeps(void **state)
{
	(void)state;
	log_init(LOG_TARGET_STDERR, LOG_LEVEL_INFO);
	conf_t c;
	fake_conf(&c, "");
	const conf_zone_t *zc = &c.zone[0];
	const conf_target_t *f = zc->target[0];
	store_t *st;
	char err[256];
	assert_int_equal(store_open(dir, &st, err, sizeof(err)), 0);
	store_at(st, 1, "www A 192.0.2.80\nold A 192.0.2.81\n");
	struct fake *fk = fake_of(f);
	fake_holds(fk, HANDMADE);

	engine_zone_t ez = { .store = st, .serial = 1 };
	fpush_t p;
	char *log = push_fake(&p, &ez, zc, f, (engine_opts_t){ 0 });
	assert_int_equal(p.r.diff.added, 2);
	assert_int_equal(p.r.diff.deleted, 0);
	assert_int_equal(p.r.left.count, 3); /* legacy A, legacy TXT, acme TXT */
	assert_int_equal(p.r.left.deleted, 3);
	assert_true(p.r.unadopted);
	assert_false(p.r.drift);
	assert_int_equal(fk->deleted, 0);
	assert_true(fake_has(fk, "www.example.com.", KNOT_RRTYPE_A));
	assert_true(fake_has(fk, "legacy.example.com.", KNOT_RRTYPE_TXT));
	if (strstr(log, "first contact, not deleted: zone=example.com. target=f count=3") == NULL ||
	    strstr(log, "zonesync sync --force") == NULL) {
		fail_msg("no notice of what was left in:\n%s", log);
	}
	free(log);
	engine_result_free(&p.r);
	store_target_t ts = state_of(st, zc, "f");
	assert_true(ts.has_serial && ts.unadopted && !ts.dirty);

	/* A full compare again (reconcile, sync --full): still left. */
	log = push_fake(&p, &ez, zc, f, (engine_opts_t){ .full = true });
	assert_int_equal(p.r.diff.count, 0);
	assert_int_equal(p.r.left.count, 3);
	assert_false(p.r.drift);
	assert_int_equal(fk->applies, 1);
	assert_non_null(strstr(log, "first contact, not deleted"));
	free(log);
	engine_result_free(&p.r);
	assert_true(state_of(st, zc, "f").unadopted);

	/* The primary deletes old.example.com by IXFR: deleted, no read. */
	store_at(st, 2, "www A 192.0.2.80\n");
	engine_delta_t d = { .from = 1, .to = 2 };
	char text[512];
	snprintf(text, sizeof(text), ZONE, 1u, "old A 192.0.2.81\n");
	load_ok(&d.old, text);
	snprintf(text, sizeof(text), ZONE, 2u, "");
	load_ok(&d.new, text);
	engine_zone_t ez2 = { .store = st, .serial = 2, .delta = &d };
	log = push_fake(&p, &ez2, zc, f, (engine_opts_t){ 0 });
	assert_true(p.r.incremental);
	assert_int_equal(p.r.diff.deleted, 1);
	assert_int_equal(p.r.left.count, 0);
	assert_false(fake_has(fk, "old.example.com.", KNOT_RRTYPE_A));
	assert_true(fake_has(fk, "legacy.example.com.", KNOT_RRTYPE_A));
	free(log);
	engine_result_free(&p.r);
	engine_zone_free(&ez2);
	engine_delta_free(&d);
	ts = state_of(st, zc, "f");
	assert_true(ts.unadopted && ts.serial == 2);

	/* --force, the target clean at the serial: read, and adopted. */
	engine_zone_t ez3 = { .store = st, .serial = 2 };
	log = push_fake(&p, &ez3, zc, f, (engine_opts_t){ .force = true });
	assert_false(p.r.uptodate);
	assert_int_equal(p.r.diff.deleted, 3);
	assert_int_equal(p.r.left.count, 0);
	assert_true(p.r.adopted);
	assert_false(p.r.unadopted);
	assert_false(p.r.drift); /* what adopting deletes is not drift */
	assert_false(fake_has(fk, "legacy.example.com.", KNOT_RRTYPE_A));
	assert_false(fake_has(fk, "acme.example.com.", KNOT_RRTYPE_TXT));
	assert_true(fake_has(fk, "www.example.com.", KNOT_RRTYPE_A));
	assert_non_null(strstr(log, "target adopted: zone=example.com. target=f deleted=3"));
	free(log);
	engine_result_free(&p.r);
	assert_false(state_of(st, zc, "f").unadopted);

	/* Adopted: a record made by hand later is drift, repaired. */
	fake_holds(fk, "www A 192.0.2.80\nlater A 192.0.2.99\n");
	log = push_fake(&p, &ez3, zc, f, (engine_opts_t){ .full = true });
	assert_int_equal(p.r.diff.deleted, 1);
	assert_true(p.r.drift);
	assert_false(fake_has(fk, "later.example.com.", KNOT_RRTYPE_A));
	free(log);
	engine_result_free(&p.r);

	engine_zone_free(&ez3);
	engine_zone_free(&ez);
	zone_free(&fk->live);
	store_close(st);
	conf_free(&c);
	log_close();
}

/*
 * adopt: replace deletes at first contact; an empty provider zone is
 * adopted at once, without a notice; and max-delete measures what is
 * applied: a first contact with many foreign RRsets is not refused for
 * deletions it does not make.  Fails if replace were ignored, if an empty
 * zone stayed unadopted, or if the limits counted the held deletions.
 */
static void test_first_contact_replace_empty_limits(void **state)
{
	(void)state;
	log_init(LOG_TARGET_STDERR, LOG_LEVEL_INFO);
	conf_t c;
	fake_conf(&c, ", max-delete: 1");
	const conf_zone_t *zc = &c.zone[0];
	const conf_target_t *f = zc->target[0], *g = zc->target[1];
	store_t *st;
	char err[256];
	assert_int_equal(store_open(dir, &st, err, sizeof(err)), 0);
	store_at(st, 1, "www A 192.0.2.80\n");
	engine_zone_t ez = { .store = st, .serial = 1 };
	fpush_t p;

	/* g (adopt: replace): the hand-made RRsets go at once; two
	 * deletions over max-delete 1 are refused like any others. */
	fake_holds(fake_of(g), "legacy A 192.0.2.10\n");
	char *log = push_fake(&p, &ez, zc, g, (engine_opts_t){ 0 });
	assert_int_equal(p.r.diff.deleted, 1);
	assert_int_equal(p.r.left.count, 0);
	assert_false(p.r.unadopted);
	assert_false(fake_has(fake_of(g), "legacy.example.com.", KNOT_RRTYPE_A));
	assert_null(strstr(log, "first contact"));
	free(log);
	engine_result_free(&p.r);
	assert_false(state_of(st, zc, "g").unadopted);

	/* f, empty (its apex and ns1 only): adopted, no notice. */
	fake_holds(fake_of(f), "");
	log = push_fake(&p, &ez, zc, f, (engine_opts_t){ 0 });
	assert_int_equal(p.r.diff.added, 1);
	assert_int_equal(p.r.left.count, 0);
	assert_false(p.r.unadopted);
	assert_null(strstr(log, "first contact"));
	free(log);
	engine_result_free(&p.r);
	store_target_t ts = state_of(st, zc, "f");
	assert_true(ts.has_serial && !ts.unadopted);

	/* A fresh pair (state forgotten) holding 3 foreign RRsets with
	 * max-delete 1: not refused, they are not deleted. */
	assert_int_equal(store_target_set(st, zc->name, "f", &(store_target_t){ 0 }), 0);
	fake_holds(fake_of(f), HANDMADE);
	log = push_fake(&p, &ez, zc, f, (engine_opts_t){ 0 });
	assert_false(p.r.refused);
	assert_int_equal(p.r.left.count, 3);
	free(log);
	engine_result_free(&p.r);
	/* Forced: the limits are overridden too, and it is adopted. */
	log = push_fake(&p, &ez, zc, f, (engine_opts_t){ .force = true });
	assert_int_equal(p.r.diff.deleted, 3);
	assert_false(state_of(st, zc, "f").unadopted);
	free(log);
	engine_result_free(&p.r);
	/* A plan of a fresh pair shows what would be left and changes no
	 * state. */
	assert_int_equal(store_target_set(st, zc->name, "f", &(store_target_t){ 0 }), 0);
	fake_holds(fake_of(f), HANDMADE);
	log = push_fake(&p, &ez, zc, f, (engine_opts_t){ .plan = true });
	assert_int_equal(p.r.left.count, 3);
	assert_true(p.r.unadopted);
	assert_false(state_of(st, zc, "f").has_serial);
	assert_int_equal(fake_of(f)->applies, 0);
	free(log);
	engine_result_free(&p.r);

	engine_zone_free(&ez);
	zone_free(&fake_of(f)->live);
	zone_free(&fake_of(g)->live);
	store_close(st);
	conf_free(&c);
	log_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_serial_is_the_pushed_snapshots, setup,
		                                teardown),
		cmocka_unit_test(test_adopt_decision),
		cmocka_unit_test_setup_teardown(test_first_contact_keeps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_contact_replace_empty_limits, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
