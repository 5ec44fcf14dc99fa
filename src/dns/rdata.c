#include "dns/rdata.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>
#include <libzscanner/scanner.h>
#include <libknot/errcode.h>
#include <libknot/rrset-dump.h>
#include <libknot/packet/rrset-wire.h>
#include <libknot/wire.h>

/* Scratch memory for libknot's parser: one record at a time, never freed. */
struct scratch {
	size_t used;
	_Alignas(max_align_t) uint8_t mem[2 * (DNS_RDATA_MAX + 64) + 512];
};

static void *scratch_alloc(void *ctx, size_t size)
{
	struct scratch *s = ctx;
	size = (size + 15) & ~(size_t)15;
	if (sizeof(s->mem) - s->used < size) {
		return NULL;
	}
	void *p = s->mem + s->used;
	s->used += size;
	return p;
}

static void scratch_free(void *p)
{
	(void)p;
}

int dns_rdata_canonical(uint16_t type, const uint8_t *rdata, uint16_t rdlen, uint8_t *out)
{
	/* Let libknot's wire parser check the rdata: wrap it in a record with
	 * the root as owner.  Any compression pointer would change the length
	 * (a 2-byte pointer can only reach the 1-byte root name). */
	static _Thread_local uint8_t wire[11 + DNS_RDATA_MAX];
	static _Thread_local struct scratch scr;

	wire[0] = 0;
	knot_wire_write_u16(wire + 1, type);
	knot_wire_write_u16(wire + 3, KNOT_CLASS_IN);
	knot_wire_write_u32(wire + 5, 0);
	knot_wire_write_u16(wire + 9, rdlen);
	memcpy(wire + 11, rdata, rdlen);

	scr.used = 0;
	knot_mm_t mm = { .ctx = &scr, .alloc = scratch_alloc, .free = scratch_free };
	knot_rrset_t rr;
	knot_rrset_init_empty(&rr);
	size_t pos = 0;
	int ret = knot_rrset_rr_from_wire(wire, &pos, 11 + (size_t)rdlen, &rr, &mm, true);
	if (ret != KNOT_EOK || pos != 11 + (size_t)rdlen || rr.rrs.count != 1 ||
	    rr.rrs.rdata->len != rdlen) {
		return -EINVAL;
	}
	memcpy(out, rr.rrs.rdata->data, rdlen);
	return rdlen;
}

const char *dns_type_str(uint16_t type, char *buf, size_t size)
{
	if (knot_rrtype_to_string(type, buf, size) < 0) {
		snprintf(buf, size, "TYPE%u", type);
	}
	return buf;
}

static const knot_dump_style_t TEXT_STYLE = {
	.wrap = false,
	.show_class = true,
	.show_ttl = true,
	.verbose = false,
	.original_ttl = false,
	.empty_ttl = false,
	.human_ttl = false,
	.human_timestamp = true,
	.generic = false,
	.hide_crypto = false,
	.ascii_to_idn = NULL,
};

/* RFC 3597 form, for rdata libknot parses but cannot print (an IPSECKEY
 * without its key, say): zone files take it for any type. */
static const knot_dump_style_t GENERIC_STYLE = {
	.show_class = true,
	.show_ttl = true,
	.generic = true,
};

int dns_rr_text(const knot_rrset_t *rrset, size_t pos, int header, char **buf, size_t *size)
{
	const knot_dump_style_t *style = &TEXT_STYLE;
	for (;;) {
		if (*buf == NULL || *size < 512) {
			size_t n = *size < 512 ? 4096 : *size;
			char *b = realloc(*buf, n);
			if (b == NULL) {
				return -ENOMEM;
			}
			*buf = b;
			*size = n;
		}
		int len = 0;
		if (header) {
			/* "owner ttl IN TYPE ", one space apart (libknot pads). */
			char owner[KNOT_DNAME_TXT_MAXLEN + 1], type[32];
			if (knot_dname_to_str(owner, rrset->owner, sizeof(owner)) == NULL) {
				return -EINVAL;
			}
			len = snprintf(*buf, *size, "%s %u IN %s ", owner, rrset->ttl,
			               dns_type_str(rrset->type, type, sizeof(type)));
			if (len < 0) {
				return -EINVAL;
			}
			if ((size_t)len >= *size) {
				len = KNOT_ESPACE;
			}
		}
		if (len >= 0) {
			int d = knot_rrset_txt_dump_data(rrset, pos, *buf + len,
			                                 *size - (size_t)len, style);
			if (d >= 0) {
				/* libknot ends some types (CAA) with a space. */
				while (d > 0 && (*buf)[len + d - 1] == ' ') {
					d--;
				}
				(*buf)[len + d] = '\0';
				return len + d;
			}
			/* libknot says "no space" for some rdata it cannot print:
			 * past room for any text form of it, go generic. */
			size_t rdlen = knot_rdataset_at(&rrset->rrs, (uint16_t)pos)->len;
			bool room = *size - (size_t)len > 8 * rdlen + 4096;
			if ((d != KNOT_ESPACE || room) && style != &GENERIC_STYLE) {
				style = &GENERIC_STYLE;
				continue;
			}
			len = d;
		}
		if (len != KNOT_ESPACE || *size > 4 * (DNS_RDATA_MAX + 1024)) {
			return -EINVAL;
		}
		char *b = realloc(*buf, *size * 2);
		if (b == NULL) {
			return -ENOMEM;
		}
		*buf = b;
		*size *= 2;
	}
}

zs_scanner_t *dns_scanner_new(void)
{
	zs_scanner_t *sc = malloc(sizeof(*sc));
	if (sc != NULL && zs_init(sc, ".", KNOT_CLASS_IN, 0) != 0) {
		zs_deinit(sc);
		free(sc);
		sc = NULL;
	}
	return sc;
}

void dns_scanner_free(zs_scanner_t *sc)
{
	if (sc != NULL) {
		zs_deinit(sc);
		free(sc);
	}
}

int dns_rdata_from_text(zs_scanner_t *sc, uint16_t type, const char *text, uint8_t *out,
                        size_t size)
{
	size_t tlen = strlen(text);
	if (tlen > 65536 || strpbrk(text, "\n\r") != NULL) {
		return -EINVAL;
	}
	size_t lsize = tlen + 64;
	char *line = malloc(lsize);
	if (line == NULL) {
		return -ENOMEM;
	}
	int len = snprintf(line, lsize, ". 0 IN TYPE%u %s\n", type, text);
	int ret = -EINVAL;
	if (len > 0 && (size_t)len < lsize && zs_set_input_string(sc, line, (size_t)len) == 0 &&
	    zs_parse_record(sc) == 0 && sc->state == ZS_STATE_DATA && sc->r_type == type &&
	    sc->r_data_length <= size) {
		memcpy(out, sc->r_data, sc->r_data_length);
		ret = (int)sc->r_data_length;
	}
	free(line);
	if (ret < 0 || strpbrk(text, "()") != NULL) {
		/* A scanner that met an error stays in it, and one that saw a
		 * parenthesis may think a multi-line record goes on (found by
		 * fuzzing): start afresh, not for every record. */
		zs_deinit(sc);
		if (zs_init(sc, ".", KNOT_CLASS_IN, 0) != 0) {
			return -ENOMEM;
		}
	}
	return ret;
}
