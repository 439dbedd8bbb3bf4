/* File checks: glob, stat and (optionally) hash on the thread pool, since a
 * backup volume may be slow or hung; the judgement is probe_file_evaluate(). */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "sched/sched-impl.h"
#include "util/xalloc.h"

struct file_work {
    struct sched_work w;
    char *pattern;
    bool checksum;
    bool have_prev;            /* prev_*: the file hashed last time, to skip rehashing */
    char prev_path[PROBE_FILE_PATH_MAX];
    uint64_t prev_mtime_ms, prev_size;
    char prev_sha256[65];
    uint64_t started_ms;
    uint64_t t0;
    struct probe_file_obs obs;
    uint64_t took_us;
};

static uint64_t mono_us(void)
{
    return uv_hrtime() / 1000;
}

static uint64_t mtime_ms(const struct stat *st)
{
    return (uint64_t)st->st_mtim.tv_sec * 1000 + (uint64_t)st->st_mtim.tv_nsec / 1000000;
}

static int hash_file(const char *path, char hex[65])
{
    unsigned char buf[1 << 16], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx;
    ssize_t n;
    int fd, r = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        r = -ENOMEM;
        goto out;
    }
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        EVP_DigestUpdate(ctx, buf, (size_t)n);
    if (n < 0) {
        r = -errno;
        goto out;
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    for (unsigned i = 0; i < mdlen && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
    EVP_MD_CTX_free(ctx);
    close(fd);
    return r;
}

static void run(struct sched_work *w)
{
    struct file_work *fw = (struct file_work *)w;
    struct probe_file_obs *o = &fw->obs;
    uint64_t t0 = mono_us();
    struct stat st, best;
    glob_t g;
    int rc;

    memset(o, 0, sizeof(*o));
    snprintf(o->path, sizeof(o->path), "%s", fw->pattern);
    memset(&g, 0, sizeof(g));
    /* GLOB_NOSORT: the newest is wanted, not the first by name. A path
     * without wildcards comes back as itself (GLOB_NOCHECK is not set, so
     * a missing plain path is GLOB_NOMATCH too). */
    rc = glob(fw->pattern, GLOB_NOSORT | GLOB_ERR, NULL, &g);
    if (rc == GLOB_NOMATCH) {
        o->err = -ENOENT;
    } else if (rc == GLOB_NOSPACE) {
        o->err = -ENOMEM;
    } else if (rc != 0) {
        /* GLOB_ABORTED: a directory on the way could not be read. */
        o->err = errno ? -errno : -EACCES;
    } else {
        size_t n = MIN(g.gl_pathc, (size_t)PROBE_FILE_MAX_MATCHES);
        const char *newest = NULL;

        o->matches_capped = g.gl_pathc > n;
        for (size_t i = 0; i < n; i++) {
            if (stat(g.gl_pathv[i], &st) < 0)
                continue; /* vanished between glob and stat */
            o->n_matches++;
            if (!newest || mtime_ms(&st) > mtime_ms(&best)) {
                newest = g.gl_pathv[i];
                best = st;
            }
        }
        if (!newest) {
            o->err = -ENOENT;
        } else {
            snprintf(o->path, sizeof(o->path), "%s", newest);
            o->regular = S_ISREG(best.st_mode);
            o->mtime_ms = mtime_ms(&best);
            o->size = (uint64_t)best.st_size;
            if (fw->checksum && o->regular) {
                if (fw->have_prev && strcmp(fw->prev_path, o->path) == 0 &&
                    fw->prev_mtime_ms == o->mtime_ms && fw->prev_size == o->size) {
                    memcpy(o->sha256, fw->prev_sha256, sizeof(o->sha256));
                    o->have_sha256 = true;
                } else if (hash_file(o->path, o->sha256) == 0) {
                    o->have_sha256 = true;
                }
            }
        }
    }
    globfree(&g);
    fw->took_us = mono_us() - t0;
}

static void done(struct sched_work *w, struct mon *m)
{
    struct file_work *fw = (struct file_work *)w;
    struct probe_metric metrics[4];
    struct probe_result r;

    if (!m->memory) {
        m->memory = xcalloc(1, sizeof(struct probe_file_memory));
        m->memory_size = sizeof(struct probe_file_memory);
    }
    probe_result_init(&r, fw->started_ms);
    probe_file_evaluate(m->conf, &fw->obs, m->memory, clock_now_ms(m->s->clock), &r, metrics);
    r.total_us = (int32_t)MIN(fw->took_us, (uint64_t)INT32_MAX);
    sched_record(m, &r, false);
    sched_check_finished(m);
}

static void work_free(struct sched_work *w)
{
    struct file_work *fw = (struct file_work *)w;

    free(fw->pattern);
    free(fw);
}

void sched_file_start(struct mon *m)
{
    struct file_work *fw = xcalloc(1, sizeof(*fw));
    const struct probe_file_memory *mem = m->memory;

    fw->w.run = run;
    fw->w.done = done;
    fw->w.free = work_free;
    fw->pattern = xstrdup(m->conf->path);
    fw->checksum = m->conf->checksum;
    fw->started_ms = clock_now_ms(m->s->clock);
    if (mem && mem->have_cur && mem->cur_sha256[0]) {
        fw->have_prev = true;
        memcpy(fw->prev_path, mem->cur_path, sizeof(fw->prev_path));
        fw->prev_mtime_ms = mem->cur_mtime_ms;
        fw->prev_size = mem->cur_size;
        memcpy(fw->prev_sha256, mem->cur_sha256, sizeof(fw->prev_sha256));
    }
    sched_work_start(m, &fw->w);
}

void sched_file_inherit(struct mon *m, const struct mon *prev)
{
    /* The previous file is a reference only for the same path. */
    if (!prev->memory || !m->conf->path || !prev->conf->path ||
        strcmp(m->conf->path, prev->conf->path) != 0)
        return;
    m->memory = xmalloc(prev->memory_size);
    memcpy(m->memory, prev->memory, prev->memory_size);
    m->memory_size = prev->memory_size;
}
