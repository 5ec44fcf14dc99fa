/* DNS UPDATE messages: operations, batches by size, wire form. */
#include "target/rfc2136/updmsg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/soa.h>

#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/serial.h"

#define RR_FIXED 10 /* type, class, TTL, rdata length */

/* The RRset an operation names: the old side only for a DELETE. */
static const zone_rrset_t *op_set(const upd_op_t *op)
{
	return op->change->kind == ZONE_CHANGE_DELETE ? &op->change->old : &op->change->new;
}

const char *upd_op_str(const upd_op_t *op, char *buf, size_t size)
{
	const zone_rrset_t *s = op_set(op);
	char name[DNS_NAME_STR_MAX], type[16];
	dns_key_to_str(s->key, s->keylen, name, sizeof(name));
	snprintf(buf, size, "%s %s", name, dns_type_str(s->type, type, sizeof(type)));
	return buf;
}

static bool same_owner(const zone_rrset_t *a, const zone_rrset_t *b)
{
	return a->keylen == b->keylen && memcmp(a->key, b->key, a->keylen) == 0;
}

static bool same_rdata(const knot_rdata_t *a, const knot_rdata_t *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static bool in_set(const zone_rrset_t *s, const knot_rdata_t *rd)
{
	for (size_t i = 0; i < s->count; i++) {
		if (same_rdata(s->rr[i].rd, rd)) {
			return true;
		}
	}
	return false;
}

/* Bytes of an owner in the message: its labels below the apex, then a
 * pointer to the zone section's name.  -EINVAL when outside the zone. */
static int owner_size(const zone_rrset_t *s, const uint8_t *apex_key, size_t apex_keylen,
                      size_t apex_len)
{
	if (s->keylen < apex_keylen || memcmp(s->key, apex_key, apex_keylen) != 0) {
		return -EINVAL;
	}
	knot_dname_storage_t owner;
	int len = dns_name_from_key(s->key, s->keylen, owner);
	if (len < (int)apex_len) {
		return -EINVAL;
	}
	return len - (int)apex_len + 2;
}

/* Size and RR count of one operation. */
static int op_size(upd_op_t *op, const uint8_t *apex_key, size_t apex_keylen, size_t apex_len)
{
	const zone_change_t *c = op->change;
	int o = owner_size(op_set(op), apex_key, apex_keylen, apex_len);
	if (o < 0) {
		return o;
	}
	size_t w = 0, n = 0;
	if (op->action == UPD_REPLACE || op->action == UPD_DELETE) {
		w += (size_t)o + RR_FIXED; /* the RRset's delete */
		n++;
	}
	if (op->action != UPD_DELETE) {
		for (size_t i = 0; i < c->new.count; i++) {
			w += (size_t)o + RR_FIXED + c->new.rr[i].rd->len;
			n++;
		}
	}
	if (op->action == UPD_NS && c->kind == ZONE_CHANGE_REPLACE) {
		for (size_t i = 0; i < c->old.count; i++) {
			if (!in_set(&c->new, c->old.rr[i].rd)) {
				w += (size_t)o + RR_FIXED + c->old.rr[i].rd->len;
				n++;
			}
		}
	}
	op->wire = w;
	op->rrs = n;
	return 0;
}

static int too_big(const upd_op_t *op, const char *what, size_t bytes, size_t room, char *err,
                   size_t errlen)
{
	char set[DNS_NAME_STR_MAX + 20];
	snprintf(err, errlen,
	         "%s: %s of %zu bytes in an UPDATE, more than one message holds (%zu bytes "
	         "with the header, zone and TSIG)",
	         upd_op_str(op, set, sizeof(set)), what, bytes, room);
	return -E2BIG;
}

/* Cut the operations into messages: whole units (the changes at one
 * name) while they fit, a unit that fits no message split between its
 * operations (deletions stay first), an operation never split. */
static int batch(upd_plan_t *p, const size_t *unit, size_t room, size_t max_changes, char *err,
                 size_t errlen)
{
	size_t cur = 0, cur_n = 0;
	for (size_t i = 0; i < p->count;) {
		size_t j = i, ub = 0;
		while (j < p->count && unit[j] == unit[i]) {
			ub += p->op[j].wire;
			j++;
		}
		size_t un = j - i;
		if (cur + ub <= room && cur_n + un <= max_changes) {
			cur += ub;
			cur_n += un;
			i = j;
			continue;
		}
		if (cur_n > 0) {
			p->batch_end[p->nbatches++] = i;
			cur = cur_n = 0;
		}
		if (ub <= room && un <= max_changes) {
			cur = ub;
			cur_n = un;
			i = j;
			continue;
		}
		for (size_t k = i; k < j; k++) {
			if (p->op[k].wire > room) {
				return too_big(&p->op[k], "a change", p->op[k].wire,
				               room + p->fixed, err, errlen);
			}
			if (cur + p->op[k].wire > room || cur_n + 1 > max_changes) {
				p->batch_end[p->nbatches++] = k;
				cur = cur_n = 0;
			}
			cur += p->op[k].wire;
			cur_n++;
		}
		i = j;
	}
	if (cur_n > 0) {
		p->batch_end[p->nbatches++] = p->count;
	}
	return 0;
}

/* Does the operation put address records in? */
static bool adds_address(const upd_op_t *op)
{
	uint16_t type = op->change->kind == ZONE_CHANGE_DELETE ? 0 : op->change->new.type;
	return type == KNOT_RRTYPE_A || type == KNOT_RRTYPE_AAAA;
}

/*
 * The names whose address records change go first (each name's
 * operations together, in canonical order within either group): BIND
 * refuses an UPDATE that adds an MX whose in-zone target has no A or
 * AAAA (check-integrity), so a target must not come in a later message
 * than the MX naming it.  The SOA stays last.
 */
static int addresses_first(upd_plan_t *p, size_t *unit)
{
	upd_op_t *op = malloc((p->count + 1) * sizeof(*op));
	size_t *un = malloc((p->count + 1) * sizeof(*un));
	bool *first = calloc(p->count + 1, sizeof(*first));
	if (op == NULL || un == NULL || first == NULL) {
		free(op);
		free(un);
		free(first);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->count;) {
		size_t j = i;
		bool addr = false;
		while (j < p->count && unit[j] == unit[i]) {
			addr |= adds_address(&p->op[j]) && p->op[j].action != UPD_SOA;
			j++;
		}
		for (size_t k = i; k < j; k++) {
			first[k] = addr;
		}
		i = j;
	}
	size_t n = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < p->count; i++) {
			if (first[i] == (pass == 0)) {
				op[n] = p->op[i];
				un[n++] = unit[i];
			}
		}
	}
	memcpy(p->op, op, n * sizeof(*op));
	memcpy(unit, un, n * sizeof(*un));
	free(op);
	free(un);
	free(first);
	return 0;
}

