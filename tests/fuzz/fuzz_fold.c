/*
 * Differential fuzzing of the folded IXFR (zone/fold.h): a base zone and a
 * sequence of steps drawn from a small set of records are applied step by
 * step to a model of the zone (present or not, and the TTL of each record,
 * as the store keeps them), and folded into one delta that is applied to
 * the model once.  Whenever the steps apply one by one, the folded delta
 * must apply and give the same records with the same TTLs.  (What applies
 * a delta in the daemon is store_zone_apply(), tested in test_store.)
 *
 * Input: two bytes choose the base zone's records (12 bits); then one byte
 * per operation: the top two bits say remove (0), add with TTL 60 (1), add
 * with TTL 120 (2) or end of step (3); the low six bits choose the record
 * (mod 12), bit 5 the TTL a removal carries.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/descriptor.h>

#include "dns/name.h"
#include "zone/diff.h"
#include "zone/fold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NREC 12

static knot_dname_storage_t apex, owners[3];

static void rec(unsigned idx, const uint8_t **owner, uint8_t rd[4])
{
	*owner = owners[idx / 4];
	rd[0] = 192;
	rd[1] = 0;
	rd[2] = 2;
	rd[3] = (uint8_t)(idx % 4);
}

static void soa(uint32_t serial, uint8_t rd[22])
{
	memset(rd, 0, 22);
	rd[2] = (uint8_t)(serial >> 24);
	rd[3] = (uint8_t)(serial >> 16);
	rd[4] = (uint8_t)(serial >> 8);
	rd[5] = (uint8_t)serial;
}

struct step {
	unsigned del[NREC], ndel;
	uint32_t del_ttl[NREC];
	unsigned add[NREC], nadd;
	uint32_t add_ttl[NREC];
};

static bool in(const unsigned *list, unsigned n, unsigned idx)
{
	for (unsigned i = 0; i < n; i++) {
		if (list[i] == idx) {
			return true;
		}
	}
	return false;
}

typedef struct {
	bool present[NREC];
	uint32_t ttl[NREC];
} model_t;

/* Remove then add (matching ignores TTLs); false when it does not apply. */
static bool model_apply(model_t *m, const unsigned *del, unsigned ndel, const unsigned *add,
                        const uint32_t *add_ttl, unsigned nadd)
{
	for (unsigned i = 0; i < ndel; i++) {
		if (!m->present[del[i]]) {
			return false;
		}
		m->present[del[i]] = false;
	}
	for (unsigned i = 0; i < nadd; i++) {
		if (m->present[add[i]]) {
			return false;
		}
		m->present[add[i]] = true;
		m->ttl[add[i]] = add_ttl[i];
	}
	return true;
}

/* One TTL per RRset, the lowest (as zone_finish() and the store's readers
 * make it): the form in which two models are compared. */
static void model_collapse(model_t *m)
{
	for (unsigned o = 0; o < NREC; o += 4) {
		uint32_t low = UINT32_MAX;
		for (unsigned i = o; i < o + 4; i++) {
			if (m->present[i] && m->ttl[i] < low) {
				low = m->ttl[i];
			}
		}
		for (unsigned i = o; i < o + 4; i++) {
			m->ttl[i] = m->present[i] ? low : 0;
		}
	}
}

/* Fold one step (its SOAs around it) unless folding already failed. */
static void fold_step(const struct step *st, uint32_t serial, zone_fold_t *f, bool *fold_ok)
{
	uint8_t srd[22], rd[4];
	const uint8_t *owner;
	soa(serial, srd);
	*fold_ok = *fold_ok && zone_fold_del(f, apex, KNOT_RRTYPE_SOA, 60, srd, 22) == 0;
	for (unsigned i = 0; i < st->ndel && *fold_ok; i++) {
		rec(st->del[i], &owner, rd);
		*fold_ok = zone_fold_del(f, owner, KNOT_RRTYPE_A, st->del_ttl[i], rd, 4) == 0;
	}
	soa(serial + 1, srd);
	*fold_ok = *fold_ok && zone_fold_add(f, apex, KNOT_RRTYPE_SOA, 60, srd, 22) == 0;
	for (unsigned i = 0; i < st->nadd && *fold_ok; i++) {
		rec(st->add[i], &owner, rd);
		*fold_ok = zone_fold_add(f, owner, KNOT_RRTYPE_A, st->add_ttl[i], rd, 4) == 0;
	}
}

