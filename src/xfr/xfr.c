#include "xfr/xfr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <libknot/codes.h>
#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/error.h>
#include <libknot/packet/pkt.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/soa.h>
#include <libknot/rrtype/tsig.h>
#include <libknot/tsig-op.h>

#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/serial.h"
#include "net/sock.h"
#include "zone/fold.h"

#define MSG_MAX 65535
#define MAC_MAX 64
#define UNSIGNED_MAX 99 /* RFC 8945 5.3.1 */

static int errf(char *err, size_t errlen, int ret, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int errf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}



/* TSIG state of one exchange (request MAC, then each signed response). */
typedef struct {
	const knot_tsig_key_t *key;
	uint8_t mac[MAC_MAX];
	size_t maclen;
	uint64_t prev_time;
	unsigned signed_msgs;
	unsigned unsigned_count;
	uint8_t *ubuf; /* unsigned messages since the last signed one */
	size_t ulen, ucap;
} tsig_state_t;

/* Build a query (SOA, IXFR with our SOA in authority, or AXFR), signed
 * when there is a key.  Returns its size or a negative error. */
static int build_query(uint8_t *buf, const knot_dname_t *zone, uint16_t qtype, uint16_t id,
                       const uint32_t *have, tsig_state_t *ts)
{
	knot_pkt_t *pkt = knot_pkt_new(buf, MSG_MAX, NULL);
	if (pkt == NULL) {
		return -ENOMEM;
	}
	knot_pkt_clear(pkt); /* an empty message, not one to parse */
	int ret = KNOT_EOK;
	if (ts->key != NULL) {
		ret = knot_pkt_reserve(pkt, (uint16_t)knot_tsig_wire_size(ts->key));
	}
	knot_wire_set_id(pkt->wire, id);
	if (ret == KNOT_EOK) {
		ret = knot_pkt_put_question(pkt, zone, KNOT_CLASS_IN, qtype);
	}
	knot_rrset_t soa;
	uint8_t rd[2 + 2 + 20];
	if (ret == KNOT_EOK && have != NULL) {
		/* RFC 1995: the client's SOA; only its serial matters. */
		uint8_t data[22] = { 0 };
		knot_wire_write_u32(data + 2, *have);
		knot_rdata_init((knot_rdata_t *)rd, sizeof(data), data);
		knot_rrset_init(&soa, (knot_dname_t *)zone, KNOT_RRTYPE_SOA, KNOT_CLASS_IN, 0);
		soa.rrs.count = 1;
		soa.rrs.size = knot_rdata_size(sizeof(data));
		soa.rrs.rdata = (knot_rdata_t *)rd;
		ret = knot_pkt_begin(pkt, KNOT_AUTHORITY);
		if (ret == KNOT_EOK) {
			ret = knot_pkt_put(pkt, 0, &soa, 0);
		}
	}
	size_t size = pkt->size;
	knot_pkt_free(pkt);
	if (ret != KNOT_EOK) {
		return -EINVAL;
	}
	if (ts->key != NULL) {
		ts->maclen = sizeof(ts->mac);
		ret = knot_tsig_sign(buf, &size, MSG_MAX, NULL, 0, ts->mac, &ts->maclen, ts->key, 0,
		                     0);
		if (ret != KNOT_EOK) {
			return -EINVAL;
		}
	}
	return (int)size;
}

