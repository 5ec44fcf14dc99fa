/*
 * The client side of zone transfers: SOA query, IXFR (RFC 1995) and AXFR
 * (RFC 5936), TSIG-signed when the primary has a key (RFC 8945: every
 * response checked, up to 99 unsigned messages between signed ones).
 *
 * Calls block (with timeouts) and are meant for worker threads.  A result is
 * either complete and checked, or an error whose message names the primary
 * and the reason; nothing half-received ever reaches the caller.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libknot/dname.h>
#include <libknot/tsig.h>

#include "net/addr.h"
#include "zone/diff.h"

typedef struct {
	const net_addr_t *addr;
	const knot_tsig_key_t *key; /* NULL: no TSIG */
} xfr_peer_t;

typedef struct {
	uint64_t max_records;
	uint64_t max_bytes;
	uint32_t timeout_ms;    /* the whole transfer */
	uint32_t io_timeout_ms; /* one read or write */
} xfr_limits_t;

typedef enum {
	XFR_UPTODATE,    /* the primary has nothing newer */
	XFR_FULL,        /* a whole zone (AXFR, or IXFR answered in full) */
	XFR_INCREMENTAL, /* IXFR steps */
} xfr_kind_t;

typedef struct {
	xfr_kind_t kind;
	uint32_t serial;    /* the primary's serial */
	zone_t zone;        /* XFR_FULL: finished, apex set */
	zone_delta_t delta; /* XFR_INCREMENTAL: the steps folded, from our serial to serial */
	size_t nsteps;      /* XFR_INCREMENTAL: how many steps were folded */
	size_t delta_peak;  /* XFR_INCREMENTAL: most records the running delta held */
	size_t messages, records, bytes;
} xfr_result_t;

/* Printable "ADDR@PORT" of a peer. */
const char *net_addr_str(const net_addr_t *a, char *buf, size_t size);

/* Ask the peer for one RRset (RD clear; UDP, TCP when truncated; signed when
 * the peer has a key): the answer's records of exactly that name and type
 * are added to out (not finished), the RCODE goes to *rcode.  0 or <0. */
int xfr_query(const xfr_peer_t *peer, const knot_dname_t *name, uint16_t qtype,
              uint32_t timeout_ms, zone_t *out, uint8_t *rcode, char *err, size_t errlen);

/* SOA serial of the zone at the peer: UDP, TCP when truncated.  0 or <0. */
int xfr_soa_query(const xfr_peer_t *peer, const knot_dname_t *zone, uint32_t timeout_ms,
                  uint32_t *serial, char *err, size_t errlen);

/*
 * Transfer the zone: IXFR from *have when have is not NULL, else AXFR.
 * Returns 0 with res filled, -ENOTSUP when the primary refuses IXFR (try
 * AXFR), or another negative error.  Free res with xfr_result_free().
 */
int xfr_transfer(const xfr_peer_t *peer, const knot_dname_t *zone, const uint32_t *have,
                 const xfr_limits_t *lim, xfr_result_t *res, char *err, size_t errlen);

void xfr_result_free(xfr_result_t *res);

/*
 * Parse a recorded response stream (each message preceded by its 2-byte
 * length, as over TCP) as the answer to an IXFR from *have (or an AXFR), with
 * the first message's ID as the query's and no TSIG.  For tests and fuzzing:
 * the same checks as xfr_transfer().
 */
int xfr_parse_stream(const knot_dname_t *zone, const uint32_t *have, const uint8_t *data,
                     size_t len, const xfr_limits_t *lim, xfr_result_t *res, char *err,
                     size_t errlen);
