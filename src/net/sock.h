/*
 * Blocking-with-deadline socket helpers for the worker threads' DNS
 * exchanges (transfers, queries, UPDATE): non-blocking sockets waited on
 * with poll() until an absolute deadline on the monotonic clock.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"

/* Milliseconds on the monotonic clock. */
int64_t sock_now_ms(void);

/* A random DNS message ID. */
uint16_t sock_random_id(void);

/* Wait for events on fd until the deadline: 0, -ETIMEDOUT, or -ECANCELED
 * once the stop flag is set. */
int sock_wait(int fd, short events, int64_t deadline);

/* The process's stop flag (the daemon stopping): every wait here looks at
 * it at least every 200 ms, so a transfer or an UPDATE in a worker thread
 * ends within that of SIGTERM.  NULL: none. */
void sock_stop_on(const atomic_bool *stop);

/* Whether the stop flag is set (HTTP requests look at it too). */
bool sock_stopping(void);

/* A connected non-blocking socket (SOCK_DGRAM or SOCK_STREAM, TCP_NODELAY
 * for streams) to a, or a negative error. */
int sock_open(const net_addr_t *a, int type, int64_t deadline);

/* Send or receive exactly len bytes before the deadline: 0 or <0. */
int sock_send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline);
int sock_recv_all(int fd, uint8_t *buf, size_t len, int64_t deadline);

/* Has the peer closed (or reset) this idle stream, or sent something not
 * asked for?  Looked at without waiting, before a message goes on it: a
 * message sent on a closed stream is lost, and whether it was read is not
 * known. */
bool sock_idle_broken(int fd);
