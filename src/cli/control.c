/* sync beside a running daemon: the request, the daemon's pass, the answer. */
#include "cli/control.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "obs/log.h"
#include "sched/control.h"

/* What the command reads back at most: a sync's output is a line per
 * zone and target. */
#define ANSWER_MAX (64u << 20)

/* --- the request, both sides ---------------------------------------------- */

static char *request_encode(const pass_req_t *req, char *why, size_t whylen)
{
	json_t *zones = json_array();
	json_t *j = json_pack("{s:s, s:o, s:o, s:b, s:b, s:b, s:b}", "cmd", "sync", "zones", zones,
	                      "target", req->target != NULL ? json_string(req->target) : json_null(),
	                      "force", req->force, "full", req->full, "wait", req->wait, "json",
	                      req->json);
	char *line = NULL;
	for (size_t i = 0; j != NULL && i < req->nzones; i++) {
		if (json_array_append_new(zones, json_string(req->zones[i])) != 0) {
			snprintf(why, whylen, "zone name '%s' is not UTF-8", req->zones[i]);
			json_decref(j);
			return NULL;
		}
	}
	if (j == NULL || (line = json_dumps(j, JSON_COMPACT)) == NULL) {
		snprintf(why, whylen, "out of memory, or a target id that is not UTF-8");
	}
	json_decref(j);
	return line;
}

typedef struct request {
	struct cli_control *ctl;
	control_conn_t *conn;
	struct ucred peer;
	json_t *json; /* the strings req points to */
	char **zones;
	pass_req_t req;
	const conf_t *conf;
	uv_work_t work;
	char *out, *err;
	size_t outlen, errlen;
	int rc;
	double started;
	struct request *next;
} request_t;

static bool opt_bool(json_t *j, const char *key)
{
	return json_is_true(json_object_get(j, key));
}

/* Every member known and of its type: a daemon older than the command
 * refuses what it would not honour (an option it does not have). */
static int request_decode(request_t *r, const char *line, char *why, size_t whylen)
{
	json_error_t e;
	json_t *j = r->json = json_loads(line, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL || !json_is_object(j)) {
		snprintf(why, whylen, "not a JSON object: %s", j == NULL ? e.text : "");
		return -1;
	}
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v)
	{
		bool ok = strcmp(key, "cmd") == 0      ? json_is_string(v)
		          : strcmp(key, "zones") == 0  ? json_is_array(v)
		          : strcmp(key, "target") == 0 ? json_is_string(v) || json_is_null(v)
		          : strcmp(key, "force") == 0 || strcmp(key, "full") == 0 ||
		                          strcmp(key, "wait") == 0 || strcmp(key, "json") == 0
		                  ? json_is_boolean(v)
		                  : false;
		if (!ok) {
			snprintf(why, whylen, "member '%s' unknown or of the wrong type (is the "
			         "daemon older than this command?)", key);
			return -1;
		}
	}
	const char *cmd = json_string_value(json_object_get(j, "cmd"));
	if (cmd == NULL || strcmp(cmd, "sync") != 0) {
		snprintf(why, whylen, "no such command '%s'", cmd != NULL ? cmd : "");
		return -1;
	}
	json_t *zones = json_object_get(j, "zones");
	size_t n = json_array_size(zones);
	if ((r->zones = calloc(n + 1, sizeof(*r->zones))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *z = json_string_value(json_array_get(zones, i));
		if (z == NULL) {
			snprintf(why, whylen, "zones[%zu] is not a string", i);
			return -1;
		}
		r->zones[i] = (char *)z; /* read only; owned by r->json */
	}
	r->req = (pass_req_t){ .mode = PASS_SYNC,
		               .force = opt_bool(j, "force"),
		               .full = opt_bool(j, "full"),
		               .wait = opt_bool(j, "wait"),
		               .json = opt_bool(j, "json"),
		               .target = json_string_value(json_object_get(j, "target")),
		               .zones = r->zones,
		               .nzones = n };
	return 0;
}

/* --- the daemon's side ---------------------------------------------------- */

struct cli_control {
	uv_loop_t *loop;
	sched_t *s;
	control_t *sock;
	request_t *cur;               /* holding its zones, or running */
	request_t *head, **tail;      /* waiting their turn */
};

static void request_free(request_t *r)
{
	free(r->zones);
	json_decref(r->json);
	free(r->out);
	free(r->err);
	free(r);
}

