/*
 * The daemon's control socket, STATE/control: an AF_UNIX stream socket of
 * mode 0660, so the daemon's user and group may connect and no one else
 * (the access rule: whoever can connect may ask).  One request per
 * connection: a line of at most CONTROL_MAX_REQUEST bytes in, one reply
 * out, then the daemon closes.  At most CONTROL_MAX_CONNS connections at
 * once; a request not complete within CONTROL_READ_TIMEOUT ms is dropped.
 * This file is the transport; what a request means is the caller's
 * (cli/control.c).
 */
#pragma once

#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

#define CONTROL_SOCKET "control"
#define CONTROL_MAX_REQUEST 65536
#define CONTROL_MAX_CONNS 16
#define CONTROL_READ_TIMEOUT 10000

typedef struct control control_t;
typedef struct control_conn control_conn_t;

/* A request: line is NUL-terminated, without its newline; peer is who
 * connected.  Answer with control_reply(), now or later, exactly once. */
typedef void (*control_request_cb)(void *ctx, control_conn_t *c, const char *line,
                                   const struct ucred *peer);

/* Listen on DIR/control, replacing a stale socket: call it holding DIR's
 * daemon lock.  0 with *out set, or <0 with err set. */
int control_listen(uv_loop_t *loop, const char *dir, control_request_cb cb, void *ctx,
                   control_t **out, char *err, size_t errlen);

/* Send data (taken: freed when written) and close the connection.  A
 * client gone meanwhile is no error. */
void control_reply(control_conn_t *c, char *data, size_t len);

/* Stop listening and remove the socket (before the lock is let go);
 * connections in flight end when answered.  free: after the loop ended. */
void control_close(control_t *ctl);
void control_free(control_t *ctl);

/* The client: connect to DIR/control.  0 with *fd set (blocking), or
 * -errno. */
int control_connect(const char *dir, int *fd);

/* DIR/control, as people should read it. */
void control_path(const char *dir, char *buf, size_t len);
