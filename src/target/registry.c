#include "target/target.h"
#include "target/powerdns/powerdns.h"
#include "target/rfc2136/rfc2136.h"
#include "target/route53/route53.h"

#include <string.h>

static const char *const APEX_NS[] = { "keep", "sync", NULL };
static const char *const SOA_SERIAL[] = { "keep", "mirror", NULL };

static const conf_item_t ROUTE53_ITEMS[] = {
	{ "hosted-zone-id", CONF_STR, false, NULL, 0, 0,
	  "hosted zone id (Z...); found by the zone name when absent" },
	{ "endpoint", CONF_URL, false, NULL, 0, 0, "API endpoint (tests, China, GovCloud)" },
	{ "region", CONF_STR, false, NULL, 0, 0, "signing region, us-east-1 by default" },
	{ "profile", CONF_STR, false, NULL, 0, 0, "profile in the shared credentials file" },
	{ "credentials-file", CONF_PATH, false, NULL, 0, 0, "shared credentials file" },
	{ "apex-ns", CONF_ENUM, false, APEX_NS, 0, 0, "keep (default) or sync the apex NS set" },
	{ "soa-serial", CONF_ENUM, false, SOA_SERIAL, 0, 0,
	  "keep (default) or mirror the primary's serial" },
	{ "rate-limit", CONF_INT, false, NULL, 1, 1000, "requests per second (default 5)" },
	{ "serving", CONF_STRLIST, false, NULL, 0, 0,
	  "name servers that serve this copy, IP[@PORT], for verify --serving" },
	{ NULL, 0, false, NULL, 0, 0, NULL },
};

static const conf_item_t POWERDNS_ITEMS[] = {
	{ "url", CONF_URL, true, NULL, 0, 0, "API base URL, e.g. http://127.0.0.1:8081" },
	{ "server-id", CONF_STR, false, NULL, 0, 0, "server id, localhost by default" },
	{ "api-key-file", CONF_PATH, false, NULL, 0, 0, "file holding the X-API-Key" },
	{ "api-key-env", CONF_STR, false, NULL, 0, 0, "environment variable holding the key" },
	{ "create", CONF_BOOL, false, NULL, 0, 0, "create the zone when missing" },
	{ "batch-size", CONF_INT, false, NULL, 1, 100000, "RRsets per PATCH request" },
	{ "serving", CONF_STRLIST, false, NULL, 0, 0,
	  "name servers that serve this copy, IP[@PORT], for verify --serving" },
	{ NULL, 0, false, NULL, 0, 0, NULL },
};

static const conf_item_t RFC2136_ITEMS[] = {
	{ "address", CONF_ADDR, true, NULL, 0, 0, "server taking the updates, IP[@PORT]" },
	{ "key", CONF_KEYREF, false, NULL, 0, 0, "TSIG key for updates and AXFR" },
	{ "apex-ns", CONF_ENUM, false, APEX_NS, 0, 0, "keep (default) or sync the apex NS set" },
	{ "soa-serial", CONF_ENUM, false, SOA_SERIAL, 0, 0,
	  "keep (default) or mirror the primary's serial" },
	{ "timeout", CONF_INT, false, NULL, 1, 3600,
	  "seconds for a connection and for each answer (default 30)" },
	{ "batch-size", CONF_INT, false, NULL, 1, 65535,
	  "RRset changes per UPDATE message (default: as many as fit in 64 KiB)" },
	{ "serving", CONF_STRLIST, false, NULL, 0, 0,
	  "name servers that serve this copy, IP[@PORT], for verify --serving" },
	{ NULL, 0, false, NULL, 0, 0, NULL },
};

static const conf_item_t ZONEFILE_ITEMS[] = {
	{ "path", CONF_PATH, true, NULL, 0, 0, "file to write; %s is the zone name" },
	{ NULL, 0, false, NULL, 0, 0, NULL },
};

static const conf_item_t EXEC_ITEMS[] = {
	{ "command", CONF_STRLIST, true, NULL, 0, 0, "program and arguments, no shell" },
	{ "timeout", CONF_INT, false, NULL, 1, 86400, "seconds before the command is killed" },
	{ NULL, 0, false, NULL, 0, 0, NULL },
};

static const target_type_t ROUTE53 = { "route53", ROUTE53_ITEMS, "Amazon Route 53",
	                                    &route53_ops };
static const target_type_t POWERDNS = { "powerdns", POWERDNS_ITEMS, "PowerDNS HTTP API",
	                                     &powerdns_ops };
static const target_type_t RFC2136 = { "rfc2136", RFC2136_ITEMS, "DNS UPDATE with TSIG",
	                                    &rfc2136_ops };
static const target_type_t ZONEFILE = { "zonefile", ZONEFILE_ITEMS, "zone text file", NULL };
static const target_type_t EXEC = { "exec", EXEC_ITEMS, "run a command", NULL };

const target_type_t *const target_types[] = {
	&ROUTE53, &POWERDNS, &RFC2136, &ZONEFILE, &EXEC, NULL
};

void target_report(const target_opts_t *o, target_progress_t *p, double secs, const char *why)
{
	if (o != NULL && o->progress != NULL) {
		p->waiting = secs;
		p->why = why;
		o->progress(o->progress_ctx, p);
		p->waiting = 0;
		p->why = NULL;
	}
}

const target_type_t *target_type_find(const char *name)
{
	for (size_t i = 0; target_types[i] != NULL; i++) {
		if (strcmp(target_types[i]->name, name) == 0) {
			return target_types[i];
		}
	}
	return NULL;
}
