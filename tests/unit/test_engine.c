/* The sync engine against a real store and a zone file target, or a fake
 * provider held in memory: what one push records, says and writes. */
#include "helpers.h"

#include <fcntl.h>
#include <unistd.h>

#include "conf/conf.h"
#include "dns/rdata.h"
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
	/* When set: the target's state as the store holds it when apply is
	 * called (dirty_at_apply), and apply fails after writing (fail). */
	store_t *probe;
	const conf_zone_t *probe_zc;
	int dirty_at_apply; /* -1: apply not called */
	bool fail;
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
	(void)o;
	struct fake *f = (struct fake *)t;
	zone_t next;
	fake_copy(&f->live, p->diff, &next);
	zone_free(&f->live);
	f->live = next;
	f->applies++;
	f->deleted += p->diff->deleted;
	stats->requests++;
	if (f->probe != NULL) {
		store_target_t ts;
		assert_int_equal(store_target_get(f->probe, f->probe_zc->name, f->id, &ts), 0);
		f->dirty_at_apply = ts.dirty;
	}
	if (f->fail) {
		snprintf(err, errlen, "failed after the first write");
		return -EIO;
	}
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

/* --- a rfake target: live records from text, foreign sets, applies recorded -- */

static struct {
	const char *live;      /* zone text of its live records (ZONE format, serial 1) */
	const char *foreign[4]; /* "name TYPE why" of sets its read leaves alone */
	size_t applies;        /* apply calls */
	bool live_known;       /* of the last apply */
	char changes[2048];    /* of the last apply: "+owner TYPE", "-owner TYPE", "~..." */
	const char *stale_live; /* set: apply answers -ESTALE, the live records become these */
} rfake;

static int rfake_open(const conf_target_t *t, const conf_zone_t *z, target_t **out,
                     target_stats_t *stats, char *err, size_t errlen)
{
	(void)t, (void)z, (void)stats, (void)err, (void)errlen;
	*out = (target_t *)&rfake;
	return 0;
}

static void rfake_close(target_t *t)
{
	(void)t;
}

static int rfake_read(target_t *t, zone_t *live, target_foreign_t *foreign, target_stats_t *stats,
                     char *err, size_t errlen)
{
	(void)t, (void)stats, (void)err, (void)errlen;
	char text[2048];
	snprintf(text, sizeof(text), ZONE, 1u, rfake.live);
	load_ok(live, text);
	for (size_t i = 0; i < 4 && rfake.foreign[i] != NULL; i++) {
		char name[256], type[16], why[64];
		assert_int_equal(sscanf(rfake.foreign[i], "%255s %15s %63s", name, type, why), 3);
		static const char *const whys[] = { "alias", "routing", NULL };
		const char *w = strcmp(why, "alias") == 0 ? whys[0] : whys[1];
		assert_int_equal(target_foreign_add(foreign, name, type, w), 0);
	}
	return 0;
}

static int rfake_apply(target_t *t, const target_push_t *p, const target_opts_t *o,
                      target_stats_t *stats, char *err, size_t errlen)
{
	(void)t, (void)o, (void)stats;
	rfake.applies++;
	if (rfake.stale_live != NULL) {
		/* Someone changed the target since it was read. */
		rfake.live = rfake.stale_live;
		rfake.stale_live = NULL;
		snprintf(err, errlen, "changed behind our back");
		return -ESTALE;
	}
	rfake.live_known = p->live_known;
	rfake.changes[0] = '\0';
	for (size_t i = 0; i < p->diff->count; i++) {
		const zone_change_t *c = &p->diff->change[i];
		const zone_rrset_t *s = c->kind == ZONE_CHANGE_DELETE ? &c->old : &c->new;
		knot_dname_storage_t wire;
		char owner[DNS_NAME_STR_MAX], type[16], line[DNS_NAME_STR_MAX + 32];
		assert_true(dns_name_from_key(s->key, s->keylen, wire) >= 0);
		assert_non_null(dns_name_to_str(wire, owner, sizeof(owner)));
		snprintf(line, sizeof(line), "%c%s %s ",
		         c->kind == ZONE_CHANGE_ADD      ? '+'
		         : c->kind == ZONE_CHANGE_DELETE ? '-'
		                                         : '~',
		         owner, dns_type_str(s->type, type, sizeof(type)));
		strncat(rfake.changes, line, sizeof(rfake.changes) - strlen(rfake.changes) - 1);
	}
	return 0;
}

static zone_view_rules_t rfake_rules(const conf_target_t *t)
{
	(void)t;
	return (zone_view_rules_t){ 0 };
}

