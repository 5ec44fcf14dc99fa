#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include <libknot/descriptor.h>
#include <libknot/rrtype/soa.h>

#include "dns/name.h"

#define SCHEMA_VERSION 2

struct store {
	sqlite3 *db;
	sqlite3_stmt *del_rr, *ins_rr;
};

static const char SCHEMA[] =
        "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v);"
        "CREATE TABLE IF NOT EXISTS zone("
        "  id INTEGER PRIMARY KEY,"
        "  name BLOB NOT NULL UNIQUE," /* wire form, lowercase */
        "  has_data INTEGER NOT NULL DEFAULT 0,"
        "  serial INTEGER NOT NULL DEFAULT 0,"
        "  refreshed INTEGER NOT NULL DEFAULT 0,"
        "  expire_at INTEGER NOT NULL DEFAULT 0,"
        "  expired INTEGER NOT NULL DEFAULT 0);"
        /* owner is the canonical sort key: BLOB order is DNS order. */
        "CREATE TABLE IF NOT EXISTS rr("
        "  zone INTEGER NOT NULL, owner BLOB NOT NULL, type INTEGER NOT NULL,"
        "  rdata BLOB NOT NULL, ttl INTEGER NOT NULL,"
        "  PRIMARY KEY(zone, owner, type, rdata)) WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS target("
        "  zone INTEGER NOT NULL, id TEXT NOT NULL, has_serial INTEGER NOT NULL DEFAULT 0,"
        "  serial INTEGER NOT NULL DEFAULT 0, dirty INTEGER NOT NULL DEFAULT 0,"
        "  last_ok INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
        "  PRIMARY KEY(zone, id));";

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static int exec(store_t *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* The daemon's lock: a POSIX write lock on DIR/daemon.lock, held for the
 * daemon's life (the kernel drops it when the process ends, however). */
int store_lock(const char *dir, int *fd, char *err, size_t errlen)
{
	char path[4096];
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		return fail(err, errlen, -errno, "cannot create state directory %s: %s", dir,
		            strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/daemon.lock", dir);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (*fd < 0) {
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	}
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(*fd, F_SETLK, &fl) == 0) {
		return 0;
	}
	int e = errno;
	pid_t pid = store_locked_by(dir);
	close(*fd);
	*fd = -1;
	if (e == EAGAIN || e == EACCES) {
		return fail(err, errlen, -EBUSY,
		            "state directory %s is in use by another zonesync run (pid %ld)", dir,
		            (long)pid);
	}
	return fail(err, errlen, -e, "%s: cannot lock: %s", path, strerror(e));
}

pid_t store_locked_by(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/daemon.lock", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return 0;
	}
	/* F_GETLK wants a descriptor open for the lock type it tests. */
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	pid_t pid = 0;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
		pid = fl.l_pid;
	}
	close(fd);
	return pid;
}

static int schema_version(store_t *s)
{
	sqlite3_stmt *st;
	int version = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT v FROM meta WHERE k='schema'", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			version = sqlite3_column_int(st, 0);
		}
		sqlite3_finalize(st);
	}
	return version;
}

/*
 * Bring an older schema up to this one, in one transaction (another
 * process may open the file at the same time: the version is read again
 * once the write lock is held).  SCHEMA creates version 1; each step adds
 * to it.  A newer version is left as it is (the caller refuses it).
 */
static int migrate(store_t *s, int *version)
{
	if (exec(s, "BEGIN IMMEDIATE") != 0) {
		return -EIO;
	}
	int v = schema_version(s);
	int ret = 0;
	if (v == 0) {
		v = 1; /* a new file: SCHEMA just made version 1 */
	}
	if (v == 1) {
		/* 2: the outcome of the zone's last check of its primary. */
		ret = exec(s, "ALTER TABLE zone ADD COLUMN checked INTEGER NOT NULL DEFAULT 0;"
		              "ALTER TABLE zone ADD COLUMN primary_serial INTEGER;"
		              "ALTER TABLE zone ADD COLUMN check_error TEXT NOT NULL DEFAULT '';");
		v = 2;
	}
	if (ret == 0 && v <= SCHEMA_VERSION) {
		char sql[100];
		snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta VALUES('schema', %d)", v);
		ret = exec(s, sql);
	}
	if (ret == 0 && exec(s, "COMMIT") == 0) {
		*version = v;
		return 0;
	}
	exec(s, "ROLLBACK");
	return -EIO;
}

