/*
 * Zone text: read with libzscanner ($ORIGIN, $TTL, $INCLUDE, relative names,
 * every type libknot knows, RFC 3597 \# syntax), written back as canonical
 * text (SOA first, then canonical order, absolute names) that loads to the
 * same zone.
 */
#pragma once

#include <stdio.h>
#include <libknot/dname.h>

#include "zone/zone.h"

typedef struct {
	char msg[1024]; /* "FILE:LINE: what is wrong" */
} zone_error_t;

/*
 * Load a zone.  origin (a wire name) is the initial $ORIGIN and the apex the
 * SOA must sit at; NULL takes the owner of the first SOA as the apex, with
 * the root as the initial origin.  The zone must hold exactly one SOA, at
 * the apex, and nothing outside the apex.  On error the zone is empty and
 * err says where.  0, -EINVAL (bad data), -ENOENT (unreadable), -ENOMEM.
 */
int zone_load_file(zone_t *z, const char *path, const knot_dname_t *origin, zone_error_t *err);

/* Same from memory; name is used in messages.  $INCLUDE is refused. */
int zone_load_string(zone_t *z, const char *name, const char *data, size_t len,
                     const knot_dname_t *origin, zone_error_t *err);

/* Write canonical zone text.  0 or a negative error (errno of the stream). */
int zone_write(const zone_t *z, FILE *out);

/* Write one RRset as zone text lines, each prefixed with prefix. */
int zone_write_rrset(const zone_rrset_t *s, const char *prefix, FILE *out);
