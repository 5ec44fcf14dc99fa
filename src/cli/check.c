#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "conf/conf.h"
#include "net/fileerr.h"
#include "target/target.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: zonesync check [-c FILE]\n\n"
	        "Read and validate the configuration.  Every problem is reported as\n"
	        "FILE:LINE:COLUMN: message on stderr; the exit status is 2 if there is any.\n"
	        "With server.user set, the user must exist and be able to read each file\n"
	        "the configuration names for the daemon to read.  Then each target says\n"
	        "what it can of itself without changing anything (a route53 target: where\n"
	        "its AWS credentials come from, or every source tried and why each failed);\n"
	        "a problem there is a warning, as the daemon's environment may differ.\n\n"
	        "  -c, --config FILE   configuration file (default " CONF_DEFAULT_PATH ")\n"
	        "  -h, --help          this text\n");
}

/* Do st's mode bits let pw read it (directories aside)? */
static bool mode_allows(const struct passwd *pw, const struct stat *st)
{
	if (st->st_uid == pw->pw_uid) {
		return st->st_mode & S_IRUSR;
	}
	gid_t groups[256];
	int n = sizeof(groups) / sizeof(groups[0]);
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0) {
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		if (groups[i] == st->st_gid) {
			return st->st_mode & S_IRGRP;
		}
	}
	return st->st_mode & S_IROTH;
}

/* 0 when pw may open path for reading, else its errno.  Root asks as pw
 * from a child (access() would say yes to root for anything); another
 * user can only be itself, and otherwise judges by the file's mode. */
static int readable_by(const struct passwd *pw, const char *path)
{
	if (pw->pw_uid == geteuid()) {
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		int e = fd < 0 ? errno : 0;
		if (fd >= 0) {
			close(fd);
		}
		return e;
	}
	if (geteuid() != 0) {
		struct stat st;
		if (stat(path, &st) != 0) {
			return errno;
		}
		return mode_allows(pw, &st) ? 0 : EACCES;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		return errno;
	}
	if (pid == 0) {
		if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
		    setuid(pw->pw_uid) != 0) {
			_exit(255);
		}
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		_exit(fd < 0 ? (errno < 255 ? errno : EIO) : 0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			return errno;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 255) {
		return EPERM; /* could not become the user */
	}
	return WEXITSTATUS(status);
}

/* One file the configuration names at n: path (relative to dir when dir
 * is not NULL) must be readable by pw.  0, or 1 with the problem printed. */
