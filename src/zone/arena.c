#include "zone/arena.h"

#include <stdint.h>
#include <stdlib.h>

#define CHUNK_SIZE (1024 * 1024 - 64)

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

void *arena_alloc(arena_t *a, size_t size)
{
	size = (size + 7) & ~(size_t)7;
	if (a->head == NULL || a->head->size - a->used < size) {
		size_t csize = size > CHUNK_SIZE / 4 ? size : CHUNK_SIZE;
		arena_chunk_t *c = malloc(sizeof(*c) + csize);
		if (c == NULL) {
			return NULL;
		}
		c->size = csize;
		if (a->head != NULL && csize != CHUNK_SIZE) {
			/* A big block gets its own chunk behind the current one,
			 * so the space left in the current chunk is not lost. */
			c->next = a->head->next;
			a->head->next = c;
			a->total += size;
			return c->data;
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
