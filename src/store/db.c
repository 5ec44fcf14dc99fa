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

#define SCHEMA_VERSION 5

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
        /* The records: in table chunk since schema 5, made by migrate(),
         * which packs and drops the table rr (a row per record) of a file
         * of schema 1 to 4. */
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

static bool has_table(store_t *s, const char *name)
{
	sqlite3_stmt *st;
	bool has = false;
	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		has = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return has;
}

/*
 * Bring an older schema up to this one, in one transaction (another
 * process may open the file at the same time: the version is read again
 * once the write lock is held).  SCHEMA creates version 1 (without its
 * table rr, which version 5 replaced); each step adds
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
	if (ret == 0 && v == 3) {
		/* 4: a target first met holding records the primary lacks, whose
		 * deletions are held back until it is adopted (--force, adopt:
		 * replace, or a full compare with nothing to hold).  Every target
		 * pushed before knew no such rule: its records were the primary's
		 * already, so it starts adopted (0). */
		ret = store_exec(s, "ALTER TABLE target ADD COLUMN unadopted INTEGER NOT NULL "
		                    "DEFAULT 0;");
		v = 4;
	}
	if (ret == 0 && v == 4) {
		/* 5: the snapshot in chunks of records (see snapshot.c), the
		 * chunk's first record (owner, type, rdata) its key: owner is
		 * the canonical sort key, so BLOB order is DNS order.  The
		 * records of an older file are packed, in the same
		 * transaction, and its table of a row per record dropped. */
		ret = store_exec(s, "CREATE TABLE chunk(id INTEGER PRIMARY KEY,"
		                    "  zone INTEGER NOT NULL, owner BLOB NOT NULL,"
		                    "  type INTEGER NOT NULL, rdata BLOB NOT NULL,"
		                    "  data BLOB NOT NULL);"
		                    "CREATE UNIQUE INDEX chunk_first ON chunk(zone, owner, type, "
		                    "rdata);");
		if (ret == 0 && has_table(s, "rr")) {
			ret = store_chunks_from_rows(s);
			if (ret == 0) {
				ret = store_exec(s, "DROP TABLE rr");
			}
		}
		v = 5;
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
	*out = s;
	return 0;
}

void store_close(store_t *s)
{
	if (s == NULL) {
		return;
	}
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

/* The file's size and change time, for store_readonly_stale(). */
static int stat_db(const char *path, int64_t *size, int64_t *mtime_ns)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		return -errno;
	}
	*size = (int64_t)st.st_size;
	*mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

static int open_ro(store_t *s, const char *path, bool immutable, char *err, size_t errlen)
{
	int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
	char uri[4096 * 3 + 32];
	const char *name = path;
	if (immutable) {
		/* A URI: escape what a URI path cannot hold as it is. */
		size_t n = (size_t)snprintf(uri, sizeof(uri), "file:");
		for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
			n += (size_t)snprintf(
			        uri + n, sizeof(uri) - n,
			        strchr("%?#", *p) != NULL || *p < 0x20 ? "%%%02X" : "%c", *p);
		}
		snprintf(uri + n, sizeof(uri) - n, "?immutable=1");
		name = uri;
		flags |= SQLITE_OPEN_URI;
	}
	int rc = sqlite3_open_v2(name, &s->db, flags, NULL);
	int version = -1;
	if (rc == SQLITE_OK) {
		/* Not store_prepare(): a statement cached here would outlive
		 * a connection closed below. */
		sqlite3_stmt *st = NULL;
		sqlite3_busy_timeout(s->db, 5000);
		rc = sqlite3_prepare_v2(s->db, "SELECT v FROM meta WHERE k='schema'", -1, &st,
		                        NULL);
		if (rc == SQLITE_OK) {
			rc = sqlite3_step(st);
			version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
		}
		sqlite3_finalize(st);
	}
	if (rc == SQLITE_ROW && version == SCHEMA_VERSION) {
		return 0;
	}
	int ret = rc == SQLITE_READONLY || rc == SQLITE_CANTOPEN ? -EROFS : -EIO;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		ret = store_fail(
		        err, errlen, -EPROTO, "%s: schema version %d, this zonesync reads %d%s",
		        path, version, SCHEMA_VERSION,
		        version < SCHEMA_VERSION ? " (the daemon or sync brings it up to date)"
		                                 : "");
	} else {
		store_fail(err, errlen, ret, "%s: %s", path,
		           s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	}
	sqlite3_close(s->db);
	s->db = NULL;
	return ret;
}

int store_open_readonly(const char *dir, store_t **out, char *err, size_t errlen)
{
	char path[4096], wal[4200];
	snprintf(path, sizeof(path), "%s/state.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (access(path, F_OK) != 0) {
		return store_fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	}
	if (access(path, R_OK) != 0) {
		return store_fail(err, errlen, -errno, "%s: cannot read: %s", path,
		                  strerror(errno));
	}
	store_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return store_fail(err, errlen, -ENOMEM, "out of memory");
	}
	/* A WAL reader writes its marks in the -shm file, and when there is
	 * none SQLite makes one, and a -wal, and leaves them: a reader must
	 * not litter the daemon's directory (nor fail without the right to).
	 * With no -wal the whole state is in state.db: read it as an
	 * immutable file, and let the caller check that no writer came. */
	int ret;
	if (access(wal, F_OK) == 0) {
		ret = open_ro(s, path, false, err, errlen);
	} else if (stat_db(path, &s->size, &s->mtime_ns) != 0) {
		ret = store_fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	} else {
		s->immutable = true;
		ret = open_ro(s, path, true, err, errlen);
	}
	if (ret != 0) {
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

bool store_readonly_stale(const store_t *s)
{
	if (!s->immutable) {
		return false;
	}
	char path[4096], wal[4200];
	const char *db = sqlite3_db_filename(s->db, "main");
	snprintf(path, sizeof(path), "%s", db != NULL ? db : "");
	snprintf(wal, sizeof(wal), "%s-wal", path);
	int64_t size = 0, mtime_ns = 0;
	return access(wal, F_OK) == 0 || stat_db(path, &size, &mtime_ns) != 0 || size != s->size ||
	       mtime_ns != s->mtime_ns;
}
