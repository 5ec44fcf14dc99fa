/* The answer to a DNS UPDATE: header, zone section and TSIG checks. */
#include "target/rfc2136/updmsg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/codes.h>
#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/error.h>
#include <libknot/packet/pkt.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/tsig.h>
#include <libknot/tsig-op.h>

#include "dns/name.h"

static int errf(char *err, size_t errlen, int ret, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int errf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

static const char *lookup(const knot_lookup_t *table, unsigned code, char *buf, size_t size)
{
	const knot_lookup_t *l = knot_lookup_by_id(table, (int)code);
	if (l != NULL && l->name != NULL) {
		snprintf(buf, size, "%s", l->name);
	} else {
		snprintf(buf, size, "RCODE%u", code);
	}
	return buf;
}

const char *upd_rcode_str(unsigned rcode, char *buf, size_t size)
{
	return lookup(knot_rcode_names, rcode, buf, size);
}

/* What a TSIG error means for the one who configured the key. */
static const char *tsig_hint(uint16_t e)
{
	switch (e) {
	case KNOT_RCODE_BADKEY:
		return "the server does not know this key name and algorithm, or (Knot) no acl "
		       "lets this key do this";
	case KNOT_RCODE_BADSIG:
		return "the secret differs from the server's";
	case KNOT_RCODE_BADTIME:
		return "the clocks of this host and the server differ by more than the fudge";
	case KNOT_RCODE_BADTRUNC:
		return "the server refused a truncated MAC";
	default:
		return "the server refused the signature";
	}
}

int upd_parse_answer(const uint8_t *buf, size_t len, uint16_t id, const knot_dname_t *apex,
                     const knot_tsig_key_t *key, const uint8_t *mac, size_t maclen,
                     const char *who, upd_answer_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (len < KNOT_WIRE_HEADER_SIZE || len > UPD_MSG_MAX) {
		return errf(err, errlen, -EPROTO, "%s: answer of %zu bytes is not a DNS message",
		            who, len);
	}
	if (knot_wire_get_id(buf) != id || !knot_wire_get_qr(buf)) {
		return errf(err, errlen, -EPROTO, "%s: answer with a wrong ID or not an answer",
		            who);
	}
	if (knot_wire_get_opcode(buf) != KNOT_OPCODE_UPDATE) {
		return errf(err, errlen, -EPROTO, "%s: answer with opcode %u, not UPDATE", who,
		            knot_wire_get_opcode(buf));
	}
	/* knot_pkt_parse() strips the TSIG in place: parse a copy. */
	uint8_t *copy = malloc(len);
	if (copy == NULL) {
		return errf(err, errlen, -ENOMEM, "out of memory");
	}
	memcpy(copy, buf, len);
	knot_pkt_t *pkt = knot_pkt_new(copy, (uint16_t)len, NULL);
	if (pkt == NULL) {
		free(copy);
		return errf(err, errlen, -ENOMEM, "out of memory");
	}
	int ret = 0;
	int pr = knot_pkt_parse(pkt, 0);
	if (pr != KNOT_EOK) {
		ret = errf(err, errlen, -EPROTO, "%s: malformed answer: %s", who,
		           knot_strerror(pr));
		goto out;
	}
	/* The zone section may be echoed (RFC 2136 3.8) or left out (an
	 * answer to a message the server could not read). */
	uint16_t zo = knot_wire_get_qdcount(pkt->wire);
	if (zo > 1 || (zo == 1 && (!dns_name_equal(knot_pkt_qname(pkt), apex) ||
	                           knot_pkt_qtype(pkt) != KNOT_RRTYPE_SOA ||
	                           knot_pkt_qclass(pkt) != KNOT_CLASS_IN))) {
		ret = errf(err, errlen, -EPROTO, "%s: answer for another zone", who);
		goto out;
	}
	out->rcode = knot_wire_get_rcode(pkt->wire);
	char rc[32];
	upd_rcode_str(out->rcode, rc, sizeof(rc));
	if (pkt->tsig_rr != NULL) {
		out->tsig_error = knot_tsig_rdata_error(pkt->tsig_rr);
	}
	if (key == NULL) {
		goto out;
	}
	char kname[DNS_NAME_STR_MAX];
	dns_name_to_str(key->name, kname, sizeof(kname));
	if (out->tsig_error != 0) {
		char te[32];
		/* libknot names BADSIG among the TSIG codes, the others
		 * among the RCODEs. */
		const knot_lookup_t *table = knot_lookup_by_id(knot_tsig_rcode_names,
		                                               out->tsig_error) != NULL
		                                     ? knot_tsig_rcode_names
		                                     : knot_rcode_names;
		ret = errf(err, errlen, -EPERM, "%s: the server refused TSIG key %s: %s (%s)", who,
		           kname, lookup(table, out->tsig_error, te, sizeof(te)),
		           tsig_hint(out->tsig_error));
		goto out;
	}
	if (pkt->tsig_rr == NULL) {
		/* An error answer may come unsigned (the server could not
		 * read the message); a success must be signed. */
		if (out->rcode == KNOT_RCODE_NOERROR) {
			ret = errf(err, errlen, -EPERM,
			           "%s: answered NOERROR without a TSIG signature (key %s)", who,
			           kname);
		}
		goto out;
	}
	pr = knot_tsig_client_check(pkt->tsig_rr, pkt->wire, pkt->size, mac, maclen, key, 0);
	if (pr != KNOT_EOK) {
		ret = errf(err, errlen, -EPERM, "%s: answered %s with a TSIG that fails the check "
		           "with key %s: %s", who, rc, kname, knot_strerror(pr));
		goto out;
	}
	out->is_signed = true;
out:
	knot_pkt_free(pkt);
	free(copy);
	return ret;
}
