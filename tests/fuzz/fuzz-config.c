/* libFuzzer target: conf_load_string on arbitrary bytes. Whatever the
 * input, the load must not crash or leak, a success must give a config
 * whose lookups work, and a failure must leave *ret_conf alone and say why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct conf_diags diags = { 0 };
    struct conf *conf = NULL;
    char *text;
    int r;

    /* The loader takes a length, but a NUL-terminated copy of exactly size
     * bytes (plus the NUL) lets ASan catch reads past either. */
    text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';

    r = conf_load_string("fuzz.yaml", text, size, &conf, &diags);
    if (r >= 0) {
        CHECK(conf);
        for (size_t i = 0; i < conf->n_monitors; i++) {
            const struct conf_monitor *m = &conf->monitors[i];

            CHECK(conf_find_monitor(conf, m->name) == m);
            CHECK(conf_monitor_equal(m, m));
            if (m->type == CONF_MON_HEARTBEAT)
                CHECK(conf_find_heartbeat(conf, m->token) == m);
        }
        for (size_t i = 0; i < conf->n_receivers; i++)
            CHECK(conf_find_receiver(conf, conf->receivers[i].name) == &conf->receivers[i]);
        for (size_t i = 0; i < conf->n_policies; i++)
            CHECK(conf_find_policy(conf, conf->policies[i].name) == &conf->policies[i]);
        conf = conf_free(conf);
    } else {
        CHECK(!conf);
        CHECK(diags.n > 0 || diags.dropped > 0);
    }
    conf_diags_free(&diags);
    free(text);
    return 0;
}
