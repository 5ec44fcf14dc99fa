#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "conf/conf.h"
#include "target/target.h"

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
	const char *path;
	int rc = cli_config_args(argc, argv, "check", usage, &path);
	if (rc >= 0) {
		return rc;
	}
	conf_t conf;
	if (conf_load(&conf, path, target_registry, stderr) != 0) {
		return CLI_USAGE;
	}
	printf("%s: ok: %zu zone%s, %zu primar%s, %zu target%s, %zu key%s\n", path, conf.nzone,
	       conf.nzone == 1 ? "" : "s", conf.nprimary, conf.nprimary == 1 ? "y" : "ies",
	       conf.ntarget, conf.ntarget == 1 ? "" : "s", conf.nkey, conf.nkey == 1 ? "" : "s");
	conf_free(&conf);
	return CLI_OK;
}
