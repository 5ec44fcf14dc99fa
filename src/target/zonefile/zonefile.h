/*
 * The zonefile target: the zone written as canonical zone text, atomically
 * (temporary file in the same directory, fsync, rename, fsync of the
 * directory), so a reader sees the old file or the new one, never a mix.
 * A full copy: every type, the apex SOA and NS; max-delete and max-update
 * do not apply (a secondary's file follows its primary).
 */
#pragma once

#include <stddef.h>

#include "target/target.h"
#include "zone/zone.h"

extern const target_type_t zonefile_type;

/* The path for a zone: "%s" in tmpl becomes the zone name in presentation
 * form without the trailing dot ("root" for the root zone).  0, or with why
 * set: -EINVAL when the name is not one file name (it holds a '/': it would
 * leave the directory), -ENAMETOOLONG. */
int zonefile_path(const char *tmpl, const char *domain, char *out, size_t size,
                  const char **why);

/* Write z to path atomically.  0 or a negative error with err set. */
int zonefile_write(const char *path, const zone_t *z, char *err, size_t errlen);