int store_open(const char *dir, store_t **out, char *err, size_t errlen)
{
	char path[4096];
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		return fail(err, errlen, -errno, "cannot create state directory %s: %s", dir,
		            strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/state.db", dir);
	store_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return fail(err, errlen, -ENOMEM, "out of memory");
	}
	int rc = sqlite3_open_v2(path, &s->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         NULL);
	if (rc != SQLITE_OK) {
		fail(err, errlen, -EIO, "%s: %s", path,
		     s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		store_close(s);
		return -EIO;
	}
	sqlite3_busy_timeout(s->db, 30000);
	/* WAL: readers never block the writer.  FULL: a commit that returned
	 * is on disk, so a target marked dirty stays dirty across a crash. */
	if (exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") != 0 ||
	    exec(s, SCHEMA) != 0) {
		fail(err, errlen, -EIO, "%s: %s", path, sqlite3_errmsg(s->db));
		store_close(s);
		return -EIO;
	}
	int version = schema_version(s);
	if (version != SCHEMA_VERSION && migrate(s, &version) != 0) {
		fail(err, errlen, -EIO, "%s: cannot bring the schema from version %d to %d: %s", path,
		     version, SCHEMA_VERSION, sqlite3_errmsg(s->db));
		store_close(s);
		return -EIO;
	}
	if (version != SCHEMA_VERSION) {
		fail(err, errlen, -EIO, "%s: schema version %d, this zonesync knows %d", path,
		     version, SCHEMA_VERSION);
		store_close(s);
		return -EIO;
	}
	if (sqlite3_prepare_v2(s->db,
	                       "DELETE FROM rr WHERE zone=?1 AND owner=?2 AND type=?3 AND rdata=?4",
	                       -1, &s->del_rr, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
	                       "INSERT INTO rr(zone, owner, type, rdata, ttl) "
	                       "VALUES(?1, ?2, ?3, ?4, ?5)",
	                       -1, &s->ins_rr, NULL) != SQLITE_OK) {
		fail(err, errlen, -EIO, "%s: %s", path, sqlite3_errmsg(s->db));
		store_close(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

void store_close(store_t *s)
{
	if (s == NULL) {
		return;
	}
	sqlite3_finalize(s->del_rr);
	sqlite3_finalize(s->ins_rr);
	sqlite3_close(s->db);
	free(s);
}

/* The zone's row id; created when create is set.  >0, 0 absent, <0 error. */
static int64_t zone_id(store_t *s, const knot_dname_t *apex, bool create)
{
	knot_dname_storage_t name;
	knot_dname_copy_lower(name, apex);
	int len = (int)knot_dname_size(name);
	sqlite3_stmt *st;
	int64_t id = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT id FROM zone WHERE name=?1", -1, &st, NULL) !=
	    SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_blob(st, 1, name, len, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
	} else if (rc != SQLITE_DONE) {
		id = -EIO;
	}
	sqlite3_finalize(st);
	if (id != 0 || !create) {
		return id;
	}
	if (sqlite3_prepare_v2(s->db, "INSERT INTO zone(name) VALUES(?1)", -1, &st, NULL) !=
	    SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_blob(st, 1, name, len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? sqlite3_last_insert_rowid(s->db) : -EIO;
}

int store_zone_info(store_t *s, const knot_dname_t *apex, store_zone_info_t *out)
{
	memset(out, 0, sizeof(*out));
	int64_t id = zone_id(s, apex, false);
	if (id <= 0) {
		return id < 0 ? -EIO : 0;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT has_data, serial, refreshed, expire_at, expired, checked, "
	                       "primary_serial, check_error FROM zone WHERE id=?1",
	                       -1, &st, NULL) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	int ret = -EIO;
	if (sqlite3_step(st) == SQLITE_ROW) {
		out->has_data = sqlite3_column_int(st, 0) != 0;
		out->serial = (uint32_t)sqlite3_column_int64(st, 1);
		out->refreshed = sqlite3_column_int64(st, 2);
		out->expire_at = sqlite3_column_int64(st, 3);
		out->expired = sqlite3_column_int(st, 4) != 0;
		out->checked = sqlite3_column_int64(st, 5);
		out->has_primary_serial = sqlite3_column_type(st, 6) != SQLITE_NULL;
		out->primary_serial = (uint32_t)sqlite3_column_int64(st, 6);
		const unsigned char *e = sqlite3_column_text(st, 7);
		snprintf(out->check_error, sizeof(out->check_error), "%s", e != NULL ? (char *)e : "");
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

static int set_serial(store_t *s, int64_t id, uint32_t serial)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "UPDATE zone SET has_data=1, serial=?2 WHERE id=?1", -1, &st,
	                       NULL) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, serial);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
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
	exec(s, "ROLLBACK");
	return ret;
}

int store_zone_replace(store_t *s, const knot_dname_t *apex, const zone_t *z, char *err,
                       size_t errlen)
{
	uint32_t serial;
	if (zone_serial(z, &serial) != 0) {
		return fail(err, errlen, -EINVAL, "zone has no SOA");
	}
	if (exec(s, "BEGIN IMMEDIATE") != 0) {
		return fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
	}
	int64_t id = zone_id(s, apex, true);
	sqlite3_stmt *st = NULL;
	if (id <= 0 ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM rr WHERE zone=?1", -1, &st, NULL) != SQLITE_OK) {
		fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
		return rollback(s, -EIO);
	}
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
		return rollback(s, -EIO);
	}
	/* Rows go in sorted, so the B-tree is filled at its right edge. */
	for (size_t i = 0; i < z->count; i++) {
		if (insert(s, id, &z->rr[i]) != 0) {
			fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
			return rollback(s, -EIO);
		}
	}
	if (set_serial(s, id, serial) != 0 || exec(s, "COMMIT") != 0) {
		fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
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
	if (sqlite3_prepare_v2(s->db, "SELECT rdata FROM rr WHERE zone=?1 AND owner=?2 AND type=6",
	                       -1, &st, NULL) != SQLITE_OK) {
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
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int refuse(store_t *s, char *err, size_t errlen, const char *what, const zone_rr_t *rr)
{
	char txt[400];
	fail(err, errlen, -EINVAL, "%s: %s", what, zone_rr_str(rr, txt, sizeof(txt)));
	return rollback(s, -EINVAL);
}

int store_zone_apply(store_t *s, const knot_dname_t *apex, const zone_delta_t *steps, size_t nsteps,
                     char *err, size_t errlen)
{
	uint8_t akey[DNS_KEY_MAX];
	size_t alen = dns_name_key(apex, akey);
	if (nsteps == 0) {
		return fail(err, errlen, -EINVAL, "empty delta");
	}
	if (exec(s, "BEGIN IMMEDIATE") != 0) {
		return fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
	}
	int64_t id = zone_id(s, apex, false);
	if (id <= 0) {
		fail(err, errlen, id < 0 ? -EIO : -EINVAL, "no stored zone to apply a delta to");
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
				fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
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
				fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
				return rollback(s, -EIO);
			}
		}
	}

	/* Exactly one apex SOA, carrying the final serial. */
	size_t soas;
	store_soa_t soa;
	if (apex_soa(s, id, apex, &soas, &soa) != 0) {
		fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
		return rollback(s, -EIO);
	}
	uint32_t want = steps[nsteps - 1].to;
	if (soas != 1) {
		fail(err, errlen, -EINVAL, "delta leaves %zu SOA records at the apex", soas);
		return rollback(s, -EINVAL);
	}
	if (soa.serial != want) {
		fail(err, errlen, -EINVAL, "delta ends at serial %u but the SOA says %u", want,
		     soa.serial);
		return rollback(s, -EINVAL);
	}
	if (set_serial(s, id, want) != 0 || exec(s, "COMMIT") != 0) {
		fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));
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
	int64_t id = zone_id(s, apex, false);
	if (id <= 0) {
		return id < 0 ? -EIO : -ENOENT;
	}
	const char *sql = which == NULL ? "SELECT owner, type, ttl, rdata FROM rr WHERE zone=?1 "
	                                  "ORDER BY owner, type, rdata"
	                                : "SELECT owner, type, ttl, rdata FROM rr WHERE zone=?1 "
	                                  "AND owner=?2 AND type=?3 ORDER BY rdata";
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
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
	sqlite3_finalize(st);
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
	int64_t id = zone_id(s, apex, false);
	if (id <= 0) {
		return id < 0 ? -EIO : -ENOENT;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT count(*) FROM (SELECT 1 FROM rr WHERE zone=?1 "
	                       "GROUP BY owner, type)",
	                       -1, &st, NULL) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	int ret = -EIO;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*count = (size_t)sqlite3_column_int64(st, 0);
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

int store_zone_timers(store_t *s, const knot_dname_t *apex, int64_t refreshed, int64_t expire_at,
                      bool expired)
{
	int64_t id = zone_id(s, apex, true);
	if (id <= 0) {
		return -EIO;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "UPDATE zone SET refreshed=?2, expire_at=?3, expired=?4 WHERE id=?1",
	                       -1, &st, NULL) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, refreshed);
	sqlite3_bind_int64(st, 3, expire_at);
	sqlite3_bind_int(st, 4, expired);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_zone_checked(store_t *s, const knot_dname_t *apex, int64_t when,
                       const uint32_t *primary_serial, const char *error)
{
	int64_t id = zone_id(s, apex, true);
	if (id <= 0) {
		return -EIO;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "UPDATE zone SET checked=?2, primary_serial=coalesce(?3, "
	                       "primary_serial), check_error=?4 WHERE id=?1",
	                       -1, &st, NULL) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, when);
	if (primary_serial != NULL) {
		sqlite3_bind_int64(st, 3, *primary_serial);
	} else {
		sqlite3_bind_null(st, 3);
	}
	sqlite3_bind_text(st, 4, error != NULL ? error : "", -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_target_get(store_t *s, const knot_dname_t *apex, const char *target, store_target_t *out)
{
	memset(out, 0, sizeof(*out));
	int64_t id = zone_id(s, apex, false);
	if (id <= 0) {
		return id < 0 ? -EIO : 0;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT has_serial, serial, dirty, last_ok, last_error FROM target "
	                       "WHERE zone=?1 AND id=?2",
	                       -1, &st, NULL) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->has_serial = sqlite3_column_int(st, 0) != 0;
		out->serial = (uint32_t)sqlite3_column_int64(st, 1);
		out->dirty = sqlite3_column_int(st, 2) != 0;
		out->last_ok = sqlite3_column_int64(st, 3);
		const unsigned char *e = sqlite3_column_text(st, 4);
		snprintf(out->last_error, sizeof(out->last_error), "%s", e ? (const char *)e : "");
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : -EIO;
}

int store_target_set(store_t *s, const knot_dname_t *apex, const char *target,
                     const store_target_t *in)
{
	int64_t id = zone_id(s, apex, true);
	if (id <= 0) {
		return -EIO;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "INSERT OR REPLACE INTO target(zone, id, has_serial, serial, dirty, "
	                       "last_ok, last_error) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	                       -1, &st, NULL) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, in->has_serial);
	sqlite3_bind_int64(st, 4, in->serial);
	sqlite3_bind_int(st, 5, in->dirty);
	sqlite3_bind_int64(st, 6, in->last_ok);
	sqlite3_bind_text(st, 7, in->last_error, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_zone_soa(store_t *s, const knot_dname_t *apex, store_soa_t *out)
{
	int64_t id = zone_id(s, apex, false);
	if (id <= 0) {
		return id < 0 ? -EIO : -ENOENT;
	}
	size_t count;
	int ret = apex_soa(s, id, apex, &count, out);
	return ret != 0 ? ret : count > 0 ? 0 : -ENOENT;
}
