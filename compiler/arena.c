/* arena.c - see arena.h. */
#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct agg_arena_block {
    agg_arena_block *next;
    size_t used, cap;
    _Alignas(max_align_t) unsigned char data[];
};

#define ARENA_BLOCK 65536

void agg_arena_init(agg_arena *a) {
    a->head = NULL;
    a->total = 0;
}

void agg_arena_free(agg_arena *a) {
    agg_arena_block *b = a->head;
    while (b) {
        agg_arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
    a->total = 0;
}

/* `size` bytes, not cleared. */
static void *alloc_raw(agg_arena *a, size_t size) {
    const size_t align = _Alignof(max_align_t);
    size = (size + align - 1) & ~(align - 1);
    agg_arena_block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b) {
            fputs("aggc: out of memory\n", stderr);
            exit(1);
        }
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    a->total += size;
    return p;
}

void *agg_arena_alloc(agg_arena *a, size_t size) {
    void *p = alloc_raw(a, size);
    memset(p, 0, size);
    return p;
}

char *agg_arena_strndup(agg_arena *a, const char *s, size_t n) {
    char *p = alloc_raw(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *agg_arena_strdup(agg_arena *a, const char *s) {
    return agg_arena_strndup(a, s, strlen(s));
}

char *agg_arena_cat(agg_arena *a, const char *s, ...) {
    va_list ap;
    size_t len = 0;
    va_start(ap, s);
    for (const char *p = s; p; p = va_arg(ap, const char *)) len += strlen(p);
    va_end(ap);
    char *out = alloc_raw(a, len + 1), *end = out;
    va_start(ap, s);
    for (const char *p = s; p; p = va_arg(ap, const char *)) {
        size_t n = strlen(p);
        memcpy(end, p, n);
        end += n;
    }
    va_end(ap);
    *end = '\0';
    return out;
}

/* Names and expressions are short: formatted once into a local buffer,
 * and a second time only when longer than it. */
char *agg_arena_printf(agg_arena *a, const char *fmt, ...) {
    char local[256];
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(local, sizeof local, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n;
    char *p = alloc_raw(a, len + 1);
    if (n < 0) p[0] = '\0';
    else if (len < sizeof local) memcpy(p, local, len + 1);
    else vsnprintf(p, len + 1, fmt, ap2);
    va_end(ap2);
    return p;
}
