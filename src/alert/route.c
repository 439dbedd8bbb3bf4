/* Alert routing and grouping, Alertmanager semantics, no I/O and no clock:
 * see route.h for the contract. */
#include "alert/route.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv_add(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* The string with its NUL: the separator makes "a","bc" differ from "ab","c". */
static uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv_add(h, s, strlen(s) + 1);
}

static bool label_name_valid(const char *s)
{
    if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

/* ---- label sets ---- */

void alert_labels_init(struct alert_labels *ls)
{
    memset(ls, 0, sizeof(*ls));
}

void alert_labels_clear(struct alert_labels *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        free(ls->v[i].name);
        free(ls->v[i].value);
    }
    free(ls->v);
    alert_labels_init(ls);
}

/* Index of name, or of where it would go (with *found false). */
static size_t labels_find(const struct alert_labels *ls, const char *name, bool *found)
{
    size_t lo = 0, hi = ls->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ls->v[mid].name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

int alert_labels_set(struct alert_labels *ls, const char *name, const char *value)
{
    bool found;
    size_t i;

    if (!label_name_valid(name) || !value)
        return -EINVAL;
    i = labels_find(ls, name, &found);
    if (!*value) {
        if (found) {
            free(ls->v[i].name);
            free(ls->v[i].value);
            memmove(&ls->v[i], &ls->v[i + 1], (ls->n - i - 1) * sizeof(ls->v[0]));
            ls->n--;
        }
        return 0;
    }
    if (found) {
        free(ls->v[i].value);
        ls->v[i].value = xstrdup(value);
        return 0;
    }
    if (ls->n >= ALERT_MAX_LABELS)
        return -E2BIG;
    xgrow((void **)&ls->v, &ls->cap, ls->n + 1, sizeof(ls->v[0]));
    memmove(&ls->v[i + 1], &ls->v[i], (ls->n - i) * sizeof(ls->v[0]));
    ls->v[i].name = xstrdup(name);
    ls->v[i].value = xstrdup(value);
    ls->n++;
    return 0;
}

const char *alert_labels_get(const struct alert_labels *ls, const char *name)
{
    bool found;
    size_t i = labels_find(ls, name, &found);

    return found ? ls->v[i].value : NULL;
}

void alert_labels_copy(struct alert_labels *dst, const struct alert_labels *src)
{
    if (dst == src)
        return;
    alert_labels_clear(dst);
    if (!src->n)
        return;
    xgrow((void **)&dst->v, &dst->cap, src->n, sizeof(dst->v[0]));
    for (size_t i = 0; i < src->n; i++) {
        dst->v[i].name = xstrdup(src->v[i].name);
        dst->v[i].value = xstrdup(src->v[i].value);
    }
    dst->n = src->n;
}

static uint64_t labels_hash(uint64_t h, const struct alert_labels *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        h = fnv_str(h, ls->v[i].name);
        h = fnv_str(h, ls->v[i].value);
    }
    return h;
}

uint64_t alert_labels_fingerprint(const struct alert_labels *ls)
{
    return labels_hash(FNV_OFFSET, ls);
}

/* ---- route tree ---- */

struct matcher {
    char *name;
    char *value;
    enum alert_match_op op;
    bool has_re;
    regex_t re;
};

struct alert_route {
    struct alert_route *parent;
    size_t index; /* among the parent's children: the route's stable identity */
    struct alert_route **children;
    size_t n_children, cap_children;

    struct matcher *matchers;
    size_t n_matchers, cap_matchers;
    bool cont;

    /* NULL / ALERT_INHERIT / !group_by_set: take the parent's */
    char *receiver;
    uint64_t group_wait_ms, group_interval_ms, repeat_interval_ms;
    bool group_by_set;
    bool group_by_all;
    char **group_by;
    size_t n_group_by;
};

struct alert_route *alert_route_new(void)
{
    struct alert_route *r = xcalloc(1, sizeof(*r));

    r->group_wait_ms = ALERT_INHERIT;
    r->group_interval_ms = ALERT_INHERIT;
    r->repeat_interval_ms = ALERT_INHERIT;
    return r;
}

static void group_by_free(struct alert_route *r)
{
    for (size_t i = 0; i < r->n_group_by; i++)
        free(r->group_by[i]);
    free(r->group_by);
    r->group_by = NULL;
    r->n_group_by = 0;
}

