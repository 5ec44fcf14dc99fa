/*
 * RFC 1982 serial number arithmetic on 32-bit SOA serials.
 *
 * Two serials exactly 2^31 apart have no defined order: callers must treat
 * SERIAL_UNDEF as "cannot tell", which for a secondary means "transfer".
 */
#pragma once

#include <stdint.h>

typedef enum {
	SERIAL_LT = -1,
	SERIAL_EQ = 0,
	SERIAL_GT = 1,
	SERIAL_UNDEF = 2,
} serial_order_t;

/* Order of a relative to b. */
serial_order_t serial_cmp(uint32_t a, uint32_t b);

/* a + n, for 0 <= n <= 2^31 - 1 (RFC 1982 section 3.1); -1 if n is too large. */
int serial_add(uint32_t a, uint32_t n, uint32_t *out);
