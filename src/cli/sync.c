/* zonesync sync: one pass now, as the daemon would do it. */
#include "cli/cli.h"
#include "cli/pass.h"
#include "conf/conf.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: zonesync sync [-c FILE] [--full] [--force] [--dry-run] [--wait] "
	        "[--target ID] [ZONE...]\n\n"
	        "One pass now, as the daemon would do it: check each zone's primary,\n"
	        "transfer what changed (IXFR, else AXFR), then bring every target up to\n"
	        "date.  A target that is clean and at the previous serial gets just what\n"
	        "changed; one already at the current serial is left alone (--full reads\n"
	        "it); any other is read and diffed.  One line per zone and target,\n"
	        "every kind included.  All zones when none named.\n\n"
	        "One writer per state directory: while a daemon runs on it, the daemon\n"
	        "runs the pass (asked over STATE/control) and its result is printed\n"
	        "here; with none, this pass holds STATE/daemon.lock.  --dry-run only\n"
	        "reads, as plan does.\n\n"
	        "  -c, --config FILE   configuration file (default " CONF_DEFAULT_PATH ")\n"
	        "  -F, --full          read every target's live records and repair what\n"
	        "                      differs (drift), whatever the state says\n"
	        "  -f, --force         apply even over max-delete / max-update\n"
	        "  -n, --dry-run       print what would change (as plan does), change nothing\n"
	        "  -w, --wait          wait until the provider reports the changes live\n"
	        "  -t, --target ID     only this target\n"
	        "  -h, --help          this text\n\n"
	        "A push refused by a safety limit is not tried again at the same serial\n"
	        "(not by the daemon either) until a newer serial, --force or --full.\n\n"
	        "exit status: 0 every target in sync, 1 a target failed or was refused\n"
	        "by a safety limit (or the primary did not answer), 2 usage or config error.\n");
}

int cli_sync(int argc, char **argv)
{
	return cli_pass(argc, argv, PASS_SYNC, usage);
}
