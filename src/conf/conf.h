/*
 * The configuration: YAML (see zonesync.yaml(5)) read into one validated
 * structure that the rest of the program reads.  Every error names
 * FILE:LINE:COLUMN.  References (zone -> primary, targets; primary -> key)
 * are resolved to pointers, so a loaded conf is consistent.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <libknot/dname.h>
#include <libknot/tsig.h>

#include "conf/schema.h"
#include "conf/yaml.h"
#include "net/addr.h"
#include "zone/rules.h"
#include "obs/log.h"

#define CONF_DEFAULT_PATH "/etc/zonesync/zonesync.yaml"


typedef struct {
	char *id;
	knot_tsig_key_t tsig;
} conf_key_t;

typedef struct {
	char *id;
	net_addr_t *addr;
	size_t naddr;
	const conf_key_t *key; /* NULL: no TSIG */
	net_prefix_t *notify_from;
	size_t nnotify_from;
	/* SOA checks and transfers in flight toward it at once (sched/queue.h). */
	uint32_t max_transfers;
	size_t nzone; /* zones it serves: a NOTIFY burst may be this long */
} conf_primary_t;

/* ignore-owned-by: whose records a target leaves alone beside its rules
 * (the key's choices in conf/schema.c, stored as their index + 1). */
typedef enum {
	CONF_OWNED_NONE = 0,
	CONF_OWNED_EXTERNAL_DNS, /* external-dns's TXT registry (zone/extdns.h) */
} conf_owned_by_t;
/* A target's adopt key: what the first push does with the records the
 * target holds and the primary lacks (sync/engine.h, first contact). */
typedef enum {
	CONF_ADOPT_KEEP,    /* leave them until --force or a full compare holds none */
	CONF_ADOPT_REPLACE, /* delete them: the primary's zone is the whole truth */
} conf_adopt_t;

typedef struct conf_target {
	char *id;
	const conf_type_t *type; /* one of the types conf_load was given */
	const ynode_t *node; /* its section; read type keys with conf_target_*() */
	const conf_key_t *key; /* its key (the type's key-reference item), NULL: none */
	zone_rules_t rules;    /* its ignore, exclude and ttl keys (added to the zone's) */
	conf_owned_by_t ignore_owned_by; /* its ignore-owned-by key */
	conf_adopt_t adopt;
	uint32_t max_pushes; /* pushes in flight to it at once (sched/queue.h) */
} conf_target_t;

typedef struct {
	bool percent; /* value is a percentage of the zone's RRsets */
	uint32_t value;
} conf_limit_t;

/* on-remove: what a member's targets keep when it leaves its catalog. */
typedef enum {
	CONF_ON_REMOVE_KEEP,  /* the records stay as they are, so does its state */
	CONF_ON_REMOVE_PURGE, /* its records are deleted at each target */
} conf_on_remove_t;

/* A template: what a catalog's member zones get (the zone keys but domain
 * and primary, read from its node for each member; see conf_with_members). */
typedef struct conf_template {
	char *id;
	conf_on_remove_t on_remove;
	const ynode_t *node; /* its section */
} conf_template_t;

typedef struct {
	char *name; /* an RFC 9432 group property's value */
	const conf_template_t *template;
} conf_group_t;

/* A catalog zone (RFC 9432) whose members become zones. */
typedef struct conf_catalog {
	char *domain; /* as a zone's */
	knot_dname_storage_t name;
	const conf_primary_t *primary; /* of the catalog and of its members */
	const conf_template_t *template; /* for a member of no group listed */
	conf_group_t *group;
	size_t ngroup;
	/* Most members one change of the catalog may remove; a change that
	 * removes more is held (the members stay) until the limit allows it. */
	conf_limit_t max_remove;
} conf_catalog_t;

typedef struct conf_zone {
	char *domain; /* presentation form, lowercase, with the trailing dot */
	knot_dname_storage_t name;
	const conf_primary_t *primary;
	const conf_target_t **target;
	size_t ntarget;
	conf_limit_t max_delete, max_update;
	/* The SOA's refresh, retry and expire are clamped to these (seconds). */
	uint32_t refresh_min, refresh_max, retry_min, retry_max, expire_min, expire_max;
	uint64_t xfr_max_records; /* records in one transfer */
	uint64_t xfr_max_bytes;   /* bytes of messages in one transfer */
	uint32_t xfr_timeout;     /* seconds a whole transfer may take */
	/* Seconds between reads of each target's live records that repair
	 * drift (a target's own reconcile-interval overrides); 0: never. */
	uint32_t reconcile_interval;
	zone_rules_t rules; /* ignore, exclude, ttl: for all its targets */
	/* Where the zone comes from: a member of member_of with the keys of
	 * template, else the file.  catalog: this zone is that catalog's
	 * (it has no targets). */
	const conf_catalog_t *member_of, *catalog;
	const conf_template_t *template;
} conf_zone_t;


