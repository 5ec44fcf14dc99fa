/*
 * The members of a catalog as last accepted by the daemon (sched/catalog.c):
 * kept in STATE/catalog-NAME.zone, the catalog zone's text at the serial
 * whose members were taken in.  The stored snapshot of the catalog zone may
 * be newer and refused (a version not "2", a change held by max-remove):
 * the daemon at start and `zonesync status` read the members from here, so
 * that a refused catalog changes nothing, not even after a restart.
 */
#pragma once

#include <stddef.h>
#include <libknot/dname.h>

#include "zone/catalog.h"

/* The file of catalog name in state, into buf.  0, or -ENAMETOOLONG. */
int sched_catalog_path(const char *state, const knot_dname_t *name, char *buf, size_t size);

/* The members last accepted, and the serial they were at.  0; -ENOENT
 * (none accepted yet); another error, err set. */
int sched_catalog_accepted(const char *state, const knot_dname_t *name, catalog_t *out,
                           uint32_t *serial, char *err, size_t errlen);
