/*
 * The store's insides, shared by db.c (opening, schema, statements),
 * snapshot.c (the records) and state.c (zone and target state).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "store/store.h"

#define STORE_CACHE 32

struct store_stmt {
	const char *sql; /* the statement's text, by address */
	sqlite3_stmt *st;
};

struct store {
	sqlite3 *db;
	struct store_stmt cache[STORE_CACHE];
	size_t ncache;
	sqlite3_stmt *spare;
	/* The first failure to read or write the state on this
	 * connection ("" none): see store_error(). */
	char error[256];
	/* Opened read-only as immutable (store_open_readonly): the file's
	 * size and change time then, to tell whether a writer came. */
	bool immutable;
	int64_t size, mtime_ns;
};

int store_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
int store_exec(store_t *s, const char *sql);

/* The zone's row id; created when create is set.  >0, 0 absent, <0 error. */
int64_t store_zone_id(store_t *s, const knot_dname_t *apex, bool create);

/* A prepared statement for sql (a string constant: cached by its address,
 * prepared once per connection).  Give it back with store_done() (reset,
 * bindings cleared), never finalize it.  SQLITE_OK or an sqlite error. */
int store_prepare(store_t *s, const char *sql, sqlite3_stmt **st);
void store_done(sqlite3_stmt *st);

/* Pack the rows of the old record table (schema 4 and before) into the
 * chunks of schema 5.  0 or -EIO. */
int store_chunks_from_rows(store_t *s);

/* Remember the connection's first failure to read or write the state
 * (what was being done, SQLite's message) for store_error(); -EIO. */
int store_failure(store_t *s, const char *what);
