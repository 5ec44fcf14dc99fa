#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "cli/cli.h"
#include "cli/control.h"
#include "conf/conf.h"
#include "net/addr.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "sched/daemon.h"
#include "sched/runinfo.h"
#include "sched/sched.h"
#include "sync/sync.h"
#include "target/target.h"
#include "xfr/notify.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: zonesync run [-c FILE]\n\n"
	             "Run the daemon in the foreground: take NOTIFY on server.listen, keep\n"
	             "every zone in sync with its primary (SOA checks, IXFR, AXFR, timers)\n"
	             "and push it to its targets.\n\n"
	             "  SIGHUP            reload the configuration: added zones start, removed\n"
	             "                    ones stop, changed ones restart; the listener and\n"
	             "                    the state stay\n"
	             "  SIGTERM, SIGINT   stop: a push in flight ends after its current\n"
	             "                    request (its target stays dirty), then exit 0\n\n"
	             "Under systemd (Type=notify) it reports READY, RELOADING, STOPPING and\n"
	             "the watchdog.\n\n"
	             "  -c, --config FILE   configuration file (default " CONF_DEFAULT_PATH ")\n"
	             "  -h, --help          this text\n");
}

static int drop_privileges(const char *user, char *err, size_t errlen)
{
	if (user == NULL) {
		return 0;
	}
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, errlen, "server.user: no user '%s'", user);
		return -1;
	}
	if (getuid() == pw->pw_uid) {
		return 0;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "server.user: cannot become '%s': %s", user, strerror(errno));
		return -1;
	}
	log_info("privileges dropped: user=%s uid=%u", user, (unsigned)pw->pw_uid);
	return 0;
}

/* systemd's notification socket, when there is one (no-op otherwise). */
static void sd(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}


struct daemon {
	const char *path;
	notify_t *notify;
	sched_t *sched;
	cli_control_t *control; /* STATE/control: sync asks here */
	metrics_server_t *metrics;
	runinfo_t *info; /* STATE/daemon.json */
	uv_signal_t sigterm, sigint, sighup;
	uv_timer_t watchdog;
	bool has_watchdog;
	bool stopping;
};

static bool on_lookup(void *ctx, const knot_dname_t *qname, const struct sockaddr *from,
                      notify_zone_t *out)
{
	struct daemon *d = ctx;
	return sched_notify_lookup(sched_conf(d->sched), qname, from, out);
}

static notify_source_t on_source(void *ctx, const struct sockaddr *from)
{
	struct daemon *d = ctx;
	return sched_notify_source(sched_conf(d->sched), from);
}

static void on_notify(void *ctx, const void *zone, const struct sockaddr *from)
{
	(void)from;
	struct daemon *d = ctx;
	sched_notify(d->sched, zone);
}

static notify_limits_t notify_limits(const conf_t *c)
{
	return (notify_limits_t){ .rate_limit = c->server.notify_rate_limit,
		                  .tcp_max_clients = c->server.tcp_max_clients,
		                  .tcp_max_per_source = c->server.tcp_max_per_source,
		                  .tcp_idle_timeout = c->server.tcp_idle_timeout,
		                  .tcp_session_timeout = c->server.tcp_session_timeout };
}

static void on_watchdog(uv_timer_t *h)
{
	(void)h;
	sd("WATCHDOG=1");
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;
	if (d->stopping) {
		return;
	}
	d->stopping = true;
	sd("STOPPING=1");
	log_info("stopping: signal=%s; running jobs end after their current request",
	         strsignal(signum));
	notify_close(d->notify);
	cli_control_stop(d->control);
	sched_stop(d->sched);
	/* Closing the handles gives the loop leave to end; a second SIGTERM
	 * (or ^C) while a push finishes must not kill it by the default
	 * action: from now on these signals are ignored. */
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (d->has_watchdog) {
		uv_close((uv_handle_t *)&d->watchdog, NULL);
	}
}

/* Server keys a reload cannot change: the sockets are bound and the
 * privileges dropped.  Warned about, and kept as they are. */
static void warn_restart_keys(const conf_t *old, const conf_t *c)
{
	char keys[16][32];
	size_t n = conf_server_changed(old, c, keys, 16);
	for (size_t i = 0; i < n; i++) {
		log_warning("reload: server.%s changed: it takes effect when zonesync restarts",
		            keys[i]);
	}
}

