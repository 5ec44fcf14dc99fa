/*
 * notify-flood: send NOTIFYs to a server and count the answers.
 *
 *   notify-flood ADDR PORT ZONE COUNT [-k NAME:BASE64] [-w WINDOW]
 *
 * With -w, at most WINDOW queries are outstanding at a time (closed loop:
 * measures how many answers per second the server gives).  Without it every
 * query is sent at once (a burst: measures how many are answered at all).
 * Prints one line: sent, answered, NOERROR, REFUSED, other, seconds, rate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <libknot/libknot.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *keyspec = NULL;
	long window = 0;
	int o;
	while ((o = getopt(argc, argv, "k:w:")) != -1) {
		if (o == 'k') {
			keyspec = optarg;
		} else if (o == 'w') {
			window = atol(optarg);
		} else {
			return 2;
		}
	}
	if (argc - optind != 4) {
		fprintf(stderr,
		        "usage: notify-flood ADDR PORT ZONE COUNT [-k NAME:SECRET] [-w N]\n");
		return 2;
	}
	const char *addr = argv[optind], *zone = argv[optind + 2];
	int port = atoi(argv[optind + 1]);
	long count = atol(argv[optind + 3]);

	knot_tsig_key_t key;
	if (keyspec != NULL) {
		char spec[512];
		snprintf(spec, sizeof(spec), "hmac-sha256:%s", keyspec);
		if (knot_tsig_key_init_str(&key, spec) != KNOT_EOK) {
			fprintf(stderr, "bad key\n");
			return 2;
		}
	}
	knot_dname_t *z = knot_dname_from_str_alloc(zone);
	/* Build every message first: the timed part only sends. */
	uint8_t *msgs = malloc((size_t)count * 512);
	uint16_t *lens = malloc((size_t)count * sizeof(*lens));
	for (long i = 0; i < count; i++) {
		uint8_t *m = msgs + i * 512;
		knot_pkt_t *pkt = knot_pkt_new(m, 512, NULL);
		knot_pkt_clear(pkt);
		if (keyspec) {
			knot_pkt_reserve(pkt, (uint16_t)knot_tsig_wire_size(&key));
		}
		knot_wire_set_id(m, (uint16_t)i);
		knot_wire_set_opcode(m, KNOT_OPCODE_NOTIFY);
		knot_wire_set_aa(m);
		knot_pkt_put_question(pkt, z, KNOT_CLASS_IN, KNOT_RRTYPE_SOA);
		size_t len = pkt->size;
		knot_pkt_free(pkt);
		if (keyspec) {
			uint8_t mac[64];
			size_t maclen = sizeof(mac);
			knot_tsig_sign(m, &len, 512, NULL, 0, mac, &maclen, &key, 0, 0);
		}
		lens[i] = (uint16_t)len;
	}

	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, addr, &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int size = 64 * 1024 * 1024;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("connect");
		return 1;
	}

	long sent = 0, answered = 0, noerror = 0, refused = 0, other = 0;
	double t0 = now(), last = t0;
	uint8_t buf[4096];
	while (sent < count || answered < sent) {
		/* Send in batches of up to 64 with one sendmmsg each. */
		while (sent < count && (window == 0 || sent - answered < window)) {
			struct mmsghdr mm[64];
			struct iovec iov[64];
			long room = window ? window - (sent - answered) : 64;
			long n = count - sent < 64 ? count - sent : 64;
			n = n < room ? n : room;
			memset(mm, 0, sizeof(mm));
			for (long i = 0; i < n; i++) {
				iov[i].iov_base = msgs + (sent + i) * 512;
				iov[i].iov_len = lens[sent + i];
				mm[i].msg_hdr.msg_iov = &iov[i];
				mm[i].msg_hdr.msg_iovlen = 1;
			}
			int r = sendmmsg(fd, mm, (unsigned)n, 0);
			if (r < 0) {
				if (errno == EAGAIN || errno == ENOBUFS) {
					break;
				}
				perror("sendmmsg");
				return 1;
			}
			sent += r;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int timeout = sent < count ? 0 : 1000;
		if (poll(&p, 1, timeout) == 0) {
			if (sent == count) {
				break; /* a second without answers: the rest are lost */
			}
			continue;
		}
		for (;;) {
			ssize_t r = recv(fd, buf, sizeof(buf), 0);
			if (r < 12) {
				break;
			}
			answered++;
			last = now();
			uint8_t rc = knot_wire_get_rcode(buf);
			noerror += rc == KNOT_RCODE_NOERROR;
			refused += rc == KNOT_RCODE_REFUSED;
			other += rc != KNOT_RCODE_NOERROR && rc != KNOT_RCODE_REFUSED;
		}
	}
	double secs = last - t0;
	printf("sent=%ld answered=%ld noerror=%ld refused=%ld other=%ld seconds=%.3f rate=%.0f\n",
	       sent, answered, noerror, refused, other, secs, secs > 0 ? answered / secs : 0);
	free(msgs);
	free(lens);
	knot_dname_free(z, NULL);
	return 0;
}
