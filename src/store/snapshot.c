/* The snapshot: a zone's records, one row each, in canonical order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>
#include <libknot/rrtype/soa.h>

#include "dns/name.h"
#include "store/internal.h"

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

static int insert(store_t *s, int64_t id, const zone_rr_t *rr)
{
	sqlite3_stmt *st = s->ins_rr;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob(st, 2, rr->key, rr->keylen, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, rr->type);
	sqlite3_bind_blob(st, 4, rr->rd->data, rr->rd->len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, rr->ttl);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		return 0;
	}
	return (rc & 0xff) == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
}

static int delete (store_t *s, int64_t id, const zone_rr_t *rr)
{
	sqlite3_stmt *st = s->del_rr;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob(st, 2, rr->key, rr->keylen, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, rr->type);
	sqlite3_bind_blob(st, 4, rr->rd->data, rr->rd->len, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		return -EIO;
	}
	return sqlite3_changes(s->db) == 1 ? 0 : -ENOENT;
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
	int64_t id = store_zone_id(s, apex, true);
	sqlite3_stmt *st = NULL;
	if (id <= 0 || store_prepare(s, "DELETE FROM rr WHERE zone=?1", &st) != SQLITE_OK) {
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
	/* Rows go in sorted, so the B-tree is filled at its right edge. */
	for (size_t i = 0; i < z->count; i++) {
		if (insert(s, id, &z->rr[i]) != 0) {
			store_fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
			return rollback(s, -EIO);
		}
	}
	if (set_serial(s, id, serial) != 0 || store_exec(s, "COMMIT") != 0) {
		store_fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
		return rollback(s, -EIO);
	}
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
	sqlite3_stmt *st;
	if (store_prepare(s, "SELECT rdata FROM rr WHERE zone=?1 AND owner=?2 AND type=6", &st) !=
	    SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob(st, 2, akey, (int)alen, SQLITE_STATIC);
	*count = 0;
	memset(out, 0, sizeof(*out));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* SOA rdata: two names, then serial and four more fields. */
		int len = sqlite3_column_bytes(st, 0);
		_Alignas(8) uint8_t buf[2 + 2 * KNOT_DNAME_MAXLEN + 20];
		knot_rdata_t *rd = (knot_rdata_t *)buf;
		if (len >= 22 && (size_t)len <= sizeof(buf) - 2) {
			knot_rdata_init(rd, (uint16_t)len, sqlite3_column_blob(st, 0));
			out->serial = knot_soa_serial(rd);
			out->refresh = knot_soa_refresh(rd);
			out->retry = knot_soa_retry(rd);
			out->expire = knot_soa_expire(rd);
		}
		(*count)++;
	}
	store_done(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int refuse(store_t *s, char *err, size_t errlen, const char *what, const zone_rr_t *rr)
{
	char txt[400];
	store_fail(err, errlen, -EINVAL, "%s: %s", what, zone_rr_str(rr, txt, sizeof(txt)));
	return rollback(s, -EINVAL);
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
	for (size_t k = 0; k < nsteps; k++) {
		const zone_delta_t *d = &steps[k];
		for (size_t i = 0; i < d->del.count; i++) {
			int ret = delete (s, id, &d->del.rr[i]);
			if (ret == -ENOENT) {
				return refuse(s, err, errlen,
				              "delta removes a record the zone does not have",
				              &d->del.rr[i]);
			} else if (ret != 0) {
				store_fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
				return rollback(s, -EIO);
			}
		}
		for (size_t i = 0; i < d->add.count; i++) {
			const zone_rr_t *rr = &d->add.rr[i];
			if (rr->keylen < alen || memcmp(rr->key, akey, alen) != 0) {
				return refuse(s, err, errlen,
				              "delta adds a record outside the zone", rr);
			}
			if (rr->type == KNOT_RRTYPE_SOA && rr->keylen != alen) {
				return refuse(s, err, errlen, "delta adds an SOA below the apex",
				              rr);
			}
			int ret = insert(s, id, rr);
			if (ret == -EEXIST) {
				return refuse(s, err, errlen,
				              "delta adds a record the zone already has", rr);
			} else if (ret != 0) {
				store_fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
				return rollback(s, -EIO);
			}
		}
	}

	/* Exactly one apex SOA, carrying the final serial. */
	size_t soas;
	store_soa_t soa;
	if (apex_soa(s, id, apex, &soas, &soa) != 0) {
		store_fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
		return rollback(s, -EIO);
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
		store_fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
		return rollback(s, -EIO);
	}
	return 0;
}

/* Add the rows of a prepared SELECT owner, type, ttl, rdata to z. */
static int load_rows(sqlite3_stmt *st, zone_t *z)
{
	static _Thread_local _Alignas(8) uint8_t buf[2 + 65535 + 1];
	knot_rdata_t *rd = (knot_rdata_t *)buf;
	int rc, ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int klen = sqlite3_column_bytes(st, 0);
		int rlen = sqlite3_column_bytes(st, 3);
		if (klen > DNS_KEY_MAX || rlen > 65535) {
			return -EIO;
		}
		knot_rdata_init(rd, (uint16_t)rlen, sqlite3_column_blob(st, 3));
		ret = zone_add_keyed(z, sqlite3_column_blob(st, 0), (size_t)klen,
		                     (uint16_t)sqlite3_column_int(st, 1),
		                     (uint32_t)sqlite3_column_int64(st, 2), rd);
		if (ret != 0) {
			return ret;
		}
	}
	return rc == SQLITE_DONE ? 0 : -EIO;
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
	const char *sql = which == NULL ? "SELECT owner, type, ttl, rdata FROM rr WHERE zone=?1 "
	                                  "ORDER BY owner, type, rdata"
	                                : "SELECT owner, type, ttl, rdata FROM rr WHERE zone=?1 "
	                                  "AND owner=?2 AND type=?3 ORDER BY rdata";
	sqlite3_stmt *st;
	if (store_prepare(s, sql, &st) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	int ret = 0;
	if (which == NULL) {
		ret = load_rows(st, z);
	}
	size_t pos = 0;
	zone_rrset_t set;
	while (which != NULL && ret == 0 && zone_rrset_next(which, &pos, &set)) {
		sqlite3_bind_blob(st, 2, set.key, set.keylen, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, set.type);
		ret = load_rows(st, z);
		sqlite3_reset(st);
	}
	store_done(st);
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

int store_zone_rrsets(store_t *s, const knot_dname_t *apex, size_t *count)
{
	*count = 0;
	int64_t id = store_zone_id(s, apex, false);
	if (id <= 0) {
		return id < 0 ? -EIO : -ENOENT;
	}
	sqlite3_stmt *st;
	if (store_prepare(s,
	                  "SELECT count(*) FROM (SELECT 1 FROM rr WHERE zone=?1 "
	                  "GROUP BY owner, type)",
	                  &st) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	int ret = -EIO;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*count = (size_t)sqlite3_column_int64(st, 0);
		ret = 0;
	}
	store_done(st);
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
