/*
 * The rfc2136 target: any DNS server that takes dynamic updates (RFC 2136),
 * signed with the target's TSIG key.  The live records are read by AXFR from
 * the same server with the same key; changes go as UPDATE messages over one
 * TCP connection, each filled up to 64 KiB (see updmsg.h for what a change
 * becomes), each atomic on the server, each answer's RCODE and TSIG checked.
 * Server failures and network errors are retried with backoff; a refusal
 * (REFUSED, NOTAUTH, NOTZONE, a TSIG error) ends the push with an error
 * naming the server and the RRsets of the message.  With soa-serial: mirror
 * a push ends with the server serving the primary's serial: when the server
 * is (or the push leaves it) at or above it, SOA-only UPDATEs step its
 * serial forward round the ring to it (upd_serial_steps).
 */
#pragma once

#include "target/target.h"

extern const target_type_t rfc2136_type;

/* Types the view of an rfc2136 target leaves out: those a server that
 * signs the zone makes itself. */
bool rfc2136_type_ok(uint16_t type);
