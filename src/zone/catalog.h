/*
 * A catalog zone (RFC 9432) read as a consumer: from a zone held in memory,
 * the member zones it lists and the group property of each.  A pure
 * function: no configuration, no store; the scheduler turns the members
 * into zones (sched/catalog.c).
 *
 * What is read (CATZ is the catalog's apex):
 *   version.CATZ TXT "2"            required, else the catalog is refused
 *   UNIQUE.zones.CATZ PTR member.   one member; more than one PTR at one
 *                                   UNIQUE makes the catalog broken (refused)
 *   group.UNIQUE.zones.CATZ TXT "g" the member's group; with several values
 *                                   (records or strings) the first in
 *                                   canonical order is used, with a warning
 * Everything else (coo, unknown properties, other names) is ignored.
 *
 * A member that is the root, the catalog itself or a name inside it is
 * skipped with a warning.  A member listed under two unique ids is held
 * once (RFC 9432 section 4.1: the new instance is ignored): under the id
 * prev had it under when prev is given and has it, else under the first
 * id in canonical order; the other is warned about.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <libknot/dname.h>

#include "zone/zone.h"

typedef struct {
	uint8_t *name;  /* the member zone, lowercased wire form (malloc'd) */
	uint8_t id[65]; /* its unique id: a one-label wire name */
	char *group;    /* its group property, NULL: none */
} catalog_member_t;

typedef struct {
	catalog_member_t *m; /* sorted by name, canonical order; no name twice */
	size_t n;
} catalog_t;

/* Told each thing skipped or ignored with a consequence, as one line. */
typedef void (*catalog_warn_fn)(void *ctx, const char *msg);

/*
 * The members of catalog zone z (finished, its apex set).  prev: the
 * members held before (NULL: none), to keep a member under the unique id
 * it had.  0; -EINVAL when the catalog is refused (no version "2", a
 * broken member), err saying why and out empty; -ENOMEM.
 */
int catalog_parse(const zone_t *z, const catalog_t *prev, catalog_t *out, catalog_warn_fn warn,
                  void *ctx, char *err, size_t errlen);

void catalog_free(catalog_t *c);

/* The member of this name, or NULL. */
const catalog_member_t *catalog_find(const catalog_t *c, const knot_dname_t *name);

/* Do a and b list the same members with the same groups? */
bool catalog_equal(const catalog_t *a, const catalog_t *b);
