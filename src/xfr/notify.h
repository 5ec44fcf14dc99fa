/*
 * The NOTIFY listener (RFC 1996) on UDP and TCP, on the event loop.
 *
 * A NOTIFY is answered at once; the zone it names is handed to a callback
 * (the scheduler), which never makes the notifier wait for the transfer.
 * Only the zone's primary addresses and notify-from prefixes may notify;
 * when the primary has a key the NOTIFY must be signed by it (RFC 8945) and
 * the answer is signed.  Each source has a token bucket: over it, NOTIFYs
 * are answered REFUSED with no further work, so a flood stays cheap.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "conf/conf.h"

typedef struct notify notify_t;

/* Called for every accepted NOTIFY, on the loop thread. */
typedef void (*notify_cb)(void *ctx, const conf_zone_t *zone, const struct sockaddr *from);

/* Counters, for logs and metrics. */
typedef struct {
	uint64_t received, accepted;
	uint64_t formerr, notimp, notauth, refused, ratelimited, dropped;
} notify_stats_t;

notify_t *notify_new(const conf_t *conf, notify_cb cb, void *ctx);
void notify_free(notify_t *n);

/* Take zones, ACLs and limits from conf from now on (a reload); the
 * sockets stay as they are.  On the loop thread. */
void notify_set_conf(notify_t *n, const conf_t *conf);

/*
 * Handle one message from a source: writes the answer (if any) into out,
 * which holds outmax bytes; returns its length, or 0 when the message gets no
 * answer (a response, or shorter than a header).  now_ms drives the rate
 * limiter.  Used by the sockets below and by tests and fuzzers directly.
 */
size_t notify_process(notify_t *n, const uint8_t *msg, size_t len, const struct sockaddr *from,
                      uint64_t now_ms, uint8_t *out, size_t outmax);

/* Bind UDP and TCP on every server.listen address.  0 or <0 with err. */
int notify_listen(notify_t *n, uv_loop_t *loop, char *err, size_t errlen);

/* Close the sockets (the loop finishes closing them). */
void notify_close(notify_t *n);

const notify_stats_t *notify_stats(const notify_t *n);
