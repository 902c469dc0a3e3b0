/* arena.h - bump allocator owning every AST node and string of one
 * compilation.  Freed in one call; allocation failure aborts the
 * compilation with a message (a compiler has nothing useful to do
 * without memory). */
#ifndef AGGC_ARENA_H
#define AGGC_ARENA_H

#include <stddef.h>

typedef struct agg_arena_block agg_arena_block;

typedef struct agg_arena {
    agg_arena_block *head;
    size_t total; /* bytes handed out, for the compiler benchmark */
} agg_arena;

void agg_arena_init(agg_arena *a);
void agg_arena_free(agg_arena *a);
/* Zeroed memory, aligned for any type. */
void *agg_arena_alloc(agg_arena *a, size_t size);
char *agg_arena_strdup(agg_arena *a, const char *s);
char *agg_arena_strndup(agg_arena *a, const char *s, size_t n);
/* The strings up to the NULL, one after another: the generated names,
 * built often enough that printf's parsing shows in the compile time. */
char *agg_arena_cat(agg_arena *a, const char *s, ...) __attribute__((sentinel));
/* printf into the arena. */
char *agg_arena_printf(agg_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
