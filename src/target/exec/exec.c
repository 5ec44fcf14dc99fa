#include "target/exec/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "conf/yaml.h"
#include "net/spawn.h"
#include "obs/log.h"

extern char **environ;

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A count known after an IXFR, else null. */
static json_t *count(const exec_event_t *ev, size_t n)
{
	return ev->has_counts ? json_integer((json_int_t)n) : json_null();
}

char *exec_event_json(const exec_event_t *ev)
{
	/* jansson escapes what JSON wants escaped and refuses what is not
	 * UTF-8; our names are presentation format, which is ASCII. */
	json_t *o = json_pack("{s:s, s:I, s:o, s:s, s:s, s:o, s:o, s:o}", "zone", ev->zone,
	                      "serial", (json_int_t)ev->serial, "previous_serial",
	                      ev->has_previous ? json_integer(ev->previous) : json_null(),
	                      "primary", ev->primary, "transfer", ev->has_counts ? "IXFR" : "AXFR",
	                      "added", count(ev, ev->added), "changed", count(ev, ev->changed),
	                      "deleted", count(ev, ev->deleted));
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	size_t n = text != NULL ? strlen(text) : 0;
	char *line = text != NULL ? realloc(text, n + 2) : NULL;
	if (line == NULL) {
		free(text);
		return NULL;
	}
	memcpy(line + n, "\n", 2);
	return line;
}

char *exec_zone_arg(const char *zone)
{
	size_t n = strlen(zone);
	if (n > 1 && zone[n - 1] == '.') {
		n--;
	}
	/* \045 is '-' in presentation format: the same name to any DNS tool,
	 * and no option to the command's parser. */
	bool dash = zone[0] == '-';
	char *arg = malloc(n + 4);
	if (arg != NULL) {
		snprintf(arg, n + 4, "%s%.*s", dash ? "\\045" : "", (int)(n - dash), zone + dash);
	}
	return arg;
}

/* The command's argv: the configured list, then zone, serial, notifier. */
static char **build_argv(const conf_target_t *t, const exec_event_t *ev, char *zone, char *serial)
{
	/* A list, or one word (checked by the config loader). */
	const ynode_t *cmd = ynode_get(t->node, "command");
	size_t n = cmd == NULL ? 0 : cmd->kind == YNODE_SEQ ? cmd->n : 1;
	char **argv = calloc(n + 4, sizeof(*argv));
	if (argv == NULL || n == 0 || zone == NULL) {
		free(argv);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		argv[i] = cmd->kind == YNODE_SEQ ? cmd->item[i]->value : cmd->value;
	}
	argv[n] = zone;
	argv[n + 1] = serial;
	argv[n + 2] = (char *)ev->primary;
	return argv;
}

/* The NAME=VALUE string of our environment's variable name, or NULL. */
static char *env_find(const char *name)
{
	size_t n = strlen(name);
	for (char **e = environ; *e != NULL; e++) {
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
			return *e;
		}
	}
	return NULL;
}

/* Adds our variable name to env (k entries so far) unless it is there. */
static void env_pass(char **env, size_t *k, const char *name)
{
	char *v = strncmp(name, "ZONESYNC_", 9) != 0 ? env_find(name) : NULL;
	for (size_t i = 0; v != NULL && i < *k; i++) {
		if (env[i] == v) {
			return;
		}
	}
	if (v != NULL) {
		env[(*k)++] = v;
	}
}

/* One NAME=VALUE of ours, malloc'd at ours[*e]. */
static bool put(char **ours, size_t *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool put(char **ours, size_t *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&ours[*e], fmt, ap);
	va_end(ap);
	if (n < 0) {
		ours[*e] = NULL;
		return false;
	}
	(*e)++;
	return true;
}

/*
 * The command's environment, nothing else of ours (credentials are there):
 * PATH, LANG and TZ when we have them, the variables the target's env list
 * names, then the ZONESYNC_ ones, which only we set (malloc'd into ours[],
 * NULL-terminated).
 */
