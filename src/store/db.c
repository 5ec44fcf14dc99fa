/* The state database: opening, the schema and its migrations, and a cache
 * of prepared statements per connection. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libknot/dname.h>

#include "store/internal.h"

#define SCHEMA_VERSION 3

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

int store_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

int store_exec(store_t *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* The daemon's lock: a POSIX write lock on DIR/daemon.lock, held for the
 * daemon's life (the kernel drops it when the process ends, however). */
static int schema_version(store_t *s)
{
	sqlite3_stmt *st;
	int version = 0;
	if (store_prepare(s, "SELECT v FROM meta WHERE k='schema'", &st) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			version = sqlite3_column_int(st, 0);
		}
		store_done(st);
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
	if (store_exec(s, "BEGIN IMMEDIATE") != 0) {
		return -EIO;
	}
	int v = schema_version(s);
	int ret = 0;
	if (v == 0) {
		v = 1; /* a new file: SCHEMA just made version 1 */
	}
	if (v == 1) {
		/* 2: the outcome of the zone's last check of its primary. */
		ret = store_exec(
		        s, "ALTER TABLE zone ADD COLUMN checked INTEGER NOT NULL DEFAULT 0;"
		           "ALTER TABLE zone ADD COLUMN primary_serial INTEGER;"
		           "ALTER TABLE zone ADD COLUMN check_error TEXT NOT NULL DEFAULT '';");
		v = 2;
	}
	if (ret == 0 && v == 2) {
		/* 3: a target's push refused by a safety limit: the serial
		 * refused (NULL: none), waiting for a newer one or --force. */
		ret = store_exec(s, "ALTER TABLE target ADD COLUMN refused INTEGER;");
		v = 3;
	}
	if (ret == 0 && v <= SCHEMA_VERSION) {
		char sql[100];
		snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta VALUES('schema', %d)", v);
		ret = store_exec(s, sql);
	}
	if (ret == 0 && store_exec(s, "COMMIT") == 0) {
		*version = v;
		return 0;
	}
	store_exec(s, "ROLLBACK");
	return -EIO;
}

/*
 * state.db and the WAL and shared-memory files beside it 0640 or stricter,
 * whatever the umask or an older zonesync left: SQLite creates the database
 * 0644 less the umask, and the other two with the database's mode.  By path
 * and not through a link: to open and close the database here would drop
 * the POSIX locks that SQLite's connections hold on it in this process.
 */
static void tighten(const char *db)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		char path[4200];
		struct stat st;
		snprintf(path, sizeof(path), "%s%s", db, suffix[i]);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & 07777 & ~0640) != 0) {
			fchmodat(AT_FDCWD, path, st.st_mode & 0640, AT_SYMLINK_NOFOLLOW);
		}
	}
}

int store_open(const char *dir, store_t **out, char *err, size_t errlen)
{
	char path[4096];
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		return store_fail(err, errlen, -errno, "cannot create state directory %s: %s", dir,
		                  strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/state.db", dir);
	store_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return store_fail(err, errlen, -ENOMEM, "out of memory");
	}
	int rc = sqlite3_open_v2(path, &s->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         NULL);
	if (rc != SQLITE_OK) {
		store_fail(err, errlen, -EIO, "%s: %s", path,
		           s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		store_close(s);
		return -EIO;
	}
	tighten(path); /* before the WAL files that take its mode */
	sqlite3_busy_timeout(s->db, 30000);
	/* WAL: readers never block the writer.  FULL: a commit that returned
	 * is on disk, so a target marked dirty stays dirty across a crash. */
	if (store_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") != 0 ||
	    store_exec(s, SCHEMA) != 0) {
		store_fail(err, errlen, -EIO, "%s: %s", path, sqlite3_errmsg(s->db));
		store_close(s);
		return -EIO;
	}
	int version = schema_version(s);
	if (version != SCHEMA_VERSION && migrate(s, &version) != 0) {
		store_fail(err, errlen, -EIO,
		           "%s: cannot bring the schema from version %d to %d: %s", path, version,
		           SCHEMA_VERSION, sqlite3_errmsg(s->db));
		store_close(s);
		return -EIO;
	}
	if (version != SCHEMA_VERSION) {
		store_fail(err, errlen, -EIO, "%s: schema version %d, this zonesync knows %d", path,
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
		store_fail(err, errlen, -EIO, "%s: %s", path, sqlite3_errmsg(s->db));
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
	for (size_t i = 0; i < s->ncache; i++) {
		sqlite3_finalize(s->cache[i].st);
	}
	sqlite3_finalize(s->spare);
	sqlite3_close(s->db);
	free(s);
}

/* The zone's row id; created when create is set.  >0, 0 absent, <0 error. */
int64_t store_zone_id(store_t *s, const knot_dname_t *apex, bool create)
{
	knot_dname_storage_t name;
	knot_dname_copy_lower(name, apex);
	int len = (int)knot_dname_size(name);
	sqlite3_stmt *st;
	int64_t id = 0;
	if (store_prepare(s, "SELECT id FROM zone WHERE name=?1", &st) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_blob(st, 1, name, len, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
	} else if (rc != SQLITE_DONE) {
		id = -EIO;
	}
	store_done(st);
	if (id != 0 || !create) {
		return id;
	}
	if (store_prepare(s, "INSERT INTO zone(name) VALUES(?1)", &st) != SQLITE_OK) {
		return -EIO;
	}
	sqlite3_bind_blob(st, 1, name, len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_done(st);
	return rc == SQLITE_DONE ? sqlite3_last_insert_rowid(s->db) : -EIO;
}

int store_prepare(store_t *s, const char *sql, sqlite3_stmt **st)
{
	for (size_t i = 0; i < s->ncache; i++) {
		if (s->cache[i].sql == sql) {
			/* Reset again: a path that returned early may not have. */
			*st = s->cache[i].st;
			sqlite3_reset(*st);
			sqlite3_clear_bindings(*st);
			return SQLITE_OK;
		}
	}
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	if (rc == SQLITE_OK && s->ncache < STORE_CACHE) {
		s->cache[s->ncache++] = (struct store_stmt){ sql, *st };
	} else if (rc == SQLITE_OK) {
		/* Full (cannot happen with the statements we have): kept till
		 * the next one or the close. */
		sqlite3_finalize(s->spare);
		s->spare = *st;
	}
	return rc;
}

void store_done(sqlite3_stmt *st)
{
	if (st == NULL) {
		return;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}
