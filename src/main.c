/* zonesync: subcommand dispatch only. */
#include <stdio.h>
#include <signal.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} COMMANDS[] = {
	{ "check", cli_check, "validate the configuration" },
	{ "diff", cli_diff, "compare two zone files" },
	{ "plan", cli_plan, "show what sync would change at each target" },
	{ "run", cli_run, "run the daemon: NOTIFY, transfers, targets" },
	{ "status", cli_status, "zones and targets: serials, state, last errors" },
	{ "sync", cli_sync, "one pass now: primary -> targets" },
	{ "verify", cli_verify, "compare what each target holds (and serves) with the primary" },
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: zonesync COMMAND [ARGS]\n"
	        "       zonesync --version\n\n"
	        "Keeps DNS providers that cannot take zone transfers in sync with a primary.\n\n"
	        "commands:\n");
	for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++) {
		fprintf(out, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
	}
	fprintf(out, "\n'zonesync COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	/* A hook that exits without reading its input, a peer that closes:
	 * an EPIPE to handle, never a signal that kills a pass half-way. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("zonesync %s\n", ZONESYNC_VERSION);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++) {
		if (strcmp(cmd, COMMANDS[i].name) == 0) {
			return COMMANDS[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "zonesync: unknown command '%s'\n", cmd);
	usage(stderr);
	return CLI_USAGE;
}