struct alert_route *alert_route_free(struct alert_route *r)
{
    if (!r)
        return NULL;
    for (size_t i = 0; i < r->n_children; i++)
        alert_route_free(r->children[i]);
    free(r->children);
    for (size_t i = 0; i < r->n_matchers; i++) {
        free(r->matchers[i].name);
        free(r->matchers[i].value);
        if (r->matchers[i].has_re)
            regfree(&r->matchers[i].re);
    }
    free(r->matchers);
    free(r->receiver);
    group_by_free(r);
    free(r);
    return NULL;
}

void alert_route_add_child(struct alert_route *parent, struct alert_route *child)
{
    xgrow((void **)&parent->children, &parent->cap_children, parent->n_children + 1,
          sizeof(struct alert_route *));
    child->parent = parent;
    child->index = parent->n_children;
    parent->children[parent->n_children++] = child;
}

void alert_route_set_receiver(struct alert_route *r, const char *receiver)
{
    free(r->receiver);
    r->receiver = xstrdup(receiver);
}

void alert_route_set_continue(struct alert_route *r, bool cont)
{
    r->cont = cont;
}

void alert_route_set_timers(struct alert_route *r, uint64_t group_wait_ms,
                            uint64_t group_interval_ms, uint64_t repeat_interval_ms)
{
    r->group_wait_ms = group_wait_ms;
    r->group_interval_ms = group_interval_ms;
    r->repeat_interval_ms = repeat_interval_ms;
}

int alert_route_set_group_by(struct alert_route *r, const char *const *names, size_t n,
                             struct opsd_error *err)
{
    bool all = false;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], "...") == 0)
            all = true;
        else if (!label_name_valid(names[i]))
            return opsd_errorf(err, -EINVAL, "invalid label name '%s' in group_by", names[i]);
    }
    if (all && n != 1)
        return opsd_errorf(err, -EINVAL, "group_by '...' must be the only entry");

    group_by_free(r);
    r->group_by_set = true;
    r->group_by_all = all;
    if (all || !n)
        return 0;
    r->group_by = xcalloc(n, sizeof(r->group_by[0]));
    for (size_t i = 0; i < n; i++)
        r->group_by[i] = xstrdup(names[i]);
    r->n_group_by = n;
    return 0;
}

int alert_route_add_matcher(struct alert_route *r, const char *name, enum alert_match_op op,
                            const char *value, struct opsd_error *err)
{
    struct matcher m = { .op = op };

    if (!label_name_valid(name))
        return opsd_errorf(err, -EINVAL, "invalid label name '%s' in matcher", name ? name : "");
    if (!value)
        return opsd_errorf(err, -EINVAL, "matcher on '%s' has no value", name);
    if (op == ALERT_MATCH_RE || op == ALERT_MATCH_NRE) {
        /* Alertmanager anchors as ^(?:re)$; ERE has no (?:), and a plain
         * group only adds a submatch we never read. */
        _cleanup_free_ char *anchored = xasprintf("^(%s)$", value);
        int rc = regcomp(&m.re, anchored, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char buf[256];
            regerror(rc, &m.re, buf, sizeof(buf));
            return opsd_errorf(err, -EINVAL, "invalid regex '%s' for label '%s': %s", value, name,
                               buf);
        }
        m.has_re = true;
    } else if (op != ALERT_MATCH_EQ && op != ALERT_MATCH_NE) {
        return opsd_errorf(err, -EINVAL, "unknown matcher operator %d", (int)op);
    }
    m.name = xstrdup(name);
    m.value = xstrdup(value);
    xgrow((void **)&r->matchers, &r->cap_matchers, r->n_matchers + 1, sizeof(r->matchers[0]));
    r->matchers[r->n_matchers++] = m;
    return 0;
}

const char *alert_route_receiver(const struct alert_route *r)
{
    for (; r; r = r->parent)
        if (r->receiver)
            return r->receiver;
    return NULL;
}

static uint64_t inherit_timer(const struct alert_route *r, size_t off, uint64_t def)
{
    for (; r; r = r->parent) {
        uint64_t v = *(const uint64_t *)((const char *)r + off);
        if (v != ALERT_INHERIT)
            return v;
    }
    return def;
}

void alert_route_timers(const struct alert_route *r, struct alert_route_timers *ret)
{
    ret->group_wait_ms =
        inherit_timer(r, offsetof(struct alert_route, group_wait_ms), ALERT_DEFAULT_GROUP_WAIT_MS);
    ret->group_interval_ms = inherit_timer(r, offsetof(struct alert_route, group_interval_ms),
                                           ALERT_DEFAULT_GROUP_INTERVAL_MS);
    ret->repeat_interval_ms = inherit_timer(r, offsetof(struct alert_route, repeat_interval_ms),
                                            ALERT_DEFAULT_REPEAT_INTERVAL_MS);
}

