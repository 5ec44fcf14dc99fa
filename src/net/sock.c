#include "net/sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t sock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint16_t sock_random_id(void)
{
	uint16_t id = 0;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id)) {
		id = (uint16_t)(sock_now_ms() * 2654435761u);
	}
	return id;
}

static const atomic_bool *stop_flag;

void sock_stop_on(const atomic_bool *stop)
{
	stop_flag = stop;
}

bool sock_stopping(void)
{
	return stop_flag != NULL && atomic_load(stop_flag);
}

/* How long one poll() may sleep before the stop flag is looked at again. */
#define STOP_CHECK_MS 200

int sock_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		if (sock_stopping()) {
			return -ECANCELED;
		}
		int64_t left = deadline - sock_now_ms();
		if (left <= 0) {
			return -ETIMEDOUT;
		}
		if (left > STOP_CHECK_MS) {
			left = STOP_CHECK_MS;
		}
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)left);
		if (r > 0) {
			return 0;
		}
		if (r < 0 && errno != EINTR) {
			return -errno;
		}
	}
}

int sock_open(const net_addr_t *a, int type, int64_t deadline)
{
	int fd = socket(a->ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return -errno;
	}
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
		if (errno != EINPROGRESS) {
			int e = -errno;
			close(fd);
			return e;
		}
		int r = sock_wait(fd, POLLOUT, deadline);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
		    soerr != 0) {
			r = -soerr;
		}
		if (r != 0) {
			close(fd);
			return r;
		}
	}
	if (type == SOCK_STREAM) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
}

/* A peer that keeps the socket busy never makes us wait: look at the stop
 * flag and the deadline on every call, not only when a read would block. */
static int sock_check(int64_t deadline)
{
	if (sock_stopping()) {
		return -ECANCELED;
	}
	return sock_now_ms() >= deadline ? -ETIMEDOUT : 0;
}

int sock_send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
	int r = sock_check(deadline);
	if (r != 0) {
		return r;
	}
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return -errno;
		}
		r = sock_wait(fd, POLLOUT, deadline);
		if (r != 0) {
			return r;
		}
	}
	return 0;
}

int sock_recv_all(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
	int r = sock_check(deadline);
	if (r != 0) {
		return r;
	}
	while (len > 0) {
		ssize_t n = recv(fd, buf, len, 0);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0) {
			return -ECONNRESET; /* closed in the middle of a message */
		}
		if (errno != EAGAIN && errno != EINTR) {
			return -errno;
		}
		r = sock_wait(fd, POLLIN, deadline);
		if (r != 0) {
			return r;
		}
	}
	return 0;
}

bool sock_idle_broken(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 0) == 0) {
		return false;
	}
	uint8_t b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
}