typedef struct {
	char *path;
	char sha256[65]; /* of the file's bytes (conf_load), hex; "" from a string */
	ynode_t *root;
	struct {
		net_addr_t *listen;
		size_t nlisten;
		char *state;
		bool has_metrics;
		net_addr_t metrics;
		char *user;
		char *pid_file;
		log_target_t log_target;
		log_level_t log_level;
		uint32_t notify_rate_limit; /* NOTIFY per second per source; 0: no limit */
		uint32_t tcp_max_clients;
		uint32_t tcp_max_per_source;
		uint32_t tcp_idle_timeout;    /* seconds */
		uint32_t tcp_session_timeout; /* seconds */
		uint32_t request_timeout;     /* seconds: an API request of sync/plan/verify */
		uint32_t instances; /* zonesync hosts feeding the same providers (check warns) */
	} server;
	conf_key_t *key;
	size_t nkey;
	conf_primary_t *primary;
	size_t nprimary;
	conf_target_t *target;
	size_t ntarget;
	conf_zone_t *zone; /* the file's, then the catalogs', then the members */
	size_t nzone;
	conf_template_t *template;
	size_t ntemplate;
	conf_catalog_t *catalog;
	size_t ncatalog;
	/* How it was loaded, for conf_with_members. */
	char *dir;
	unsigned flags;
	const conf_type_t *const *types;
	/* conf_zone_find's table: open addressing on dns_name_hash, each
	 * slot a zone's index + 1 (0: empty); zone_slots a power of two. */
	uint32_t *zone_index;
	size_t zone_slots;
} conf_t;

/*
 * Load and check a config file.  types: the target types there are
 * (NULL-terminated; the target layer's registry), whose tables check each
 * target's keys.  Every problem found is written to errs
 * (one "FILE:LINE:COLUMN: message" line each; NULL to discard).  Returns 0,
 * or -EINVAL with nothing allocated in *conf.
 */
int conf_load(conf_t *conf, const char *path, const conf_type_t *const *types, FILE *errs);

/* conf_load with flags.  CONF_LOAD_NO_SECRETS: a key's secret-file is not
 * read, the key has its name and algorithm and no material: for readers
 * that never sign (status, run by a monitoring user who may not read the
 * secrets).  A secret given inline is loaded as always. */
#define CONF_LOAD_NO_SECRETS 0x1u
int conf_load_flags(conf_t *conf, const char *path, const conf_type_t *const *types, unsigned flags,
                    FILE *errs);

/* Same from memory; name is used in messages, relative paths are taken
 * from the current directory. */
int conf_load_string(conf_t *conf, const char *name, const char *data, size_t len,
                     const conf_type_t *const *types, FILE *errs);

void conf_free(conf_t *conf);

/* Type-specific keys of a target (already checked): NULL/def when absent. */
const char *conf_target_str(const conf_target_t *t, const char *key);
long long conf_target_int(const conf_target_t *t, const char *key, long long def);
bool conf_target_bool(const conf_target_t *t, const char *key, bool def);

/* Parse a duration: seconds, or a number with one of the suffixes s, m, h,
 * d or w; at most UINT32_MAX seconds.  0 or -EINVAL. */
int conf_parse_duration(const char *s, uint32_t *out);

/* May a NOTIFY for p's zones come from this address: is its IP (the port
 * plays no part) one of p->addr, or within one of p->notify_from?
 * IPv4-mapped IPv6 addresses are taken as the IPv4 address, either side. */
bool conf_primary_allows(const conf_primary_t *p, const struct sockaddr *from);

/* Would the zone run the same under b as under a?  Compared by the tables
 * (conf/schema.h): each of its keys flagged restart, its primary's and
 * targets' by theirs, a TSIG key by its material.  For a reload: a zone
 * that differs restarts. */
bool conf_zone_same(const conf_zone_t *a, const conf_zone_t *b);
/* The same for one target: id, type, every key of its type flagged
 * restart, its TSIG key. */
bool conf_target_same(const conf_target_t *a, const conf_target_t *b);

/* The server keys flagged restart in the schema (those a reload cannot
 * apply) whose values differ in a and b: their names ("log.target" for a
 * key of a map) into out, at most max.  Returns the count. */
size_t conf_server_changed(const conf_t *a, const conf_t *b, char (*out)[32], size_t max);

/* A member zone of a catalog, for conf_with_members. */
typedef struct {
	const knot_dname_t *name;    /* the member zone */
	const knot_dname_t *catalog; /* its catalog's name */
	const char *group;           /* its group property, NULL: none */
} conf_member_t;

/*
 * The configuration from with the members m made into zones (each of a
 * catalog of from, after the file's zones and the catalogs): the
 * template of its group (the catalog's group key), else the catalog's
 * template; the catalog's primary.  A member of a catalog from has not, or
 * whose name is already a zone, is left out (the caller warns: it knows
 * why).  from's own members are not carried over: m is the whole set.
 * A member the template's targets cannot take is left out, told to errs.
 * 0 with out loaded, or -EINVAL / -ENOMEM with errors in errs.
 */
int conf_with_members(const conf_t *from, const conf_member_t *m, size_t n, conf_t *out,
                      FILE *errs);

/* The catalog of this name, or NULL. */
const conf_catalog_t *conf_catalog_find(const conf_t *conf, const knot_dname_t *name);

/* The zone of this name (compared without case), or NULL.  O(1): a NOTIFY
 * and a reload look zones up by name, 10,000 of them. */
const conf_zone_t *conf_zone_find(const conf_t *conf, const knot_dname_t *name);
