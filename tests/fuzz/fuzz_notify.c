/* Fuzz the NOTIFY handler: any message, from allowed and foreign sources. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int loaded;
	static uint8_t out[65535];
	if (!loaded) {
		if (conf_load_string(&conf, "fuzz", CONF, strlen(CONF), target_registry, NULL) != 0) {
			abort();
		}
		loaded = 1;
	}
	int calls = 0;
	notify_limits_t lim = { .rate_limit = conf.server.notify_rate_limit,
		                .tcp_max_clients = conf.server.tcp_max_clients,
		                .tcp_idle_timeout = conf.server.tcp_idle_timeout };
	notify_cb_t cb = { .lookup = on_lookup, .accepted = on_notify, .ctx = &calls };
	notify_t *n = notify_new(&lim, &cb);
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(53) };
	from.sin_addr.s_addr = htonl(size % 2 ? INADDR_LOOPBACK : 0xc0000201);
	size_t len =
	        notify_process(n, data, size, (struct sockaddr *)&from, 1000, out, sizeof(out));
	if (len > sizeof(out) || (len > 0 && len < 12)) {
		abort();
	}
	notify_free(n);
	return 0;
}
