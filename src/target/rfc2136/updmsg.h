/*
 * DNS UPDATE messages (RFC 2136) for the rfc2136 target, without sockets:
 * an RRset diff turned into update operations cut into messages that fit
 * 64 KiB with their TSIG, each message written to wire, and the server's
 * answer read and checked (ID, opcode, zone, TSIG).  Pure functions, so that
 * the batching is unit-tested and the answer reader fuzzed.
 *
 * What one RRset's change becomes (one RRset's change is never split
 * between messages, and all changes at one name go in one message when they
 * fit, deletions first, so that a CNAME replacing an A never meets it; the
 * names whose addresses change come before the others, so that an MX never
 * arrives before its target's address, which BIND refuses):
 *   REPLACE  delete the RRset (class ANY), then add the new records;
 *   DELETE   delete the RRset (class ANY);
 *   ADD      add the records; when the live records were not just read
 *            (incremental push), the RRset is deleted first, so that
 *            whatever the server holds there the result is exact;
 *   apex NS  (apex-ns: sync) add the new records, then delete the old ones
 *            not among them one by one (class NONE): never the whole set,
 *            which RFC 2136 3.4.2.4 servers ignore; never deleted outright;
 *   apex SOA (soa-serial: mirror) add the new SOA, which replaces the old
 *            (3.4.2.2) when its serial is greater; it goes last, so that the
 *            server ends at the primary's serial; never added or deleted.
 *            When the serial is not greater (or the messages before it raise
 *            the server's past it), SOA-only messages step the server's
 *            serial forward round the ring to the primary's afterwards (see
 *            upd_serial_steps).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libknot/dname.h>
#include <libknot/tsig.h>

#include "zone/diff.h"

#define UPD_MSG_MAX 65535 /* a DNS message over TCP */

typedef enum {
	UPD_REPLACE, /* delete the RRset, add the new records */
	UPD_DELETE,  /* delete the RRset */
	UPD_ADD,     /* add the new records */
	UPD_NS,      /* apex NS: add the new records, delete the old others */
	UPD_SOA,     /* apex SOA: add the new one (replaces the old) */
} upd_action_t;

typedef struct {
	upd_action_t action;
	const zone_change_t *change; /* in the diff */
	size_t wire;                 /* bytes of its RRs in the message */
	size_t rrs;                  /* its RRs in the update section */
} upd_op_t;

typedef struct {
	size_t msg_max;     /* a whole message with its TSIG (UPD_MSG_MAX) */
	size_t tsig;        /* bytes kept for the TSIG record (0: unsigned) */
	size_t max_changes; /* RRset changes per message; 0: as many as fit */
} upd_limits_t;

typedef struct {
	upd_op_t *op;
	size_t count;
	size_t *batch_end; /* message i = ops [end[i-1], end[i]) */
	size_t nbatches;
	size_t fixed;      /* bytes of a message before its updates */
	size_t dropped;    /* apex changes never sent (SOA added or deleted,
	                      apex NS deleted) */
	bool soa_behind;   /* the SOA change was dropped: its serial is not
	                      greater than the server's (3.4.2.2 ignores it);
	                      the caller steps the serial after the push */
	bool has_soa;      /* there is an SOA change (soa_have -> soa_want) */
	uint32_t soa_have, soa_want;
} upd_plan_t;

/*
 * Turn the changes of d (two views of the zone at apex) into operations and
 * messages.  live_known: d's old side was just read from the server.
 * 0, -E2BIG with err naming an RRset (or the changes at one name that
 * cannot be split) too large for one message, -ENOMEM.
 */
int upd_plan(const zone_diff_t *d, bool live_known, const knot_dname_t *apex,
             const upd_limits_t *lim, upd_plan_t *out, char *err, size_t errlen);
void upd_plan_free(upd_plan_t *p);

/* The owner and type of an operation's RRset, "www.example.com. A". */
const char *upd_op_str(const upd_op_t *op, char *buf, size_t size);