static void reload(struct daemon *d)
{
	sd("RELOADING=1");
	log_info("reloading: config=%s", d->path);
	const conf_t *old = sched_conf(d->sched);
	conf_t *c = calloc(1, sizeof(*c));
	char *errs = NULL;
	size_t errlen = 0;
	FILE *ef = open_memstream(&errs, &errlen);
	char err[512] = "out of memory";
	int ret = -ENOMEM;
	if (c != NULL && ef != NULL) {
		ret = conf_load(c, d->path, target_registry, ef);
	}
	if (ef != NULL) {
		fclose(ef);
	}
	if (ret != 0) {
		/* Each problem on its own line, as `zonesync check` shows them. */
		for (char *line = errs, *next; line != NULL && *line != '\0'; line = next) {
			next = strchr(line, '\n');
			if (next != NULL) {
				*next++ = '\0';
			}
			log_error("reload failed: %s", line);
		}
		snprintf(err, sizeof(err), "the configuration has errors");
	} else if (strcmp(old->server.state, c->server.state) != 0) {
		snprintf(err, sizeof(err), "server.state changed (%s -> %s): restart zonesync to "
		         "move its state", old->server.state, c->server.state);
		conf_free(c);
		ret = -EINVAL;
	} else {
		warn_restart_keys(old, c);
		sched_reload_t r;
		ret = sched_reload(d->sched, c, &r, err, sizeof(err));
		if (ret == 0) {
			/* old is freed once its last job ends: not read from here. */
			notify_limits_t lim = notify_limits(c);
			notify_set_limits(d->notify, &lim);
			log_set_level(c->server.log_level);
			runinfo_config(d->info, d->path, c->sha256);
			log_info("configuration reloaded: zones=%zu added=%zu removed=%zu "
			         "restarted=%zu unchanged=%zu",
			         c->nzone, r.added, r.removed, r.changed, r.kept);
		} else {
			conf_free(c);
		}
	}
	free(errs);
	if (ret != 0) {
		free(c);
		log_error("reload failed, the running configuration stays: %s", err);
	}
	metrics_add(M_RELOADS, 1, ret == 0 ? "ok" : "failed");
	char ready[96];
	snprintf(ready, sizeof(ready), "READY=1\nSTATUS=%zu zones%s", sched_conf(d->sched)->nzone,
	         ret == 0 ? "" : " (the last reload failed: see the log)");
	sd(ready);
}

/* Everything that needs the starting user: the pid file (first: "already
 * running" is the clearest error), the sockets; then drop privileges,
 * check that the new user can write the state (a daemon that cannot would
 * start, then fail every transfer), and lock it. */
static int bind_all(struct daemon *d, const conf_t *conf, uv_loop_t *loop, char **pid_file,
                    int *lock_fd, char *err, size_t errlen)
{
	if (conf->server.pid_file != NULL) {
		if (daemon_pid_file(conf->server.pid_file, err, errlen) != 0) {
			return -1;
		}
		*pid_file = strdup(conf->server.pid_file);
	}
	if (notify_listen(d->notify, loop, conf->server.listen, conf->server.nlisten, err,
	                  errlen) != 0) {
		return -1;
	}
	if (conf->server.has_metrics &&
	    (d->metrics = metrics_serve(&conf->server.metrics, err, errlen)) == NULL) {
		return -1;
	}
	uid_t euid = geteuid();
	if (drop_privileges(conf->server.user, err, errlen) != 0 ||
	    runinfo_check_state(conf->server.state, err, errlen) != 0) {
		return -1;
	}
	if (geteuid() != euid && *pid_file != NULL) {
		/* Root's directory, which we can no longer write: the file stays,
		 * stale once we are gone. */
		free(*pid_file);
		*pid_file = NULL;
	}
	return daemon_lock(conf->server.state, lock_fd, err, errlen);
}

static void on_hup(uv_signal_t *h, int signum)
{
	(void)signum;
	struct daemon *d = h->data;
	if (!d->stopping) {
		reload(d);
	}
}

