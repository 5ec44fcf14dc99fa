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
	sqlite3_stmt *del_rr, *ins_rr;
	struct store_stmt cache[STORE_CACHE];
	size_t ncache;
	sqlite3_stmt *spare;
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
