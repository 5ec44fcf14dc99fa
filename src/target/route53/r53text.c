#include "target/route53/r53text.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>
#include <libknot/rrset.h>
#include <libzscanner/scanner.h>

#include "dns/rdata.h"

static int octal3(const char *p, uint8_t *out)
{
	unsigned v = 0;
	for (int i = 0; i < 3; i++) {
		if (p[i] < '0' || p[i] > '7') {
			return -1;
		}
		v = v * 8 + (unsigned)(p[i] - '0');
	}
	if (v > 255) {
		return -1;
	}
	*out = (uint8_t)v;
	return 0;
}

int r53_name_to_wire(const char *text, knot_dname_storage_t out)
{
	size_t o = 0, lab = 0; /* lab: position of the current label's length byte */
	const char *p = text;
	if (strcmp(text, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	out[o++] = 0;
	while (*p) {
		uint8_t c;
		if (*p == '.') {
			if (o - lab - 1 == 0) {
				return -EINVAL; /* empty label */
			}
			out[lab] = (uint8_t)(o - lab - 1);
			lab = o;
			if (o >= KNOT_DNAME_MAXLEN) {
				return -EINVAL;
			}
			out[o++] = 0;
			p++;
			continue;
		}
		if (*p == '\\') {
			if (octal3(p + 1, &c) == 0) {
				p += 4;
			} else if (p[1] != '\0' && (p[1] < '0' || p[1] > '9')) {
				c = (uint8_t)p[1]; /* \. or \\ */
				p += 2;
			} else {
				return -EINVAL;
			}
		} else {
			c = (uint8_t)*p++;
		}
		if (c >= 'A' && c <= 'Z') {
			c = (uint8_t)(c + 32);
		}
		if (o - lab - 1 >= KNOT_DNAME_MAXLABELLEN || o + 1 >= KNOT_DNAME_MAXLEN) {
			return -EINVAL;
		}
		out[o++] = c;
	}
	/* Without a trailing dot the last label is still open. */
	if (o - lab - 1 > 0) {
		out[lab] = (uint8_t)(o - lab - 1);
		if (o >= KNOT_DNAME_MAXLEN) {
			return -EINVAL;
		}
		out[o++] = 0;
	} else {
		out[lab] = 0;
		o = lab + 1;
	}
	return (int)o;
}

int r53_name_from_wire(const knot_dname_t *name, char *out, size_t size)
{
	size_t o = 0;
	const uint8_t *l = name;
	if (*l == 0) {
		if (size < 2) {
			return -ENOSPC;
		}
		memcpy(out, ".", 2);
		return 1;
	}
	bool first = true;
	while (*l) {
		uint8_t n = *l;
		bool wildcard = first && n == 1 && l[1] == '*';
		for (uint8_t i = 1; i <= n; i++) {
			uint8_t c = l[i];
			if (c >= 'A' && c <= 'Z') {
				c = (uint8_t)(c + 32);
			}
			char tmp[5];
			size_t tl;
			if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			    c == '_' || wildcard) {
				tmp[0] = (char)c;
				tl = 1;
			} else {
				snprintf(tmp, sizeof(tmp), "\\%03o", c);
				tl = 4;
			}
			if (o + tl + 2 > size) {
				return -ENOSPC;
			}
			memcpy(out + o, tmp, tl);
			o += tl;
		}
		out[o++] = '.';
		l += n + 1;
		first = false;
	}
	out[o] = '\0';
	return (int)o;
}

int r53_txt_from_rdata(const uint8_t *rd, size_t len, char *out, size_t size)
{
	size_t pos = 0, o = 0;
	if (len == 0) {
		return -EINVAL;
	}
	while (pos < len) {
		size_t n = rd[pos++];
		if (pos + n > len) {
			return -EINVAL;
		}
		if (o + 3 > size) {
			return -ENOSPC;
		}
		if (o > 0) {
			out[o++] = ' ';
		}
		out[o++] = '"';
		for (size_t i = 0; i < n; i++) {
			uint8_t c = rd[pos + i];
			char tmp[5];
			size_t tl;
			/* As people write it: printable ASCII (the space too)
			 * as it is, '"' and '\\' escaped, other bytes \ooo. */
			if (c == '"' || c == '\\') {
				tmp[0] = '\\';
				tmp[1] = (char)c;
				tl = 2;
			} else if (c < 0x20 || c >= 0x7f) {
				snprintf(tmp, sizeof(tmp), "\\%03o", c);
				tl = 4;
			} else {
				tmp[0] = (char)c;
				tl = 1;
			}
			if (o + tl + 2 > size) {
				return -ENOSPC;
			}
			memcpy(out + o, tmp, tl);
			o += tl;
		}
		out[o++] = '"';
		pos += n;
	}
	out[o] = '\0';
	return (int)o;
}

int r53_txt_to_rdata(const char *value, uint8_t *out, size_t size)
{
	size_t o = 0;
	const char *p = value;
	for (;;) {
		while (*p == ' ' || *p == '\t') {
			p++;
		}
		if (*p == '\0') {
			break;
		}
		bool quoted = *p == '"';
		p += quoted;
		if (o >= size) {
			return -EINVAL;
		}
		size_t lenpos = o++;
		size_t n = 0;
		for (;;) {
			uint8_t c;
			if (*p == '\0') {
				if (quoted) {
					return -EINVAL; /* unterminated string */
				}
				break;
			}
			if (quoted ? *p == '"' : (*p == ' ' || *p == '\t')) {
				p += quoted;
				break;
			}
			if (*p == '\\') {
				if (octal3(p + 1, &c) == 0) {
					p += 4;
				} else if (p[1] != '\0') {
					c = (uint8_t)p[1];
					p += 2;
				} else {
					return -EINVAL;
				}
			} else {
				c = (uint8_t)*p++;
			}
			if (n == 255 || o >= size) {
				return -EINVAL; /* a character-string holds 255 bytes */
			}
			out[o++] = c;
			n++;
		}
		out[lenpos] = (uint8_t)n;
	}
	return o > 0 ? (int)o : -EINVAL;
}

/* \DDD (decimal) -> \ooo (octal), and back, outside TXT: the zone text of
 * libknot and zscanner speaks decimal, Route 53 octal. */
static int escapes_convert(const char *in, char *out, size_t size, bool to_octal)
{
	size_t o = 0;
	for (const char *p = in; *p != '\0';) {
		if (o + 5 > size) {
			return -ENOSPC;
		}
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
		    p[3] >= '0' && p[3] <= '9') {
			unsigned v;
			uint8_t c;
			if (to_octal) {
				v = (unsigned)(p[1] - '0') * 100 + (unsigned)(p[2] - '0') * 10 +
				    (unsigned)(p[3] - '0');
				if (v > 255) {
					return -EINVAL;
				}
				o += (size_t)snprintf(out + o, size - o, "\\%03o", v);
			} else {
				if (octal3(p + 1, &c) != 0) {
					return -EINVAL;
				}
				o += (size_t)snprintf(out + o, size - o, "\\%03u", c);
			}
			p += 4;
		} else if (p[0] == '\\' && p[1] != '\0') {
			out[o++] = *p++;
			out[o++] = *p++;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return (int)o;
}

static int value_text(const knot_rrset_t *rrset, size_t pos, char **buf, size_t *size);

int r53_value_from_rr(const knot_rrset_t *rrset, size_t pos, zs_scanner_t *sc, char **buf,
                      size_t *size)
{
	int n = value_text(rrset, pos, buf, size);
	if (n < 0 || sc == NULL) {
		return n;
	}
	const knot_rdata_t *rd = knot_rdataset_at(&rrset->rrs, (uint16_t)pos);
	uint8_t *back = malloc(DNS_RDATA_MAX);
	if (back == NULL) {
		return -ENOMEM;
	}
	int m = r53_value_to_rdata(sc, rrset->type, *buf, back, DNS_RDATA_MAX);
	bool same = m == rd->len && memcmp(back, rd->data, rd->len) == 0;
	free(back);
	return same ? n : -EINVAL;
}

static int value_text(const knot_rrset_t *rrset, size_t pos, char **buf, size_t *size)
{
	const knot_rdata_t *rd = knot_rdataset_at(&rrset->rrs, (uint16_t)pos);
	if (rrset->type == KNOT_RRTYPE_TXT || rrset->type == KNOT_RRTYPE_SPF) {
		/* Each byte takes at most 4 characters, plus quotes and spaces. */
		size_t need = (size_t)rd->len * 4 + 3 * 256 + 1;
		if (*size < need) {
			char *b = realloc(*buf, need);
			if (b == NULL) {
				return -ENOMEM;
			}
			*buf = b;
			*size = need;
		}
		return r53_txt_from_rdata(rd->data, rd->len, *buf, *size);
	}
	char *text = NULL;
	size_t tsize = 0;
	int len = dns_rr_text(rrset, pos, 0, &text, &tsize);
	if (len < 0) {
		free(text);
		return len;
	}
	size_t need = (size_t)len * 2 + 16; /* \DDD and \ooo have one length */
	if (*size < need) {
		char *b = realloc(*buf, need);
		if (b == NULL) {
			free(text);
			return -ENOMEM;
		}
		*buf = b;
		*size = need;
	}
	int ret = escapes_convert(text, *buf, *size, true);
	free(text);
	return ret;
}

int r53_value_to_rdata(zs_scanner_t *sc, uint16_t type, const char *value, uint8_t *out,
                       size_t size)
{
	if (type == KNOT_RRTYPE_TXT || type == KNOT_RRTYPE_SPF) {
		return r53_txt_to_rdata(value, out, size);
	}
	size_t vlen = strlen(value);
	if (vlen > 8192) {
		return -EINVAL;
	}
	char *text = malloc(vlen * 2 + 16);
	if (text == NULL) {
		return -ENOMEM;
	}
	int ret = escapes_convert(value, text, vlen * 2 + 16, false);
	if (ret >= 0) {
		ret = dns_rdata_from_text(sc, type, text, out, size);
	}
	free(text);
	return ret < 0 ? ret == -ENOMEM ? ret : -EINVAL : ret;
}
