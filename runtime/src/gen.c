/* gen.c - the out-of-line helpers of <incident/gen.h> that generated code
 * calls: string assignment, the per-function scratch list of string
 * temporaries, and list/record operations. */
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

void *inc_list_push(void *list, const inc_type_desc *td, inc_error *err) {
    inc_vtype et;
    inc_list l = inc_list_get(list);
    size_t es;
    bool opt;
    char *item;
    if (!td || td->type != INC_TYPE_LIST ||
        !(es = inc_vtype_size(et = inc_vtype_elem(td)))) {
        inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                      "not a list type");
        return NULL;
    }
    opt = inc_list_elem_optional(td);
    if (l.len >= INC_LIST_MAX_ITEMS) {
        inc_error_set(err, INC_ERR_INVALID, "too_long",
                      "%s: more than %zu elements", td->head.name,
                      INC_LIST_MAX_ITEMS);
        return NULL;
    }
    if (incx_list_grow(&l, es, opt) != 0) {
        inc_list_put(list, &l); /* what grew is kept: cap says so */
        inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                      "out of memory growing a %s", td->head.name);
        return NULL;
    }
    item = (char *)l.items + l.len * es;
    memset(item, 0, es);
    if (et.type == INC_TYPE_RECORD) inc_msg_init(et.rec, item);
    if (opt) l.has[l.len] = true;
    l.len++;
    inc_list_put(list, &l);
    return item;
}

void inc_list_remove(void *list, const inc_type_desc *td, size_t i) {
    inc_list l = inc_list_get(list);
    inc_vtype et;
    size_t es;
    if (!td || td->type != INC_TYPE_LIST || i >= l.len) return;
    et = inc_vtype_elem(td);
    if (!(es = inc_vtype_size(et))) return;
    incx_value_free(et, (char *)l.items + i * es);
    memmove((char *)l.items + i * es, (char *)l.items + (i + 1) * es,
            (l.len - i - 1) * es);
    if (l.has) memmove(l.has + i, l.has + i + 1, l.len - i - 1);
    l.len--;
    inc_list_put(list, &l);
}

int inc_value_assign(void *dst, const void *src, const inc_type_desc *td,
                     inc_error *err) {
    inc_vtype t;
    size_t n;
    void *tmp;
    if (!td || (td->type != INC_TYPE_LIST && td->type != INC_TYPE_RECORD))
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                             "not a list or record type");
    t = inc_vtype_of(td);
    n = t.type == INC_TYPE_LIST ? sizeof(inc_list) : t.rec ? t.rec->size : 0;
    /* copy first, then free the old value: src may live inside dst */
    if (!n || !(tmp = malloc(n)))
        return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                             "out of memory copying a %s", td->head.name);
    if (incx_value_copy(t, tmp, src) != 0) {
        incx_value_free(t, tmp);
        free(tmp);
        return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                             "out of memory copying a %s", td->head.name);
    }
    incx_value_free(t, dst);
    memcpy(dst, tmp, n);
    free(tmp);
    return 0;
}
