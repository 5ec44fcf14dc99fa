/*
 * Typed keys of a configuration section.  Target types describe their own
 * keys with a table of these (see target/registry.c), so a new target type
 * adds its keys in one place and the checker needs no change.
 */
#pragma once

#include <stdbool.h>

typedef enum {
	CONF_STR,     /* any non-empty string */
	CONF_INT,     /* integer in [min, max] */
	CONF_BOOL,    /* true/false/yes/no/on/off */
	CONF_ENUM,    /* one of choices */
	CONF_ADDR,    /* IP[@PORT] */
	CONF_URL,     /* http:// or https:// URL */
	CONF_PATH,    /* file path; "%s" stands for the zone name where allowed */
	CONF_KEYREF,  /* id of a key section */
	CONF_STRLIST, /* non-empty list of strings (or one string) */
} conf_vtype_t;

typedef struct {
	const char *name;
	conf_vtype_t type;
	bool required;
	const char *const *choices; /* CONF_ENUM: NULL-terminated */
	long long min, max;         /* CONF_INT */
	const char *help;           /* one line for docs and errors */
} conf_item_t;

/* A kind of target section: its type name and its keys (besides id and
 * type).  The target layer embeds one in each provider's declaration. */
typedef struct {
	const char *name;
	const conf_item_t *items; /* terminated by an item with name == NULL */
	const char *summary;
} conf_type_t;
