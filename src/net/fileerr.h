/*
 * Why a file named in the configuration could not be read, in words that
 * name the cause: missing, or not readable by us (with the file's mode and
 * owner and who we are), else strerror.
 */
#pragma once

#include <stddef.h>

/* The cause of errno e from opening path, in buf; returns buf. */
const char *file_error(const char *path, int e, char *buf, size_t len);
