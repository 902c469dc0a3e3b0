/* gen.c - the out-of-line helpers of <incident/gen.h> that generated code
 * calls: string assignment and the per-function scratch list of string
 * temporaries. */
#include <stdlib.h>
#include <string.h>

#include <incident/gen.h>

#include "internal.h"

int inc_str_set(char **dst, const char *src, inc_error *err) {
    char *copy = NULL;
    /* Copy before freeing: `src` may be *dst itself. */
    if (src && !(copy = inc_strdup(src)))
        return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                             "out of memory copying a string");
    free(*dst);
    *dst = copy;
    return 0;
}

const char *inc_scratch_concat(inc_scratch *sc, const char *a, const char *b,
                               inc_error *err) {
    /* NULL (an absent optional or unset string) concatenates as "". */
    size_t la = a ? strlen(a) : 0, lb = b ? strlen(b) : 0;
    char *s;
    if (sc->count == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 8;
        char **items = realloc(sc->items, cap * sizeof *items);
        if (!items) goto oom;
        sc->items = items;
        sc->cap = cap;
    }
    if (la > SIZE_MAX - 1 - lb) goto oom;
    s = malloc(la + lb + 1);
    if (!s) goto oom;
    if (la) memcpy(s, a, la);
    if (lb) memcpy(s + la, b, lb);
    s[la + lb] = '\0';
    sc->items[sc->count++] = s;
    return s;
oom:
    inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                  "out of memory concatenating strings");
    return NULL;
}

void inc_scratch_free(inc_scratch *sc) {
    size_t i;
    if (!sc) return;
    for (i = 0; i < sc->count; i++) free(sc->items[i]);
    free(sc->items);
    sc->items = NULL;
    sc->count = sc->cap = 0;
}
