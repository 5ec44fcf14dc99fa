/*
 * Logging: one line per event, "LEVEL message key=value...", to stderr (with
 * a UTC timestamp) or syslog.  Safe from any thread.  Never pass a secret.
 */
#pragma once

#include "conf/conf.h"

void log_init(conf_log_target_t target, conf_log_level_t level);
void log_close(void);
/* A new level (a reload); the target stays as log_init set it. */
void log_set_level(conf_log_level_t level);

void log_msg(conf_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(CONF_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(CONF_LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(CONF_LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(CONF_LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(CONF_LOG_ERROR, __VA_ARGS__)