int upd_plan(const zone_diff_t *d, bool live_known, const knot_dname_t *apex,
             const upd_limits_t *lim, upd_plan_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	uint8_t apex_key[DNS_KEY_MAX];
	size_t apex_keylen = dns_name_key(apex, apex_key);
	size_t apex_len = knot_dname_size(apex);
	out->fixed = KNOT_WIRE_HEADER_SIZE + apex_len + 4;
	if (lim->msg_max > UPD_MSG_MAX || lim->msg_max < out->fixed + lim->tsig + 1) {
		snprintf(err, errlen, "message size limit %zu out of range", lim->msg_max);
		return -EINVAL;
	}
	size_t room = lim->msg_max - out->fixed - lim->tsig;
	size_t max_changes = lim->max_changes > 0 ? lim->max_changes : SIZE_MAX;
	out->op = calloc(d->count + 1, sizeof(*out->op));
	out->batch_end = calloc(d->count + 1, sizeof(*out->batch_end));
	size_t *unit = calloc(d->count + 1, sizeof(*unit));
	if (out->op == NULL || out->batch_end == NULL || unit == NULL) {
		free(unit);
		upd_plan_free(out);
		return -ENOMEM;
	}
	const zone_change_t *soa = NULL;
	size_t units = 0;
	int ret = 0;
	for (size_t i = 0; i < d->count && ret == 0;) {
		const zone_change_t *c0 = &d->change[i];
		const zone_rrset_t *owner = c0->kind == ZONE_CHANGE_DELETE ? &c0->old : &c0->new;
		size_t j = i;
		while (j < d->count) {
			const zone_change_t *c = &d->change[j];
			if (!same_owner(c->kind == ZONE_CHANGE_DELETE ? &c->old : &c->new, owner)) {
				break;
			}
			j++;
		}
		bool apex_owner = owner->keylen == apex_keylen &&
		                  memcmp(owner->key, apex_key, apex_keylen) == 0;
		units++;
		/* Deletions first: a name must be free of other data before a
		 * CNAME arrives there, and of its CNAME before other data does
		 * (RFC 2136 3.4.2.2 ignores such an add silently). */
		for (int pass = 0; pass < 2 && ret == 0; pass++) {
			for (size_t k = i; k < j && ret == 0; k++) {
				const zone_change_t *c = &d->change[k];
				bool del = c->kind == ZONE_CHANGE_DELETE;
				if (del != (pass == 0)) {
					continue;
				}
				uint16_t type = del ? c->old.type : c->new.type;
				upd_action_t a;
				if (apex_owner && type == KNOT_RRTYPE_SOA) {
					if (c->kind == ZONE_CHANGE_REPLACE) {
						soa = c; /* last, see below */
					} else {
						out->dropped++;
					}
					continue;
				} else if (apex_owner && type == KNOT_RRTYPE_NS) {
					if (del) {
						out->dropped++;
						continue;
					}
					a = UPD_NS;
				} else if (del) {
					a = UPD_DELETE;
				} else if (c->kind == ZONE_CHANGE_REPLACE || !live_known) {
					a = UPD_REPLACE;
				} else {
					a = UPD_ADD;
				}
				upd_op_t *op = &out->op[out->count];
				*op = (upd_op_t){ .action = a, .change = c };
				ret = op_size(op, apex_key, apex_keylen, apex_len);
				unit[out->count++] = units;
			}
		}
		i = j;
	}
	if (ret == 0 && soa != NULL) {
		/* A serial that is not greater is ignored by the server
		 * (3.4.2.2); the caller says so rather than sending it. */
		const knot_rdata_t *want = soa->new.rr[0].rd, *have = soa->old.rr[0].rd;
		bool ok = want->len >= 22 && have->len >= 22;
		if (ok) {
			out->has_soa = true;
			out->soa_want = knot_soa_serial(want);
			out->soa_have = knot_soa_serial(have);
		}
		if (!ok || serial_cmp(out->soa_want, out->soa_have) != SERIAL_GT) {
			out->soa_behind = true;
			out->dropped++;
		} else {
			upd_op_t *op = &out->op[out->count];
			*op = (upd_op_t){ .action = UPD_SOA, .change = soa };
			ret = op_size(op, apex_key, apex_keylen, apex_len);
			unit[out->count++] = ++units;
		}
	}
	if (ret == -EINVAL) {
		char set[DNS_NAME_STR_MAX + 20];
		snprintf(err, errlen, "%s: outside the zone",
		         upd_op_str(&out->op[out->count - 1], set, sizeof(set)));
	}
	if (ret == 0) {
		ret = addresses_first(out, unit);
	}
	if (ret == 0) {
		ret = batch(out, unit, room, max_changes, err, errlen);
	}
	free(unit);
	if (ret != 0) {
		upd_plan_free(out);
	}
	return ret;
}

