/* libFuzzer target: the util parsers that read operator and API input,
 * duration_parse_ms (config intervals) and clock_parse_time (?since=,
 * ?until=). Besides not crashing, checks the round trips that must hold:
 * a parsed duration formats and parses back to itself, and so does any
 * 64-bit duration (the input's first 8 bytes); a parsed time is in range
 * and formats (RFC 3339) and parses back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util/clock.h"
#include "util/duration.h"

/* 9999-12-31T23:59:59.999Z, the last instant a 4-digit year can name; a
 * UTC offset moves a time in that year at most a day past it. */
#define MAX_TIME_MS 253402300799999ull
#define MAX_OFFSET_MS (24ull * 3600 * 1000)
#define UNTOUCHED 12345u

static void check_duration_round_trip(uint64_t ms)
{
    char buf[64];
    uint64_t back = ~ms;

    duration_format(ms, buf, sizeof(buf));
    CHECK(duration_parse_ms(buf, &back) == 0);
    CHECK(back == ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t ms, back, raw = 0;
    char *s;

    s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';

    ms = UNTOUCHED;
    if (duration_parse_ms(s, &ms) == 0)
        check_duration_round_trip(ms);
    else
        CHECK(ms == UNTOUCHED);

    memcpy(&raw, data, size < sizeof(raw) ? size : sizeof(raw));
    check_duration_round_trip(raw);

    ms = UNTOUCHED;
    if (clock_parse_time(s, &ms) == 0) {
        char buf[64];

        CHECK(ms <= MAX_TIME_MS + MAX_OFFSET_MS);
        if (ms <= MAX_TIME_MS) {
            clock_format_rfc3339(ms, buf, sizeof(buf));
            back = ~ms;
            CHECK(clock_parse_time(buf, &back) == 0);
            CHECK(back == ms);
        }
    } else {
        CHECK(ms == UNTOUCHED);
    }

    free(s);
    return 0;
}
