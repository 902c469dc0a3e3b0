/* compile.c - agg_compile (see compile.h): aggc's work, from the files'
 * text to the outputs on disk.  Nothing is written unless every file parsed
 * and checked and every output was generated; then every output goes to a
 * temporary file first, and only when all of them were written are they
 * renamed into place. */
#include "compile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "against.h"
#include "arena.h"
#include "ast.h"
#include "check.h"
#include "diag.h"
#include "gen.h"
#include "parse.h"
#include "sbuf.h"
#include "warn.h"

typedef void gen_fn(sbuf *out, const agg_program *p, agg_arena *a, const agg_gen_opts *o);

/* The outputs, in the order they are generated, written and named in the
 * depfile.  A new back end is one line here. */
static const struct {
    unsigned emit;
    const char *suffix; /* after DIR/<domain> */
    gen_fn *gen;
    bool only_if_absent; /* the user's file once written (stubs) */
} outputs[] = {
    {AGG_EMIT_C, ".h", agg_gen_header, false},
    {AGG_EMIT_C, ".c", agg_gen_source, false},
    {AGG_EMIT_SQL, ".sql", agg_gen_sql, false},
    {AGG_EMIT_DOT, ".dot", agg_gen_dot, false},
    {AGG_EMIT_STUBS, "_stubs.c", agg_gen_stubs, true},
};
#define N_OUTPUTS (sizeof outputs / sizeof outputs[0])

typedef struct output {
    const char *path;
    sbuf text;
    bool only_if_absent;
    bool skip;       /* stubs that already exist */
    const char *tmp; /* written, not yet renamed */
} output;

typedef struct job {
    const agg_compile_opts *o;
    agg_arena arena;
    agg_diag diag;
    agg_program prog;
    agg_program old; /* --against */
    char **texts; /* the files' contents (new, then old), alive as long as the diag */
    output outs[N_OUTPUTS + 1]; /* + the depfile */
    size_t n_outs;
} job;

/* Read a whole file, NUL bytes and all. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        errno = ENOMEM;
        return NULL;
    }
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Read and parse every file (reporting each one that cannot be read), then
 * check the program if all of them parsed cleanly: a file with syntax
 * errors would give follow-on errors.  Returns false after any error. */
static void parse_files(job *j, agg_program *p, const char *const *files, size_t n,
                        char **texts) {
    agg_file **tail = &p->files;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        texts[i] = read_file(files[i], &len);
        if (!texts[i]) {
            agg_error_plain(&j->diag, "cannot read '%s': %s", files[i], strerror(errno));
            continue;
        }
        agg_source *src = agg_arena_alloc(&j->arena, sizeof *src);
        src->path = agg_arena_strdup(&j->arena, files[i]);
        src->text = texts[i];
        src->len = len;
        agg_diag_add_source(&j->diag, src);
        agg_file *f = agg_parse(&j->arena, &j->diag, src->path, texts[i], len);
        *tail = f;
        tail = &f->next;
    }
}

