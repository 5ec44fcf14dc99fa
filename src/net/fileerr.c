#include "net/fileerr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *file_error(const char *path, int e, char *buf, size_t len)
{
	struct stat st;
	if (e == ENOENT || e == ENOTDIR) {
		snprintf(buf, len, "no such file");
	} else if (e == EACCES && stat(path, &st) == 0) {
		snprintf(buf, len,
		         "permission denied: mode %04o, owner %u, group %u; we run as uid %u, "
		         "gid %u",
		         (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid,
		         (unsigned)geteuid(), (unsigned)getegid());
	} else if (e == EACCES) {
		snprintf(buf, len, "permission denied on a directory of its path (uid %u, gid %u)",
		         (unsigned)geteuid(), (unsigned)getegid());
	} else {
		snprintf(buf, len, "%s", strerror(e));
	}
	return buf;
}
