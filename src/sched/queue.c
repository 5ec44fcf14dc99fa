#include "sched/queue.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "obs/metrics.h"

static void gauges(const jq_lane_t *l)
{
	metrics_set(M_JOBS_QUEUED, l->waiting, l->kind, l->id);
	metrics_set(M_JOBS_RUNNING, l->running, l->kind, l->id);
}

void jq_init(jq_t *q, unsigned max, void (*start)(void *ctx, jq_item_t *it), void *ctx)
{
	memset(q, 0, sizeof(*q));
	q->max = max > 0 ? max : 1;
	q->start = start;
	q->ctx = ctx;
}

void jq_free(jq_t *q)
{
	while (q->lanes != NULL) {
		jq_lane_t *l = q->lanes;
		q->lanes = l->next;
		free(l->kind);
		free(l->id);
		free(l);
	}
	q->ready_head = q->ready_tail = NULL;
}

/* Can the lane start its first job, once a thread is free? */
static bool may_start(const jq_lane_t *l)
{
	return l->head != NULL && l->running < l->max;
}

static void ready_append(jq_t *q, jq_lane_t *l)
{
	if (l->ready || !may_start(l)) {
		return;
	}
	l->ready = true;
	l->next_ready = NULL;
	if (q->ready_tail != NULL) {
		q->ready_tail->next_ready = l;
	} else {
		q->ready_head = l;
	}
	q->ready_tail = l;
}

/* Start jobs while threads are free: one from each ready lane in turn.  A
 * start() that ends its job at once (jq_done) only counts down here. */
static void dispatch(jq_t *q)
{
	if (q->dispatching) {
		return;
	}
	q->dispatching = true;
	while (q->running < q->max && q->ready_head != NULL) {
		jq_lane_t *l = q->ready_head;
		q->ready_head = l->next_ready;
		if (q->ready_head == NULL) {
			q->ready_tail = NULL;
		}
		l->ready = false;
		if (!may_start(l)) {
			continue; /* emptied by jq_remove meanwhile */
		}
		jq_item_t *it = l->head;
		l->head = it->next;
		if (l->head != NULL) {
			l->head->prev = NULL;
		} else {
			l->tail = NULL;
		}
		it->next = it->prev = NULL;
		it->queued = false;
		l->waiting--;
		l->running++;
		q->running++;
		ready_append(q, l); /* to the end of the ring: the others go first */
		gauges(l);
		q->start(q->ctx, it);
	}
	q->dispatching = false;
}

jq_lane_t *jq_lane(jq_t *q, const char *kind, const char *id, unsigned max)
{
	jq_lane_t *l = q->lanes;
	while (l != NULL && (strcmp(l->kind, kind) != 0 || strcasecmp(l->id, id) != 0)) {
		l = l->next;
	}
	if (l == NULL) {
		if ((l = calloc(1, sizeof(*l))) == NULL || (l->kind = strdup(kind)) == NULL ||
		    (l->id = strdup(id)) == NULL) {
			if (l != NULL) {
				free(l->kind);
			}
			free(l);
			return NULL;
		}
		l->next = q->lanes;
		q->lanes = l;
		gauges(l);
	}
	l->max = max > 0 ? max : 1;
	ready_append(q, l);
	dispatch(q);
	return l;
}

void jq_push(jq_t *q, jq_item_t *it, jq_lane_t *lane)
{
	it->lane = lane;
	it->next = NULL;
	it->prev = lane->tail;
	if (lane->tail != NULL) {
		lane->tail->next = it;
	} else {
		lane->head = it;
	}
	lane->tail = it;
	it->queued = true;
	lane->waiting++;
	gauges(lane);
	ready_append(q, lane);
	dispatch(q);
}

void jq_done(jq_t *q, jq_lane_t *lane)
{
	lane->running--;
	q->running--;
	gauges(lane);
	ready_append(q, lane);
	dispatch(q);
}

bool jq_remove(jq_t *q, jq_item_t *it)
{
	(void)q;
	if (!it->queued) {
		return false;
	}
	jq_lane_t *l = it->lane;
	if (it->prev != NULL) {
		it->prev->next = it->next;
	} else {
		l->head = it->next;
	}
	if (it->next != NULL) {
		it->next->prev = it->prev;
	} else {
		l->tail = it->prev;
	}
	it->next = it->prev = NULL;
	it->queued = false;
	l->waiting--;
	gauges(l);
	return true; /* an empty lane left in the ring is skipped by dispatch */
}

jq_item_t *jq_pop_any(jq_t *q)
{
	for (jq_lane_t *l = q->lanes; l != NULL; l = l->next) {
		if (l->head != NULL) {
			jq_item_t *it = l->head;
			jq_remove(q, it);
			return it;
		}
	}
	return NULL;
}