bool alert_route_continue(const struct alert_route *r)
{
    return r->cont;
}

/* The route that decides r's group_by: r or its nearest ancestor setting it. */
static const struct alert_route *group_by_owner(const struct alert_route *r)
{
    for (; r; r = r->parent)
        if (r->group_by_set)
            return r;
    return NULL;
}

static int validate(const struct alert_route *r, struct opsd_error *err)
{
    struct alert_route_timers t;
    int ret;

    alert_route_timers(r, &t);
    if (t.group_interval_ms == 0)
        return opsd_errorf(err, -EINVAL, "group_interval must be above 0 (route receiver '%s')",
                           alert_route_receiver(r));
    if (t.repeat_interval_ms == 0)
        return opsd_errorf(err, -EINVAL, "repeat_interval must be above 0 (route receiver '%s')",
                           alert_route_receiver(r));
    for (size_t i = 0; i < r->n_children; i++) {
        ret = validate(r->children[i], err);
        if (ret < 0)
            return ret;
    }
    return 0;
}

int alert_route_validate(const struct alert_route *root, struct opsd_error *err)
{
    if (!root->receiver)
        return opsd_errorf(err, -EINVAL, "the root route must name a receiver");
    if (root->n_matchers)
        return opsd_errorf(err, -EINVAL, "the root route must not have matchers");
    return validate(root, err);
}

static bool matcher_holds(const struct matcher *m, const struct alert_labels *ls)
{
    const char *v = alert_labels_get(ls, m->name);

    if (!v)
        v = "";
    switch (m->op) {
    case ALERT_MATCH_EQ:
        return strcmp(v, m->value) == 0;
    case ALERT_MATCH_NE:
        return strcmp(v, m->value) != 0;
    case ALERT_MATCH_RE:
        return regexec(&m->re, v, 0, NULL, 0) == 0;
    case ALERT_MATCH_NRE:
        return regexec(&m->re, v, 0, NULL, 0) != 0;
    }
    return false;
}

static bool route_matches(const struct alert_route *r, const struct alert_labels *ls)
{
    for (size_t i = 0; i < r->n_matchers; i++)
        if (!matcher_holds(&r->matchers[i], ls))
            return false;
    return true;
}

bool alert_route_matchers_hold(const struct alert_route *r, const struct alert_labels *ls)
{
    return route_matches(r, ls);
}

/* Alertmanager's Route.Match: returns how many routes under r took the
 * alert (0 when r itself does not match), writing those that fit. */
static size_t walk(const struct alert_route *r, const struct alert_labels *ls,
                   const struct alert_route **out, size_t max, size_t n)
{
    size_t start = n;

    for (size_t i = 0; i < r->n_children; i++) {
        const struct alert_route *c = r->children[i];
        size_t got;

        if (!route_matches(c, ls))
            continue;
        got = walk(c, ls, out, max, n);
        n += got;
        if (got && !c->cont)
            break;
    }
    if (n == start) {
        if (n < max)
            out[n] = r;
        n++;
    }
    return n - start;
}

size_t alert_route_match(const struct alert_route *root, const struct alert_labels *ls,
                         const struct alert_route **out, size_t max)
{
    /* The root takes everything: Alertmanager forbids matchers on it. */
    return walk(root, ls, out, max, 0);
}

/* ---- groups ---- */

void alert_route_group_labels(const struct alert_route *r, const struct alert_labels *ls,
                              struct alert_labels *ret)
{
    const struct alert_route *owner = group_by_owner(r);

    alert_labels_clear(ret);
    if (!owner)
        return;
    if (owner->group_by_all) {
        alert_labels_copy(ret, ls);
        return;
    }
    for (size_t i = 0; i < owner->n_group_by; i++) {
        const char *v = alert_labels_get(ls, owner->group_by[i]);
        if (v)
            alert_labels_set(ret, owner->group_by[i], v); /* valid name, fits: cannot fail */
    }
}

static uint64_t group_key(const struct alert_route *r, const struct alert_labels *group_labels)
{
    uint64_t h = FNV_OFFSET;

    /* The path of child indices from the leaf up: the same config yields
     * the same keys across restarts, unlike a pointer. */
    for (; r; r = r->parent) {
        uint64_t idx = r->parent ? r->index : UINT64_MAX;
        h = fnv_add(h, &idx, sizeof(idx));
    }
    h = fnv_add(h, "", 1);
    return labels_hash(h, group_labels);
}