static char **build_env(const conf_target_t *t, const exec_event_t *ev, char *ours[9])
{
	static const char *const always[] = { "PATH", "LANG", "TZ" };
	const ynode_t *list = ynode_get(t->node, "env");
	size_t nlist = list == NULL ? 0 : list->kind == YNODE_SEQ ? list->n : 1;
	size_t k = 0, e = 0;
	char **env = calloc(3 + nlist + 8 + 1, sizeof(*env));
	if (env == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < 3; i++) {
		env_pass(env, &k, always[i]);
	}
	for (size_t i = 0; i < nlist; i++) {
		env_pass(env, &k, list->kind == YNODE_SEQ ? list->item[i]->value : list->value);
	}
	bool ok = put(ours, &e, "ZONESYNC_ZONE=%s", ev->zone) &&
	          put(ours, &e, "ZONESYNC_SERIAL=%u", ev->serial);
	if (ok && ev->has_previous) {
		ok = put(ours, &e, "ZONESYNC_PREVIOUS_SERIAL=%u", ev->previous);
	}
	ok = ok && put(ours, &e, "ZONESYNC_PRIMARY=%s", ev->primary) &&
	     put(ours, &e, "ZONESYNC_TRANSFER=%s", ev->has_counts ? "IXFR" : "AXFR");
	if (ok && ev->has_counts) {
		ok = put(ours, &e, "ZONESYNC_ADDED=%zu", ev->added) &&
		     put(ours, &e, "ZONESYNC_CHANGED=%zu", ev->changed) &&
		     put(ours, &e, "ZONESYNC_DELETED=%zu", ev->deleted);
	}
	if (!ok) {
		free(env);
		return NULL;
	}
	for (size_t i = 0; i < e; i++) {
		env[k++] = ours[i];
	}
	return env;
}

static void keep_tail(exec_result_t *res, char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\0') {
			data[i] = '?'; /* the tail is kept as a string */
		}
	}
	size_t cap = sizeof(res->output) - 1;
	size_t have = strlen(res->output);
	res->output_total += n;
	if (n >= cap) {
		memcpy(res->output, data + n - cap, cap);
		res->output[cap] = '\0';
		return;
	}
	if (have + n > cap) {
		size_t drop = have + n - cap;
		memmove(res->output, res->output + drop, have - drop);
		have -= drop;
	}
	memcpy(res->output + have, data, n);
	res->output[have + n] = '\0';
}

int exec_run(const conf_target_t *t, const exec_event_t *ev, exec_result_t *res, char *err,
             size_t errlen)
{
	memset(res, 0, sizeof(*res));
	long long timeout = conf_target_int(t, "timeout", EXEC_DEFAULT_TIMEOUT);
	char serial[16], *ours[9] = { NULL };
	snprintf(serial, sizeof(serial), "%u", ev->serial);
	char *input = exec_event_json(ev);
	size_t inlen = input != NULL ? strlen(input) : 0;
	char *zone = exec_zone_arg(ev->zone);
	char **argv = build_argv(t, ev, zone, serial);
	char **env = build_env(t, ev, ours);
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int ret = -EIO;
	if (input == NULL || argv == NULL || env == NULL) {
		snprintf(err, errlen, "cannot start the command: out of memory");
		goto out;
	}
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "cannot start the command: %s", strerror(errno));
		goto out;
	}
	pid_t pid;
	double t0 = mono();
	int rc = net_spawn(&pid, argv, env, in[0], out[1], out[1]);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	if (rc != 0) {
		snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(rc));
		goto out;
	}
	/* Feed the summary, read the output, until it exits or time is up. */
	size_t sent = 0;
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	bool out_open = true;
	while (out_open) {
		double left = (double)timeout - (mono() - t0);
		if (left <= 0) {
			res->timed_out = true;
			break;
		}
		struct pollfd p[2] = { { .fd = out[0], .events = POLLIN },
			               { .fd = in[1], .events = POLLOUT } };
		int np = in[1] >= 0 ? 2 : 1;
		int pr = poll(p, (nfds_t)np, (int)(left * 1000) + 1);
		if (pr < 0 && errno != EINTR) {
			break;
		}
		if (np == 2 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(in[1], input + sent, inlen - sent);
			if (w > 0) {
				sent += (size_t)w;
			}
			if (w < 0 || sent == inlen) {
				close(in[1]); /* done, or it does not read: EPIPE is fine */
				in[1] = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char buf[4096];
			ssize_t r = read(out[0], buf, sizeof(buf));
			if (r > 0) {
				keep_tail(res, buf, (size_t)r);
			} else if (r == 0 || errno != EINTR) {
				out_open = false; /* every writer closed it */
			}
		}
	}
	int status = 0;
	if (res->timed_out) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
	} else {
		/* Its output closed: it has exited or soon will; still bounded. */
		while (waitpid(pid, &status, WNOHANG) == 0) {
			if (mono() - t0 > (double)timeout) {
				res->timed_out = true;
				kill(-pid, SIGKILL);
				waitpid(pid, &status, 0);
				break;
			}
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	res->secs = mono() - t0;
	res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (res->timed_out) {
		snprintf(err, errlen, "%s: killed after its timeout of %llds", argv[0], timeout);
		ret = -ETIMEDOUT;
	} else if (res->status != 0) {
		snprintf(err, errlen, "%s: exit status %d", argv[0], res->status);
		ret = -ECHILD;
	} else {
		ret = 0;
	}
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0) {
			close(in[i]);
		}
		if (out[i] >= 0) {
			close(out[i]);
		}
	}
	for (size_t i = 0; ours[i] != NULL; i++) {
		free(ours[i]);
	}
	free(env);
	free(argv);
	free(zone);
	free(input);
	return ret;
}