static void answer(control_conn_t *conn, int rc, const char *out, size_t outlen, const char *err,
                   size_t errlen)
{
	char head[64];
	int h = snprintf(head, sizeof(head), "%d %zu %zu\n", rc, outlen, errlen);
	char *buf = malloc((size_t)h + outlen + errlen);
	if (buf == NULL) {
		control_reply(conn, NULL, 0); /* closes: the command says so */
		return;
	}
	memcpy(buf, head, (size_t)h);
	if (outlen > 0) {
		memcpy(buf + h, out, outlen);
	}
	if (errlen > 0) {
		memcpy(buf + h + outlen, err, errlen);
	}
	control_reply(conn, buf, (size_t)h + outlen + errlen);
}

static void answer_error(control_conn_t *conn, int rc, const char *msg)
{
	answer(conn, rc, NULL, 0, msg, strlen(msg));
}

static void next(cli_control_t *ctl);

/* The current request is answered: its zones go back to the scheduler. */
static void finish(cli_control_t *ctl)
{
	request_t *r = ctl->cur;
	ctl->cur = NULL;
	request_free(r);
	sched_release(ctl->s);
	next(ctl);
}

static void pass_work(uv_work_t *w)
{
	request_t *r = w->data;
	FILE *out = open_memstream(&r->out, &r->outlen);
	FILE *err = open_memstream(&r->err, &r->errlen);
	r->rc = CLI_FAIL;
	if (out != NULL && err != NULL) {
		r->rc = pass_run(r->conf, &r->req, out, err, sched_cancel(r->ctl->s), false);
	}
	if (out != NULL) {
		fclose(out);
	}
	if (err != NULL) {
		fclose(err);
	}
	if (out == NULL || err == NULL) {
		free(r->out);
		free(r->err);
		r->out = r->err = NULL;
		r->outlen = r->errlen = 0;
	}
}

static void pass_done(uv_work_t *w, int status)
{
	request_t *r = w->data;
	(void)status;
	log_info("control: sync done: pid=%ld exit=%d seconds=%.1f", (long)r->peer.pid, r->rc,
	         cli_now() - r->started);
	if (r->out == NULL && r->err == NULL) {
		answer_error(r->conn, CLI_FAIL, "zonesync: the daemon is out of memory\n");
	} else {
		answer(r->conn, r->rc, r->out, r->outlen, r->err, r->errlen);
	}
	finish(r->ctl);
}

/* The zones are the pass's now (conf), or the daemon stops (NULL). */
static void on_held(void *ctx, const conf_t *conf)
{
	cli_control_t *ctl = ctx;
	request_t *r = ctl->cur;
	if (conf == NULL) {
		answer_error(r->conn, CLI_FAIL, "zonesync: the daemon is stopping: nothing done\n");
		finish(ctl);
		return;
	}
	r->conf = conf;
	r->work.data = r;
	r->started = cli_now();
	if (uv_queue_work(ctl->loop, &r->work, pass_work, pass_done) != 0) {
		answer_error(r->conn, CLI_FAIL, "zonesync: the daemon cannot start the pass\n");
		finish(ctl);
	}
}

/* One pass at a time: two passes over one zone would be two writers. */
static void next(cli_control_t *ctl)
{
	while (ctl->cur == NULL && ctl->head != NULL) {
		request_t *r = ctl->cur = ctl->head;
		if ((ctl->head = r->next) == NULL) {
			ctl->tail = &ctl->head;
		}
		char zones[256] = "all";
		for (size_t i = 0, o = 0; i < r->req.nzones && o < sizeof(zones); i++) {
			o += (size_t)snprintf(zones + o, sizeof(zones) - o, "%s%s", i > 0 ? "," : "",
			                      r->req.zones[i]);
		}
		log_info("control: sync asked: pid=%ld uid=%ld zones=%s target=%s force=%s full=%s",
		         (long)r->peer.pid, (long)r->peer.uid, zones,
		         r->req.target != NULL ? r->req.target : "all", r->req.force ? "yes" : "no",
		         r->req.full ? "yes" : "no");
		if (sched_hold(ctl->s, r->req.zones, r->req.nzones, on_held, ctl) != 0) {
			answer_error(r->conn, CLI_FAIL, "zonesync: the daemon cannot hold the zones\n");
			ctl->cur = NULL;
			request_free(r);
		}
	}
}

