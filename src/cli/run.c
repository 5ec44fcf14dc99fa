#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli/cli.h"
#include "conf/conf.h"
#include "net/http.h"
#include "net/retry.h"
#include "target/route53/route53.h"
#include "obs/log.h"
#include "sched/sched.h"
#include "xfr/notify.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: zonesync run [-c FILE]\n\n"
	             "Run the daemon in the foreground: take NOTIFY on server.listen, keep\n"
	             "every zone in sync with its primary (SOA checks, IXFR, AXFR, timers)\n"
	             "and push it to its targets.  SIGTERM or SIGINT stops it cleanly.\n\n"
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

struct daemon {
	notify_t *notify;
	sched_t *sched;
	uv_signal_t sigterm, sigint;
	bool stopping;
};

static void on_notify(void *ctx, const conf_zone_t *zone, const struct sockaddr *from)
{
	(void)from;
	struct daemon *d = ctx;
	sched_notify(d->sched, zone);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;
	if (d->stopping) {
		return;
	}
	d->stopping = true;
	log_info("stopping: signal=%s; waiting for running jobs", strsignal(signum));
	notify_close(d->notify);
	sched_stop(d->sched);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
}

int cli_run(int argc, char **argv)
{
	const char *path;
	int rc = cli_config_args(argc, argv, "run", usage, &path);
	if (rc >= 0) {
		return rc;
	}
	conf_t conf;
	if (conf_load(&conf, path, stderr) != 0) {
		return CLI_USAGE;
	}
	log_init(conf.server.log_target, conf.server.log_level);
	signal(SIGPIPE, SIG_IGN);
	http_global_init();
	/* Jobs block in worker threads: a dead primary holds one for its
	 * timeouts.  64 workers let 63 zones wait on dead primaries before a
	 * live one queues; UV_THREADPOOL_SIZE in the environment overrides. */
	setenv("UV_THREADPOOL_SIZE", "64", 0);

	rc = CLI_FAIL;
	char err[512];

	uv_loop_t loop;
	uv_loop_init(&loop);
	struct daemon d = { 0 };
	d.notify = notify_new(&conf, on_notify, &d);
	d.sched = sched_new(&loop, &conf);
	if (d.notify == NULL || d.sched == NULL) {
		log_error("out of memory");
		goto out;
	}
	/* Bind (port 53 needs root), then drop privileges; the state is
	 * first opened by sched_start(), as that user. */
	if (notify_listen(d.notify, &loop, err, sizeof(err)) != 0 ||
	    drop_privileges(conf.server.user, err, sizeof(err)) != 0) {
		log_error("cannot start: %s", err);
		notify_close(d.notify);
		sched_stop(d.sched);
		uv_run(&loop, UV_RUN_DEFAULT);
		goto out;
	}
	uv_signal_init(&loop, &d.sigterm);
	uv_signal_init(&loop, &d.sigint);
	d.sigterm.data = d.sigint.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	if (sched_start(d.sched, err, sizeof(err)) != 0) {
		log_error("cannot start: %s", err);
		on_signal(&d.sigterm, SIGTERM);
		uv_run(&loop, UV_RUN_DEFAULT);
		goto out;
	}
	log_info("started: zones=%zu listen=%zu", conf.nzone, conf.server.nlisten);
	uv_run(&loop, UV_RUN_DEFAULT);
	log_info("stopped");
	rc = CLI_OK;
out:
	uv_loop_close(&loop);
	sched_free(d.sched);
	notify_free(d.notify);
	conf_free(&conf);
	ratelimit_cleanup();
	route53_cleanup();
	http_global_cleanup();
	log_close();
	return rc;
}
