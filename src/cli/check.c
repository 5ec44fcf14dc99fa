#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "conf/conf.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: zonesync check [-c FILE]\n\n"
	        "Read and validate the configuration.  Every problem is reported as\n"
	        "FILE:LINE:COLUMN: message on stderr; the exit status is 2 if there is any.\n\n"
	        "  -c, --config FILE   configuration file (default " CONF_DEFAULT_PATH ")\n"
	        "  -h, --help          this text\n");
}

int cli_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONF_DEFAULT_PATH;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "zonesync check: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return CLI_USAGE;
	}
	conf_t conf;
	if (conf_load(&conf, path, stderr) != 0) {
		return CLI_USAGE;
	}
	printf("%s: ok: %zu zone%s, %zu primar%s, %zu target%s, %zu key%s\n", path, conf.nzone,
	       conf.nzone == 1 ? "" : "s", conf.nprimary, conf.nprimary == 1 ? "y" : "ies",
	       conf.ntarget, conf.ntarget == 1 ? "" : "s", conf.nkey, conf.nkey == 1 ? "" : "s");
	conf_free(&conf);
	return CLI_OK;
}
