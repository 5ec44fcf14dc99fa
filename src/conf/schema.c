/* The keys of the configuration's sections (see schema.h), in the order
 * the loader reads them.  zonesync.yaml(5) documents each of them, and
 * test_conf checks that it does and that every default loads. */
#include "conf/schema.h"

#include <stdint.h>

#include "conf/conf.h"

/* Where a value is stored in its section's structure T. */
#define AT(T, f) .off = offsetof(T, f), .size = sizeof(((T *)NULL)->f)
#define LIST_AT(T, f, n) AT(T, f), .count_off = offsetof(T, n), .list = true

/* clang-format off */

/* In the order of log_target_t and log_level_t: stored as the index. */
static const char *const log_targets[] = { "stderr", "syslog", NULL };
static const char *const log_levels[] = { "debug", "info", "notice", "warning", "error", NULL };

static const conf_item_t log_items[] = {
	{ .name = "target", .type = CONF_ENUM, .choices = log_targets, .def = "stderr",
	  .restart = true, AT(conf_t, server.log_target), .help = "where log lines go" },
	{ .name = "level", .type = CONF_ENUM, .choices = log_levels, .def = "info",
	  AT(conf_t, server.log_level), .help = "the least severe level logged" },
	{ .name = NULL },
};

/* The server's keys restart no zone.  Those flagged restart wait for a
 * restart of zonesync (a reload warns: conf_server_changed); the daemon
 * applies the others at once. */
const conf_item_t conf_server_items[] = {
	{ .name = "listen", .type = CONF_ADDR, .restart = true, LIST_AT(conf_t, server.listen, server.nlisten),
	  .help = "addresses taking NOTIFY, UDP and TCP" },
	{ .name = "state", .type = CONF_PATH, .def = "/var/lib/zonesync", AT(conf_t, server.state),
	  .help = "directory of state.db" },
	{ .name = "metrics", .type = CONF_ADDR, .restart = true, .port = 9153, AT(conf_t, server.metrics),
	  .help = "address of the Prometheus endpoint (GET /metrics)" },
	{ .name = "user", .type = CONF_STR, .restart = true, AT(conf_t, server.user),
	  .help = "user to become once the sockets are bound" },
	{ .name = "pid-file", .type = CONF_PATH, .restart = true, AT(conf_t, server.pid_file),
	  .help = "file holding the daemon's process id" },
	{ .name = "notify-rate-limit", .type = CONF_INT, .min = 0, .max = 1000000, .def = "1000",
	  AT(conf_t, server.notify_rate_limit),
	  .help = "NOTIFY per second per source, signed, unsigned and refused each; 0: no limit" },
	{ .name = "tcp-max-clients", .type = CONF_INT, .min = 1, .max = 65535, .def = "100",
	  AT(conf_t, server.tcp_max_clients), .help = "TCP connections served at once" },
	{ .name = "tcp-max-clients-per-source", .type = CONF_INT, .min = 1, .max = 65535, .def = "8",
	  AT(conf_t, server.tcp_max_per_source), .help = "TCP connections from one address at once" },
	{ .name = "tcp-idle-timeout", .type = CONF_DURATION, .min = 1, .max = 3600, .def = "10s",
	  AT(conf_t, server.tcp_idle_timeout), .help = "time without a whole message before a TCP connection closes" },
	{ .name = "tcp-session-timeout", .type = CONF_DURATION, .min = 1, .max = 3600, .def = "30s",
	  AT(conf_t, server.tcp_session_timeout), .help = "time after which a TCP connection closes, however busy" },
	{ .name = "request-timeout", .type = CONF_DURATION, .min = 1, .max = 3600, .def = "30s",
	  AT(conf_t, server.request_timeout),
	  .help = "limit of one provider API request of sync, plan and verify; 3 times it bounds its retries" },
	{ .name = "instances", .type = CONF_INT, .min = 1, .max = 64, .def = "1",
	  AT(conf_t, server.instances),
	  .help = "zonesync hosts, each with its own state, feeding the same zones to the same "
	          "providers; over 1, check warns of targets that cannot fence their pushes" },
	{ .name = "log", .type = CONF_MAP, .sub = log_items, .help = "logging: target and level" },
	{ .name = NULL },
};

/* Not stored by the loader: a key is compared by what it makes, its id and
 * TSIG key (conf_key_t). */
