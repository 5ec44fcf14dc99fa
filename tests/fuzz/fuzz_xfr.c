/*
 * Fuzz the transfer stream parser: the first 5 bytes choose AXFR or IXFR
 * and our serial, the rest is a TCP stream of length-prefixed messages.
 * Whatever is accepted must be consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/name.h"
#include "xfr/xfr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5) {
		return 0;
	}
	knot_dname_storage_t zone;
	dns_name_from_str("example.com.", zone);
	uint32_t have = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 8 |
	                data[4];
	xfr_limits_t lim = { .max_records = 100000, .max_bytes = 1 << 24 };
	xfr_result_t res;
	char err[512];
	int ret = xfr_parse_stream(zone, (data[0] & 1) ? &have : NULL, data + 5, size - 5, &lim,
	                           &res, err, sizeof(err));
	if (ret != 0) {
		if (err[0] == '\0' || res.zone.count != 0 || res.nsteps != 0) {
			abort();
		}
		return 0;
	}
	if (res.kind == XFR_FULL) {
		uint32_t serial;
		if (zone_serial(&res.zone, &serial) != 0 || serial != res.serial) {
			abort();
		}
	}
	if (res.kind == XFR_INCREMENTAL &&
	    (res.nsteps == 0 || res.delta.to != res.serial || res.delta.from != have ||
	     res.delta.del.count + res.delta.add.count > 2 * res.delta_peak)) {
		abort();
	}
	xfr_result_free(&res);
	return 0;
}
