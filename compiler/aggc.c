/* aggc.c - the command line of the compiler (DESIGN.md §3, a contract):
 *
 *   aggc [-o DIR] [--emit=c,sql,dot,stubs] [--check] [-M DEPFILE]
 *        [--version] [--help] FILE.agg...
 *
 * Exit 0 on success, 1 on errors in the input, 2 on usage errors.  Nothing
 * is written unless every file parsed and checked and every output was
 * generated; each output goes to a temporary file renamed into place. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "ast.h"
#include "check.h"
#include "diag.h"
#include "gen.h"
#include "parse.h"
#include "sbuf.h"

enum { EMIT_C = 1, EMIT_SQL = 2, EMIT_DOT = 4, EMIT_STUBS = 8 };

static const char usage[] =
    "usage: aggc [-o DIR] [--emit=c,sql,dot,stubs] [--check] [-M DEPFILE]\n"
    "            [--version] [--help] FILE.agg...\n";

static const char help[] =
    "Compile .agg domain files into C (structs, JSON codecs, validation,\n"
    "reducers, execute rules, descriptors for libincident) and SQL.\n"
    "\n"
    "  -o DIR             write outputs into DIR (default: the current directory)\n"
    "  --emit=LIST        outputs to write, comma-separated (default: c,sql):\n"
    "                       c      DIR/<domain>.h and DIR/<domain>.c\n"
    "                       sql    DIR/<domain>.sql (projection tables)\n"
    "                       dot    DIR/<domain>.dot (Graphviz picture)\n"
    "                       stubs  DIR/<domain>_stubs.c for extern rules, only if absent\n"
    "  --check            parse and check only; write nothing\n"
    "  -M DEPFILE         also write a Make-style dependency file\n"
    "  --version          print the version and exit\n"
    "  --help             print this help and exit\n"
    "\n"
    "Files given together form one domain.  Exit status: 0 success, 1 errors\n"
    "in the input (reported as file:line:col), 2 usage errors.\n"
    "Diagnostics are coloured on a terminal unless NO_COLOR is set.\n";

static int usage_error(const char *fmt, const char *arg) {
    fputs("aggc: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(usage, stderr);
    return 2;
}

static int parse_emit(const char *list, unsigned *out) {
    unsigned e = 0;
    char *copy = strdup(list);
    if (!copy) return -1;
    int rc = 0;
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "c") == 0) e |= EMIT_C;
        else if (strcmp(t, "sql") == 0) e |= EMIT_SQL;
        else if (strcmp(t, "dot") == 0) e |= EMIT_DOT;
        else if (strcmp(t, "stubs") == 0) e |= EMIT_STUBS;
        else {
            usage_error("unknown output '%s' in --emit (expected c, sql, dot, stubs)", t);
            rc = -1;
            break;
        }
    }
    free(copy);
    if (rc == 0 && e == 0) {
        usage_error("--emit needs at least one output%s", "");
        rc = -1;
    }
    *out = e;
    return rc;
}

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

typedef struct output {
    const char *path;
    sbuf text;
    bool only_if_absent;
    bool skip; /* stubs that already exist */
} output;

