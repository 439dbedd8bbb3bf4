/* Sizes and percentages as operators write them: "1MB", "512KiB", "80%". */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Parses a byte size: a whole number with an optional unit, B, KB/MB/GB/TB
 * (powers of 1000) or KiB/MiB/GiB/TiB (powers of 1024), case-insensitive
 * for the letters, no space needed ("1MB", "1.5 GiB" is rejected: whole
 * numbers only, as in the file sizes they are compared with). Returns 0,
 * -EINVAL for bad syntax, -ERANGE on overflow; *ret untouched on failure. */
int units_parse_bytes(const char *s, uint64_t *ret);
/* Parses a percentage: a number in [0, max] with an optional '%' ("34%",
 * "12.5"); max is 100 but for shares that can pass it (a process's CPU, in
 * percent of one CPU). Returns 0, -EINVAL for bad syntax, -ERANGE outside. */
int units_parse_percent(const char *s, double max, double *ret);
/* Parses a plain non-negative decimal number ("1.5", "2"). Returns 0 or
 * -EINVAL; *ret untouched on failure. */
int units_parse_number(const char *s, double *ret);
/* "1.5 MB"-style text with the shortest sensible precision, into buf. */
const char *units_format_bytes(uint64_t v, char *buf, size_t n);