/* The records of the folded delta's side (A records only) as indexes. */
static unsigned side(const zone_t *z, unsigned *idx, uint32_t *ttl)
{
	unsigned n = 0;
	for (size_t i = 0; i < z->count; i++) {
		const zone_rr_t *rr = &z->rr[i];
		if (rr->type != KNOT_RRTYPE_A) {
			continue;
		}
		uint8_t key[DNS_KEY_MAX];
		unsigned o = 0;
		for (; o < 3; o++) {
			size_t klen = dns_name_key(owners[o], key);
			if (klen == rr->keylen && memcmp(key, rr->key, klen) == 0) {
				break;
			}
		}
		if (o == 3 || rr->rd->len != 4 || n == NREC) {
			abort(); /* a record that was never folded in */
		}
		idx[n] = o * 4 + rr->rd->data[3];
		ttl[n++] = rr->ttl;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 4096) {
		return 0;
	}
	dns_name_from_str("example.", apex);
	dns_name_from_str("a.example.", owners[0]);
	dns_name_from_str("B.example.", owners[1]);
	dns_name_from_str("c.b.example.", owners[2]);

	model_t seq = { 0 };
	unsigned bits = (unsigned)data[0] << 8 | data[1];
	for (unsigned i = 0; i < NREC; i++) {
		seq.present[i] = bits & (1u << i);
		seq.ttl[i] = 60;
	}
	model_t once = seq;

	zone_fold_t f;
	zone_fold_init(&f, apex);
	uint32_t serial = 4294967290u; /* the steps wrap around 2^32 */
	bool seq_ok = true, fold_ok = true;
	struct step st = { 0 };
	uint32_t s = serial;
	unsigned nsteps = 0;
	for (size_t i = 2; i <= size; i++) {
		unsigned op = i < size ? data[i] >> 6 : 3;
		unsigned idx = i < size ? (data[i] & 63u) % NREC : 0;
		if (op == 3) {
			if (i < size || st.ndel + st.nadd > 0 || nsteps == 0) {
				seq_ok = seq_ok && model_apply(&seq, st.del, st.ndel, st.add,
				                               st.add_ttl, st.nadd);
				fold_step(&st, s, &f, &fold_ok);
				s++;
				nsteps++;
			}
			memset(&st, 0, sizeof(st));
		} else if (op == 0 && !in(st.del, st.ndel, idx)) {
			st.del_ttl[st.ndel] = (data[i] & 32) ? 120 : 60;
			st.del[st.ndel++] = idx;
		} else if (op != 0 && !in(st.add, st.nadd, idx)) {
			st.add_ttl[st.nadd] = op == 1 ? 60 : 120;
			st.add[st.nadd++] = idx;
		}
	}

	zone_delta_t d;
	if (!fold_ok || zone_fold_finish(&f, serial, s, &d) != 0) {
		if (seq_ok) {
			abort(); /* the steps applied one by one, but would not fold */
		}
		zone_fold_free(&f);
		return 0;
	}
	uint32_t got;
	if (zone_serial(&d.del, &got) != 0 || got != serial || zone_serial(&d.add, &got) != 0 ||
	    got != s) {
		abort(); /* the SOAs in between must cancel */
	}
	unsigned del[NREC], add[NREC];
	uint32_t del_ttl[NREC], add_ttl[NREC];
	unsigned ndel = side(&d.del, del, del_ttl), nadd = side(&d.add, add, add_ttl);
	bool once_ok = model_apply(&once, del, ndel, add, add_ttl, nadd);
	model_collapse(&seq);
	model_collapse(&once);
	if (seq_ok && (!once_ok || memcmp(&seq, &once, sizeof(seq)) != 0)) {
		abort(); /* the steps applied, the folded delta did not agree */
	}

	zone_free(&d.del);
	zone_free(&d.add);
	return 0;
}
