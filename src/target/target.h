/*
 * Target types: the providers zonesync keeps in sync.  For now a type is its
 * name and the table of its configuration keys; the provider interface
 * (read, apply, capabilities) joins it with the sync engine.
 */
#pragma once

#include "conf/schema.h"

typedef struct {
	const char *name;
	const conf_item_t *items; /* terminated by an item with name == NULL */
	const char *summary;
} target_type_t;

/* The registered type of that name, or NULL. */
const target_type_t *target_type_find(const char *name);

/* All registered types, terminated by NULL. */
extern const target_type_t *const target_types[];