/* --- the target ------------------------------------------------------------
 *
 * A notifier: nothing to read or write, only a command to run once per new
 * serial (again after a failure: a hook that failed has not seen it). */

struct target {
	const conf_target_t *conf;
	const conf_zone_t *zone;
};

static int exec_open(const conf_target_t *tc, const conf_zone_t *zc, target_t **out,
                     target_stats_t *stats, char *err, size_t errlen)
{
	(void)stats;
	target_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->conf = tc;
	t->zone = zc;
	*out = t;
	return 0;
}

static void exec_close(target_t *t)
{
	free(t);
}

/* The output's last 400 bytes, for a log field (log_value quotes it). */
static const char *output_tail(const exec_result_t *res)
{
	size_t len = strlen(res->output);
	return res->output + (len > 400 ? len - 400 : 0);
}

static int exec_on_serial(target_t *t, const target_push_t *p, const target_opts_t *o,
                          target_stats_t *stats, char *err, size_t errlen)
{
	(void)o;
	exec_event_t ev = { .zone = t->zone->domain,
		            .serial = p->serial,
		            .has_previous = p->has_previous,
		            .previous = p->previous,
		            .primary = p->primary != NULL ? p->primary : "" };
	if (p->diff != NULL) {
		ev.has_counts = true;
		ev.added = p->diff->added;
		ev.changed = p->diff->replaced;
		ev.deleted = p->diff->deleted;
	}
	exec_result_t res;
	char why[512], out[LOG_VALUE_MAX];
	stats->requests++;
	stats->writes++;
	int ret = exec_run(t->conf, &ev, &res, why, sizeof(why));
	const char *output = log_value(out, sizeof(out), output_tail(&res));
	if (ret == 0) {
		log_info("target updated: zone=%s target=%s serial=%u command exit=0 time=%.3fs "
		         "output_bytes=%zu output=%s",
		         t->zone->domain, t->conf->id, p->serial, res.secs, res.output_total,
		         output);
	} else {
		snprintf(err, errlen, "%s output_bytes=%zu output=%s", why, res.output_total,
		         output);
	}
	return ret;
}

static zone_view_rules_t exec_rules(const conf_target_t *tc)
{
	(void)tc;
	return (zone_view_rules_t){ .apex_soa = true, .apex_ns = true };
}

static const target_ops_t OPS = {
	.open = exec_open,
	.close = exec_close,
	.on_serial = exec_on_serial,
	.rules = exec_rules,
};

static const conf_item_t ITEMS[] = {
	{ .name = "command", .type = CONF_STR, .required = true, .list = true, .restart = true,
	  .help = "program and arguments, no shell" },
	{ .name = "timeout", .type = CONF_INT, .min = 1, .max = 86400, .restart = true,
	  .help = "seconds before the command is killed" },
	{ .name = "env", .type = CONF_STR, .list = true, .restart = true,
	  .help = "variables of zonesync's environment passed on to the command" },
	TARGET_ITEM_END,
};

const target_type_t exec_type = { { "exec", ITEMS, "run a command" }, &OPS, NULL };