size_t upd_serial_steps(uint32_t have, uint32_t want, uint32_t out[UPD_SERIAL_STEPS])
{
	uint32_t distance = want - have; /* forward round the ring, mod 2^32 */
	size_t n = (size_t)(((uint64_t)distance + UPD_SERIAL_STEP_MAX - 1) / UPD_SERIAL_STEP_MAX);
	/* Whole steps first, then the rest (1 to 2^31 - 1) to want. */
	for (size_t i = 0; i + 1 < n; i++) {
		out[i] = have + (uint32_t)(i + 1) * UPD_SERIAL_STEP_MAX;
	}
	if (n > 0) {
		out[n - 1] = want;
	}
	return n;
}

void upd_plan_free(upd_plan_t *p)
{
	free(p->op);
	free(p->batch_end);
	memset(p, 0, sizeof(*p));
}

/* --- wire ------------------------------------------------------------------ */

typedef struct {
	uint8_t *buf;
	size_t size, len;
	bool full;
} wbuf_t;

static void put(wbuf_t *w, const void *data, size_t n)
{
	if (w->full || w->size - w->len < n) {
		w->full = true;
		return;
	}
	memcpy(w->buf + w->len, data, n);
	w->len += n;
}

static void put16(wbuf_t *w, uint16_t v)
{
	uint8_t b[2];
	knot_wire_write_u16(b, v);
	put(w, b, 2);
}

