/* The control socket's transport: one bounded request line in, one reply out. */
#include "sched/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "obs/log.h"

struct control {
	uv_pipe_t srv;
	int dfd; /* the state directory (O_PATH), where the socket is */
	control_request_cb cb;
	void *ctx;
	control_conn_t *conns; /* open connections */
	unsigned nconns;
	bool closed;
};

struct control_conn {
	control_t *ctl;
	control_conn_t *next, **prev;
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_write_t wr;
	unsigned handles; /* not yet closed */
	bool asked;       /* the request is the handler's: it replies */
	bool closing;
	struct ucred peer;
	char *reply;
	size_t len;
	char buf[CONTROL_MAX_REQUEST + 1];
};

void control_path(const char *dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" CONTROL_SOCKET, dir);
}

/* DIR/control as a socket address.  A path longer than sun_path is
 * reached through the directory opened as dfd (/proc/self/fd/N/control);
 * dfd < 0: open it here into *own (closed by the caller). */
static int address(const char *dir, int dfd, struct sockaddr_un *sa, int *own)
{
	*own = -1;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/" CONTROL_SOCKET, dir);
	if (n >= 0 && (size_t)n < sizeof(sa->sun_path)) {
		return 0;
	}
	if (dfd < 0 && (dfd = *own = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		return -errno;
	}
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/" CONTROL_SOCKET, dfd);
	return 0;
}

static void on_conn_closed(uv_handle_t *h)
{
	control_conn_t *c = h->data;
	if (--c->handles > 0) {
		return;
	}
	*c->prev = c->next;
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	c->ctl->nconns--;
	free(c->reply);
	free(c);
}

static void conn_close(control_conn_t *c)
{
	if (c->closing) {
		return;
	}
	c->closing = true;
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_written(uv_write_t *w, int status)
{
	control_conn_t *c = w->data;
	if (status != 0) {
		log_info("control: the client left before its answer: pid=%ld error=%s",
		         (long)c->peer.pid, LOGV(uv_strerror(status)));
	}
	conn_close(c);
}

void control_reply(control_conn_t *c, char *data, size_t len)
{
	c->reply = data;
	uv_buf_t b = uv_buf_init(data, (unsigned)len);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
		conn_close(c);
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	control_conn_t *c = h->data;
	(void)hint;
	*b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	control_conn_t *c = s->data;
	(void)b;
	if (n < 0) {
		conn_close(c); /* gone, or closed before a whole line */
		return;
	}
	char *nl = memchr(c->buf + c->len, '\n', (size_t)n);
	c->len += (size_t)n;
	if (nl == NULL) {
		if (c->len >= sizeof(c->buf) - 1) {
			log_notice("control: request over %d bytes dropped: pid=%ld",
			           CONTROL_MAX_REQUEST, (long)c->peer.pid);
			conn_close(c);
		}
		return;
	}
	*nl = '\0';
	uv_read_stop(s);
	uv_timer_stop(&c->timer);
	c->asked = true;
	c->ctl->cb(c->ctl->ctx, c, c->buf, &c->peer);
}

static void on_timeout(uv_timer_t *t)
{
	control_conn_t *c = t->data;
	log_notice("control: no request within %d ms: pid=%ld", CONTROL_READ_TIMEOUT,
	           (long)c->peer.pid);
	conn_close(c);
}

static void on_connection(uv_stream_t *srv, int status)
{
	control_t *ctl = srv->data;
	if (status != 0) {
		return;
	}
	control_conn_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return;
	}
	c->ctl = ctl;
	c->next = ctl->conns;
	c->prev = &ctl->conns;
	if (c->next != NULL) {
		c->next->prev = &c->next;
	}
	ctl->conns = c;
	ctl->nconns++;
	uv_pipe_init(srv->loop, &c->pipe, 0);
	uv_timer_init(srv->loop, &c->timer);
	c->pipe.data = c->timer.data = c;
	c->handles = 2;
	if (uv_accept(srv, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	uv_os_fd_t fd;
	socklen_t sl = sizeof(c->peer);
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &sl) != 0) {
		c->peer = (struct ucred){ .pid = 0 };
	}
	if (ctl->nconns > CONTROL_MAX_CONNS) {
		log_notice("control: connection refused: %d already open: pid=%ld uid=%ld",
		           CONTROL_MAX_CONNS, (long)c->peer.pid, (long)c->peer.uid);
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_timeout, CONTROL_READ_TIMEOUT, 0);
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

static void on_failed(uv_handle_t *h)
{
	control_free(h->data);
}

int control_listen(uv_loop_t *loop, const char *dir, control_request_cb cb, void *ctx,
                   control_t **out, char *err, size_t errlen)
{
	char path[4096];
	control_path(dir, path, sizeof(path));
	control_t *ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ctl->cb = cb;
	ctl->ctx = ctx;
	struct sockaddr_un sa;
	struct stat st;
	int fd = -1, own, ret = 0;
	if ((ctl->dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    address(dir, ctl->dfd, &sa, &own) != 0) {
		ret = -errno;
		goto fail;
	}
	/* The daemon lock is ours: a socket left here is a dead daemon's.
	 * Anything else under that name is not ours to remove. */
	if (fstatat(ctl->dfd, CONTROL_SOCKET, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			ret = -EEXIST;
			goto out;
		}
		if (unlinkat(ctl->dfd, CONTROL_SOCKET, 0) != 0) {
			ret = -errno;
			goto fail;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		ret = -errno;
		goto fail;
	}
	/* Made 0660 by bind itself: no moment at which others may connect. */
	mode_t old = umask(0117);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ? -errno : 0;
	umask(old);
	if (ret != 0 || listen(fd, CONTROL_MAX_CONNS) != 0) {
		ret = ret != 0 ? ret : -errno;
		goto fail;
	}
	uv_pipe_init(loop, &ctl->srv, 0);
	ctl->srv.data = ctl;
	if ((ret = uv_pipe_open(&ctl->srv, fd)) != 0 ||
	    (ret = uv_listen((uv_stream_t *)&ctl->srv, CONTROL_MAX_CONNS, on_connection)) != 0) {
		snprintf(err, errlen, "%s: %s", path, uv_strerror(ret));
		unlinkat(ctl->dfd, CONTROL_SOCKET, 0);
		uv_close((uv_handle_t *)&ctl->srv, on_failed);
		*out = NULL;
		return ret;
	}
	*out = ctl;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(-ret));
out:
	if (fd >= 0) {
		close(fd);
	}
	if (ctl->dfd >= 0) {
		close(ctl->dfd);
	}
	free(ctl);
	*out = NULL;
	return ret;
}

void control_close(control_t *ctl)
{
	if (ctl == NULL || ctl->closed) {
		return;
	}
	ctl->closed = true;
	uv_close((uv_handle_t *)&ctl->srv, NULL);
	unlinkat(ctl->dfd, CONTROL_SOCKET, 0);
	/* Those that asked get their answer; the others go now. */
	for (control_conn_t *c = ctl->conns; c != NULL; c = c->next) {
		if (!c->asked) {
			conn_close(c);
		}
	}
}

void control_free(control_t *ctl)
{
	if (ctl != NULL) {
		close(ctl->dfd);
		free(ctl);
	}
}

int control_connect(const char *dir, int *fd)
{
	struct sockaddr_un sa;
	int own, ret = address(dir, -1, &sa, &own);
	if (ret != 0) {
		return ret;
	}
	if ((*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		ret = -errno;
	} else if (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		ret = -errno;
		close(*fd);
		*fd = -1;
	}
	if (own >= 0) {
		close(own);
	}
	return ret;
}
