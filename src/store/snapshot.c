/*
 * The snapshot: a zone's records in canonical order, packed into chunks.
 *
 * A row per record made an AXFR of a million records a million B-tree
 * inserts, most of the commit.  A chunk holds a run of consecutive records
 * (about CHUNK_BYTES of them), and its row is keyed by its first record, so
 * an AXFR writes a few thousand rows, reading the zone back is one ordered
 * scan, and an IXFR reads and rewrites only the chunks its records fall in.
 * Chunks never overlap: every record of one is below the first record of
 * the next, so the chunk holding (or to hold) a record is the last one whose
 * first record is not above it, or the zone's first chunk.
 *
 * A record in a chunk, big endian: key length (0: the owner of the record
 * before it), the owner's sort key (dns/name.h), type, TTL, rdata length,
 * canonical rdata.  Order: owner key, type, rdata, as SQLite orders the
 * row's (owner, type, rdata) blobs: memcmp, then the shorter first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>
#include <libknot/rrtype/soa.h>

#include "dns/name.h"
#include "store/internal.h"

/* A chunk is cut once it holds this much; an edited one is split once it
 * holds CHUNK_MAX (so one IXFR after another does not split every time). */
#define CHUNK_BYTES 8192
#define CHUNK_MAX (4 * CHUNK_BYTES)

/* One record of a chunk; key and rd point into the chunk or the caller's. */
typedef struct {
	const uint8_t *key, *rd;
	uint32_t ttl;
	uint16_t keylen, type, rdlen;
} rec_t;

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static int blob_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);
	return r != 0 ? r : (alen > blen) - (alen < blen);
}

/* Record order, TTL left out: that of the rows' (owner, type, rdata). */
static int rec_cmp(const rec_t *a, const rec_t *b)
{
	int r = a->key == b->key && a->keylen == b->keylen
	                ? 0
	                : blob_cmp(a->key, a->keylen, b->key, b->keylen);
	if (r == 0) {
		r = (a->type > b->type) - (a->type < b->type);
	}
	return r != 0 ? r : blob_cmp(a->rd, a->rdlen, b->rd, b->rdlen);
}

static rec_t rec_of(const zone_rr_t *rr)
{
	return (rec_t){ .key = rr->key, .keylen = rr->keylen, .type = rr->type,
		        .ttl = rr->ttl, .rd = rr->rd->data, .rdlen = rr->rd->len };
}

/*
 * The record at *pos of chunk d (len bytes) into r, which holds the record
 * before it ({0} for the first).  1, 0 at the end, -EIO when the chunk is
 * not well formed (a damaged file: never read past it).
 */
static int rec_next(const uint8_t *d, size_t len, size_t *pos, rec_t *r)
{
	size_t p = *pos;
	if (p == len) {
		return 0;
	}
	if (len - p < 2) {
		return -EIO;
	}
	uint16_t kl = get16(d + p);
	p += 2;
	if (kl == 0 && r->key == NULL) {
		return -EIO;
	} else if (kl != 0) {
		if (kl > DNS_KEY_MAX || len - p < kl) {
			return -EIO;
		}
		r->key = d + p;
		r->keylen = kl;
		p += kl;
	}
	if (len - p < 8) {
		return -EIO;
	}
	r->type = get16(d + p);
	r->ttl = (uint32_t)get16(d + p + 2) << 16 | get16(d + p + 4);
	r->rdlen = get16(d + p + 6);
	p += 8;
	if (len - p < r->rdlen) {
		return -EIO;
	}
	r->rd = d + p;
	*pos = p + r->rdlen;
	return 1;
}

/* A growing buffer of encoded records. */
typedef struct {
	uint8_t *p;
	size_t len, cap;
	size_t key, keylen; /* the last owner written (offset), 0 none */
} buf_t;