static void put32(wbuf_t *w, uint32_t v)
{
	uint8_t b[4];
	knot_wire_write_u32(b, v);
	put(w, b, 4);
}

/* One RR: owner (labels below the apex + pointer to offset 12), type,
 * class, TTL, rdata (NULL: empty). */
static void put_rr(wbuf_t *w, const uint8_t *owner, size_t below, uint16_t type, uint16_t cls,
                   uint32_t ttl, const knot_rdata_t *rd)
{
	put(w, owner, below);
	put16(w, 0xC000 | KNOT_WIRE_HEADER_SIZE);
	put16(w, type);
	put16(w, cls);
	put32(w, ttl);
	put16(w, rd != NULL ? rd->len : 0);
	if (rd != NULL) {
		put(w, rd->data, rd->len);
	}
}

static int put_op(wbuf_t *w, const upd_op_t *op, size_t apex_len)
{
	const zone_change_t *c = op->change;
	const zone_rrset_t *s = op_set(op);
	knot_dname_storage_t owner;
	int len = dns_name_from_key(s->key, s->keylen, owner);
	if (len < (int)apex_len) {
		return -EINVAL;
	}
	size_t below = (size_t)len - apex_len;
	if (op->action == UPD_REPLACE || op->action == UPD_DELETE) {
		put_rr(w, owner, below, s->type, KNOT_CLASS_ANY, 0, NULL);
	}
	if (op->action != UPD_DELETE) {
		for (size_t i = 0; i < c->new.count; i++) {
			put_rr(w, owner, below, s->type, KNOT_CLASS_IN, c->new.ttl, c->new.rr[i].rd);
		}
	}
	/* apex NS: the old records go after the new are in (3.4.2.4). */
	if (op->action == UPD_NS && c->kind == ZONE_CHANGE_REPLACE) {
		for (size_t i = 0; i < c->old.count; i++) {
			if (!in_set(&c->new, c->old.rr[i].rd)) {
				put_rr(w, owner, below, s->type, KNOT_CLASS_NONE, 0, c->old.rr[i].rd);
			}
		}
	}
	return 0;
}

/* The prerequisite "RRset exists (value dependent)" (RFC 2136 2.4.2) on the
 * apex SOA: CLASS IN, TTL 0, the exact rdata.  A server holding another
 * SOA refuses the whole message with NXRRSET (3.2.5). */