uint64_t alert_route_group_key(const struct alert_route *r, const struct alert_labels *ls)
{
    struct alert_labels gl = { 0 };
    uint64_t key;

    alert_route_group_labels(r, ls, &gl);
    key = group_key(r, &gl);
    alert_labels_clear(&gl);
    return key;
}

enum entry_state {
    FIRING_NEW,       /* the receiver has not heard of it */
    FIRING_SENT,      /* the receiver was told it fires */
    RESOLVED_PENDING, /* was told it fires; must be told it resolved */
};

struct entry {
    uint64_t fp;
    enum entry_state state;
};

struct alert_group {
    const struct alert_route *route;
    struct alert_labels labels;
    uint64_t key;
    struct alert_route_timers timers;
    uint64_t created_ms;
    uint64_t last_sent_ms;
    bool sent;
    struct entry *v; /* sorted by fp */
    size_t n, cap;
};

struct alert_group *alert_group_new(const struct alert_route *r, const struct alert_labels *ls,
                                    uint64_t now_ms)
{
    struct alert_group *g = xcalloc(1, sizeof(*g));

    g->route = r;
    alert_route_group_labels(r, ls, &g->labels);
    g->key = group_key(r, &g->labels);
    alert_route_timers(r, &g->timers);
    g->created_ms = now_ms;
    return g;
}

struct alert_group *alert_group_free(struct alert_group *g)
{
    if (!g)
        return NULL;
    alert_labels_clear(&g->labels);
    free(g->v);
    free(g);
    return NULL;
}

const struct alert_route *alert_group_route(const struct alert_group *g)
{
    return g->route;
}

const struct alert_labels *alert_group_labels(const struct alert_group *g)
{
    return &g->labels;
}

uint64_t alert_group_key(const struct alert_group *g)
{
    return g->key;
}

static size_t entry_find(const struct alert_group *g, uint64_t fp, bool *found)
{
    size_t lo = 0, hi = g->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->v[mid].fp == fp) {
            *found = true;
            return mid;
        }
        if (g->v[mid].fp < fp)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static void entry_remove(struct alert_group *g, size_t i)
{
    memmove(&g->v[i], &g->v[i + 1], (g->n - i - 1) * sizeof(g->v[0]));
    g->n--;
}

bool alert_group_put(struct alert_group *g, uint64_t fingerprint, bool resolved, uint64_t now_ms)
{
    bool found;
    size_t i = entry_find(g, fingerprint, &found);

    (void)now_ms; /* the timers run from created/last_sent, not from arrivals */
    if (!found) {
        if (resolved)
            return false;
        xgrow((void **)&g->v, &g->cap, g->n + 1, sizeof(g->v[0]));
        memmove(&g->v[i + 1], &g->v[i], (g->n - i) * sizeof(g->v[0]));
        g->v[i] = (struct entry){ .fp = fingerprint, .state = FIRING_NEW };
        g->n++;
        return true;
    }
    switch (g->v[i].state) {
    case FIRING_NEW:
        if (!resolved)
            return false;
        /* The receiver never heard it fire: telling it "resolved" is noise. */
        entry_remove(g, i);
        return true;
    case FIRING_SENT:
        if (!resolved)
            return false;
        g->v[i].state = RESOLVED_PENDING;
        return true;
    case RESOLVED_PENDING:
        if (resolved)
            return false;
        /* Fires again before the resolution went out: as far as the
         * receiver knows, it never stopped. */
        g->v[i].state = FIRING_SENT;
        return true;
    }
    return false;
}

void alert_group_restore(struct alert_group *g, uint64_t fingerprint, uint64_t sent_ms)
{
    bool found;
    size_t i = entry_find(g, fingerprint, &found);

    if (!found) {
        xgrow((void **)&g->v, &g->cap, g->n + 1, sizeof(g->v[0]));
        memmove(&g->v[i + 1], &g->v[i], (g->n - i) * sizeof(g->v[0]));
        g->n++;
    }
    g->v[i] = (struct entry){ .fp = fingerprint, .state = FIRING_SENT };
    if (!g->sent || sent_ms > g->last_sent_ms)
        g->last_sent_ms = sent_ms;
    g->sent = true;
}

void alert_group_remove(struct alert_group *g, uint64_t fingerprint)
{
    bool found;
    size_t i = entry_find(g, fingerprint, &found);

    if (found)
        entry_remove(g, i);
}

bool alert_group_holds(const struct alert_group *g, uint64_t fingerprint)
{
    bool found;

    entry_find(g, fingerprint, &found);
    return found;
}

bool alert_group_is_empty(const struct alert_group *g)
{
    return g->n == 0;
}

