/*
 * A bump allocator for zone data: keys and rdata of a million records cost
 * one malloc per megabyte instead of two per record, and free in one call.
 */
#pragma once

#include <stddef.h>

typedef struct arena_chunk arena_chunk_t;

typedef struct {
	arena_chunk_t *head;
	size_t used;  /* bytes used in head */
	size_t total; /* bytes handed out, for statistics */
} arena_t;

void arena_init(arena_t *a);
/* 8-byte aligned memory valid until arena_free(); NULL when out of memory. */
void *arena_alloc(arena_t *a, size_t size);
void arena_free(arena_t *a);

/* malloc() for big arrays: 2 MiB and up come 2 MiB-aligned with transparent
 * huge pages asked for (see arena.c).  Free with free(). */
void *arena_big_alloc(size_t size);
