#include "conf/yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64

struct parser {
	yaml_parser_t p;
	const char *name;
	yaml_error_t *err;
	int failed;
};

static void error_at(struct parser *ps, size_t line, size_t col, const char *msg)
{
	if (!ps->failed) {
		snprintf(ps->err->msg, sizeof(ps->err->msg), "%s:%zu:%zu: %s", ps->name, line + 1,
		         col + 1, msg);
		ps->failed = 1;
	}
}

static int next_event(struct parser *ps, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&ps->p, ev)) {
		const char *what = ps->p.problem ? ps->p.problem : "invalid YAML";
		char msg[400];
		const yaml_mark_t *cm = &ps->p.context_mark, *pm = &ps->p.problem_mark;
		if (ps->p.context && cm->line != pm->line) {
			/* The problem may be found far from its cause (an unclosed
			 * quote or bracket is seen at the end of the file): say where
			 * the construct started too. */
			snprintf(msg, sizeof(msg), "%s %s started at line %zu, column %zu", what,
			         ps->p.context, cm->line + 1, cm->column + 1);
		} else if (ps->p.context) {
			snprintf(msg, sizeof(msg), "%s %s", what, ps->p.context);
		} else {
			snprintf(msg, sizeof(msg), "%s", what);
		}
		error_at(ps, ps->p.problem_mark.line, ps->p.problem_mark.column, msg);
		return -1;
	}
	return 0;
}

static ynode_t *new_node(ynode_kind_t kind, const yaml_mark_t *m)
{
	ynode_t *n = calloc(1, sizeof(*n));
	if (n != NULL) {
		n->kind = kind;
		n->line = (unsigned)m->line + 1;
		n->col = (unsigned)m->column + 1;
	}
	return n;
}

static int add_child(ynode_t *parent, ynode_t *child)
{
	ynode_t **items = realloc(parent->item, (parent->n + 1) * sizeof(*items));
	if (items == NULL) {
		return -1;
	}
	parent->item = items;
	parent->item[parent->n++] = child;
	return 0;
}

/* Build the node that starts with event ev (consumed). */
static ynode_t *build(struct parser *ps, yaml_event_t *ev, int depth)
{
	if (depth > MAX_DEPTH) {
		error_at(ps, ev->start_mark.line, ev->start_mark.column, "nesting too deep");
		yaml_event_delete(ev);
		return NULL;
	}
	ynode_t *n = NULL;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		error_at(ps, ev->start_mark.line, ev->start_mark.column,
		         "aliases are not supported in the configuration");
		yaml_event_delete(ev);
		return NULL;
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor != NULL) {
			error_at(ps, ev->start_mark.line, ev->start_mark.column,
			         "anchors are not supported in the configuration");
			yaml_event_delete(ev);
			return NULL;
		}
		n = new_node(YNODE_SCALAR, &ev->start_mark);
		if (n != NULL) {
			n->value = strndup((const char *)ev->data.scalar.value,
			                   ev->data.scalar.length);
			n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
			if (n->value == NULL) {
				free(n);
				n = NULL;
			} else if (strlen(n->value) != ev->data.scalar.length) {
				error_at(ps, ev->start_mark.line, ev->start_mark.column,
				         "NUL character in a value");
				ynode_free(n);
				n = NULL;
			}
		}
		if (n == NULL && !ps->failed) {
			error_at(ps, ev->start_mark.line, ev->start_mark.column, "out of memory");
		}
		yaml_event_delete(ev);
		return n;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		int is_map = ev->type == YAML_MAPPING_START_EVENT;
		const yaml_char_t *anchor =
		        is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
		if (anchor != NULL) {
			error_at(ps, ev->start_mark.line, ev->start_mark.column,
			         "anchors are not supported in the configuration");
			yaml_event_delete(ev);
			return NULL;
		}
		n = new_node(is_map ? YNODE_MAP : YNODE_SEQ, &ev->start_mark);
		yaml_event_type_t end = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
		yaml_event_delete(ev);
		if (n == NULL) {
			error_at(ps, 0, 0, "out of memory");
			return NULL;
		}
		for (;;) {
			yaml_event_t child_ev;
			if (next_event(ps, &child_ev) != 0) {
				ynode_free(n);
				return NULL;
			}
			if (child_ev.type == end) {
				yaml_event_delete(&child_ev);
				return n;
			}
			ynode_t *c = build(ps, &child_ev, depth + 1);
			if (c == NULL || add_child(n, c) != 0) {
				if (c != NULL) {
					error_at(ps, c->line - 1, c->col - 1, "out of memory");
					ynode_free(c);
				}
				ynode_free(n);
				return NULL;
			}
			if (is_map && n->n % 2 == 1) {
				if (c->kind != YNODE_SCALAR) {
					error_at(ps, c->line - 1, c->col - 1,
					         "a key must be a plain value");
					ynode_free(n);
					return NULL;
				}
				for (size_t i = 0; i + 1 < n->n; i += 2) {
					if (strcmp(n->item[i]->value, c->value) == 0) {
						char msg[300];
						snprintf(
						        msg, sizeof(msg),
						        "duplicate key '%.200s' (first at line %u)",
						        c->value, n->item[i]->line);
						error_at(ps, c->line - 1, c->col - 1, msg);
						ynode_free(n);
						return NULL;
					}
				}
			}
		}
	}
	default:
		error_at(ps, ev->start_mark.line, ev->start_mark.column, "unexpected YAML event");
		yaml_event_delete(ev);
		return NULL;
	}
}