static bool parse_and_check(job *j) {
    const agg_compile_opts *o = j->o;
    parse_files(j, &j->prog, o->files, o->n_files, j->texts);
    parse_files(j, &j->old, o->against, o->n_against, j->texts + o->n_files);
    /* (a keyword used as a field name leaves the tree whole: check the rest) */
    if (j->diag.errors == j->diag.recoverable &&
        agg_check_program(&j->prog, &j->arena, &j->diag) && j->diag.errors == 0)
        agg_warn_program(&j->prog, &j->diag);
    if (j->diag.errors == 0 && o->n_against) {
        agg_check_program(&j->old, &j->arena, &j->diag);
        if (j->diag.errors == 0) agg_against(&j->prog, &j->old, &j->arena, &j->diag);
    }
    if (j->diag.errors > 0) {
        agg_diag_summary(&j->diag);
        return false;
    }
    return true;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Every output asked for, in memory.  The banner names the inputs as given
 * without directories: the output must not depend on where the build
 * runs. */
static void generate(job *j) {
    const agg_compile_opts *o = j->o;
    const char *dir = o->outdir ? o->outdir : ".";
    sbuf srcs;
    sb_init(&srcs);
    for (size_t i = 0; i < o->n_files; i++) {
        const char *base = strrchr(o->files[i], '/');
        sb_printf(&srcs, "%s%s", i ? ", " : "", base ? base + 1 : o->files[i]);
    }
    agg_gen_opts go = {srcs.data};
    for (size_t i = 0; i < N_OUTPUTS; i++) {
        if (!(o->emit & outputs[i].emit)) continue;
        output *out = &j->outs[j->n_outs++];
        out->path = agg_arena_printf(&j->arena, "%s/%s%s", dir, j->prog.domain,
                                     outputs[i].suffix);
        sb_init(&out->text);
        outputs[i].gen(&out->text, &j->prog, &j->arena, &go);
        out->only_if_absent = outputs[i].only_if_absent;
        out->skip = out->only_if_absent && exists(out->path);
    }
    sb_free(&srcs);
}

/* Make escapes spaces in file names with a backslash, '$' with '$'. */
static void dep_name(sbuf *b, const char *s) {
    for (; *s; s++) {
        if (*s == ' ' || *s == '#') sb_put(b, "\\");
        if (*s == '$') sb_put(b, "$");
        sb_putn(b, s, 1);
    }
}

/* "outputs: inputs".  Stubs are the user's file, not an output a build
 * should remake, so they are a target only when they are all there is. */
static void add_depfile(job *j) {
    const agg_compile_opts *o = j->o;
    size_t n = j->n_outs;
    output *dep = &j->outs[j->n_outs++];
    memset(dep, 0, sizeof *dep);
    dep->path = o->depfile;
    sb_init(&dep->text);
    bool only_stubs = true, first = true;
    for (size_t i = 0; i < n; i++) only_stubs &= j->outs[i].only_if_absent;
    for (size_t i = 0; i < n; i++) {
        if (j->outs[i].only_if_absent && !only_stubs) continue;
        if (!first) sb_put(&dep->text, " ");
        first = false;
        dep_name(&dep->text, j->outs[i].path);
    }
    sb_put(&dep->text, ":");
    for (size_t i = 0; i < o->n_files + o->n_against; i++) {
        sb_put(&dep->text, " ");
        dep_name(&dep->text, i < o->n_files ? o->files[i] : o->against[i - o->n_files]);
    }
    sb_put(&dep->text, "\n");
}

/* mkdir -p: the directory and any missing parents. */
static bool make_dirs(job *j, const char *dir) {
    char *p = agg_arena_strdup(&j->arena, dir);
    for (char *s = p + (p[0] != '\0');; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            fprintf(j->o->diag_out, "aggc: cannot create output directory '%s': %s\n", dir,
                    strerror(errno));
            return false;
        }
        *s = c;
        if (c == '\0') break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(j->o->diag_out, "aggc: cannot create output directory '%s': %s\n", dir,
                strerror(ENOTDIR));
        return false;
    }
    return true;
}

/* Write one output to a temporary name beside it. */
static bool write_tmp(job *j, output *out) {
    const char *tmp = agg_arena_printf(&j->arena, "%s.tmp.%ld", out->path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(j->o->diag_out, "aggc: cannot write '%s': %s\n", tmp, strerror(errno));
        return false;
    }
    out->tmp = tmp;
    size_t len = out->text.len;
    bool ok = (len == 0 || fwrite(out->text.data, 1, len, f) == len);
    ok = (fclose(f) == 0) && ok;
    if (!ok) fprintf(j->o->diag_out, "aggc: cannot write '%s': %s\n", out->path, strerror(errno));
    return ok;
}

/* All temporaries first, then the renames: a failure leaves nothing. */
static bool write_all(job *j) {
    bool ok = true;
    for (size_t i = 0; i < j->n_outs && ok; i++)
        if (!j->outs[i].skip) ok = write_tmp(j, &j->outs[i]);
    for (size_t i = 0; i < j->n_outs && ok; i++) {
        if (!j->outs[i].tmp) continue;
        if (rename(j->outs[i].tmp, j->outs[i].path) != 0) {
            fprintf(j->o->diag_out, "aggc: cannot write '%s': %s\n", j->outs[i].path,
                    strerror(errno));
            ok = false;
        } else {
            j->outs[i].tmp = NULL;
        }
    }
    for (size_t i = 0; i < j->n_outs; i++)
        if (j->outs[i].tmp) remove(j->outs[i].tmp);
    return ok;
}

int agg_compile(const agg_compile_opts *o) {
    job j;
    memset(&j, 0, sizeof j);
    j.o = o;
    agg_arena_init(&j.arena);
    agg_diag_init(&j.diag, o->diag_out, o->color);
    j.diag.werror = o->werror;
    int rc = 1;
    size_t n_texts = o->n_files + o->n_against;
    j.texts = calloc(n_texts ? n_texts : 1, sizeof *j.texts);
    if (j.texts && parse_and_check(&j)) {
        rc = 0;
        if (!o->check_only) {
            generate(&j);
            if (o->depfile) add_depfile(&j);
            if (!make_dirs(&j, o->outdir ? o->outdir : ".") || !write_all(&j)) rc = 1;
        }
    }
    for (size_t i = 0; i < j.n_outs; i++) sb_free(&j.outs[i].text);
    if (j.texts)
        for (size_t i = 0; i < n_texts; i++) free(j.texts[i]);
    free(j.texts);
    agg_arena_free(&j.arena);
    return rc;
}