static int check_file(const conf_t *conf, const struct passwd *pw, const ynode_t *n,
                      const char *dir, const char *key)
{
	if (n == NULL || n->kind != YNODE_SCALAR) {
		return 0;
	}
	char path[4096];
	if (dir != NULL && n->value[0] != '/') {
		snprintf(path, sizeof(path), "%s/%s", dir, n->value);
	} else {
		snprintf(path, sizeof(path), "%s", n->value);
	}
	int e = readable_by(pw, path);
	if (e == 0) {
		return 0;
	}
	char cause[160];
	if (e == EACCES) {
		struct stat st;
		if (stat(path, &st) == 0 && !mode_allows(pw, &st)) {
			snprintf(cause, sizeof(cause), "mode %04o, owner %u, group %u",
			         (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
			         (unsigned)st.st_gid);
		} else {
			snprintf(cause, sizeof(cause), "a directory of its path is closed to it");
		}
	} else {
		file_error(path, e, cause, sizeof(cause));
	}
	fprintf(stderr, "%s:%u:%u: %s '%s': not readable by server.user '%s' (uid %u, gid %u): %s\n",
	        conf->path, n->line, n->col, key, path, pw->pw_name, (unsigned)pw->pw_uid,
	        (unsigned)pw->pw_gid, cause);
	return 1;
}

/* server.user: it exists, and can read every file the daemon reads (at
 * start, after it became that user, and on each reload).  The count of
 * problems, each printed as FILE:LINE:COLUMN. */
static int check_user(const conf_t *conf)
{
	const ynode_t *un = ynode_get(ynode_get(conf->root, "server"), "user");
	if (conf->server.user == NULL) {
		return 0;
	}
	errno = 0;
	struct passwd *found = getpwnam(conf->server.user);
	if (found == NULL) {
		fprintf(stderr, "%s:%u:%u: server.user: no user '%s'%s%s\n", conf->path,
		        un != NULL ? un->line : 1, un != NULL ? un->col : 1, conf->server.user,
		        errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		return 1;
	}
	struct passwd pw = *found;
	pw.pw_name = strdup(found->pw_name);
	char *dir = strdup(conf->path);
	if (pw.pw_name == NULL || dir == NULL) {
		free(pw.pw_name);
		free(dir);
		fprintf(stderr, "%s: out of memory\n", conf->path);
		return 1;
	}
	char *slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
	}
	const char *keydir = slash != NULL ? (dir[0] != '\0' ? dir : "/") : NULL;
	int bad = 0;
	const ynode_t *keys = ynode_get(conf->root, "key");
	for (size_t i = 0; keys != NULL && keys->kind == YNODE_SEQ && i < keys->n; i++) {
		for (const conf_item_t *it = conf_key_items; it->name != NULL; it++) {
			if (it->reads) {
				bad += check_file(conf, &pw, ynode_get(keys->item[i], it->name),
				                  keydir, it->name);
			}
		}
	}
	for (size_t i = 0; i < conf->ntarget; i++) {
		const conf_target_t *tc = &conf->target[i];
		for (const conf_item_t *it = tc->type->items; it->name != NULL; it++) {
			if (it->reads) {
				bad += check_file(conf, &pw, ynode_get(tc->node, it->name), NULL,
				                  it->name);
			}
		}
	}
	free(pw.pw_name);
	free(dir);
	return bad;
}

/* What each target can say of itself (its credentials), as the daemon
 * would find it: as server.user when we are root and it is set.  A
 * problem is a warning: the daemon's environment (a systemd unit, an
 * instance role) may hold what ours lacks. */
static void probe_all(const conf_t *conf)
{
	for (size_t i = 0; i < conf->ntarget; i++) {
		const conf_target_t *tc = &conf->target[i];
		if (target_ops(tc)->probe == NULL) {
			continue;
		}
		char msg[4096];
		if (target_ops(tc)->probe(tc, msg, sizeof(msg)) == 0) {
			printf("target %s: %s\n", tc->id, msg);
		} else {
			fprintf(stderr, "warning: target %s: %s\n", tc->id, msg);
		}
	}
	fflush(NULL);
}

static void probe_targets(const conf_t *conf)
{
	struct passwd *pw = conf->server.user != NULL ? getpwnam(conf->server.user) : NULL;
	if (pw == NULL || geteuid() != 0 || pw->pw_uid == 0) {
		probe_all(conf);
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
		    setuid(pw->pw_uid) != 0) {
			fprintf(stderr, "warning: cannot become server.user '%s' to look for "
			                "credentials: %s\n",
			        pw->pw_name, strerror(errno));
			_exit(1);
		}
		printf("as server.user %s:\n", pw->pw_name);
		probe_all(conf);
		_exit(0);
	}
	while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
	}
}

/* Two hosts fence each push with the provider's SOA serial, which a target
 * holds only with soa-serial: mirror: without it, one host may move the
 * provider back to an older serial, or undo the other's change. */
static void check_instances(const conf_t *conf)
{
	if (conf->server.instances <= 1) {
		return;
	}
	for (size_t i = 0; i < conf->ntarget; i++) {
		const conf_target_t *tc = &conf->target[i];
		if (target_unfenced(tc)) {
			fprintf(stderr,
			        "warning: target %s: server.instances is %u but its soa-serial is "
			        "not mirror: its pushes are not fenced by the provider's SOA serial, "
			        "so one host may move it back to an older serial or undo another "
			        "host's change; set soa-serial: mirror\n",
			        tc->id, conf->server.instances);
		}
	}
}

int cli_check(int argc, char **argv)
{
	const char *path;
	int rc = cli_config_args(argc, argv, "check", usage, &path);
	if (rc >= 0) {
		return rc;
	}
	conf_t conf;
	if (conf_load(&conf, path, target_registry, stderr) != 0) {
		return CLI_USAGE;
	}
	if (check_user(&conf) != 0) {
		conf_free(&conf);
		return CLI_USAGE;
	}
	printf("%s: ok: %zu zone%s, %zu primar%s, %zu target%s, %zu key%s", path, conf.nzone,
	       conf.nzone == 1 ? "" : "s", conf.nprimary, conf.nprimary == 1 ? "y" : "ies",
	       conf.ntarget, conf.ntarget == 1 ? "" : "s", conf.nkey, conf.nkey == 1 ? "" : "s");
	/* The catalogs' zones are among the zones counted; their members
	 * are known only to the daemon. */
	if (conf.ncatalog > 0) {
		printf(", %zu catalog%s", conf.ncatalog, conf.ncatalog == 1 ? "" : "s");
	}
	printf("\n");
	check_instances(&conf);
	probe_targets(&conf);
	conf_free(&conf);
	return CLI_OK;
}