static void put_fence(wbuf_t *w, const knot_dname_t *apex, const knot_rdata_t *fence)
{
	if (fence != NULL) { /* owner: the pointer to the zone section */
		put_rr(w, apex, 0, KNOT_RRTYPE_SOA, KNOT_CLASS_IN, 0, fence);
	}
}

int upd_write(const upd_plan_t *p, size_t b, const knot_dname_t *apex, uint16_t id,
              uint8_t *buf, size_t size)
{
	return upd_write_fenced(p, b, apex, id, NULL, buf, size);
}

int upd_write_fenced(const upd_plan_t *p, size_t b, const knot_dname_t *apex, uint16_t id,
                     const knot_rdata_t *fence, uint8_t *buf, size_t size)
{
	if (b >= p->nbatches) {
		return -EINVAL;
	}
	size_t from = b == 0 ? 0 : p->batch_end[b - 1], to = p->batch_end[b];
	size_t rrs = 0;
	for (size_t i = from; i < to; i++) {
		rrs += p->op[i].rrs;
	}
	if (rrs > UINT16_MAX) {
		return -EINVAL;
	}
	size_t apex_len = knot_dname_size(apex);
	wbuf_t w = { .buf = buf, .size = size };
	uint8_t hdr[KNOT_WIRE_HEADER_SIZE] = { 0 };
	knot_wire_set_id(hdr, id);
	knot_wire_set_opcode(hdr, KNOT_OPCODE_UPDATE);
	knot_wire_set_qdcount(hdr, 1);               /* ZOCOUNT */
	knot_wire_set_nscount(hdr, (uint16_t)rrs);    /* UPCOUNT */
	if (fence != NULL) {
		knot_wire_set_ancount(hdr, 1); /* PRCOUNT */
	}
	put(&w, hdr, sizeof(hdr));
	put(&w, apex, apex_len);
	put16(&w, KNOT_RRTYPE_SOA);
	put16(&w, KNOT_CLASS_IN);
	put_fence(&w, apex, fence);
	for (size_t i = from; i < to; i++) {
		if (put_op(&w, &p->op[i], apex_len) != 0) {
			return -EINVAL;
		}
	}
	if (w.full) {
		return -ENOSPC;
	}
	return (int)w.len;
}

int upd_write_soa(const knot_dname_t *apex, uint16_t id, uint32_t ttl, const knot_rdata_t *soa,
                  uint8_t *buf, size_t size)
{
	return upd_write_soa_fenced(apex, id, ttl, soa, NULL, buf, size);
}

int upd_write_soa_fenced(const knot_dname_t *apex, uint16_t id, uint32_t ttl,
                         const knot_rdata_t *soa, const knot_rdata_t *fence, uint8_t *buf,
                         size_t size)
{
	if (soa == NULL || soa->len < 22) { /* two names of one byte, five numbers */
		return -EINVAL;
	}
	size_t apex_len = knot_dname_size(apex);
	wbuf_t w = { .buf = buf, .size = size };
	uint8_t hdr[KNOT_WIRE_HEADER_SIZE] = { 0 };
	knot_wire_set_id(hdr, id);
	knot_wire_set_opcode(hdr, KNOT_OPCODE_UPDATE);
	knot_wire_set_qdcount(hdr, 1); /* ZOCOUNT */
	knot_wire_set_nscount(hdr, 1); /* UPCOUNT */
	if (fence != NULL) {
		knot_wire_set_ancount(hdr, 1); /* PRCOUNT */
	}
	put(&w, hdr, sizeof(hdr));
	put(&w, apex, apex_len);
	put16(&w, KNOT_RRTYPE_SOA);
	put16(&w, KNOT_CLASS_IN);
	put_fence(&w, apex, fence);
	put_rr(&w, apex, 0, KNOT_RRTYPE_SOA, KNOT_CLASS_IN, ttl, soa); /* owner: the pointer */
	if (w.full) {
		return -ENOSPC;
	}
	return (int)w.len;
}
