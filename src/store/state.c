/* The zone's and the targets' state: serials, timers, checks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>
#include <libknot/rrtype/soa.h>

#include "dns/name.h"
#include "store/internal.h"

int store_zone_info(store_t *s, const knot_dname_t *apex, store_zone_info_t *out)
{
	memset(out, 0, sizeof(*out));
	int64_t id = store_zone_id(s, apex, false);
	if (id <= 0) {
		return id < 0 ? store_failure(s, "reading the zone") : 0;
	}
	sqlite3_stmt *st;
	if (store_prepare(s,
	                  "SELECT has_data, serial, refreshed, expire_at, expired, checked, "
	                  "primary_serial, check_error FROM zone WHERE id=?1",
	                  &st) != SQLITE_OK) {
		return store_failure(s, "reading the zone");
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
		snprintf(out->check_error, sizeof(out->check_error), "%s",
		         e != NULL ? (char *)e : "");
		ret = 0;
	}
	store_done(st);
	return ret == 0 ? 0 : store_failure(s, "reading the zone");
}

int store_zone_timers(store_t *s, const knot_dname_t *apex, int64_t refreshed, int64_t expire_at,
                      bool expired)
{
	int64_t id = store_zone_id(s, apex, true);
	if (id <= 0) {
		return store_failure(s, "writing the zone's timers");
	}
	sqlite3_stmt *st;
	if (store_prepare(s, "UPDATE zone SET refreshed=?2, expire_at=?3, expired=?4 WHERE id=?1",
	                  &st) != SQLITE_OK) {
		return store_failure(s, "writing the zone's timers");
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, refreshed);
	sqlite3_bind_int64(st, 3, expire_at);
	sqlite3_bind_int(st, 4, expired);
	int rc = sqlite3_step(st);
	store_done(st);
	return rc == SQLITE_DONE ? 0 : store_failure(s, "writing the zone's timers");
}

int store_zone_checked(store_t *s, const knot_dname_t *apex, int64_t when,
                       const uint32_t *primary_serial, const char *error)
{
	int64_t id = store_zone_id(s, apex, true);
	if (id <= 0) {
		return store_failure(s, "recording the zone's check");
	}
	sqlite3_stmt *st;
	if (store_prepare(s,
	                  "UPDATE zone SET checked=?2, primary_serial=coalesce(?3, "
	                  "primary_serial), check_error=?4 WHERE id=?1",
	                  &st) != SQLITE_OK) {
		return store_failure(s, "recording the zone's check");
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
	store_done(st);
	return rc == SQLITE_DONE ? 0 : store_failure(s, "recording the zone's check");
}

int store_target_get(store_t *s, const knot_dname_t *apex, const char *target, store_target_t *out)
{
	memset(out, 0, sizeof(*out));
	int64_t id = store_zone_id(s, apex, false);
	if (id <= 0) {
		return id < 0 ? store_failure(s, "reading the target's state") : 0;
	}
	sqlite3_stmt *st;
	if (store_prepare(s,
	                  "SELECT has_serial, serial, dirty, last_ok, last_error, refused, "
	                  "unadopted "
	                  "FROM target WHERE zone=?1 AND id=?2",
	                  &st) != SQLITE_OK) {
		return store_failure(s, "reading the target's state");
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
		out->refused = sqlite3_column_type(st, 5) != SQLITE_NULL;
		out->refused_serial = (uint32_t)sqlite3_column_int64(st, 5);
		out->unadopted = sqlite3_column_int(st, 6) != 0;
	}
	store_done(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE)
	               ? 0
	               : store_failure(s, "reading the target's state");
}

int store_target_set(store_t *s, const knot_dname_t *apex, const char *target,
                     const store_target_t *in)
{
	int64_t id = store_zone_id(s, apex, true);
	if (id <= 0) {
		return store_failure(s, "recording the target's state");
	}
	sqlite3_stmt *st;
	if (store_prepare(s,
	                  "INSERT OR REPLACE INTO target(zone, id, has_serial, serial, dirty, "
	                  "last_ok, last_error, refused, unadopted) "
	                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	                  &st) != SQLITE_OK) {
		return store_failure(s, "recording the target's state");
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, in->has_serial);
	sqlite3_bind_int64(st, 4, in->serial);
	sqlite3_bind_int(st, 5, in->dirty);
	sqlite3_bind_int64(st, 6, in->last_ok);
	sqlite3_bind_text(st, 7, in->last_error, -1, SQLITE_STATIC);
	if (in->refused) {
		sqlite3_bind_int64(st, 8, in->refused_serial);
	} else {
		sqlite3_bind_null(st, 8);
	}
	sqlite3_bind_int(st, 9, in->unadopted);
	int rc = sqlite3_step(st);
	store_done(st);
	return rc == SQLITE_DONE ? 0 : store_failure(s, "recording the target's state");
}

int store_failure(store_t *s, const char *what)
{
	if (s->error[0] == '\0') {
		snprintf(s->error, sizeof(s->error), "%s: %s", what, sqlite3_errmsg(s->db));
	}
	return -EIO;
}

const char *store_error(const store_t *s)
{
	return s->error[0] != '\0' ? s->error : NULL;
}
