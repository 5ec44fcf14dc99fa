/* The sync engine against a real store and a zone file target: what one
 * push records and says. */
#include "helpers.h"

#include <fcntl.h>
#include <unistd.h>

#include "conf/conf.h"
#include "obs/log.h"
#include "store/store.h"
#include "sync/engine.h"
#include "target/target.h"

/* The zone at a serial: printf with the serial, then the extra records. */
#define ZONE                                                                                       \
	"$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster %u 7200 3600 1209600 300\n"         \
	"@ NS ns1\nns1 A 192.0.2.1\n%s"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/zonesync-engine-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void load_conf(conf_t *c)
{
	char text[1024];
	snprintf(text, sizeof(text),
	         "server: { listen: [127.0.0.1@5353], state: %s }\n"
	         "primary:\n  - { id: p, address: [192.0.2.1] }\n"
	         "target:\n  - { id: f, type: zonefile, path: \"%s/%%s.zone\" }\n"
	         "zone:\n  - { domain: example.com, primary: p, target: [f] }\n",
	         dir, dir);
	assert_int_equal(
	        conf_load_string(c, "test.yaml", text, strlen(text), target_registry, stderr), 0);
}

static void store_at(store_t *st, uint32_t serial, const char *extra)
{
	char text[512];
	snprintf(text, sizeof(text), ZONE, serial, extra);
	zone_t z;
	char err[256];
	load_ok(&z, text);
	assert_int_equal(store_zone_replace(st, z.apex, &z, err, sizeof(err)), 0);
	zone_free(&z);
}

/* Run f with stderr going to a file; what it wrote (malloc'd). */
static char *captured(void (*f)(void *), void *arg)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/stderr", dir);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	f(arg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	off_t len = lseek(fd, 0, SEEK_END);
	char *text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)len, 0), len);
	close(fd);
	return text;
}

typedef struct {
	engine_zone_t *ez;
	const conf_zone_t *zc;
	engine_result_t r;
} push_t;

static void push(void *arg)
{
	push_t *p = arg;
	engine_opts_t o = { 0 };
	engine_push(p->ez, p->zc, p->zc->target[0], &o, &p->r);
}

/*
 * A target job is handed the serial of the transfer that started it; by
 * the time it reads the snapshot a newer transfer may have committed.  The
 * push then carries the newer data: its log line and the target's recorded
 * serial must say so, not the serial the job was started with.
 */
static void test_serial_is_the_pushed_snapshots(void **state)
{
	(void)state;
	log_init(LOG_TARGET_STDERR, LOG_LEVEL_INFO);
	conf_t c;
	load_conf(&c);
	const conf_zone_t *zc = &c.zone[0];
	store_t *st;
	char err[256];
	assert_int_equal(store_open(dir, &st, err, sizeof(err)), 0);
	store_at(st, 1, "");
	/* Serial 2 commits after the job for serial 1 started. */
	store_at(st, 2, "www A 192.0.2.80\n");

	engine_zone_t ez = { .store = st, .serial = 1 };
	push_t p = { &ez, zc, { 0 } };
	char *log = captured(push, &p);
	assert_int_equal(p.r.ret, 0);
	if (strstr(log, "target synced: zone=example.com. target=f serial=2 ") == NULL) {
		fail_msg("no log line of serial 2 in:\n%s", log);
	}
	free(log);

	store_target_t ts;
	assert_int_equal(store_target_get(st, zc->name, "f", &ts), 0);
	assert_true(ts.has_serial && !ts.dirty);
	assert_int_equal(ts.serial, 2);
	zone_t written;
	char path[128];
	zone_error_t zerr;
	snprintf(path, sizeof(path), "%s/example.com.zone", dir);
	assert_int_equal(zone_load_file(&written, path, NULL, &zerr), 0);
	uint32_t serial = 0;
	assert_int_equal(zone_serial(&written, &serial), 0);
	assert_int_equal(serial, 2);
	zone_free(&written);

	engine_result_free(&p.r);
	engine_zone_free(&ez);
	store_close(st);
	conf_free(&c);
	log_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_serial_is_the_pushed_snapshots, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
