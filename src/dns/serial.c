#include "dns/serial.h"

serial_order_t serial_cmp(uint32_t a, uint32_t b)
{
	if (a == b) {
		return SERIAL_EQ;
	}
	uint32_t d = b - a; /* modulo 2^32 */
	if (d == UINT32_C(0x80000000)) {
		return SERIAL_UNDEF;
	}
	return d < UINT32_C(0x80000000) ? SERIAL_LT : SERIAL_GT;
}

int serial_add(uint32_t a, uint32_t n, uint32_t *out)
{
	if (n > UINT32_C(0x7fffffff)) {
		return -1;
	}
	*out = a + n;
	return 0;
}