ynode_t *ynode_parse(const char *name, const unsigned char *data, size_t len, yaml_error_t *err)
{
	struct parser ps = { .name = name, .err = err };
	err->msg[0] = '\0';
	if (!yaml_parser_initialize(&ps.p)) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
		return NULL;
	}
	yaml_parser_set_input_string(&ps.p, data, len);

	ynode_t *root = NULL;
	yaml_event_t ev;
	/* STREAM-START, then DOCUMENT-START or STREAM-END (empty input). */
	if (next_event(&ps, &ev) != 0) {
		goto out;
	}
	yaml_event_delete(&ev);
	if (next_event(&ps, &ev) != 0) {
		goto out;
	}
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_mark_t m = { 0 };
		root = new_node(YNODE_MAP, &m);
		yaml_event_delete(&ev);
		goto out;
	}
	yaml_event_delete(&ev);
	if (next_event(&ps, &ev) != 0) {
		goto out;
	}
	root = build(&ps, &ev, 0);
	if (root == NULL) {
		goto out;
	}
	/* A document with no content ("---" alone) is empty too, not a value. */
	if (root->kind == YNODE_SCALAR && !root->quoted && root->value[0] == '\0') {
		free(root->value);
		root->value = NULL;
		root->kind = YNODE_MAP;
	}
	/* DOCUMENT-END, then STREAM-END: a second document is refused. */
	if (next_event(&ps, &ev) != 0) {
		goto fail;
	}
	yaml_event_delete(&ev);
	if (next_event(&ps, &ev) != 0) {
		goto fail;
	}
	if (ev.type != YAML_STREAM_END_EVENT) {
		error_at(&ps, ev.start_mark.line, ev.start_mark.column,
		         "only one YAML document is allowed");
		yaml_event_delete(&ev);
		goto fail;
	}
	yaml_event_delete(&ev);
	goto out;
fail:
	ynode_free(root);
	root = NULL;
out:
	yaml_parser_delete(&ps.p);
	if (root == NULL && !ps.failed) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
	}
	return root;
}

void ynode_free(ynode_t *n)
{
	if (n == NULL) {
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		ynode_free(n->item[i]);
	}
	free(n->item);
	free(n->value);
	free(n);
}

ynode_t *ynode_dup(const ynode_t *n)
{
	ynode_t *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		return NULL;
	}
	*d = *n;
	d->value = NULL;
	d->item = NULL;
	d->n = 0;
	if ((n->value != NULL && (d->value = strdup(n->value)) == NULL) ||
	    (n->n > 0 && (d->item = calloc(n->n, sizeof(*d->item))) == NULL)) {
		ynode_free(d);
		return NULL;
	}
	for (; d->n < n->n; d->n++) {
		if ((d->item[d->n] = ynode_dup(n->item[d->n])) == NULL) {
			ynode_free(d);
			return NULL;
		}
	}
	return d;
}

const ynode_t *ynode_get(const ynode_t *map, const char *key)
{
	if (map == NULL || map->kind != YNODE_MAP) {
		return NULL;
	}
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		if (strcmp(map->item[i]->value, key) == 0) {
			return map->item[i + 1];
		}
	}
	return NULL;
}

const char *ynode_kind_str(ynode_kind_t k)
{
	switch (k) {
	case YNODE_SCALAR:
		return "a value";
	case YNODE_SEQ:
		return "a list";
	case YNODE_MAP:
		return "a map";
	}
	return "?";
}