static const target_ops_t rfake_ops = {
	.open = rfake_open, .close = rfake_close, .read = rfake_read,
	.apply = rfake_apply, .rules = rfake_rules,
};
static const conf_item_t rfake_items[] = { TARGET_ITEM_END };
static const target_type_t rfake_type = {
	.conf = { .name = "rfake", .items = rfake_items, .summary = "a test target" },
	.ops = &rfake_ops,
};
static const conf_type_t *const rfake_registry[] = { &rfake_type.conf, NULL };

/* A config with the rfake target and these zone keys. */
static void rload_fake(conf_t *c, const char *zone_keys)
{
	char text[2048];
	snprintf(text, sizeof(text),
	         "server: { listen: [127.0.0.1@5353], state: %s }\n"
	         "primary:\n  - { id: p, address: [192.0.2.1] }\n"
	         /* adopt: replace: these tests count deletions; first contact
	          * (which holds them) is test_first_contact_*'s. */
	         "target:\n  - { id: t, type: rfake, adopt: replace }\n"
	         "zone:\n  - domain: example.com\n    primary: p\n    target: [t]\n%s",
	         dir, zone_keys);
	assert_int_equal(
	        conf_load_string(c, "test.yaml", text, strlen(text), rfake_registry, stderr), 0);
}

