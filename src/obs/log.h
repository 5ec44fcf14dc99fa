/*
 * Logging: one line per event, "LEVEL message key=value...", to stderr (with
 * a UTC timestamp) or syslog.  Safe from any thread.  Never pass a secret.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum { LOG_TARGET_STDERR, LOG_TARGET_SYSLOG } log_target_t;
typedef enum {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_ERROR
} log_level_t;

void log_init(log_target_t target, log_level_t level);
void log_close(void);
/* A new level (a reload); the target stays as log_init set it. */
void log_set_level(log_level_t level);

/* Text from outside (a provider's error message or body) made safe to store,
 * log and print: each byte below 0x20 and 0x7f becomes '?', in place, so an
 * endpoint's ANSI escapes or newlines never reach a terminal or a log line.
 * Returns s. */
char *log_printable(char *s);

/* A line without its end (progress on a terminal) is on stderr: the next
 * log line there clears it first, then this is false again. */
void log_line_open(bool open);

void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

/*
 * A logfmt value: s itself when it needs no quotes, else s in double quotes
 * with '"' and '\' escaped and control bytes as \n, \t or \xHH, cut to fit
 * buf.  For text from outside (errors from servers, a command's output,
 * names from packets): "error=%s", log_value(buf, sizeof(buf), err).
 */
const char *log_value(char *buf, size_t size, const char *s);
/* log_value into a buffer that lives as long as the enclosing block. */
#define LOG_VALUE_MAX 1024
#define LOGV(s) log_value((char[LOG_VALUE_MAX]){ 0 }, LOG_VALUE_MAX, (s))
