/* Fuzz the reader of a server's answer to a DNS UPDATE.  The input is the
 * answer; its own ID is taken as the one we sent, so that the fuzzer gets
 * past the ID check.  Properties: an accepted answer is an UPDATE answer
 * whose RCODE is the header's; with a key, no answer is accepted as a
 * success unless its TSIG checked (the fuzzer cannot forge an HMAC). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libknot/consts.h>
#include <libknot/packet/wire.h>
#include <libknot/tsig.h>

#include "dns/name.h"
#include "target/rfc2136/updmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size, uint16_t id, const knot_dname_t *apex,
                  const knot_tsig_key_t *key)
{
	static const uint8_t mac[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	upd_answer_t a;
	char err[512];
	err[0] = '\0';
	int ret = upd_parse_answer(data, size, id, apex, key, mac, sizeof(mac), "fuzz", &a, err,
	                           sizeof(err));
	if (ret != 0) {
		if (err[0] == '\0') {
			fprintf(stderr, "refused without a reason (%d)\n", ret);
			abort();
		}
		return;
	}
	if (size < KNOT_WIRE_HEADER_SIZE || knot_wire_get_id(data) != id ||
	    !knot_wire_get_qr(data) || knot_wire_get_opcode(data) != KNOT_OPCODE_UPDATE ||
	    a.rcode != knot_wire_get_rcode(data)) {
		fprintf(stderr, "accepted an answer that is not ours\n");
		abort();
	}
	if (key != NULL && a.rcode == KNOT_RCODE_NOERROR && !a.is_signed) {
		fprintf(stderr, "accepted an unsigned success\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static knot_tsig_key_t key;
	static bool init;
	if (!init) {
		if (knot_tsig_key_init(&key, "hmac-sha256", "upd",
		                       "Wm9uZXN5bmMgdGVzdCBrZXkgZm9yIHVuaXQgdGVzdHM=") != 0) {
			abort();
		}
		init = true;
	}
	knot_dname_storage_t apex;
	dns_name_from_str("example.com.", apex);
	uint16_t id = size >= 2 ? knot_wire_read_u16(data) : 0;
	check(data, size, id, apex, NULL);
	check(data, size, id, apex, &key);
	return 0;
}