static int write_atomic(const char *path, const sbuf *text) {
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) return -1;
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "aggc: cannot write '%s': %s\n", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    size_t len = text->len;
    bool ok = (len == 0 || fwrite(text->data, 1, len, f) == len);
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "aggc: cannot write '%s': %s\n", path, strerror(errno));
        remove(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Make escapes spaces in file names with a backslash, '$' with '$'. */
static void dep_name(sbuf *b, const char *s) {
    for (; *s; s++) {
        if (*s == ' ' || *s == '#') sb_put(b, "\\");
        if (*s == '$') sb_put(b, "$");
        sb_putn(b, s, 1);
    }
}

int main(int argc, char **argv) {
    const char *outdir = ".";
    const char *depfile = NULL;
    unsigned emit = EMIT_C | EMIT_SQL;
    bool check_only = false;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    int nfiles = 0;
    if (!files) return 1;
    bool opts_done = false;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts_done || a[0] != '-' || strcmp(a, "-") == 0) {
            files[nfiles++] = a;
        } else if (strcmp(a, "--") == 0) {
            opts_done = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            fputs(help, stdout);
            free(files);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("aggc %s (libincident ABI 1)\n", AGGC_VERSION);
            free(files);
            return 0;
        } else if (strcmp(a, "--check") == 0) {
            check_only = true;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "-M") == 0) {
            if (i + 1 >= argc) {
                rc = usage_error("option %s needs an argument", a);
                goto out;
            }
            if (a[1] == 'o') outdir = argv[++i];
            else depfile = argv[++i];
        } else if (strncmp(a, "-o", 2) == 0) {
            outdir = a + 2;
        } else if (strncmp(a, "-M", 2) == 0) {
            depfile = a + 2;
        } else if (strncmp(a, "--emit=", 7) == 0) {
            if (parse_emit(a + 7, &emit) != 0) {
                rc = 2;
                goto out;
            }
        } else if (strcmp(a, "--emit") == 0) {
            if (i + 1 >= argc) {
                rc = usage_error("option %s needs an argument", a);
                goto out;
            }
            if (parse_emit(argv[++i], &emit) != 0) {
                rc = 2;
                goto out;
            }
        } else {
            rc = usage_error("unknown option '%s'", a);
            goto out;
        }
    }
    if (nfiles == 0) {
        rc = usage_error("no input files%s", "");
        goto out;
    }

    {
        const char *nc = getenv("NO_COLOR");
        const char *term = getenv("TERM");
        bool color = isatty(fileno(stderr)) && !(nc && *nc) &&
                     !(term && strcmp(term, "dumb") == 0);
        agg_arena arena;
        agg_arena_init(&arena);
        agg_diag diag;
        agg_diag_init(&diag, stderr, color);
        agg_program prog;
        memset(&prog, 0, sizeof prog);
        agg_file **tail = &prog.files;
        char **texts = calloc((size_t)nfiles, sizeof *texts);
        output outs[5];
        int nouts = 0;
        if (!texts) {
            rc = 1;
            goto done_arena;
        }
        for (int i = 0; i < nfiles; i++) {
            size_t len = 0;
            texts[i] = read_file(files[i], &len);
            if (!texts[i]) {
                agg_error_plain(&diag, "cannot read '%s': %s", files[i], strerror(errno));
                continue;
            }
            agg_source *src = agg_arena_alloc(&arena, sizeof *src);
            src->path = agg_arena_strdup(&arena, files[i]);
            src->text = texts[i];
            src->len = len;
            agg_diag_add_source(&diag, src);
            agg_file *f = agg_parse(&arena, &diag, src->path, texts[i], len);
            *tail = f;
            tail = &f->next;
        }
        if (diag.errors == 0) agg_check_program(&prog, &arena, &diag);
        else if (prog.files) {
            /* still check what parsed, to report more in one run; a file
             * with syntax errors may give follow-on errors, so only when
             * the parse was clean for every file. */
        }
        if (diag.errors > 0) {
            agg_diag_summary(&diag);
            rc = 1;
            goto done_texts;
        }
        if (check_only) goto done_texts;

        /* Banner: the inputs' names as given (no directories would make
         * output depend on where the build runs; names as given are what
         * the user controls). */
        sbuf srcs;
        sb_init(&srcs);
        for (int i = 0; i < nfiles; i++) {
            const char *base = strrchr(files[i], '/');
            sb_printf(&srcs, "%s%s", i ? ", " : "", base ? base + 1 : files[i]);
        }
        agg_gen_opts go = {srcs.data};
        const char *d = prog.domain;
        if (emit & EMIT_C) {
            outs[nouts].path = agg_arena_printf(&arena, "%s/%s.h", outdir, d);
            sb_init(&outs[nouts].text);
            agg_gen_header(&outs[nouts].text, &prog, &arena, &go);
            outs[nouts].only_if_absent = outs[nouts].skip = false;
            nouts++;
            outs[nouts].path = agg_arena_printf(&arena, "%s/%s.c", outdir, d);
            sb_init(&outs[nouts].text);
            agg_gen_source(&outs[nouts].text, &prog, &arena, &go);
            outs[nouts].only_if_absent = outs[nouts].skip = false;
            nouts++;
        }
        if (emit & EMIT_SQL) {
            outs[nouts].path = agg_arena_printf(&arena, "%s/%s.sql", outdir, d);
            sb_init(&outs[nouts].text);
            agg_gen_sql(&outs[nouts].text, &prog, &arena, &go);
            outs[nouts].only_if_absent = outs[nouts].skip = false;
            nouts++;
        }
        if (emit & EMIT_DOT) {
            outs[nouts].path = agg_arena_printf(&arena, "%s/%s.dot", outdir, d);
            sb_init(&outs[nouts].text);
            agg_gen_dot(&outs[nouts].text, &prog, &arena, &go);
            outs[nouts].only_if_absent = outs[nouts].skip = false;
            nouts++;
        }
        if (emit & EMIT_STUBS) {
            outs[nouts].path = agg_arena_printf(&arena, "%s/%s_stubs.c", outdir, d);
            sb_init(&outs[nouts].text);
            agg_gen_stubs(&outs[nouts].text, &prog, &arena, &go);
            outs[nouts].only_if_absent = true;
            outs[nouts].skip = exists(outs[nouts].path);
            nouts++;
        }
        sb_free(&srcs);

        struct stat st;
        if (stat(outdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "aggc: output directory '%s' does not exist\n", outdir);
            rc = 1;
            goto done_outs;
        }
        for (int i = 0; i < nouts; i++) {
            if (outs[i].skip) continue;
            if (write_atomic(outs[i].path, &outs[i].text) != 0) {
                rc = 1;
                goto done_outs;
            }
        }
        if (depfile) {
            sbuf dep;
            sb_init(&dep);
            int first = 1;
            bool only_stubs = true;
            for (int i = 0; i < nouts; i++) only_stubs &= outs[i].only_if_absent;
            for (int i = 0; i < nouts; i++) {
                if (outs[i].only_if_absent && !only_stubs) continue;
                if (!first) sb_put(&dep, " ");
                first = 0;
                dep_name(&dep, outs[i].path);
            }
            sb_put(&dep, ":");
            for (int i = 0; i < nfiles; i++) {
                sb_put(&dep, " ");
                dep_name(&dep, files[i]);
            }
            sb_put(&dep, "\n");
            if (write_atomic(depfile, &dep) != 0) rc = 1;
            sb_free(&dep);
        }
    done_outs:
        for (int i = 0; i < nouts; i++) sb_free(&outs[i].text);
    done_texts:
        for (int i = 0; i < nfiles; i++) free(texts[i]);
        free(texts);
    done_arena:
        agg_arena_free(&arena);
    }
out:
    free(files);
    return rc;
}