static bool conflict(const engine_result_t *r, const char *name, const char *type,
                     const char *why)
{
	for (size_t i = 0; i < r->conflicts.count; i++) {
		const target_foreign_set_t *c = &r->conflicts.set[i];
		if (strcmp(c->name, name) == 0 && strcmp(c->type, type) == 0 &&
		    strcmp(c->why, why) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * A primary addition at a name and type the target holds as its own (an
 * RRset an ignore rule keeps out of the live view, an alias its read left
 * alone) is taken out of the diff and reported, never written; the other
 * changes go.  Fails if drop_conflicts() lets either through to apply, or
 * if it drops an addition nothing holds.
 */
static void test_conflicts_dropped(void **state)
{
	(void)state;
	log_init(LOG_TARGET_STDERR, LOG_LEVEL_ERROR);
	memset(&rfake, 0, sizeof(rfake));
	rfake.live = "_acme-challenge.www TXT \"live-token\"\n";
	rfake.foreign[0] = "alias.example.com. A alias";
	conf_t c;
	rload_fake(&c, "    ignore: [{ name: \"_acme-challenge.*\", type: TXT, value: "
	              "\"\\\"live*\" }]\n");
	const conf_zone_t *zc = &c.zone[0];
	store_t *st;
	char err[256];
	assert_int_equal(store_open(dir, &st, err, sizeof(err)), 0);
	store_at(st, 2, "_acme-challenge.www TXT \"from-primary\"\n"
	                "alias A 192.0.2.7\n"
	                "www A 192.0.2.8\n");
	engine_zone_t ez = { .store = st, .serial = 2 };
	engine_opts_t o = { 0 };
	engine_result_t r;
	assert_int_equal(engine_push(&ez, zc, zc->target[0], &o, &r), 0);
	assert_int_equal(r.conflicts.count, 2);
	assert_true(conflict(&r, "_acme-challenge.www.example.com.", "TXT",
	                     "ignored at the target"));
	assert_true(conflict(&r, "alias.example.com.", "A", "alias"));
	assert_int_equal(rfake.applies, 1);
	assert_string_equal(rfake.changes, "+www.example.com. A ");
	assert_int_equal(r.diff.added, 1);
	assert_int_equal(r.diff.count, 1);
	/* The ignored live set is reported as kept out, by its rule. */
	assert_int_equal(r.live_kept.nkept, 1);
	assert_string_equal(r.live_kept.kept[0].names[0], "_acme-challenge.www.example.com. TXT");
	engine_result_free(&r);

	/* A plan says the same and writes nothing. */
	o.plan = true;
	rfake.applies = 0;
	assert_int_equal(engine_push(&ez, zc, zc->target[0], &o, &r), 0);
	assert_int_equal(r.conflicts.count, 2);
	assert_int_equal(rfake.applies, 0);
	engine_result_free(&r);
	engine_zone_free(&ez);
	store_close(st);
	conf_free(&c);
	log_close();
}

/*
 * max-delete counts what would be deleted: RRsets an ignore rule holds at
 * the target are neither deleted nor counted (nor in the total), additions
 * dropped as conflicts are not counted either; a record an exclude rule
 * keeps from the primary that the target has is deleted, and counted.
 * Fails if held RRsets count as deletions (refused with 1 allowed) or are
 * sent to apply.
 */
static void test_limits_count_what_is_applied(void **state)
{
	(void)state;
	log_init(LOG_TARGET_STDERR, LOG_LEVEL_ERROR);
	memset(&rfake, 0, sizeof(rfake));
	rfake.live = "_acme-challenge.a TXT \"1\"\n_acme-challenge.b TXT \"2\"\n"
	            "_acme-challenge.c TXT \"3\"\n_acme-challenge.d TXT \"4\"\n"
	            "old A 192.0.2.9\n";
	conf_t c;
	rload_fake(&c, "    max-delete: 1\n"
	              "    ignore: [{ name: \"_acme-challenge.*\", type: TXT }]\n"
	              "    exclude: [{ name: \"*.internal\" }]\n");
	const conf_zone_t *zc = &c.zone[0];
	store_t *st;
	char err[256];
	assert_int_equal(store_open(dir, &st, err, sizeof(err)), 0);
	store_at(st, 2, "www A 192.0.2.8\n");
	engine_zone_t ez = { .store = st, .serial = 2 };
	engine_opts_t o = { 0 };
	engine_result_t r;
	assert_int_equal(engine_push(&ez, zc, zc->target[0], &o, &r), 0);
	assert_false(r.refused);
	assert_int_equal(r.diff.deleted, 1);
	assert_int_equal(r.total, 2); /* ns1 A, old A: not the 4 held (no apex SOA, NS) */
	assert_string_equal(rfake.changes, "-old.example.com. A +www.example.com. A ");
	engine_result_free(&r);
	engine_zone_free(&ez);

	/* Two deletions, one of them an excluded record: over the limit. */
	rfake.live = "_acme-challenge.a TXT \"1\"\nold A 192.0.2.9\ndb.internal A 10.0.0.1\n";
	rfake.applies = 0;
	store_at(st, 3, "db.internal A 10.0.0.1\n");
	ez = (engine_zone_t){ .store = st, .serial = 3 };
	assert_int_equal(engine_push(&ez, zc, zc->target[0], &o, &r), -EPERM);
	assert_true(r.refused);
	assert_int_equal(r.diff.deleted, 2);
	assert_int_equal(rfake.applies, 0);
	engine_result_free(&r);
	engine_zone_free(&ez);
	store_close(st);
	conf_free(&c);
	log_close();
}

/*
 * An incremental push (a clean target, the IXFR delta, no read) that adds
 * an RRset at a name and type an ignore rule may hold at the target (the
 * rule's value decides, and only the live records show it) reads the
 * target first, so that the conflict is reported, not written over the
 * target's own set (PowerDNS replaces an RRset whole; Route 53 upserts
 * additions it does not know to be absent).  Fails if the addition
 * reaches apply from the delta alone.
 */
static void test_incremental_addition_at_an_ignored_name(void **state)
{
	(void)state;
	log_init(LOG_TARGET_STDERR, LOG_LEVEL_ERROR);
	memset(&rfake, 0, sizeof(rfake));
	rfake.live = "_acme-challenge.www TXT \"live-token\"\n";
	conf_t c;
	rload_fake(&c, "    ignore: [{ name: \"_acme-challenge.*\", type: TXT, value: "
	              "\"\\\"live*\" }]\n");
	const conf_zone_t *zc = &c.zone[0];
	store_t *st;
	char err[256];
	assert_int_equal(store_open(dir, &st, err, sizeof(err)), 0);
	store_at(st, 3, "_acme-challenge.www TXT \"from-primary\"\nwww A 192.0.2.8\n");
	store_target_t ts = { .has_serial = true, .serial = 2 };
	assert_int_equal(store_target_set(st, zc->name, "t", &ts), 0);
	engine_delta_t d = { .from = 2, .to = 3 };
	records(&d.old, "");
	records(&d.new, "_acme-challenge.www TXT \"from-primary\"\nwww A 192.0.2.8\n");
	zone_set_apex(&d.old, zc->name);
	zone_set_apex(&d.new, zc->name);
	engine_zone_t ez = { .store = st, .serial = 3, .delta = &d };
	engine_opts_t o = { 0 };
	engine_result_t r;
	assert_int_equal(engine_push(&ez, zc, zc->target[0], &o, &r), 0);
	assert_string_equal(rfake.changes, "+www.example.com. A ");
	assert_true(rfake.live_known);
	assert_int_equal(r.conflicts.count, 1);
	assert_true(conflict(&r, "_acme-challenge.www.example.com.", "TXT",
	                     "ignored at the target"));
	engine_result_free(&r);
	engine_zone_free(&ez);

	/* An addition no ignore rule could hold stays incremental. */
	store_at(st, 4, "_acme-challenge.www TXT \"from-primary\"\nwww A 192.0.2.8\n"
	                "new A 192.0.2.10\n");
	engine_delta_free(&d);
	d = (engine_delta_t){ .from = 3, .to = 4 };
	records(&d.old, "");
	records(&d.new, "new A 192.0.2.10\n");
	zone_set_apex(&d.old, zc->name);
	zone_set_apex(&d.new, zc->name);
	ez = (engine_zone_t){ .store = st, .serial = 4, .delta = &d };
	assert_int_equal(engine_push(&ez, zc, zc->target[0], &o, &r), 0);
	assert_true(r.incremental);
	assert_string_equal(rfake.changes, "+new.example.com. A ");
	assert_false(rfake.live_known);
	engine_result_free(&r);
	engine_zone_free(&ez);
	engine_delta_free(&d);
	store_close(st);
	conf_free(&c);
	log_close();
}

/*
 * The order that makes a crash safe: the target is marked dirty in the
 * store before the first write (apply sees the mark), clean only after the
 * last; a push that fails after writing leaves it dirty, and a dirty target
 * at the current serial is pushed again (read and compared), never taken
 * for up to date, nor given the next IXFR's delta alone (what the failed
 * push wrote is unknown: it is read).  Fails if the mark is recorded after
 * apply, if a dirty pair at the same serial counts as clean, or if a dirty
 * pair gets an incremental push.
 */
static void test_dirty_before_the_first_write(void **state)
{
	(void)state;
	log_init(LOG_TARGET_STDERR, LOG_LEVEL_ERROR);
	conf_t c;
	fake_conf(&c, "");
	const conf_zone_t *zc = &c.zone[0];
	const conf_target_t *f = zc->target[0];
	store_t *st;
	char err[256];
	assert_int_equal(store_open(dir, &st, err, sizeof(err)), 0);
	store_at(st, 1, "www A 192.0.2.80\n");
	struct fake *fk = fake_of(f);
	fake_holds(fk, "");
	fk->probe = st;
	fk->probe_zc = zc;
	fk->dirty_at_apply = -1;

	engine_zone_t ez = { .store = st, .serial = 1 };
	engine_result_t r;
	assert_int_equal(engine_push(&ez, zc, f, &(engine_opts_t){ 0 }, &r), 0);
	engine_result_free(&r);
	assert_int_equal(fk->dirty_at_apply, 1);
	store_target_t ts = state_of(st, zc, "f");
	assert_true(ts.has_serial && ts.serial == 1 && !ts.dirty);

	/* A full compare at the same serial finds drift and fails while
	 * repairing it: dirty at serial 1. */
	fake_holds(fk, "www A 192.0.2.99\n");
	fk->fail = true;
	fk->dirty_at_apply = -1;
	assert_int_equal(engine_push(&ez, zc, f, &(engine_opts_t){ .full = true }, &r), -EIO);
	engine_result_free(&r);
	assert_int_equal(fk->dirty_at_apply, 1);
	ts = state_of(st, zc, "f");
	assert_true(ts.has_serial && ts.serial == 1 && ts.dirty);

	/* The next plain push at that serial is not up to date: it reads
	 * (the failed apply had written its change: nothing left to do) and
	 * leaves the pair clean. */
	fk->fail = false;
	assert_int_equal(engine_push(&ez, zc, f, &(engine_opts_t){ 0 }, &r), 0);
	assert_false(r.uptodate);
	assert_int_equal(r.stats.requests, 1);
	assert_int_equal(r.diff.count, 0);
	engine_result_free(&r);
	ts = state_of(st, zc, "f");
	assert_true(ts.has_serial && ts.serial == 1 && !ts.dirty);

	/* Dirty at serial 1 again; the primary's IXFR 1 -> 2 arrives.  The
	 * delta starts where the target was, but what the failed push wrote
	 * is unknown: a read, not the delta alone. */
	fake_holds(fk, "www A 192.0.2.99\n");
	fk->fail = true;
	assert_int_equal(engine_push(&ez, zc, f, &(engine_opts_t){ .full = true }, &r), -EIO);
	engine_result_free(&r);
	fk->fail = false;
	assert_true(state_of(st, zc, "f").dirty);
	store_at(st, 2, "www A 192.0.2.81\n");
	engine_delta_t d = { .from = 1, .to = 2 };
	char text[512];
	snprintf(text, sizeof(text), ZONE, 1u, "www A 192.0.2.80\n");
	load_ok(&d.old, text);
	snprintf(text, sizeof(text), ZONE, 2u, "www A 192.0.2.81\n");
	load_ok(&d.new, text);
	engine_zone_t ez2 = { .store = st, .serial = 2, .delta = &d };
	assert_int_equal(engine_push(&ez2, zc, f, &(engine_opts_t){ 0 }, &r), 0);
	assert_false(r.incremental);
	assert_int_equal(r.stats.requests, 2); /* the read, then the apply */
	engine_result_free(&r);
	engine_zone_free(&ez2);
	engine_delta_free(&d);
	ts = state_of(st, zc, "f");
	assert_true(ts.has_serial && ts.serial == 2 && !ts.dirty);
	assert_true(fake_has(fk, "www.example.com.", KNOT_RRTYPE_A));
	fk->probe = NULL;
	engine_zone_free(&ez);
	store_close(st);
	conf_free(&c);
	log_close();
}

/*
 * The limits hold after a re-read too: a push within max-delete whose apply
 * finds the target changed (-ESTALE) reads it again, and when what it must
 * delete now is over the limit the push is refused, nothing more applied.
 * Fails if the limits are checked only before the first apply.
 */
static void test_limits_after_a_reread(void **state)
{
	(void)state;
	log_init(LOG_TARGET_STDERR, LOG_LEVEL_ERROR);
	memset(&rfake, 0, sizeof(rfake));
	rfake.live = "old A 192.0.2.9\n";
	rfake.stale_live = "a A 192.0.2.1\nb A 192.0.2.2\nold A 192.0.2.9\n";
	conf_t c;
	rload_fake(&c, "    max-delete: 1\n");
	const conf_zone_t *zc = &c.zone[0];
	store_t *st;
	char err[256];
	assert_int_equal(store_open(dir, &st, err, sizeof(err)), 0);
	store_at(st, 2, "www A 192.0.2.8\n");
	engine_zone_t ez = { .store = st, .serial = 2 };
	engine_opts_t o = { 0 };
	engine_result_t r;
	assert_int_equal(engine_push(&ez, zc, zc->target[0], &o, &r), -EPERM);
	assert_true(r.refused);
	assert_int_equal(r.diff.deleted, 3);
	assert_int_equal(rfake.applies, 1); /* the one that found the change */
	assert_non_null(strstr(r.error, "max-delete"));
	engine_result_free(&r);
	engine_zone_free(&ez);
	store_close(st);
	conf_free(&c);
	log_close();
}

/* Two hosts: the provider's serial against ours decides (RFC 1982). */
static void test_fence_decision(void **state)
{
	(void)state;
	static const struct {
		bool has_live;
		uint32_t live, ours;
		bool differs;
		engine_fence_t want;
	} cases[] = {
		{ false, 0, 10, true, ENGINE_FENCE_PUSH },          /* nothing to go by */
		{ true, 9, 10, true, ENGINE_FENCE_PUSH },            /* behind */
		{ true, 9, 10, false, ENGINE_FENCE_PUSH },           /* behind, only the SOA */
		{ true, 10, 10, false, ENGINE_FENCE_NOTHING },       /* ours, as ours */
		{ true, 10, 10, true, ENGINE_FENCE_PUSH },           /* ours, other data */
		{ true, 11, 10, true, ENGINE_FENCE_STAND_DOWN },     /* ahead */
		{ true, 11, 10, false, ENGINE_FENCE_STAND_DOWN },
		{ true, 5, UINT32_MAX - 5, true, ENGINE_FENCE_STAND_DOWN }, /* ahead, wrapped */
		{ true, UINT32_MAX - 5, 5, true, ENGINE_FENCE_PUSH },       /* behind, wrapped */
		{ true, 10 + (1u << 31), 10, true, ENGINE_FENCE_STAND_DOWN }, /* no order */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		engine_fence_t got = engine_fence(cases[i].has_live, cases[i].live, cases[i].ours,
		                                  cases[i].differs);
		if (got != cases[i].want) {
			fail_msg("case %zu: live=%u ours=%u differs=%d: got %d, want %d", i,
			         cases[i].live, cases[i].ours, cases[i].differs, got,
			         cases[i].want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_serial_is_the_pushed_snapshots, setup,
		                                teardown),
		cmocka_unit_test(test_adopt_decision),
		cmocka_unit_test(test_fence_decision),
		cmocka_unit_test_setup_teardown(test_first_contact_keeps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_contact_replace_empty_limits, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_conflicts_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_count_what_is_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incremental_addition_at_an_ignored_name, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_dirty_before_the_first_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_after_a_reread, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