/* Append r, its owner written out unless it is the last one's. */
static int buf_put(buf_t *b, const rec_t *r)
{
	bool same = b->keylen == r->keylen && memcmp(b->p + b->key, r->key, r->keylen) == 0;
	size_t need = 2 + (same ? 0 : r->keylen) + 8 + r->rdlen;
	if (b->cap - b->len < need) {
		size_t cap = b->cap < CHUNK_MAX ? CHUNK_MAX : b->cap;
		while (cap - b->len < need) {
			cap *= 2;
		}
		uint8_t *p = realloc(b->p, cap);
		if (p == NULL) {
			return -ENOMEM;
		}
		b->p = p;
		b->cap = cap;
	}
	uint8_t *w = put16(b->p + b->len, same ? 0 : r->keylen);
	if (!same) {
		memcpy(w, r->key, r->keylen);
		b->key = (size_t)(w - b->p);
		b->keylen = r->keylen;
		w += r->keylen;
	}
	w = put16(w, r->type);
	w = put16(w, (uint16_t)(r->ttl >> 16));
	w = put16(w, (uint16_t)r->ttl);
	w = put16(w, r->rdlen);
	if (r->rdlen > 0) {
		memcpy(w, r->rd, r->rdlen);
	}
	b->len = (size_t)(w - b->p) + r->rdlen;
	return 0;
}

static void buf_clear(buf_t *b)
{
	b->len = 0;
	b->keylen = 0;
}

/* Bind a chunk's first record as (owner, type, rdata) at parameter i. */
static void bind_first(sqlite3_stmt *st, int i, const rec_t *r)
{
	sqlite3_bind_blob(st, i, r->key, r->keylen, SQLITE_STATIC);
	sqlite3_bind_int(st, i + 1, r->type);
	sqlite3_bind_blob(st, i + 2, r->rdlen > 0 ? r->rd : (const uint8_t *)"", r->rdlen,
	                  SQLITE_STATIC);
}

/* Store len bytes of records as a chunk of zone id: a new row, or row
 * (when > 0) rewritten. */
static int chunk_write(store_t *s, int64_t id, int64_t row, const uint8_t *data, size_t len)
{
	rec_t first = { 0 };
	size_t pos = 0;
	if (rec_next(data, len, &pos, &first) != 1) {
		return -EIO;
	}
	sqlite3_stmt *st;
	const char *sql = row > 0 ? "UPDATE chunk SET owner=?2, type=?3, rdata=?4, data=?5 "
	                            "WHERE id=?1"
	                          : "INSERT INTO chunk(zone, owner, type, rdata, data) "
	                            "VALUES(?1, ?2, ?3, ?4, ?5)";
	if (store_prepare(s, sql, &st) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, row > 0 ? row : id);
	bind_first(st, 2, &first);
	sqlite3_bind_blob(st, 5, data, (int)len, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	store_done(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Records written in order into new chunks of zone id. */
typedef struct {
	store_t *s;
	int64_t id;
	buf_t b;
} writer_t;

static int writer_add(writer_t *w, const rec_t *r)
{
	if (w->b.len >= CHUNK_BYTES) {
		int ret = chunk_write(w->s, w->id, 0, w->b.p, w->b.len);
		buf_clear(&w->b);
		if (ret != 0) {
			return ret;
		}
	}
	return buf_put(&w->b, r);
}

/* Write what is left and free the buffer. */
static int writer_end(writer_t *w, int ret)
{
	if (ret == 0 && w->b.len > 0) {
		ret = chunk_write(w->s, w->id, 0, w->b.p, w->b.len);
	}
	free(w->b.p);
	w->b = (buf_t){ 0 };
	return ret;
}

int store_chunks_from_rows(store_t *s)
{
	/* Not store_prepare(): the table goes right after. */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT zone, owner, type, ttl, rdata FROM rr "
	                       "ORDER BY zone, owner, type, rdata",
	                       -1, &st, NULL) != SQLITE_OK) {
		return -EIO;
	}
	writer_t w = { .s = s };
	int rc, ret = 0;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t zone = sqlite3_column_int64(st, 0);
		rec_t r = { .key = sqlite3_column_blob(st, 1),
			    .keylen = (uint16_t)sqlite3_column_bytes(st, 1),
			    .type = (uint16_t)sqlite3_column_int(st, 2),
			    .ttl = (uint32_t)sqlite3_column_int64(st, 3),
			    .rd = sqlite3_column_blob(st, 4),
			    .rdlen = (uint16_t)sqlite3_column_bytes(st, 4) };
		if (sqlite3_column_bytes(st, 1) > DNS_KEY_MAX || r.keylen == 0 ||
		    sqlite3_column_bytes(st, 4) > 65535) {
			ret = -EIO;
			break;
		}
		if (zone != w.id) {
			ret = writer_end(&w, 0);
			w.id = zone;
		}
		if (ret == 0) {
			ret = writer_add(&w, &r);
		}
	}
	sqlite3_finalize(st);
	ret = writer_end(&w, ret);
	return ret == 0 && rc == SQLITE_DONE ? 0 : -EIO;
}

