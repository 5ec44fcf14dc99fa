/*
 * A YAML document as a small tree with the position of every node, read
 * with libyaml, so that the configuration checker can say FILE:LINE:COLUMN
 * for anything it refuses.  Anchors and aliases are refused: a config is
 * short and must read the same to every reader.
 */
#pragma once

#include <stddef.h>

typedef enum { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP } ynode_kind_t;

typedef struct ynode ynode_t;
struct ynode {
	ynode_kind_t kind;
	unsigned line, col; /* 1-based */
	char *value;        /* SCALAR */
	int quoted;         /* SCALAR written with quotes */
	ynode_t **item;     /* SEQ: items; MAP: key, value, key, value... */
	size_t n;           /* SEQ: items; MAP: 2 * pairs */
};

typedef struct {
	char msg[512]; /* "FILE:LINE:COLUMN: what is wrong" */
} yaml_error_t;

/* Parse one document; an empty input gives an empty map.  NULL on error. */
ynode_t *ynode_parse(const char *name, const unsigned char *data, size_t len, yaml_error_t *err);
void ynode_free(ynode_t *n);

/* A deep copy of n, or NULL when out of memory. */
ynode_t *ynode_dup(const ynode_t *n);

/* Value of key in a map, or NULL. */
const ynode_t *ynode_get(const ynode_t *map, const char *key);

const char *ynode_kind_str(ynode_kind_t k);