int cli_run(int argc, char **argv)
{
	const char *path;
	int rc = cli_config_args(argc, argv, "run", usage, &path);
	if (rc >= 0) {
		return rc;
	}
	conf_t *conf = calloc(1, sizeof(*conf));
	if (conf == NULL || conf_load(conf, path, target_registry, stderr) != 0) {
		free(conf);
		return CLI_USAGE;
	}
	log_init(conf->server.log_target, conf->server.log_level);
	signal(SIGPIPE, SIG_IGN);
	sync_global_init();
	/* Jobs block in worker threads: a dead primary holds one for its
	 * timeouts.  64 workers let 63 zones wait on dead primaries before a
	 * live one queues; UV_THREADPOOL_SIZE in the environment overrides. */
	setenv("UV_THREADPOOL_SIZE", "64", 0);
	metrics_set(M_BUILD_INFO, 1, ZONESYNC_VERSION);
	metrics_set(M_START_TIME, (double)time(NULL));

	rc = CLI_FAIL;
	char err[512];
	char *pid_file = NULL; /* ours to remove at exit */
	int lock_fd = -1;

	uv_loop_t loop;
	uv_loop_init(&loop);
	struct daemon d = { .path = path };
	notify_limits_t lim = notify_limits(conf);
	notify_cb_t cb = {
		.lookup = on_lookup, .accepted = on_notify, .source = on_source, .ctx = &d
	};
	d.notify = notify_new(&lim, &cb);
	d.sched = sched_new(&loop, conf); /* owns conf from here */
	if (d.notify == NULL || d.sched == NULL) {
		log_error("out of memory");
		if (d.sched == NULL) {
			conf_free(conf);
			free(conf);
		}
		goto out;
	}
	/* Bind (port 53 needs root), write the pid file, then drop privileges;
	 * the state is first locked and opened as that user. */
	if (bind_all(&d, conf, &loop, &pid_file, &lock_fd, err, sizeof(err)) != 0 ||
	    (d.control = cli_control_start(&loop, d.sched, conf->server.state, err,
	                                   sizeof(err))) == NULL ||
	    runinfo_open(conf->server.state, &d.info, err, sizeof(err)) != 0) {
		log_error("cannot start: %s", err);
		notify_close(d.notify);
		sched_stop(d.sched);
		uv_run(&loop, UV_RUN_DEFAULT);
		goto out;
	}
	runinfo_config(d.info, path, conf->sha256);
	sched_set_runinfo(d.sched, d.info);
	uv_signal_init(&loop, &d.sigterm);
	uv_signal_init(&loop, &d.sigint);
	uv_signal_init(&loop, &d.sighup);
	d.sigterm.data = d.sigint.data = d.sighup.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sighup, on_hup, SIGHUP);
	if (sched_start(d.sched, err, sizeof(err)) != 0) {
		log_error("cannot start: %s", err);
		on_signal(&d.sigterm, SIGTERM);
		uv_run(&loop, UV_RUN_DEFAULT);
		goto out;
	}
#ifdef HAVE_SYSTEMD
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000) {
		uv_timer_init(&loop, &d.watchdog);
		uv_timer_start(&d.watchdog, on_watchdog, usec / 2000, usec / 2000);
		d.has_watchdog = true;
	}
#endif
	/* conf is the scheduler's, and may be gone: a catalog's stored
	 * members made a new generation at the start. */
	conf = NULL;
	const conf_t *cur = sched_conf(d.sched);
	/* Where it listens, as an operator would connect: "IP@PORT,...". */
	char listen[512] = "-", addr[80];
	size_t used = 0;
	for (size_t i = 0; i < cur->server.nlisten && used < sizeof(listen); i++) {
		used += (size_t)snprintf(listen + used, sizeof(listen) - used, "%s%s",
		                         i > 0 ? "," : "",
		                         net_addr_str(&cur->server.listen[i], addr, sizeof(addr)));
	}
	log_info("started: zones=%zu listen=%s metrics=%s pid=%ld", cur->nzone, listen,
	         d.metrics != NULL ? net_addr_str(&cur->server.metrics, addr, sizeof(addr)) : "no",
	         (long)getpid());
	char ready[64];
	snprintf(ready, sizeof(ready), "READY=1\nSTATUS=%zu zones", cur->nzone);
	sd(ready);
	uv_run(&loop, UV_RUN_DEFAULT);
	log_info("stopped");
	rc = CLI_OK;
out:
	metrics_server_stop(d.metrics);
	uv_loop_close(&loop);
	cli_control_free(d.control);
	sched_free(d.sched);
	notify_free(d.notify);
	if (pid_file != NULL && unlink(pid_file) != 0 && errno != ENOENT) {
		log_notice("cannot remove the pid file: path=%s error=%s", LOGV(pid_file),
		           LOGV(strerror(errno)));
	}
	free(pid_file);
	runinfo_close(d.info); /* while the lock is held: no other daemon's file */
	if (lock_fd >= 0) {
		close(lock_fd);
	}
	metrics_cleanup();
	sync_global_cleanup();
	log_close();
	return rc;
}