const conf_item_t conf_key_items[] = {
	{ .name = "id", .type = CONF_DNAME, .required = true, .restart = true,
	  .help = "the key's name, also its TSIG name on the wire" },
	{ .name = "algorithm", .type = CONF_STR, .required = true, .restart = true,
	  .help = "hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512" },
	{ .name = "secret", .type = CONF_STR, .restart = true,
	  .help = "the secret, in base64" },
	{ .name = "secret-file", .type = CONF_PATH, .restart = true, .reads = true,
	  .help = "file holding the secret, in base64" },
	{ .name = NULL },
};

const conf_item_t conf_primary_items[] = {
	{ .name = "id", .type = CONF_STR, .required = true, .restart = true,
	  AT(conf_primary_t, id), .help = "the primary's name, referred to by zones" },
	{ .name = "address", .type = CONF_ADDR, .required = true, .restart = true,
	  LIST_AT(conf_primary_t, addr, naddr), .help = "addresses, tried in order" },
	{ .name = "key", .type = CONF_KEYREF, .restart = true,
	  AT(conf_primary_t, key), .help = "TSIG key for SOA, IXFR, AXFR and NOTIFY" },
	{ .name = "notify-from", .type = CONF_PREFIX, .restart = true,
	  LIST_AT(conf_primary_t, notify_from, nnotify_from),
	  .help = "networks NOTIFY may also come from" },
	{ .name = "max-transfers", .type = CONF_INT, .min = 1, .max = 1000, .def = "8",
	  AT(conf_primary_t, max_transfers),
	  .help = "SOA checks and transfers in flight toward it at once" },
	{ .name = NULL },
};

/* Besides these, a target has the keys of its type (conf_type_t), compared
 * too by conf_target_same(). */
/* The rules' keys, the same in a zone and in a target (zone/rules.h). */
#define RULES_ITEMS(T)                                                                             \
	{ .name = "ignore", .type = CONF_RULES, .restart = true,                                   \
	  LIST_AT(T, rules.ignore, rules.nignore),                                                 \
	  .help = "provider records never read, changed or deleted: {name, type, value}" },        \
	{ .name = "exclude", .type = CONF_RULES, .restart = true,                                  \
	  LIST_AT(T, rules.exclude, rules.nexclude),                                               \
	  .help = "primary records never pushed: {name, type, value}" },                           \
	{ .name = "ttl", .type = CONF_MAP, .sub = T##_ttl_items,                                    \
	  .help = "bounds of the TTLs pushed: {min, max}" }

#define TTL_ITEMS(T)                                                                               \
	static const conf_item_t T##_ttl_items[] = {                                               \
		{ .name = "min", .type = CONF_DURATION, .max = INT32_MAX, .restart = true,           \
		  AT(T, rules.ttl_min), .help = "TTLs below are pushed as this" },                   \
		{ .name = "max", .type = CONF_DURATION, .min = 1, .max = INT32_MAX, .at_least = "min",         \
		  .restart = true, AT(T, rules.ttl_max), .help = "TTLs above are pushed as this" },  \
		{ .name = NULL },                                                                  \
	}
TTL_ITEMS(conf_target_t);
TTL_ITEMS(conf_zone_t);

/* In the order of conf_owned_by_t, from its second value. */
static const char *const owned_by_choices[] = { "external-dns", NULL };
/* In the order of conf_adopt_t: stored as the index. */
static const char *const adopt_choices[] = { "keep", "replace", NULL };

const conf_item_t conf_target_items[] = {
	{ .name = "id", .type = CONF_STR, .required = true, .restart = true,
	  AT(conf_target_t, id), .help = "the target's name, referred to by zones" },
	{ .name = "type", .type = CONF_STR, .required = true, .restart = true,
	  .help = "the provider: route53, powerdns, rfc2136, zonefile or exec" },
	{ .name = "adopt", .type = CONF_ENUM, .choices = adopt_choices, .def = "keep",
	  .restart = true, AT(conf_target_t, adopt),
	  .help = "at first contact, keep (default) the records the primary lacks, or replace them" },
	RULES_ITEMS(conf_target_t),
	{ .name = "ignore-owned-by", .type = CONF_ENUM, .choices = owned_by_choices,
	  .restart = true, AT(conf_target_t, ignore_owned_by),
	  .help = "leave alone the records another tool marks as its own: external-dns" },
	{ .name = "max-pushes", .type = CONF_INT, .min = 1, .max = 1000, .def = "4",
	  AT(conf_target_t, max_pushes), .help = "pushes in flight to it at once" },
	{ .name = NULL },
};