static int set_serial(store_t *s, int64_t id, uint32_t serial)
{
	sqlite3_stmt *st;
	if (store_prepare(s, "UPDATE zone SET has_data=1, serial=?2 WHERE id=?1", &st) !=
	    SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, serial);
	int rc = sqlite3_step(st);
	store_done(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int rollback(store_t *s, int ret)
{
	store_exec(s, "ROLLBACK");
	return ret;
}

int store_zone_replace(store_t *s, const knot_dname_t *apex, const zone_t *z, char *err,
                       size_t errlen)
{
	uint32_t serial;
	if (zone_serial(z, &serial) != 0) {
		return store_fail(err, errlen, -EINVAL, "zone has no SOA");
	}
	if (store_exec(s, "BEGIN IMMEDIATE") != 0) {
		return store_fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
	}
	/* The old chunks and the new in one transaction: a crash at any
	 * point leaves one or the other.  Only a few thousand rows either
	 * way, and their pages are reused by the new ones. */
	int64_t id = store_zone_id(s, apex, true);
	sqlite3_stmt *st = NULL;
	if (id <= 0 || store_prepare(s, "DELETE FROM chunk WHERE zone=?1", &st) != SQLITE_OK) {
		store_fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
		return rollback(s, -EIO);
	}
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	store_done(st);
	if (rc != SQLITE_DONE) {
		store_fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
		return rollback(s, -EIO);
	}
	writer_t w = { .s = s, .id = id };
	int ret = 0;
	for (size_t i = 0; i < z->count && ret == 0; i++) {
		rec_t r = rec_of(&z->rr[i]);
		ret = writer_add(&w, &r);
	}
	ret = writer_end(&w, ret);
	if (ret != 0 || set_serial(s, id, serial) != 0 || store_exec(s, "COMMIT") != 0) {
		store_fail(err, errlen, ret == -ENOMEM ? -ENOMEM : -EIO, "store: %s",
		           ret == -ENOMEM ? "out of memory" : sqlite3_errmsg(s->db));
		return rollback(s, ret == -ENOMEM ? -ENOMEM : -EIO);
	}
	return 0;
}

/*
 * The chunk that holds r, or would: the last whose first record is not
 * above r, else the zone's first.  1 with *row and its data (valid until
 * store_done(*st)), 0 when the zone has no chunk, -EIO.
 */
static int chunk_find(store_t *s, int64_t id, const rec_t *r, sqlite3_stmt **st, int64_t *row,
                      const uint8_t **data, size_t *len)
{
	static const char *const sql[] = {
		"SELECT id, data FROM chunk WHERE zone=?1 AND (owner, type, rdata) <= (?2, ?3, ?4) "
		"ORDER BY owner DESC, type DESC, rdata DESC LIMIT 1",
		"SELECT id, data FROM chunk WHERE zone=?1 ORDER BY owner, type, rdata LIMIT 1",
	};
	for (size_t i = 0; i < 2; i++) {
		if (store_prepare(s, sql[i], st) != SQLITE_OK) {
			return -EIO;
		}
		sqlite3_bind_int64(*st, 1, id);
		if (i == 0) {
			bind_first(*st, 2, r);
		}
		int rc = sqlite3_step(*st);
		if (rc == SQLITE_ROW) {
			*row = sqlite3_column_int64(*st, 0);
			*data = sqlite3_column_blob(*st, 1);
			*len = (size_t)sqlite3_column_bytes(*st, 1);
			return 1;
		}
		store_done(*st);
		if (rc != SQLITE_DONE) {
			return -EIO;
		}
	}
	return 0;
}

/*
 * Call fn on every record of the RRset (key, type) in zone id, in order:
 * from the chunk that would hold its first record on, till a record past
 * it.  0, fn's error, or -EIO.
 */
static int scan_set(store_t *s, int64_t id, const uint8_t *key, size_t keylen, uint16_t type,
                    int (*fn)(void *arg, const rec_t *r), void *arg)
{
	const rec_t want = { .key = key, .keylen = (uint16_t)keylen, .type = type,
		             .rd = (const uint8_t *)"" };
	sqlite3_stmt *st;
	int64_t row;
	const uint8_t *data;
	size_t len;
	int ret = chunk_find(s, id, &want, &st, &row, &data, &len);
	if (ret <= 0) {
		return ret;
	}
	store_done(st);
	ret = 0;
	if (store_prepare(s, "SELECT data FROM chunk WHERE zone=?1 AND (owner, type, rdata) >= "
	                     "(SELECT owner, type, rdata FROM chunk WHERE id=?2) "
	                     "ORDER BY owner, type, rdata",
	                  &st) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, row);
	int rc = SQLITE_DONE;
	bool past = false;
	while (!past && ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		data = sqlite3_column_blob(st, 0);
		len = (size_t)sqlite3_column_bytes(st, 0);
		rec_t r = { 0 };
		size_t pos = 0;
		while ((ret = rec_next(data, len, &pos, &r)) == 1) {
			int c = blob_cmp(r.key, r.keylen, key, keylen);
			c = c != 0 ? c : (r.type > type) - (r.type < type);
			if (c > 0) {
				past = true;
				ret = 0;
				break;
			}
			if (c == 0 && (ret = fn(arg, &r)) != 0) {
				break;
			}
		}
	}
	store_done(st);
	return ret != 0 ? ret : past || rc == SQLITE_DONE ? 0 : -EIO;
}

struct soa_scan {
	size_t count;
	store_soa_t *out;
};

static int soa_rec(void *arg, const rec_t *r)
{
	struct soa_scan *a = arg;
	/* SOA rdata: two names, then serial and four more fields. */
	_Alignas(8) uint8_t buf[2 + 2 * KNOT_DNAME_MAXLEN + 20];
	knot_rdata_t *rd = (knot_rdata_t *)buf;
	if (r->rdlen >= 22 && (size_t)r->rdlen <= sizeof(buf) - 2) {
		knot_rdata_init(rd, r->rdlen, r->rd);
		a->out->serial = knot_soa_serial(rd);
		a->out->refresh = knot_soa_refresh(rd);
		a->out->retry = knot_soa_retry(rd);
		a->out->expire = knot_soa_expire(rd);
	}
	a->count++;
	return 0;
}

/*
 * The apex SOA records of zone id: how many there are (*count) and the
 * fields of the last one.  0, or -EIO.  A zone has exactly one; a delta
 * is checked for that before it commits.
 */
static int apex_soa(store_t *s, int64_t id, const knot_dname_t *apex, size_t *count,
                    store_soa_t *out)
{
	uint8_t akey[DNS_KEY_MAX];
	size_t alen = dns_name_key(apex, akey);
	memset(out, 0, sizeof(*out));
	struct soa_scan a = { .out = out };
	int ret = scan_set(s, id, akey, alen, KNOT_RRTYPE_SOA, soa_rec, &a);
	*count = a.count;
	return ret;
}

/*
 * The chunk an IXFR edits, held decoded while the records it edits fall
 * in it (a delta is sorted: its records come chunk after chunk), written
 * back when one falls elsewhere, and at the end.
 */
typedef struct {
	bool open;
	int64_t row;   /* its row, 0 a new chunk (the zone had none) */
	bool lowest;   /* the zone's first chunk: records below it go in it */
	uint8_t *orig; /* the chunk as read: the records not edited point here */
	size_t origlen;
	uint8_t *upper; /* the next chunk's first record (owner, type, rdata) */
	size_t upperlen;
	rec_t next; /* it, pointing into upper; next.key NULL: no next chunk */
	rec_t *rec;
	size_t n, cap;
	bool dirty;
} edit_t;

/* Room for one more record in e->rec.  0 or -ENOMEM. */
static int edit_room(edit_t *e)
{
	if (e->n < e->cap) {
		return 0;
	}
	size_t cap = e->cap == 0 ? 256 : e->cap * 2;
	rec_t *p = realloc(e->rec, cap * sizeof(*p));
	if (p == NULL) {
		return -ENOMEM;
	}
	e->rec = p;
	e->cap = cap;
	return 0;
}

static void edit_close(edit_t *e)
{
	free(e->orig);
	free(e->upper);
	e->orig = e->upper = NULL;
	e->next = (rec_t){ 0 };
	e->n = 0;
	e->open = e->dirty = false;
}

static void edit_free(edit_t *e)
{
	edit_close(e);
	free(e->rec);
	e->rec = NULL;
	e->cap = 0;
}

/* Does r belong in the open chunk? */
static bool edit_holds(const edit_t *e, const rec_t *r)
{
	if (!e->open) {
		return false;
	}
	if (!e->lowest) {
		rec_t first = { 0 };
		size_t pos = 0;
		if (rec_next(e->orig, e->origlen, &pos, &first) != 1 || rec_cmp(r, &first) < 0) {
			return false;
		}
	}
	return e->next.key == NULL || rec_cmp(r, &e->next) < 0;
}

/* Write the open chunk back (split when it grew past CHUNK_MAX, its row
 * deleted when it holds nothing) and close it. */
static int edit_flush(store_t *s, int64_t id, edit_t *e)
{
	int ret = 0;
	if (e->open && e->dirty && e->n == 0 && e->row > 0) {
		sqlite3_stmt *st;
		if (store_prepare(s, "DELETE FROM chunk WHERE id=?1", &st) != SQLITE_OK) {
			return -EIO;
		}
		sqlite3_bind_int64(st, 1, e->row);
		ret = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
		store_done(st);
	} else if (e->open && e->dirty && e->n > 0) {
		size_t total = 0;
		for (size_t i = 0; i < e->n; i++) {
			total += 12 + e->rec[i].keylen + e->rec[i].rdlen;
		}
		size_t cut = total > CHUNK_MAX ? CHUNK_BYTES : SIZE_MAX;
		buf_t b = { 0 };
		int64_t row = e->row;
		for (size_t i = 0; i < e->n && ret == 0; i++) {
			ret = buf_put(&b, &e->rec[i]);
			if (ret == 0 && (b.len >= cut || i + 1 == e->n)) {
				ret = chunk_write(s, id, row, b.p, b.len);
				row = 0; /* the rest are new rows */
				buf_clear(&b);
			}
		}
		free(b.p);
	}
	edit_close(e);
	return ret;
}

/* Open the chunk that holds (or would hold) r. */
static int edit_open(store_t *s, int64_t id, edit_t *e, const rec_t *r)
{
	sqlite3_stmt *st;
	const uint8_t *data = NULL;
	size_t len = 0;
	int ret = chunk_find(s, id, r, &st, &e->row, &data, &len);
	if (ret < 0) {
		return ret;
	}
	e->open = true;
	if (ret == 0) {
		/* No chunk: this one starts the zone. */
		e->row = 0;
		e->lowest = true;
		return 0;
	}
	e->orig = malloc(len > 0 ? len : 1);
	if (e->orig == NULL) {
		store_done(st);
		return -ENOMEM;
	}
	memcpy(e->orig, data, len);
	e->origlen = len;
	store_done(st);

	rec_t first = { 0 };
	size_t pos = 0;
	if ((ret = rec_next(e->orig, len, &pos, &first)) != 1) {
		return -EIO;
	}
	e->lowest = rec_cmp(r, &first) < 0;
	/* Decode (pointers into orig). */
	rec_t cur = { 0 };
	pos = 0;
	while ((ret = rec_next(e->orig, len, &pos, &cur)) == 1) {
		if (edit_room(e) != 0) {
			return -ENOMEM;
		}
		e->rec[e->n++] = cur;
	}
	if (ret < 0) {
		return ret;
	}

	/* The next chunk's first record: the upper bound. */
	if (store_prepare(s, "SELECT owner, type, rdata FROM chunk WHERE zone=?1 AND "
	                     "(owner, type, rdata) > (?2, ?3, ?4) "
	                     "ORDER BY owner, type, rdata LIMIT 1",
	                  &st) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	bind_first(st, 2, &first);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		size_t kl = (size_t)sqlite3_column_bytes(st, 0);
		size_t rl = (size_t)sqlite3_column_bytes(st, 2);
		e->upper = malloc(kl + rl + 1);
		if (e->upper == NULL || kl > DNS_KEY_MAX || rl > 65535) {
			store_done(st);
			return e->upper == NULL ? -ENOMEM : -EIO;
		}
		memcpy(e->upper, sqlite3_column_blob(st, 0), kl);
		if (rl > 0) {
			memcpy(e->upper + kl, sqlite3_column_blob(st, 2), rl);
		}
		e->next = (rec_t){ .key = e->upper, .keylen = (uint16_t)kl,
			           .type = (uint16_t)sqlite3_column_int(st, 1),
			           .rd = e->upper + kl, .rdlen = (uint16_t)rl };
	}
	store_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

/* Where r is in the open chunk, or would go: *found tells which. */
static size_t edit_search(const edit_t *e, const rec_t *r, bool *found)
{
	size_t lo = 0, hi = e->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = rec_cmp(&e->rec[mid], r);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	*found = false;
	return lo;
}

/* Remove (add false) or add r: -ENOENT it is not there to remove,
 * -EEXIST it is there already, -ENOMEM, -EIO. */
static int edit(store_t *s, int64_t id, edit_t *e, const rec_t *r, bool add)
{
	if (!edit_holds(e, r)) {
		int ret = edit_flush(s, id, e);
		if (ret == 0) {
			ret = edit_open(s, id, e, r);
		}
		if (ret != 0) {
			return ret;
		}
	}
	bool found;
	size_t i = edit_search(e, r, &found);
	if (!add && !found) {
		return -ENOENT;
	}
	if (add && found) {
		return -EEXIST;
	}
	if (!add) {
		memmove(&e->rec[i], &e->rec[i + 1], (e->n - i - 1) * sizeof(e->rec[0]));
		e->n--;
	} else {
		if (edit_room(e) != 0) {
			return -ENOMEM;
		}
		memmove(&e->rec[i + 1], &e->rec[i], (e->n - i) * sizeof(e->rec[0]));
		e->rec[i] = *r;
		e->n++;
	}
	e->dirty = true;
	return 0;
}

static int refuse(store_t *s, edit_t *e, char *err, size_t errlen, const char *what,
                  const zone_rr_t *rr)
{
	char txt[400];
	store_fail(err, errlen, -EINVAL, "%s: %s", what, zone_rr_str(rr, txt, sizeof(txt)));
	edit_free(e);
	return rollback(s, -EINVAL);
}

static int failed(store_t *s, edit_t *e, char *err, size_t errlen, int ret)
{
	ret = ret == -ENOMEM ? -ENOMEM : -EIO;
	store_fail(err, errlen, ret, "store: %s",
	           ret == -ENOMEM ? "out of memory" : sqlite3_errmsg(s->db));
	edit_free(e);
	return rollback(s, ret);
}

int store_zone_apply(store_t *s, const knot_dname_t *apex, const zone_delta_t *steps, size_t nsteps,
                     char *err, size_t errlen)
{
	uint8_t akey[DNS_KEY_MAX];
	size_t alen = dns_name_key(apex, akey);
	if (nsteps == 0) {
		return store_fail(err, errlen, -EINVAL, "empty delta");
	}
	if (store_exec(s, "BEGIN IMMEDIATE") != 0) {
		return store_fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
	}
	int64_t id = store_zone_id(s, apex, false);
	if (id <= 0) {
		store_fail(err, errlen, id < 0 ? -EIO : -EINVAL,
		           "no stored zone to apply a delta to");
		return rollback(s, id < 0 ? -EIO : -EINVAL);
	}
	edit_t e = { 0 };
	for (size_t k = 0; k < nsteps; k++) {
		const zone_delta_t *d = &steps[k];
		for (size_t i = 0; i < d->del.count; i++) {
			rec_t r = rec_of(&d->del.rr[i]);
			int ret = edit(s, id, &e, &r, false);
			if (ret == -ENOENT) {
				return refuse(s, &e, err, errlen,
				              "delta removes a record the zone does not have",
				              &d->del.rr[i]);
			} else if (ret != 0) {
				return failed(s, &e, err, errlen, ret);
			}
		}
		for (size_t i = 0; i < d->add.count; i++) {
			const zone_rr_t *rr = &d->add.rr[i];
			if (rr->keylen < alen || memcmp(rr->key, akey, alen) != 0) {
				return refuse(s, &e, err, errlen,
				              "delta adds a record outside the zone", rr);
			}
			if (rr->type == KNOT_RRTYPE_SOA && rr->keylen != alen) {
				return refuse(s, &e, err, errlen, "delta adds an SOA below the apex",
				              rr);
			}
			rec_t r = rec_of(rr);
			int ret = edit(s, id, &e, &r, true);
			if (ret == -EEXIST) {
				return refuse(s, &e, err, errlen,
				              "delta adds a record the zone already has", rr);
			} else if (ret != 0) {
				return failed(s, &e, err, errlen, ret);
			}
		}
	}
	int ret = edit_flush(s, id, &e);
	edit_free(&e);
	if (ret != 0) {
		return failed(s, &e, err, errlen, ret);
	}

	/* Exactly one apex SOA, carrying the final serial. */
	size_t soas;
	store_soa_t soa;
	if (apex_soa(s, id, apex, &soas, &soa) != 0) {
		return failed(s, &e, err, errlen, -EIO);
	}
	uint32_t want = steps[nsteps - 1].to;
	if (soas != 1) {
		store_fail(err, errlen, -EINVAL, "delta leaves %zu SOA records at the apex", soas);
		return rollback(s, -EINVAL);
	}
	if (soa.serial != want) {
		store_fail(err, errlen, -EINVAL, "delta ends at serial %u but the SOA says %u",
		           want, soa.serial);
		return rollback(s, -EINVAL);
	}
	if (set_serial(s, id, want) != 0 || store_exec(s, "COMMIT") != 0) {
		return failed(s, &e, err, errlen, -EIO);
	}
	return 0;
}

/* Add one record to z (its rdata copied once, into z). */
static int add_rec(void *arg, const rec_t *r)
{
	static _Thread_local _Alignas(8) uint8_t buf[2 + 65535 + 1];
	knot_rdata_t *rd = (knot_rdata_t *)buf;
	knot_rdata_init(rd, r->rdlen, r->rd);
	return zone_add_keyed(arg, r->key, r->keylen, r->type, r->ttl, rd);
}

/* Every record of zone id, in order, to fn. */
static int scan_all(store_t *s, int64_t id, int (*fn)(void *arg, const rec_t *r), void *arg)
{
	sqlite3_stmt *st;
	if (store_prepare(s, "SELECT data FROM chunk WHERE zone=?1 ORDER BY owner, type, rdata",
	                  &st) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	int rc = SQLITE_DONE, ret = 0;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *data = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		rec_t r = { 0 };
		size_t pos = 0;
		while ((ret = rec_next(data, len, &pos, &r)) == 1 && (ret = fn(arg, &r)) == 0) {
		}
	}
	store_done(st);
	return ret != 0 ? ret : rc == SQLITE_DONE ? 0 : -EIO;
}

/* The snapshot's records into z (finished): all of them, or only those of
 * the RRsets named in which. */
static int load(store_t *s, const knot_dname_t *apex, const zone_t *which, zone_t *z)
{
	zone_init(z);
	zone_set_apex(z, apex);
	int64_t id = store_zone_id(s, apex, false);
	if (id <= 0) {
		return id < 0 ? -EIO : -ENOENT;
	}
	int ret = 0;
	if (which == NULL) {
		ret = scan_all(s, id, add_rec, z);
	}
	size_t pos = 0;
	zone_rrset_t set;
	while (which != NULL && ret == 0 && zone_rrset_next(which, &pos, &set)) {
		ret = scan_set(s, id, set.key, set.keylen, set.type, add_rec, z);
	}
	if (ret == 0) {
		ret = zone_finish(z);
	}
	if (ret != 0) {
		zone_free(z);
	}
	return ret;
}

int store_zone_load(store_t *s, const knot_dname_t *apex, zone_t *z)
{
	return load(s, apex, NULL, z);
}

int store_zone_load_sets(store_t *s, const knot_dname_t *apex, const zone_t *which, zone_t *z)
{
	return load(s, apex, which, z);
}

struct count_sets {
	rec_t last;
	uint8_t key[DNS_KEY_MAX];
	size_t count;
};

static int count_rec(void *arg, const rec_t *r)
{
	struct count_sets *c = arg;
	if (c->count == 0 || r->type != c->last.type || r->keylen != c->last.keylen ||
	    memcmp(r->key, c->key, r->keylen) != 0) {
		memcpy(c->key, r->key, r->keylen);
		c->last = (rec_t){ .key = c->key, .keylen = r->keylen, .type = r->type };
		c->count++;
	}
	return 0;
}

int store_zone_rrsets(store_t *s, const knot_dname_t *apex, size_t *count)
{
	*count = 0;
	int64_t id = store_zone_id(s, apex, false);
	if (id <= 0) {
		return id < 0 ? -EIO : -ENOENT;
	}
	struct count_sets c = { .count = 0 };
	int ret = scan_all(s, id, count_rec, &c);
	if (ret == 0) {
		*count = c.count;
	}
	return ret;
}

int store_zone_soa(store_t *s, const knot_dname_t *apex, store_soa_t *out)
{
	int64_t id = store_zone_id(s, apex, false);
	if (id <= 0) {
		return id < 0 ? -EIO : -ENOENT;
	}
	size_t count;
	int ret = apex_soa(s, id, apex, &count, out);
	return ret != 0 ? ret : count > 0 ? 0 : -ENOENT;
}