static void on_request(void *ctx, control_conn_t *conn, const char *line,
                       const struct ucred *peer)
{
	cli_control_t *ctl = ctx;
	request_t *r = calloc(1, sizeof(*r));
	char why[256] = "out of memory";
	if (r == NULL || request_decode(r, line, why, sizeof(why)) != 0) {
		log_notice("control: bad request: pid=%ld uid=%ld error=%s", (long)peer->pid,
		           (long)peer->uid, LOGV(why));
		char msg[320];
		snprintf(msg, sizeof(msg), "zonesync: the daemon refused the request: %s\n", why);
		answer_error(conn, CLI_USAGE, msg);
		if (r != NULL) {
			request_free(r);
		}
		return;
	}
	r->ctl = ctl;
	r->conn = conn;
	r->peer = *peer;
	*ctl->tail = r;
	ctl->tail = &r->next;
	next(ctl);
}

cli_control_t *cli_control_start(uv_loop_t *loop, sched_t *s, const char *state, char *err,
                                 size_t errlen)
{
	cli_control_t *ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ctl->loop = loop;
	ctl->s = s;
	ctl->tail = &ctl->head;
	if (control_listen(loop, state, on_request, ctl, &ctl->sock, err, errlen) != 0) {
		free(ctl);
		return NULL;
	}
	return ctl;
}

void cli_control_stop(cli_control_t *ctl)
{
	if (ctl != NULL) {
		control_close(ctl->sock);
	}
}

void cli_control_free(cli_control_t *ctl)
{
	if (ctl != NULL) {
		control_free(ctl->sock);
		free(ctl);
	}
}

/* --- the command's side --------------------------------------------------- */

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Everything until the daemon closes; NULL when too much or on error. */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 4096;
	char *buf = malloc(cap);
	*len = 0;
	while (buf != NULL) {
		if (*len == cap) {
			char *b = cap < ANSWER_MAX ? realloc(buf, cap * 2) : NULL;
			if (b == NULL) {
				break;
			}
			buf = b;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			break;
		}
		if (n == 0) {
			return buf;
		}
		*len += (size_t)n;
	}
	free(buf);
	return NULL;
}

/* "EXIT OUTLEN ERRLEN\n" and the bytes; the exit status, or -1. */
static int print_answer(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len < 64 ? len : 64);
	int rc;
	size_t outlen, errlen;
	char head[64];
	if (nl == NULL) {
		return -1;
	}
	memcpy(head, buf, (size_t)(nl - buf));
	head[nl - buf] = '\0';
	if (sscanf(head, "%d %zu %zu", &rc, &outlen, &errlen) != 3 || rc < 0 || rc > 3) {
		return -1;
	}
	size_t body = len - (size_t)(nl + 1 - buf);
	if (outlen > body || errlen != body - outlen) {
		return -1;
	}
	fwrite(nl + 1, 1, outlen, stdout);
	fwrite(nl + 1 + outlen, 1, errlen, stderr);
	fflush(stdout);
	return rc;
}

int cli_control_sync(const char *state, const pass_req_t *req, pid_t pid)
{
	char path[4200], why[256];
	control_path(state, path, sizeof(path));
	char *line = request_encode(req, why, sizeof(why));
	if (line == NULL) {
		fprintf(stderr, "zonesync: %s\n", why);
		return CLI_USAGE;
	}
	int fd, ret = control_connect(state, &fd);
	if (ret == -EACCES || ret == -EPERM) {
		fprintf(stderr,
		        "zonesync: a daemon (pid %ld) runs on %s, but its control socket %s "
		        "refuses us: %s.  It is for the daemon's user and group (mode 0660): "
		        "run sync as one of them\n",
		        (long)pid, state, path, strerror(-ret));
		free(line);
		return CLI_FAIL;
	}
	if (ret != 0) {
		fprintf(stderr,
		        "zonesync: %s is locked by pid %ld, but %s does not answer: %s.  Another "
		        "`zonesync sync` runs there, or the daemon is starting or stopping: try "
		        "again\n",
		        state, (long)pid, path, strerror(-ret));
		free(line);
		return CLI_FAIL;
	}
	size_t n = strlen(line);
	line[n] = '\n'; /* json_dumps's NUL; the line goes without one */
	bool sent = write_all(fd, line, n + 1) == 0;
	free(line);
	size_t len = 0;
	char *buf = sent ? read_all(fd, &len) : NULL;
	close(fd);
	int rc = buf != NULL && len > 0 ? print_answer(buf, len) : -1;
	free(buf);
	if (rc < 0) {
		fprintf(stderr,
		        "zonesync: the daemon (pid %ld) gave no answer on %s: see its log (it "
		        "may have too many control connections open)\n",
		        (long)pid, path);
		return CLI_FAIL;
	}
	return rc;
}