const conf_item_t conf_zone_items[] = {
	{ .name = "domain", .type = CONF_DNAME, .required = true, .restart = true,
	  AT(conf_zone_t, domain), .help = "the zone's name" },
	{ .name = "primary", .type = CONF_PRIMARYREF, .required = true, .restart = true,
	  AT(conf_zone_t, primary), .help = "where the zone comes from" },
	{ .name = "target", .type = CONF_TARGETREF, .restart = true,
	  LIST_AT(conf_zone_t, target, ntarget), .help = "where the zone goes" },
	{ .name = "max-delete", .type = CONF_LIMIT, .def = "30%", .restart = true,
	  AT(conf_zone_t, max_delete), .help = "most RRsets one push may delete" },
	{ .name = "max-update", .type = CONF_LIMIT, .def = "30%", .restart = true,
	  AT(conf_zone_t, max_update), .help = "most RRsets one push may change" },
	{ .name = "refresh-min-interval", .type = CONF_DURATION, .max = UINT32_MAX, .def = "1m",
	  .restart = true, AT(conf_zone_t, refresh_min), .help = "least SOA refresh used" },
	{ .name = "refresh-max-interval", .type = CONF_DURATION, .max = UINT32_MAX, .def = "1d",
	  .at_least = "refresh-min-interval", .restart = true, AT(conf_zone_t, refresh_max),
	  .help = "most SOA refresh used" },
	{ .name = "retry-min-interval", .type = CONF_DURATION, .max = UINT32_MAX, .def = "30s",
	  .restart = true, AT(conf_zone_t, retry_min), .help = "least SOA retry used" },
	{ .name = "retry-max-interval", .type = CONF_DURATION, .max = UINT32_MAX, .def = "1h",
	  .at_least = "retry-min-interval", .restart = true, AT(conf_zone_t, retry_max),
	  .help = "most SOA retry used" },
	{ .name = "expire-min-interval", .type = CONF_DURATION, .max = UINT32_MAX, .def = "1h",
	  .restart = true, AT(conf_zone_t, expire_min), .help = "least SOA expire used" },
	{ .name = "expire-max-interval", .type = CONF_DURATION, .max = UINT32_MAX, .def = "30d",
	  .at_least = "expire-min-interval", .restart = true, AT(conf_zone_t, expire_max),
	  .help = "most SOA expire used" },
	{ .name = "transfer-max-records", .type = CONF_INT, .min = 1, .max = UINT32_MAX,
	  .def = "2000000", .restart = true, AT(conf_zone_t, xfr_max_records),
	  .help = "most records in one transfer" },
	{ .name = "transfer-max-bytes", .type = CONF_SIZE, .min = 1, .max = 1ll << 40, .def = "256M",
	  .restart = true, AT(conf_zone_t, xfr_max_bytes),
	  .help = "most bytes of messages in one transfer" },
	{ .name = "transfer-timeout", .type = CONF_DURATION, .min = 1, .max = 86400, .def = "5m",
	  .restart = true, AT(conf_zone_t, xfr_timeout), .help = "most time one transfer may take" },
	{ .name = "reconcile-interval", .type = CONF_DURATION, .max = UINT32_MAX, .def = "1d",
	  .restart = true, AT(conf_zone_t, reconcile_interval),
	  .help = "time between reads of each target that repair drift; 0: never" },
	RULES_ITEMS(conf_zone_t),
	{ .name = NULL },
};

/* In the order of conf_on_remove_t: stored as the index. */
static const char *const on_remove_choices[] = { "keep", "purge", NULL };

const conf_item_t conf_template_items[] = {
	{ .name = "id", .type = CONF_STR, .required = true, .restart = true,
	  AT(conf_template_t, id), .help = "the template's name, referred to by catalogs" },
	{ .name = "on-remove", .type = CONF_ENUM, .choices = on_remove_choices, .def = "keep",
	  .restart = true, AT(conf_template_t, on_remove),
	  .help = "when a member leaves the catalog: keep (default) its records, or purge them" },
	{ .name = NULL },
};

const conf_item_t conf_catalog_items[] = {
	{ .name = "domain", .type = CONF_DNAME, .required = true, .restart = true,
	  AT(conf_catalog_t, domain), .help = "the catalog zone's name" },
	{ .name = "primary", .type = CONF_PRIMARYREF, .required = true, .restart = true,
	  AT(conf_catalog_t, primary), .help = "where the catalog and its members come from" },
	{ .name = "template", .type = CONF_STR, .required = true, .restart = true,
	  .help = "the template of a member of no group listed" },
	{ .name = "group", .type = CONF_GROUPS, .restart = true,
	  .help = "a map of group property value to template id" },
	{ .name = "max-remove", .type = CONF_LIMIT, .def = "50%", .restart = true,
	  AT(conf_catalog_t, max_remove),
	  .help = "most members one change of the catalog may remove; more is held" },
	{ .name = NULL },
};

/* clang-format on */
