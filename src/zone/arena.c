#include "zone/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define CHUNK_MIN (4 * 1024)
#define CHUNK_MAX (4 * 1024 * 1024)
#define HUGE_PAGE (2 * 1024 * 1024)

struct arena_chunk {
	arena_chunk_t *next;
	size_t size;
	_Alignas(max_align_t) unsigned char data[];
};

void arena_init(arena_t *a)
{
	a->head = NULL;
	a->used = 0;
	a->total = 0;
}

/*
 * Chunks double from 4 KiB to 4 MiB, so a small zone stays small: an IXFR's
 * delta is two zones of a few records, and thousands of them wait in the
 * push queues in a NOTIFY storm (64 KiB chunks made 10,000 such zones peak
 * at 1 GB; bench/RESULTS.md, many small zones).  Big
 * chunks are 2 MiB-aligned and asked for transparent huge pages: sorted
 * zone data is read in an order unrelated to where it was written, and with
 * 4 KiB pages most of that time goes to TLB misses and page faults.
 */
void *arena_big_alloc(size_t size)
{
	if (size < HUGE_PAGE) {
		return malloc(size);
	}
	void *mem = NULL;
	size = (size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	if (posix_memalign(&mem, HUGE_PAGE, size) != 0) {
		return NULL;
	}
	madvise(mem, size, MADV_HUGEPAGE);
	return mem;
}

static arena_chunk_t *chunk_new(size_t want)
{
	size_t total = sizeof(arena_chunk_t) + want;
	if (total >= HUGE_PAGE) {
		total = (total + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	}
	arena_chunk_t *c = arena_big_alloc(total);
	if (c != NULL) {
		c->size = total - sizeof(arena_chunk_t);
	}
	return c;
}

void *arena_alloc(arena_t *a, size_t size)
{
	size = (size + 7) & ~(size_t)7;
	if (a->head == NULL || a->head->size - a->used < size) {
		size_t next = a->head == NULL ? CHUNK_MIN : a->head->size * 2;
		next = next > CHUNK_MAX ? CHUNK_MAX : next;
		if (size > next / 4 && a->head != NULL) {
			/* A big block gets its own chunk behind the current one,
			 * so the space left in the current chunk is not lost. */
			arena_chunk_t *c = chunk_new(size);
			if (c == NULL) {
				return NULL;
			}
			c->next = a->head->next;
			a->head->next = c;
			a->total += size;
			return c->data;
		}
		/* A power-of-two total, so huge chunks fill whole pages. */
		arena_chunk_t *c = chunk_new(
		        size > next - sizeof(arena_chunk_t) ? size : next - sizeof(arena_chunk_t));
		if (c == NULL) {
			return NULL;
		}
		c->next = a->head;
		a->head = c;
		a->used = 0;
	}
	void *p = a->head->data + a->used;
	a->used += size;
	a->total += size;
	return p;
}

void arena_free(arena_t *a)
{
	arena_chunk_t *c = a->head;
	while (c != NULL) {
		arena_chunk_t *next = c->next;
		free(c);
		c = next;
	}
	arena_init(a);
}