/* Check the TSIG of one parsed response. */
static int tsig_check(tsig_state_t *ts, knot_pkt_t *pkt, const char *who, char *err, size_t errlen)
{
	if (ts->key == NULL) {
		return 0;
	}
	if (pkt->tsig_rr == NULL) {
		if (ts->signed_msgs == 0) {
			return errf(err, errlen, -EPERM, "%s: response is not signed (TSIG %s)",
			            who, "required");
		}
		if (++ts->unsigned_count > UNSIGNED_MAX) {
			return errf(err, errlen, -EPERM,
			            "%s: more than %d unsigned messages in a row", who,
			            UNSIGNED_MAX);
		}
		if (ts->ulen + pkt->size > ts->ucap) {
			size_t cap = (ts->ulen + pkt->size) * 2;
			uint8_t *n = realloc(ts->ubuf, cap);
			if (n == NULL) {
				return errf(err, errlen, -ENOMEM, "out of memory");
			}
			ts->ubuf = n;
			ts->ucap = cap;
		}
		memcpy(ts->ubuf + ts->ulen, pkt->wire, pkt->size);
		ts->ulen += pkt->size;
		return 0;
	}
	/* A server that refuses our key says why in the TSIG error field
	 * (RFC 8945 5.2): say it in the operator's words. */
	uint16_t terr = knot_tsig_rdata_error(pkt->tsig_rr);
	if (terr != 0) {
		const char *why = terr == KNOT_RCODE_BADSIG   ? "BADSIG (the secret differs from the "
		                                                "server's)"
		                  : terr == KNOT_RCODE_BADKEY ? "BADKEY (the server does not know "
		                                                "this key name and algorithm)"
		                  : terr == KNOT_RCODE_BADTIME ? "BADTIME (the clocks differ by more "
		                                                 "than the fudge)"
		                                               : NULL;
		if (why != NULL) {
			return errf(err, errlen, -EPERM, "%s: the server refused our TSIG key: %s",
			            who, why);
		}
		return errf(err, errlen, -EPERM, "%s: the server refused our TSIG key: error %u",
		            who, terr);
	}
	int ret;
	if (ts->signed_msgs == 0) {
		ret = knot_tsig_client_check(pkt->tsig_rr, pkt->wire, pkt->size, ts->mac,
		                             ts->maclen, ts->key, 0);
	} else {
		/* The MAC covers the unsigned messages before this one. */
		const uint8_t *wire = pkt->wire;
		size_t size = pkt->size;
		if (ts->ulen > 0) {
			if (ts->ulen + size > ts->ucap) {
				uint8_t *n = realloc(ts->ubuf, ts->ulen + size);
				if (n == NULL) {
					return errf(err, errlen, -ENOMEM, "out of memory");
				}
				ts->ubuf = n;
				ts->ucap = ts->ulen + size;
			}
			memcpy(ts->ubuf + ts->ulen, wire, size);
			wire = ts->ubuf;
			size += ts->ulen;
		}
		ret = knot_tsig_client_check_next(pkt->tsig_rr, wire, size, ts->mac, ts->maclen,
		                                  ts->key, ts->prev_time);
	}
	if (ret != KNOT_EOK) {
		return errf(err, errlen, -EPERM, "%s: TSIG check failed: %s", who,
		            knot_strerror(ret));
	}
	size_t maclen = knot_tsig_rdata_mac_length(pkt->tsig_rr);
	if (maclen > sizeof(ts->mac)) {
		return errf(err, errlen, -EPERM, "%s: TSIG MAC too long", who);
	}
	memcpy(ts->mac, knot_tsig_rdata_mac(pkt->tsig_rr), maclen);
	ts->maclen = maclen;
	ts->prev_time = knot_tsig_rdata_time_signed(pkt->tsig_rr);
	ts->signed_msgs++;
	ts->unsigned_count = 0;
	ts->ulen = 0;
	return 0;
}

static const char *rcode_str(unsigned rcode, char *buf, size_t size)
{
	const knot_lookup_t *l = knot_lookup_by_id(knot_rcode_names, (int)rcode);
	if (l != NULL) {
		snprintf(buf, size, "%s", l->name);
	} else {
		snprintf(buf, size, "RCODE%u", rcode);
	}
	return buf;
}

/* Header and question checks common to every response. */
static int check_response(knot_pkt_t *pkt, uint16_t id, const knot_dname_t *zone, uint16_t qtype,
                          bool first, const char *who, char *err, size_t errlen)
{
	if (knot_wire_get_id(pkt->wire) != id || !knot_wire_get_qr(pkt->wire)) {
		return errf(err, errlen, -EPROTO, "%s: response with a wrong ID or not a response",
		            who);
	}
	if (knot_wire_get_opcode(pkt->wire) != KNOT_OPCODE_QUERY) {
		return errf(err, errlen, -EPROTO, "%s: response with a wrong opcode", who);
	}
	uint16_t qd = knot_wire_get_qdcount(pkt->wire);
	if (qd > 1 || (first && qd != 1)) {
		return errf(err, errlen, -EPROTO, "%s: response without our question", who);
	}
	if (qd == 1 && (!dns_name_equal(knot_pkt_qname(pkt), zone) ||
	                knot_pkt_qtype(pkt) != qtype || knot_pkt_qclass(pkt) != KNOT_CLASS_IN)) {
		return errf(err, errlen, -EPROTO, "%s: response for another question", who);
	}
	return 0;
}

