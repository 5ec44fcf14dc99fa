/* zonesync plan: what sync would change, against the live records. */
#include "cli/cli.h"
#include "cli/pass.h"
#include "conf/conf.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: zonesync plan [-c FILE] [--json] [--target ID] [ZONE...]\n\n"
	             "What sync would change: brings the local copy of each zone up to date\n"
	             "from its primary, reads the live records of every target and prints,\n"
	             "per target, + (add), ~ (update, with old and new records) and - (delete)\n"
	             "per RRset, the record types the target cannot hold, the record sets it\n"
	             "leaves alone (by name), and a summary; a zonefile target's file is\n"
	             "compared like a provider, an exec target says whether it would run.\n"
	             "Writes nothing to any provider.  All zones when none named.\n\n"
	             "  -c, --config FILE   configuration file (default " CONF_DEFAULT_PATH ")\n"
	             "  -j, --json          one JSON object on stdout (see zonesync(8))\n"
	             "  -t, --target ID     only this target\n"
	             "  -h, --help          this text\n\n"
	             "exit status: 0 no changes, 3 changes to make, 1 a target or primary\n"
	             "could not be read, 2 usage or config error.\n");
}

int cli_plan(int argc, char **argv)
{
	return cli_pass(argc, argv, PASS_PLAN, usage);
}
