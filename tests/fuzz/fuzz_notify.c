/* Fuzz the NOTIFY handler: any message, from allowed and foreign sources.
 * Checked: an answer is a whole header at least; a NOTIFY is accepted only
 * with a NOERROR answer; only a served zone's name gets an answer other
 * than REFUSED, FORMERR or NOTIMP (no zone enumeration).  Each message comes
 * twice at one rate per second: the second time, one that was accepted is
 * REFUSED and one that was refused gets no answer (budgets, notify.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "conf/conf.h"
#include "obs/log.h"
#include "target/target.h"
#include "sched/sched.h"
#include "xfr/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char CONF[] = "key:\n"
                           "  - { id: xfr, algorithm: hmac-sha256, secret: c2VjcmV0c2VjcmV0 }\n"
                           "primary:\n"
                           "  - { id: signed, address: [127.0.0.1], key: xfr }\n"
                           "  - { id: open, address: [127.0.0.1] }\n"
                           "zone:\n"
                           "  - { domain: example.com, primary: signed }\n"
                           "  - { domain: example.net, primary: open }\n";

static conf_t conf;

static bool on_lookup(void *ctx, const knot_dname_t *qname, const struct sockaddr *from,
                      notify_zone_t *out)
{
	(void)ctx;
	return sched_notify_lookup(&conf, qname, from, out);
}

static void on_notify(void *ctx, const void *zone, const struct sockaddr *from)
{
	(void)from;
	if (zone == NULL) {
		abort();
	}
	(*(int *)ctx)++;
}

/* Does the answer's question name one of our zones? */
static bool served(uint8_t *answer, size_t len)
{
	knot_pkt_t *r = knot_pkt_new(answer, (uint16_t)len, NULL);
	bool ok = r != NULL && knot_pkt_parse(r, 0) == KNOT_EOK && knot_pkt_qname(r) != NULL &&
	          conf_zone_find(&conf, knot_pkt_qname(r)) != NULL;
	knot_pkt_free(r);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int loaded;
	static uint8_t out[65535];
	if (!loaded) {
		log_init(LOG_TARGET_STDERR, LOG_LEVEL_ERROR); /* refusals are notices */
		if (conf_load_string(&conf, "fuzz", CONF, strlen(CONF), target_registry, NULL) != 0) {
			abort();
		}
		loaded = 1;
	}
	int calls = 0;
	notify_limits_t lim = { .rate_limit = 1,
		                .tcp_max_clients = conf.server.tcp_max_clients,
		                .tcp_max_per_source = conf.server.tcp_max_per_source,
		                .tcp_idle_timeout = conf.server.tcp_idle_timeout,
		                .tcp_session_timeout = conf.server.tcp_session_timeout };
	notify_cb_t cb = { .lookup = on_lookup, .accepted = on_notify, .ctx = &calls };
	notify_t *n = notify_new(&lim, &cb);
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(53) };
	from.sin_addr.s_addr = htonl(size % 2 ? INADDR_LOOPBACK : 0xc0000201);
	size_t len =
	        notify_process(n, data, size, (struct sockaddr *)&from, 1000, out, sizeof(out));
	if (len > sizeof(out) || (len > 0 && len < 12)) {
		abort();
	}
	uint8_t rcode = len > 0 ? knot_wire_get_rcode(out) : 0;
	if (calls > 0 && (len == 0 || rcode != KNOT_RCODE_NOERROR)) {
		abort();
	}
	if (len > 0 && rcode != KNOT_RCODE_REFUSED && rcode != KNOT_RCODE_FORMERR &&
	    rcode != KNOT_RCODE_NOTIMPL && !served(out, len)) {
		abort();
	}
	/* Once more, over the budget it spent. */
	size_t again =
	        notify_process(n, data, size, (struct sockaddr *)&from, 1000, out, sizeof(out));
	if (len == 0 || rcode != KNOT_RCODE_NOERROR) {
		if (again != 0) { /* refused (or not answered): no answer now */
			abort();
		}
	} else if (again == 0 || calls != 1 || knot_wire_get_rcode(out) != KNOT_RCODE_REFUSED) {
		abort(); /* accepted: now REFUSED, and not handed on */
	}
	notify_free(n);
	return 0;
}
