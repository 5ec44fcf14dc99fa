/* Printing RRset changes, shared by diff and plan. */
#include <stdlib.h>
#include <string.h>
#include <libknot/rrset.h>

#include "cli/cli.h"
#include "dns/name.h"
#include "dns/rdata.h"

int cli_print_records(cli_out_t *o, const zone_rrset_t *s, const char *prefix)
{
	knot_dname_storage_t owner;
	knot_rrset_t rr;
	int ret = zone_rrset_to_knot(s, &rr, owner, &o->rdbuf, &o->rdsize);
	for (size_t i = 0; ret == 0 && i < s->count; i++) {
		int len = dns_rr_text(&rr, i, 1, &o->txt, &o->txtsize);
		if (len < 0) {
			return len;
		}
		fprintf(o->f, "%s%.*s\n", prefix, len, o->txt);
	}
	return ret;
}

int cli_json_rrset(cli_out_t *o, const char *label, const zone_rrset_t *s)
{
	if (s == NULL) {
		fprintf(o->f, ",\"%s\":null", label);
		return 0;
	}
	knot_dname_storage_t owner;
	knot_rrset_t rr;
	int ret = zone_rrset_to_knot(s, &rr, owner, &o->rdbuf, &o->rdsize);
	if (ret < 0) {
		return ret;
	}
	fprintf(o->f, ",\"%s\":{\"ttl\":%u,\"%s\":[", label, s->ttl,
	        o->plan ? "values" : "rdata");
	for (size_t i = 0; i < s->count; i++) {
		int len = dns_rr_text(&rr, i, 0, &o->txt, &o->txtsize);
		if (len < 0) {
			return len;
		}
		if (i > 0) {
			fputc(',', o->f);
		}
		cli_json_str(o->f, o->txt, (size_t)len);
	}
	fputs("]}", o->f);
	return 0;
}

int cli_json_change(cli_out_t *o, const zone_change_t *c, bool first)
{
	static const char *const action[] = { "add", "delete", "replace" };
	static const char *const plan_action[] = { "add", "delete", "update" };
	const zone_rrset_t *s = c->kind == ZONE_CHANGE_ADD ? &c->new : &c->old;
	char name[DNS_NAME_STR_MAX], type[32];
	if (dns_key_to_str(s->key, s->keylen, name, sizeof(name)) == NULL) {
		return -1;
	}
	fprintf(o->f, "%s\n    {\"action\":\"%s\",\"name\":", first ? "" : ",",
	        (o->plan ? plan_action : action)[c->kind]);
	cli_json_str(o->f, name, strlen(name));
	fprintf(o->f, ",\"type\":\"%s\"", dns_type_str(s->type, type, sizeof(type)));
	int ret = 0;
	if (c->kind != ZONE_CHANGE_ADD) {
		ret = cli_json_rrset(o, "old", &c->old);
	} else if (o->plan) {
		cli_json_rrset(o, "old", NULL);
	}
	if (ret == 0 && c->kind != ZONE_CHANGE_DELETE) {
		ret = cli_json_rrset(o, "new", &c->new);
	} else if (ret == 0 && o->plan) {
		cli_json_rrset(o, "new", NULL);
	}
	fputc('}', o->f);
	return ret;
}

int cli_text_change(cli_out_t *o, const zone_change_t *c)
{
	switch (c->kind) {
	case ZONE_CHANGE_ADD:
		return cli_print_records(o, &c->new, "+ ");
	case ZONE_CHANGE_DELETE:
		return cli_print_records(o, &c->old, "- ");
	case ZONE_CHANGE_REPLACE: {
		char name[DNS_NAME_STR_MAX], type[32];
		if (dns_key_to_str(c->old.key, c->old.keylen, name, sizeof(name)) == NULL) {
			return -1;
		}
		fprintf(o->f, "~ %s %s\n", name, dns_type_str(c->old.type, type, sizeof(type)));
		int ret = cli_print_records(o, &c->old, "  - ");
		return ret == 0 ? cli_print_records(o, &c->new, "  + ") : ret;
	}
	}
	return -1;
}

void cli_out_free(cli_out_t *o)
{
	free(o->rdbuf);
	free(o->txt);
	o->rdbuf = NULL;
	o->txt = NULL;
}