static int parse_error(int ret, const char *who, char *err, size_t errlen)
{
	return errf(err, errlen, -EPROTO, "%s: malformed response: %s", who, knot_strerror(ret));
}

/* Send one query over UDP and read its answer; *truncated when TC. */
static int udp_exchange(const xfr_peer_t *peer, const uint8_t *q, size_t qlen, uint8_t *resp,
                        size_t *rlen, uint16_t id, int64_t deadline)
{
	int fd = sock_open(peer->addr, SOCK_DGRAM, deadline);
	if (fd < 0) {
		return fd;
	}
	int ret = send(fd, q, qlen, 0) == (ssize_t)qlen ? 0 : -errno;
	while (ret == 0) {
		ret = sock_wait(fd, POLLIN, deadline);
		if (ret != 0) {
			break;
		}
		ssize_t n = recv(fd, resp, MSG_MAX, 0);
		if (n < 0) {
			ret = (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
			continue;
		}
		/* A stray datagram with another ID: keep waiting. */
		if (n >= KNOT_WIRE_HEADER_SIZE && knot_wire_get_id(resp) == id) {
			*rlen = (size_t)n;
			break;
		}
	}
	close(fd);
	return ret;
}

static int tcp_send_query(int fd, const uint8_t *q, size_t qlen, int64_t deadline)
{
	uint8_t len[2];
	knot_wire_write_u16(len, (uint16_t)qlen);
	int ret = sock_send_all(fd, len, 2, deadline);
	return ret == 0 ? sock_send_all(fd, q, qlen, deadline) : ret;
}

static int tcp_recv_msg(int fd, uint8_t *buf, size_t *len, int64_t deadline)
{
	uint8_t l[2];
	int ret = sock_recv_all(fd, l, 2, deadline);
	if (ret != 0) {
		return ret;
	}
	*len = knot_wire_read_u16(l);
	if (*len < KNOT_WIRE_HEADER_SIZE) {
		return -EPROTO;
	}
	return sock_recv_all(fd, buf, *len, deadline);
}

static const char *io_error(int ret)
{
	if (ret == -ETIMEDOUT) {
		return "timed out";
	}
	if (ret == -EPROTO) {
		return "message too short";
	}
	return strerror(-ret);
}

int xfr_query(const xfr_peer_t *peer, const knot_dname_t *name, uint16_t qtype,
              uint32_t timeout_ms, zone_t *out, uint8_t *rcode, char *err, size_t errlen)
{
	const knot_dname_t *zone = name; /* the name asked (build/check helpers' word) */
	char tname[16];
	dns_type_str(qtype, tname, sizeof(tname));
	char who[80];
	net_addr_str(peer->addr, who, sizeof(who));
	uint8_t *q = malloc(MSG_MAX), *r = malloc(MSG_MAX);
	tsig_state_t ts = { .key = peer->key };
	int ret = 0;
	if (q == NULL || r == NULL) {
		ret = errf(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	int64_t deadline = sock_now_ms() + timeout_ms;
	bool tcp = false;
	for (int attempt = 0;; attempt++) {
		uint16_t id = sock_random_id();
		ts = (tsig_state_t){ .key = peer->key };
		int qlen = build_query(q, zone, qtype, id, NULL, &ts);
		if (qlen < 0) {
			ret = errf(err, errlen, qlen, "%s: cannot build the %s query", who, tname);
			goto out;
		}
		size_t rlen = 0;
		if (!tcp) {
			/* Three UDP tries within the timeout, then give up. */
			int64_t try_deadline = sock_now_ms() + (int64_t)timeout_ms / 3;
			ret = udp_exchange(peer, q, (size_t)qlen, r, &rlen, id,
			                   try_deadline < deadline ? try_deadline : deadline);
			if (ret == -ETIMEDOUT && attempt < 2 && sock_now_ms() < deadline) {
				continue;
			}
		} else {
			int fd = sock_open(peer->addr, SOCK_STREAM, deadline);
			ret = fd < 0 ? fd : tcp_send_query(fd, q, (size_t)qlen, deadline);
			if (ret == 0) {
				ret = tcp_recv_msg(fd, r, &rlen, deadline);
			}
			if (fd >= 0) {
				close(fd);
			}
		}
		if (ret != 0) {
			ret = errf(err, errlen, ret, "%s: %s query over %s: %s", who, tname,
			           tcp ? "TCP" : "UDP", io_error(ret));
			goto out;
		}
		knot_pkt_t *pkt = knot_pkt_new(r, (uint16_t)rlen, NULL);
		if (pkt == NULL) {
			ret = errf(err, errlen, -ENOMEM, "out of memory");
			goto out;
		}
		int pr = knot_pkt_parse(pkt, 0);
		if (pr != KNOT_EOK) {
			ret = parse_error(pr, who, err, errlen);
			knot_pkt_free(pkt);
			goto out;
		}
		ret = check_response(pkt, id, zone, qtype, true, who, err, errlen);
		/* REFUSED over UDP is asked once more over TCP: knotd answers
		 * a catalog zone (RFC 9432) over TCP only, and refuses it over
		 * UDP unsigned. */
		if (ret == 0 && !tcp && (knot_wire_get_tc(pkt->wire) ||
		                         knot_wire_get_rcode(pkt->wire) == KNOT_RCODE_REFUSED)) {
			knot_pkt_free(pkt);
			tcp = true;
			continue;
		}
		if (ret == 0) {
			ret = tsig_check(&ts, pkt, who, err, errlen);
		}
		if (ret == 0) {
			*rcode = (uint8_t)knot_wire_get_rcode(pkt->wire);
			const knot_pktsection_t *an = knot_pkt_section(pkt, KNOT_ANSWER);
			for (uint16_t i = 0; i < an->count && ret == 0; i++) {
				const knot_rrset_t *rr = knot_pkt_rr(an, i);
				if (rr->type != qtype || !dns_name_equal(rr->owner, zone)) {
					continue; /* a CNAME on the way, or another name */
				}
				knot_rdata_t *rd = rr->rrs.rdata;
				for (uint16_t k = 0; k < rr->rrs.count && ret == 0; k++) {
					ret = zone_add(out, rr->owner, rr->type, rr->ttl, rd->data, rd->len);
					rd = knot_rdataset_next(rd);
				}
			}
			if (ret != 0) {
				ret = errf(err, errlen, ret, "%s: %s answer: bad record data", who,
				           tname);
			}
		}
		knot_pkt_free(pkt);
		goto out;
	}
out:
	free(ts.ubuf);
	free(q);
	free(r);
	return ret;
}

int xfr_soa_query(const xfr_peer_t *peer, const knot_dname_t *zone, uint32_t timeout_ms,
                  uint32_t *serial, char *err, size_t errlen)
{
	char who[80];
	net_addr_str(peer->addr, who, sizeof(who));
	zone_t z;
	zone_init(&z);
	uint8_t rcode = 0;
	int ret = xfr_query(peer, zone, KNOT_RRTYPE_SOA, timeout_ms, &z, &rcode, err, errlen);
	if (ret == 0 && rcode != KNOT_RCODE_NOERROR) {
		char rc[32];
		ret = errf(err, errlen, -EPROTO, "%s: SOA query answered %s", who,
		           rcode_str(rcode, rc, sizeof(rc)));
	} else if (ret == 0 && (zone_finish(&z) != 0 || z.count != 1)) {
		ret = errf(err, errlen, -EPROTO, "%s: no SOA for the zone in the answer", who);
	} else if (ret == 0) {
		*serial = knot_soa_serial(z.rr[0].rd);
	}
	zone_free(&z);
	return ret;
}

/* --- transfers ----------------------------------------------------------- */

enum stream_state { ST_FIRST, ST_SECOND, ST_AXFR, ST_DEL, ST_ADD, ST_DONE };

struct stream {
	const knot_dname_t *zone;
	bool ixfr;
	uint32_t have;
	enum stream_state st;
	uint32_t first;          /* serial of the opening SOA */
	knot_rdata_t *first_soa; /* its rdata, kept until we know the form */
	uint32_t first_ttl;
	uint32_t step_to;        /* serial the current IXFR step ends at */
	zone_fold_t fold;        /* the IXFR steps so far, folded */
	xfr_result_t *res;
	const xfr_limits_t *lim;
};

static int add_rr(zone_t *z, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
                  const knot_rdata_t *rd)
{
	return zone_add(z, owner, type, ttl, rd->data, rd->len);
}

/* A record of an IXFR step into the running delta. */
static int fold_rr(struct stream *s, bool add, const knot_dname_t *owner, uint16_t type,
                   uint32_t ttl, const knot_rdata_t *rd, const char *who, char *err,
                   size_t errlen)
{
	int ret = add ? zone_fold_add(&s->fold, owner, type, ttl, rd->data, rd->len)
	              : zone_fold_del(&s->fold, owner, type, ttl, rd->data, rd->len);
	if (ret == -ENOENT || ret == -EEXIST) {
		char name[DNS_NAME_STR_MAX], t[16];
		return errf(err, errlen, -EPROTO, "%s: IXFR step %zu %s %s %s twice", who,
		            s->res->nsteps, add ? "adds" : "removes",
		            dns_name_to_str(owner, name, sizeof(name)),
		            dns_type_str(type, t, sizeof(t)));
	}
	if (ret == 0 && zone_fold_count(&s->fold) > s->res->delta_peak) {
		s->res->delta_peak = zone_fold_count(&s->fold);
	}
	return ret;
}

/* Feed one record of the stream.  0, or a negative error with err set. */
static int feed(struct stream *s, const knot_dname_t *owner, uint16_t type, uint16_t rclass,
                uint32_t ttl, const knot_rdata_t *rd, const char *who, char *err, size_t errlen)
{
	xfr_result_t *res = s->res;
	char name[DNS_NAME_STR_MAX];
	if (s->st == ST_DONE && res->kind == XFR_UPTODATE) {
		/* A whole zone not newer than ours: a primary going back. */
		return errf(err, errlen, -ESTALE,
		            "%s: IXFR answered with a zone of serial %u, not newer than ours (%u)",
		            who, s->first, s->have);
	}
	if (s->st == ST_DONE) {
		return errf(err, errlen, -EPROTO, "%s: records after the closing SOA", who);
	}
	if (rclass != KNOT_CLASS_IN) {
		return errf(err, errlen, -EPROTO, "%s: record of class %u in the transfer", who,
		            rclass);
	}
	if (!dns_name_in_zone(owner, s->zone)) {
		return errf(err, errlen, -EPROTO, "%s: record %s is outside the zone", who,
		            dns_name_to_str(owner, name, sizeof(name)));
	}
	if (++res->records > s->lim->max_records) {
		return errf(err, errlen, -EFBIG, "%s: transfer exceeds %llu records (transfer-max-records)", who,
		            (unsigned long long)s->lim->max_records);
	}
	bool soa = type == KNOT_RRTYPE_SOA;
	if (soa && (!dns_name_equal(owner, s->zone) || rd->len < 22)) {
		return errf(err, errlen, -EPROTO, "%s: SOA record %s is not at the apex", who,
		            dns_name_to_str(owner, name, sizeof(name)));
	}
	uint32_t serial = soa ? knot_soa_serial(rd) : 0;
	int ret = 0;

	switch (s->st) {
	case ST_FIRST:
		if (!soa) {
			return errf(err, errlen, -EPROTO,
			            "%s: transfer does not start with the SOA", who);
		}
		s->first = serial;
		res->serial = serial;
		/* Up to date when ours is the same or newer; "undefined" (2^31
		 * apart) is not: the secondary must transfer then. */
		if (s->ixfr && (serial_cmp(s->have, serial) == SERIAL_EQ ||
				serial_cmp(s->have, serial) == SERIAL_GT)) {
			res->kind = XFR_UPTODATE;
			s->st = ST_DONE;
			return 0;
		}
		s->first_soa = malloc(knot_rdata_size(rd->len));
		if (s->first_soa == NULL) {
			return errf(err, errlen, -ENOMEM, "out of memory");
		}
		memcpy(s->first_soa, rd, knot_rdata_size(rd->len));
		s->first_ttl = ttl;
		s->st = ST_SECOND;
		return 0;
	case ST_SECOND:
		if (s->ixfr && soa && serial == s->have) {
			res->kind = XFR_INCREMENTAL;
			res->nsteps = 1;
			zone_fold_init(&s->fold, s->zone);
			s->st = ST_DEL;
			return fold_rr(s, false, owner, type, ttl, rd, who, err, errlen);
		}
		/* A whole zone: AXFR, or IXFR answered in full. */
		res->kind = XFR_FULL;
		zone_init(&res->zone);
		zone_set_apex(&res->zone, s->zone);
		ret = add_rr(&res->zone, s->zone, KNOT_RRTYPE_SOA, s->first_ttl, s->first_soa);
		if (ret == 0 && soa && serial == s->first) {
			s->st = ST_DONE; /* a zone of just its SOA */
			return 0;
		}
		if (ret == 0 && soa) {
			return errf(err, errlen, -EPROTO,
			            "%s: a second SOA (serial %u) in the zone", who, serial);
		}
		if (ret == 0) {
			ret = add_rr(&res->zone, owner, type, ttl, rd);
		}
		s->st = ST_AXFR;
		break;
	case ST_AXFR:
		if (soa) {
			if (serial != s->first) {
				return errf(err, errlen, -EPROTO,
				            "%s: closing SOA has serial %u, opening had %u", who,
				            serial, s->first);
			}
			s->st = ST_DONE;
			return 0;
		}
		ret = add_rr(&res->zone, owner, type, ttl, rd);
		break;
	case ST_DEL:
		if (soa) {
			s->step_to = serial;
			s->st = ST_ADD;
		}
		return fold_rr(s, soa, owner, type, ttl, rd, who, err, errlen);
	case ST_ADD:
		if (soa && serial == s->first && s->step_to == s->first) {
			s->st = ST_DONE;
			return 0;
		}
		if (soa) {
			if (serial != s->step_to) {
				return errf(err, errlen, -EPROTO,
				            "%s: IXFR step starts at serial %u, the previous ended "
				            "at %u",
				            who, serial, s->step_to);
			}
			res->nsteps++;
			s->st = ST_DEL;
		}
		return fold_rr(s, !soa, owner, type, ttl, rd, who, err, errlen);
	case ST_DONE:
		break;
	}
	if (ret == -ENOMEM) {
		return errf(err, errlen, -ENOMEM, "out of memory");
	}
	if (ret != 0) {
		char t[16];
		return errf(err, errlen, -EPROTO, "%s: malformed %s record at %s", who,
		            dns_type_str(type, t, sizeof(t)),
		            dns_name_to_str(owner, name, sizeof(name)));
	}
	return 0;
}

void xfr_result_free(xfr_result_t *res)
{
	zone_free(&res->zone);
	zone_free(&res->delta.del);
	zone_free(&res->delta.add);
	memset(res, 0, sizeof(*res));
	zone_init(&res->zone);
	zone_init(&res->delta.del);
	zone_init(&res->delta.add);
}

/* One transfer's parsing state, independent of the socket. */
struct session {
	const char *who, *kind;
	uint16_t id, qtype;
	bool have_serial;
	const knot_dname_t *zone;
	const xfr_limits_t *lim;
	tsig_state_t ts;
	struct stream s;
	xfr_result_t *res;
};

/* Process one response message.  0 (look at s.st for ST_DONE) or <0. */
static int session_message(struct session *ss, uint8_t *msg, size_t len, char *err, size_t errlen)
{
	xfr_result_t *res = ss->res;
	const char *who = ss->who, *kind = ss->kind;
	res->bytes += len + 2;
	if (res->bytes > ss->lim->max_bytes) {
		return errf(err, errlen, -EFBIG, "%s: %s exceeds %llu bytes (transfer-max-bytes)", who, kind,
		            (unsigned long long)ss->lim->max_bytes);
	}
	knot_pkt_t *pkt = knot_pkt_new(msg, (uint16_t)len, NULL);
	if (pkt == NULL) {
		return errf(err, errlen, -ENOMEM, "out of memory");
	}
	int pr = knot_pkt_parse(pkt, 0);
	if (pr != KNOT_EOK) {
		knot_pkt_free(pkt);
		return parse_error(pr, who, err, errlen);
	}
	bool first = res->messages == 0;
	res->messages++;
	int ret = check_response(pkt, ss->id, ss->zone, ss->qtype, first, who, err, errlen);
	if (ret == 0) {
		ret = tsig_check(&ss->ts, pkt, who, err, errlen);
	}
	uint8_t rcode = knot_wire_get_rcode(pkt->wire);
	if (ret == 0 && rcode != KNOT_RCODE_NOERROR) {
		char rc[32];
		rcode_str(rcode, rc, sizeof(rc));
		/* Servers without IXFR say so in several ways. */
		bool refused = ss->have_serial && first &&
		               (rcode == KNOT_RCODE_NOTIMPL || rcode == KNOT_RCODE_FORMERR ||
		                rcode == KNOT_RCODE_REFUSED);
		ret = errf(err, errlen, refused ? -ENOTSUP : -EPROTO, "%s: %s answered %s", who,
		           kind, rc);
	}
	if (ret == 0 && knot_wire_get_tc(pkt->wire)) {
		ret = errf(err, errlen, -EPROTO, "%s: %s: truncated message over TCP", who, kind);
	}
	const knot_pktsection_t *an = knot_pkt_section(pkt, KNOT_ANSWER);
	for (uint16_t i = 0; ret == 0 && i < an->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);
		const knot_rdata_t *rd = rr->rrs.rdata;
		for (uint16_t j = 0; ret == 0 && j < rr->rrs.count; j++) {
			ret = feed(&ss->s, rr->owner, rr->type, rr->rclass, rr->ttl, rd, who, err,
			           errlen);
			rd = knot_rdataset_next((knot_rdata_t *)rd);
		}
	}
	if (ret == 0 && first && an->count == 0) {
		ret = errf(err, errlen, -EPROTO, "%s: %s answer is empty", who, kind);
	}
	knot_pkt_free(pkt);
	return ret;
}

/* After the closing SOA: last TSIG check, then sort what arrived. */
static int session_finish(struct session *ss, char *err, size_t errlen)
{
	xfr_result_t *res = ss->res;
	if (ss->ts.key != NULL && ss->ts.unsigned_count > 0) {
		return errf(err, errlen, -EPERM, "%s: %s: the last message is not signed", ss->who,
		            ss->kind);
	}
	int ret = 0;
	if (res->kind == XFR_FULL) {
		res->zone.owners_in_apex = true; /* feed() checked each owner */
		ret = zone_finish(&res->zone);
	}
	if (res->kind == XFR_INCREMENTAL) {
		ret = zone_fold_finish(&ss->s.fold, ss->s.have, res->serial, &res->delta);
	}
	return ret == 0 ? 0 : errf(err, errlen, -ENOMEM, "out of memory");
}

static void session_init(struct session *ss, const char *who, const knot_dname_t *zone,
                         const uint32_t *have, const knot_tsig_key_t *key, const xfr_limits_t *lim,
                         xfr_result_t *res)
{
	memset(res, 0, sizeof(*res));
	zone_init(&res->zone);
	zone_init(&res->delta.del);
	zone_init(&res->delta.add);
	*ss = (struct session){ .who = who,
		                .kind = have ? "IXFR" : "AXFR",
		                .qtype = have ? KNOT_RRTYPE_IXFR : KNOT_RRTYPE_AXFR,
		                .have_serial = have != NULL,
		                .zone = zone,
		                .lim = lim,
		                .ts = { .key = key },
		                .res = res };
	ss->s = (struct stream){
		.zone = zone, .ixfr = have != NULL, .have = have ? *have : 0, .res = res, .lim = lim
	};
}

static void session_free(struct session *ss, int ret)
{
	free(ss->s.first_soa);
	free(ss->ts.ubuf);
	zone_fold_free(&ss->s.fold);
	if (ret != 0) {
		xfr_result_free(ss->res);
	}
}

int xfr_parse_stream(const knot_dname_t *zone, const uint32_t *have, const uint8_t *data,
                     size_t len, const xfr_limits_t *lim, xfr_result_t *res, char *err,
                     size_t errlen)
{
	struct session ss;
	session_init(&ss, "stream", zone, have, NULL, lim, res);
	uint8_t *msg = malloc(MSG_MAX);
	int ret = msg ? 0 : errf(err, errlen, -ENOMEM, "out of memory");
	size_t off = 0;
	while (ret == 0 && ss.s.st != ST_DONE) {
		if (len - off < 2 + KNOT_WIRE_HEADER_SIZE) {
			ret = errf(err, errlen, -EPROTO, "stream: ends before the closing SOA");
			break;
		}
		size_t mlen = knot_wire_read_u16(data + off);
		if (mlen < KNOT_WIRE_HEADER_SIZE || len - off - 2 < mlen) {
			ret = errf(err, errlen, -EPROTO, "stream: truncated message");
			break;
		}
		memcpy(msg, data + off + 2, mlen);
		if (off == 0) {
			ss.id = knot_wire_get_id(msg);
		}
		off += 2 + mlen;
		ret = session_message(&ss, msg, mlen, err, errlen);
	}
	if (ret == 0) {
		ret = session_finish(&ss, err, errlen);
	}
	free(msg);
	session_free(&ss, ret);
	return ret;
}

int xfr_transfer(const xfr_peer_t *peer, const knot_dname_t *zone, const uint32_t *have,
                 const xfr_limits_t *lim, xfr_result_t *res, char *err, size_t errlen)
{
	char who[80];
	net_addr_str(peer->addr, who, sizeof(who));
	err[0] = '\0';
	struct session ss;
	session_init(&ss, who, zone, have, peer->key, lim, res);
	uint8_t *buf = malloc(MSG_MAX);
	int fd = -1, ret;
	int64_t deadline = sock_now_ms() + lim->timeout_ms;
	if (buf == NULL) {
		ret = errf(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	ss.id = sock_random_id();
	int qlen = build_query(buf, zone, ss.qtype, ss.id, have, &ss.ts);
	if (qlen < 0) {
		ret = errf(err, errlen, qlen, "%s: cannot build the %s query", who, ss.kind);
		goto out;
	}
	fd = sock_open(peer->addr, SOCK_STREAM, deadline);
	ret = fd < 0 ? fd : tcp_send_query(fd, buf, (size_t)qlen, deadline);
	if (ret != 0) {
		ret = errf(err, errlen, ret, "%s: %s: %s", who, ss.kind, io_error(ret));
		goto out;
	}
	while (ss.s.st != ST_DONE) {
		int64_t io_deadline = sock_now_ms() + lim->io_timeout_ms;
		size_t len = 0;
		ret = tcp_recv_msg(fd, buf, &len, io_deadline < deadline ? io_deadline : deadline);
		if (ret == -ECONNRESET && res->messages > 0) {
			ret = errf(err, errlen, -EPROTO,
			           "%s: %s: connection closed before the closing SOA", who,
			           ss.kind);
			goto out;
		} else if (ret == -ETIMEDOUT && sock_now_ms() >= deadline) {
			ret = errf(err, errlen, ret,
			           "%s: %s: not done within %u ms (transfer-timeout) after %zu "
			           "messages",
			           who, ss.kind, lim->timeout_ms, res->messages);
			goto out;
		} else if (ret == -ETIMEDOUT) {
			ret = errf(err, errlen, ret, "%s: %s: no data for %u ms after %zu messages",
			           who, ss.kind, lim->io_timeout_ms, res->messages);
			goto out;
		} else if (ret != 0) {
			ret = errf(err, errlen, ret, "%s: %s: %s after %zu messages", who, ss.kind,
			           io_error(ret), res->messages);
			goto out;
		}
		ret = session_message(&ss, buf, len, err, errlen);
		if (ret != 0) {
			goto out;
		}
	}
	ret = session_finish(&ss, err, errlen);
out:
	if (fd >= 0) {
		close(fd);
	}
	free(buf);
	session_free(&ss, ret);
	return ret;
}