uint64_t alert_group_next_due(const struct alert_group *g)
{
    bool news = false, firing = false;
    uint64_t wait;

    for (size_t i = 0; i < g->n; i++) {
        if (g->v[i].state != FIRING_SENT)
            news = true;
        if (g->v[i].state != RESOLVED_PENDING)
            firing = true;
    }
    if (!g->sent)
        /* Before the first notification only FIRING_NEW entries exist. */
        return firing ? g->created_ms + g->timers.group_wait_ms : ALERT_NEVER;
    if (news)
        /* min: a repeat_interval below group_interval would resend sooner anyway */
        wait = MIN(g->timers.group_interval_ms, g->timers.repeat_interval_ms);
    else if (firing)
        wait = g->timers.repeat_interval_ms;
    else
        return ALERT_NEVER;
    return g->last_sent_ms + wait;
}

void alert_batch_clear(struct alert_batch *b)
{
    free(b->firing);
    free(b->resolved);
    memset(b, 0, sizeof(*b));
}

int alert_group_tick(struct alert_group *g, uint64_t now_ms, struct alert_batch *ret)
{
    uint64_t due = alert_group_next_due(g);
    struct alert_batch b = { 0 };
    size_t keep = 0;

    if (due == ALERT_NEVER || now_ms < due)
        return 0;
    b.firing = xcalloc(g->n, sizeof(b.firing[0]));
    b.resolved = xcalloc(g->n, sizeof(b.resolved[0]));
    for (size_t i = 0; i < g->n; i++) {
        if (g->v[i].state == RESOLVED_PENDING) {
            b.resolved[b.n_resolved++] = g->v[i].fp;
            continue; /* told once; dropped */
        }
        b.firing[b.n_firing++] = g->v[i].fp;
        g->v[keep] = g->v[i];
        g->v[keep++].state = FIRING_SENT;
    }
    g->n = keep;
    g->sent = true;
    g->last_sent_ms = now_ms;
    *ret = b;
    return 1;
}

const char *alert_match_op_to_string(enum alert_match_op op)
{
    switch (op) {
    case ALERT_MATCH_NE:
        return "!=";
    case ALERT_MATCH_RE:
        return "=~";
    case ALERT_MATCH_NRE:
        return "!~";
    case ALERT_MATCH_EQ:
        break;
    }
    return "=";
}

int alert_matcher_parse(const char *s, char **ret_name, enum alert_match_op *ret_op,
                        char **ret_value, struct opsd_error *err)
{
    const char *p = s, *name_end;
    enum alert_match_op op;
    _cleanup_free_ char *name = NULL;
    char *value;
    size_t n = 0;

    while (*p == ' ')
        p++;
    name_end = p;
    while ((*name_end >= 'a' && *name_end <= 'z') || (*name_end >= 'A' && *name_end <= 'Z') ||
           (*name_end >= '0' && *name_end <= '9') || *name_end == '_')
        name_end++;
    name = xstrndup(p, (size_t)(name_end - p));
    if (!label_name_valid(name))
        return opsd_errorf(err, -EINVAL,
                           "matcher '%s' must start with a label name ([a-zA-Z_][a-zA-Z0-9_]*)",
                           s);
    p = name_end;
    while (*p == ' ')
        p++;
    if (strncmp(p, "=~", 2) == 0)
        op = ALERT_MATCH_RE, p += 2;
    else if (strncmp(p, "!~", 2) == 0)
        op = ALERT_MATCH_NRE, p += 2;
    else if (strncmp(p, "!=", 2) == 0)
        op = ALERT_MATCH_NE, p += 2;
    else if (*p == '=')
        op = ALERT_MATCH_EQ, p += 1;
    else
        return opsd_errorf(err, -EINVAL,
                           "matcher '%s' needs an operator after the name: =, !=, =~ or !~", s);
    while (*p == ' ')
        p++;
    value = xcalloc(strlen(p) + 1, 1);
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                p++;
            value[n++] = *p;
        }
        if (*p != '"') {
            free(value);
            return opsd_errorf(err, -EINVAL, "matcher '%s' has an unterminated quote", s);
        }
        for (p++; *p == ' '; p++)
            ;
        if (*p) {
            free(value);
            return opsd_errorf(err, -EINVAL, "matcher '%s' has text after the quoted value", s);
        }
    } else {
        size_t len = strlen(p);
        while (len > 0 && p[len - 1] == ' ')
            len--;
        memcpy(value, p, len);
        n = len;
    }
    value[n] = '\0';
    *ret_name = steal_ptr(name);
    *ret_op = op;
    *ret_value = value;
    return 0;
}
