/*
 * The NOTIFY listener (RFC 1996) on UDP and TCP, on the event loop.
 *
 * A NOTIFY is answered at once; the zone it names is handed to a callback
 * (the scheduler), which never makes the notifier wait for the transfer.
 * Only the zone's primary addresses and notify-from prefixes may notify;
 * when the primary has a key the NOTIFY must be signed by it (RFC 8945) and
 * the answer is signed.
 *
 * Every packet may be spoofed, so each source address has three token
 * buckets, charged once the NOTIFY has been judged: signed NOTIFYs accepted,
 * unsigned ones accepted (a primary without a key), and refusals.  A primary's
 * own address may spend a burst as long as its zone list at once (see
 * notify_zone_t.burst): each accepted NOTIFY costs one SOA check at most,
 * as checks of a zone coalesce, so the burst costs what a restart does.  Nobody
 * without the key can spend the first, so a flood of unsigned or badly
 * signed NOTIFYs in a primary's name never refuses its signed ones.  Over
 * the first two, NOTIFYs are answered REFUSED; over the third, refusals get
 * no answer at all.  An unknown zone and a zone the source may not notify
 * get the same REFUSED, so the answers do not tell which zones are served.
 *
 * TCP takes connections only from addresses in some zone's ACL (asked at
 * accept), at most tcp_max_per_source from one address, and from addresses
 * only within notify-from prefixes at most half the pool, so the primaries'
 * own addresses always find a slot.  A connection is closed when idle
 * between messages, and at a fixed time after accept whatever it does; a
 * peer that does not read its answers is not read from until it does.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include <libknot/dname.h>
#include <libknot/tsig.h>

#include "net/addr.h"

typedef struct notify notify_t;

/* What the listener needs to know of the zone a NOTIFY names. */
typedef struct {
	const void *handle;         /* the caller's, handed back on acceptance */
	const char *domain;         /* for logs and metrics */
	const knot_tsig_key_t *key; /* the primary's key: the NOTIFY must be signed
	                             * with it (and the answer is); NULL: none */
	bool source_ok;             /* from one of the primary's addresses or
	                             * notify-from prefixes */
	/* From one of the primary's own addresses: the zones it serves.  Its
	 * accepted budgets hold that many NOTIFYs (still refilled at the rate
	 * limit), so that a primary reloading every zone is not refused half
	 * of them; 0 for any other source (notify-from prefixes). */
	uint32_t burst;
} notify_zone_t;

/* The caller's side, both on the loop thread. */
/* How far a source address is known, before any message (TCP accept). */
typedef enum {
	NOTIFY_SOURCE_NONE,    /* in no zone's ACL: closed at once */
	NOTIFY_SOURCE_PREFIX,  /* only within notify-from prefixes */
	NOTIFY_SOURCE_PRIMARY, /* one of a primary's addresses */
} notify_source_t;

typedef struct {
	/* Is qname one of our zones?  Then fill out (from: the source). */
	bool (*lookup)(void *ctx, const knot_dname_t *qname, const struct sockaddr *from,
	               notify_zone_t *out);
	/* Every accepted NOTIFY. */
	void (*accepted)(void *ctx, const void *handle, const struct sockaddr *from);
	/* What is from to any zone (NULL: a primary's address, to all). */
	notify_source_t (*source)(void *ctx, const struct sockaddr *from);
	void *ctx;
} notify_cb_t;

typedef struct {
	uint32_t rate_limit;          /* per second per source and budget; 0: no limit */
	uint32_t tcp_max_clients;     /* connections at once */
	uint32_t tcp_max_per_source;  /* connections from one address */
	uint32_t tcp_idle_timeout;    /* seconds without a whole message */
	uint32_t tcp_session_timeout; /* seconds after accept, whatever comes */
} notify_limits_t;

/* Counters, for logs and metrics.  dropped: no answer (a response, a
 * runt, a refusal over its budget).  tcp_refused: connections closed at
 * accept (source, pool, per-source limit); tcp_timeout: closed by a timer;
 * tcp_paused: reading stopped because answers were not read. */
typedef struct {
	uint64_t received, accepted;
	uint64_t formerr, notimp, notauth, refused, ratelimited, dropped;
	uint64_t tcp_refused, tcp_timeout, tcp_paused;
} notify_stats_t;

notify_t *notify_new(const notify_limits_t *lim, const notify_cb_t *cb);
void notify_free(notify_t *n);

/* New limits (a reload); the sockets stay as they are.  Zones and ACLs
 * come from the lookup callback at each NOTIFY.  On the loop thread. */
void notify_set_limits(notify_t *n, const notify_limits_t *lim);

/*
 * Handle one message from a source: writes the answer (if any) into out,
 * which holds outmax bytes; returns its length, or 0 when the message gets no
 * answer (a response, or shorter than a header).  now_ms drives the rate
 * limiter.  Used by the sockets below and by tests and fuzzers directly.
 */
size_t notify_process(notify_t *n, const uint8_t *msg, size_t len, const struct sockaddr *from,
                      uint64_t now_ms, uint8_t *out, size_t outmax);

/* Bind UDP and TCP on every address.  0 or <0 with err. */
int notify_listen(notify_t *n, uv_loop_t *loop, const net_addr_t *listen, size_t nlisten,
                  char *err, size_t errlen);

/* Close the sockets (the loop finishes closing them). */
void notify_close(notify_t *n);

const notify_stats_t *notify_stats(const notify_t *n);
