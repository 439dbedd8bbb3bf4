/* Durations as operators write them: "500ms", "30s", "5m", "1h30m", "7d". */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Parses s into milliseconds. A bare number without a unit is rejected
 * (is "30" seconds or minutes?). Returns 0, -EINVAL for bad syntax, -ERANGE
 * on overflow; *ret_ms is untouched on failure. */
int duration_parse_ms(const char *s, uint64_t *ret_ms);
/* Writes the shortest exact form ("1h30m", "250ms", "0s") into buf. */
const char *duration_format(uint64_t ms, char *buf, size_t n);