/*
 * Write message b of the plan (no TSIG: sign it after) into buf, with this
 * ID.  Owner names are compressed against the zone section; rdata is
 * written as it is (canonical, uncompressed).  Returns the length, which is
 * what the plan counted, or -ENOSPC / -EINVAL.
 */
int upd_write(const upd_plan_t *p, size_t b, const knot_dname_t *apex, uint16_t id,
              uint8_t *buf, size_t size);

/*
 * soa-serial: mirror, to bring a server's serial from have to want.  A
 * server takes an SOA only when its serial is greater (RFC 2136 3.4.2.2),
 * and greater means RFC 1982's: an increase by 1 to 2^31 - 1, round the
 * 2^32 ring.  So a server ahead of the primary is stepped forward round the
 * ring until it comes to the primary's serial.  Writes the serials to set,
 * one SOA-only UPDATE each, in order, the last being want, as few as can
 * be: none when equal, one when want is greater, two when want is 2^31 or
 * more (round the ring) ahead, three when it is exactly one behind (2^32 - 1
 * is more than two increases of 2^31 - 1).  Returns the count.
 */
#define UPD_SERIAL_STEP_MAX 0x7fffffffu /* 2^31 - 1, RFC 1982's largest increase */
#define UPD_SERIAL_STEPS 3              /* at most: (2^32 - 1) / (2^31 - 1), up */
size_t upd_serial_steps(uint32_t have, uint32_t want, uint32_t out[UPD_SERIAL_STEPS]);

/*
 * Write an UPDATE for the zone apex that adds the SOA soa (rdata with the
 * serial to set) with this TTL, and nothing else: the server replaces its
 * SOA with it when the serial is greater.  No TSIG: sign it after.  Returns
 * the length, or -ENOSPC / -EINVAL.
 */
int upd_write_soa(const knot_dname_t *apex, uint16_t id, uint32_t ttl, const knot_rdata_t *soa,
                  uint8_t *buf, size_t size);

/* The same with the fence (target_push_t): a prerequisite that the apex
 * SOA is exactly fence (RFC 2136 2.4.2, value dependent), NULL: none.  A
 * server holding another SOA answers NXRRSET and applies nothing. */
int upd_write_fenced(const upd_plan_t *p, size_t b, const knot_dname_t *apex, uint16_t id,
                     const knot_rdata_t *fence, uint8_t *buf, size_t size);
int upd_write_soa_fenced(const knot_dname_t *apex, uint16_t id, uint32_t ttl,
                         const knot_rdata_t *soa, const knot_rdata_t *fence, uint8_t *buf,
                         size_t size);

/* Room a fence takes in a message: one RR, its owner a pointer, an SOA's
 * rdata at most two names and five numbers. */
#define UPD_FENCE_MAX (2 + 10 + 2 * KNOT_DNAME_MAXLEN + 20)

/* What a server answered. */
typedef struct {
	uint8_t rcode;       /* of the header */
	uint16_t tsig_error; /* TSIG error field (BADSIG, BADKEY, BADTIME...), 0 */
	bool is_signed;      /* signed, and the signature checked with our key */
} upd_answer_t;

/*
 * Read the answer to an UPDATE (ID id, for the zone apex, signed with key
 * and request MAC mac when key is not NULL).  who names the server in
 * messages.  The message is parsed in a copy (buf is not changed).
 * 0 with out filled (look at out->rcode); -EPROTO for a malformed answer or
 * one that does not answer our message; -EPERM when the TSIG fails: the
 * server refused our key (out->tsig_error set), or its answer is unsigned
 * although it says NOERROR, or its signature is wrong.  err says which.
 */
int upd_parse_answer(const uint8_t *buf, size_t len, uint16_t id, const knot_dname_t *apex,
                     const knot_tsig_key_t *key, const uint8_t *mac, size_t maclen,
                     const char *who, upd_answer_t *out, char *err, size_t errlen);

/* The name of a header RCODE ("REFUSED", "RCODE15"). */
const char *upd_rcode_str(unsigned rcode, char *buf, size_t size);
