/*
 * The configuration's schema: every key, declared once, in a table of
 * conf_item_t per section (its type, default, range, whether it is
 * required, a line of help, whether a change restarts the zones that use
 * it).  The loader reads a section by its table, the reload comparison
 * (conf_zone_same) compares the keys flagged restart, and the unit tests
 * check every key against zonesync.yaml(5) and every default by loading
 * it.  The tables of the sections are in conf/schema.c; each target type
 * declares its own keys the same way (see target/target.h), so a new type
 * or key is one table entry and the loader needs no change.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum {
	CONF_STR,        /* any non-empty string */
	CONF_INT,        /* integer in [min, max] */
	CONF_BOOL,       /* true/false/yes/no/on/off */
	CONF_ENUM,       /* one of choices (stored: its index; without a default, its
	                  * index + 1, and 0 when absent) */
	CONF_ADDR,       /* IP[@PORT] */
	CONF_URL,        /* http:// or https:// URL */
	CONF_PATH,       /* file path; "%s" stands for the zone name where allowed */
	CONF_KEYREF,     /* id of a key section */
	CONF_DURATION,   /* seconds, or a number with s, m, h, d or w; in [min, max] */
	CONF_SIZE,       /* bytes, or a number with K, M or G; in [min, max] */
	CONF_LIMIT,      /* a percentage (N%) or a count (conf_limit_t) */
	CONF_PREFIX,     /* IP[/BITS] */
	CONF_DNAME,      /* domain name (stored as canonical text: lower case, final dot) */
	CONF_PRIMARYREF, /* id of a primary section */
	CONF_TARGETREF,  /* id of a target section */
	CONF_MAP,        /* a map of the keys in sub */
	CONF_RULES,      /* a list of maps {name, type, value}: zone_rule_t array */
	CONF_GROUPS,     /* a map of group name to template id: read by the catalog loader */
} conf_vtype_t;

typedef struct conf_item {
	const char *name;
	conf_vtype_t type;
	bool required;
	bool list;                   /* a value or a non-empty list of values */
	bool restart;                /* a change restarts the zones that use it, on reload */
	bool reads;                  /* CONF_PATH: a file the daemon reads (at start and on
	                              * reload: zonesync check asks that server.user can) */
	const char *def;             /* default, as written in the file; NULL: none */
	long long min, max;          /* CONF_INT, CONF_DURATION, CONF_SIZE */
	const char *const *choices;  /* CONF_ENUM: NULL-terminated */
	const char *at_least;        /* a number not below this key of the same table */
	unsigned port;               /* CONF_ADDR: when none is given (0: 53) */
	const struct conf_item *sub; /* CONF_MAP: its keys */
	const char *help;            /* one line for docs and errors */
	/* A target's key whose value depends on the zone (a CONF_PATH with "%s"):
	 * can it serve zone domain (canonical text)?  0, or <0 with why set.
	 * The loader asks for each zone and each of its targets. */
	int (*zone_check)(const char *value, const char *domain, char *why, size_t size);
	/* Where the loader stores the value in its section's structure (a list:
	 * an array, and its count at count_off).  size 0: not stored; a
	 * target's keys stay in its node (conf_target_str() and the like). */
	size_t off, size, count_off;
} conf_item_t;

/* A kind of target section: its type name and its keys (besides id and
 * type).  The target layer embeds one in each provider's declaration. */
typedef struct {
	const char *name;
	const conf_item_t *items; /* terminated by an item with name == NULL */
	const char *summary;
} conf_type_t;

/* The sections' tables, each terminated by an item with name == NULL.
 * The first item of a list section is its id.  A target's own keys come
 * from its type. */
extern const conf_item_t conf_server_items[];
extern const conf_item_t conf_key_items[];
extern const conf_item_t conf_primary_items[];
extern const conf_item_t conf_target_items[];
extern const conf_item_t conf_zone_items[];
/* A template has these, and the zone's keys but the first two (domain and
 * primary): conf_zone_items + CONF_ZONE_OWN. */
extern const conf_item_t conf_template_items[];
#define CONF_ZONE_OWN 2
extern const conf_item_t conf_catalog_items[];
