#include "obs/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

/* The logger is one of the two pieces of global state DESIGN.md allows. */
static log_target_t log_target = LOG_TARGET_STDERR;
static log_level_t log_level = LOG_LEVEL_INFO;
static atomic_bool line_open;

static const char *const NAMES[] = { "debug", "info", "notice", "warning", "error" };
static const int SYSLOG_LEVEL[] = { LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR };

void log_init(log_target_t target, log_level_t level)
{
	log_target = target;
	log_level = level;
	if (target == LOG_TARGET_SYSLOG) {
		openlog("zonesync", LOG_PID, LOG_DAEMON);
	}
}

void log_set_level(log_level_t level)
{
	log_level = level;
}

char *log_printable(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			*p = '?';
		}
	}
	return s;
}

void log_line_open(bool open)
{
	atomic_store(&line_open, open);
}

void log_close(void)
{
	if (log_target == LOG_TARGET_SYSLOG) {
		closelog();
	}
}

const char *log_value(char *buf, size_t size, const char *s)
{
	if (s == NULL) {
		return "-";
	}
	bool plain = *s != '\0';
	for (const char *p = s; plain && *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		plain = c > 0x20 && c != 0x7f && c != '"' && c != '=' && c != '\\';
	}
	if (plain || size < 3) {
		return s;
	}
	/* Room for the closing quote and the NUL; an escape is never split. */
	size_t o = 0;
	buf[o++] = '"';
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		char esc[5];
		if (c == '"' || c == '\\') {
			snprintf(esc, sizeof(esc), "\\%c", c);
		} else if (c == '\n') {
			memcpy(esc, "\\n", 3);
		} else if (c == '\t') {
			memcpy(esc, "\\t", 3);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		} else {
			esc[0] = (char)c;
			esc[1] = '\0';
		}
		size_t n = strlen(esc);
		if (o + n + 2 > size) {
			break;
		}
		memcpy(buf + o, esc, n);
		o += n;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

void log_msg(log_level_t level, const char *fmt, ...)
{
	if (level < log_level) {
		return;
	}
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One event, one line: a newline or other control character inside a
	 * value (an error text from a server, say) is shown as '?'. */
	for (char *p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*p = '?';
		}
	}
	if (log_target == LOG_TARGET_SYSLOG) {
		syslog(SYSLOG_LEVEL[level], "%s", msg);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	/* One fprintf per line: stdio locks the stream, lines never mix. */
	fprintf(stderr, "%s%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s\n",
	        atomic_exchange(&line_open, false) ? "\r\033[K" : "", tm.tm_year + 1900,
	        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
	        NAMES[level], msg);
}
