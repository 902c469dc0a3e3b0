/* test_json_write.c - differential test of inc_msg_to_text (runtime/src/
 * json_write.c) against the jansson path it replaces: every message is
 * encoded both ways, with and without INC_JSON_SKIP_IMPLICIT, and the text
 * must be the same bytes as json_dumps(inc_msg_to_json(...), JSON_COMPACT),
 * with *len equal to its strlen.  Inputs: the fixture messages as
 * initialised and filled by hand, every byte value and control character
 * in strings, invalid UTF-8 (overlong, surrogates, truncated, past
 * U+10FFFF, stray continuation bytes), 100 kB strings, floats at the
 * printing edges (signed zeros, subnormals, DBL_MAX, powers of ten where
 * %.17g switches to an exponent, non-finite), int64 limits, absent
 * optionals, out-of-range enums and timestamps, then 100,000 random
 * messages over every fixture descriptor (fixed seed). */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <incident/domain.h>

#include "fixtures.h"

#define RANDOM_MESSAGES 100000

static long compared;

/* Every descriptor of the fixtures with a distinct layout. */
static const inc_message_desc *all_descs[8];
static size_t n_descs;

static void collect_descs(void) {
    if (n_descs) return;
    all_descs[n_descs++] = &t_kitchen_desc;
    all_descs[n_descs++] = &t_account_state_desc;
    all_descs[n_descs++] = &t_open_account_desc;
    all_descs[n_descs++] = &t_deposit_money_desc;
    all_descs[n_descs++] = &t_forgetful_desc;
    all_descs[n_descs++] = &t_account_opened_desc;
    all_descs[n_descs++] = &t_money_deposited_desc;
    all_descs[n_descs++] = t_accounts_projection.row;
}

/* ---- the comparison ----------------------------------------------------- */

static void check_flags(const inc_message_desc *d, const void *msg,
                        unsigned flags) {
    json_t *j = inc_msg_to_json(d, msg, flags);
    char *want, *got, *got2;
    size_t len = (size_t)-1, wn;
    assert_non_null(j);
    want = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    assert_non_null(want);
    got = inc_msg_to_text(d, msg, flags, &len);
    assert_non_null(got);
    wn = strlen(want);
    if (len != wn || strlen(got) != len || memcmp(got, want, wn) != 0) {
        size_t i = 0;
        while (i < wn && got[i] == want[i]) i++;
        fail_msg("%s flags %u: differ at byte %zu (len %zu / %zu)\n"
                 "jansson: %.200s\n"
                 "to_text: %.200s",
                 d->name, flags, i, wn, len, want + (i > 40 ? i - 40 : 0),
                 got + (i > 40 ? i - 40 : 0));
    }
    /* len is optional */
    got2 = inc_msg_to_text(d, msg, flags, NULL);
    assert_non_null(got2);
    assert_string_equal(got2, got);
    free(want);
    free(got);
    free(got2);
    compared++;
}

static void check(const inc_message_desc *d, const void *msg) {
    check_flags(d, msg, 0);
    check_flags(d, msg, INC_JSON_SKIP_IMPLICIT);
}

/* ---- generic field access ----------------------------------------------- */

#define AT(msg, f, T) ((T *)(void *)((char *)(msg) + (f)->offset))

static void set_has(void *msg, const inc_field_desc *f, bool v) {
    if (f->has_offset != INC_NO_OFFSET)
        *(bool *)(void *)((char *)msg + f->has_offset) = v;
}

static char *dupn(const char *s, size_t n) {
    char *p = malloc(n + 1);
    assert_non_null(p);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void set_str(char **dst, const char *s, size_t n) {
    free(*dst);
    *dst = s ? dupn(s, n) : NULL;
}

/* A Kitchen with every optional present and the given strings. */
static void kitchen_full(t_kitchen *k) {
    inc_msg_init(&t_kitchen_desc, k);
    set_str(&k->aggregate_id, "K1", 2);
    k->i = -5;
    k->f = 2.5;
    k->b = true;
    set_str(&k->s, "plain", 5);
    k->t = INT64_C(1795687200123456);
    k->e = T_COLOR_BLUE;
    k->oi = 7, k->has_oi = true;
    k->of = -0.125, k->has_of = true;
    k->ob = false, k->has_ob = true;
    set_str(&k->os, "x", 1), k->has_os = true;
    k->ot = 0, k->has_ot = true;
    k->oe = T_COLOR_RED, k->has_oe = true;
}

/* The Kitchen with s and os holding s[0..n). */
static void check_string(const char *s, size_t n) {
    t_kitchen k;
    kitchen_full(&k);
    set_str(&k.s, s, n);
    set_str(&k.os, s, n);
    set_str(&k.aggregate_id, s, n);
    check(&t_kitchen_desc, &k);
    inc_msg_free(&t_kitchen_desc, &k);
}

#define CHECK_LIT(lit) check_string(lit, sizeof(lit) - 1)

/* ---- hand-picked cases -------------------------------------------------- */

static void test_fixtures(void **state) {
    size_t i;
    t_kitchen k;
    t_account_state st;
    (void)state;
    collect_descs();
    /* every descriptor as initialised (defaults; NULL required strings) */
    for (i = 0; i < n_descs; i++) {
        void *m = malloc(all_descs[i]->size);
        assert_non_null(m);
        inc_msg_init(all_descs[i], m);
        check(all_descs[i], m);
        inc_msg_free(all_descs[i], m);
        free(m);
    }
    kitchen_full(&k);
    check(&t_kitchen_desc, &k);
    /* absent optionals: has_ false (strings also NULL, or not) */
    k.has_oi = k.has_of = k.has_ob = k.has_os = k.has_ot = k.has_oe = false;
    k.has_ods = false;
    check(&t_kitchen_desc, &k);
    set_str(&k.os, NULL, 0);
    set_str(&k.ods, NULL, 0);
    check(&t_kitchen_desc, &k);
    k.has_os = k.has_ods = true; /* has_ set but the string NULL */
    check(&t_kitchen_desc, &k);
    set_str(&k.s, NULL, 0); /* a required string NULL */
    set_str(&k.ds, NULL, 0);
    set_str(&k.aggregate_id, NULL, 0);
    check(&t_kitchen_desc, &k);
    inc_msg_free(&t_kitchen_desc, &k);

    inc_msg_init(&t_account_state_desc, &st);
    set_str(&st.aggregate_id, "A-1", 3);
    st.version = 12;
    st.updated_at = INT64_C(1795687200000001), st.has_updated_at = true;
    set_str(&st.account_number, "NL00 \"BANK\" 0123/4567",
            strlen("NL00 \"BANK\" 0123/4567"));
    st.has_account_number = true;
    st.balance = -42;
    st.opened = true;
    check(&t_account_state_desc, &st);
    st.has_account_number = false;
    st.has_updated_at = false;
    check(&t_account_state_desc, &st);
    inc_msg_free(&t_account_state_desc, &st);
}

static void test_string_bytes(void **state) {
    char buf[64];
    unsigned c;
    (void)state;
    /* every single byte (and the same byte between text) */
    for (c = 1; c < 256; c++) {
        buf[0] = (char)c;
        check_string(buf, 1);
        snprintf(buf, sizeof buf, "a%cb%c", (char)c, (char)c);
        check_string(buf, 4);
    }
    /* all control characters, quote, backslash, slash, DEL in one */
    {
        char all[40];
        size_t n = 0;
        for (c = 1; c < 0x20; c++) all[n++] = (char)c;
        all[n++] = '"';
        all[n++] = '\\';
        all[n++] = '/';
        all[n++] = 0x7f;
        all[n++] = ' ';
        check_string(all, n);
    }
    CHECK_LIT("");
    CHECK_LIT("\"\"\\\\//\\/\\\"");
    CHECK_LIT("</script>");
    CHECK_LIT("tab\there\r\nnew\fline\bback");
    /* valid UTF-8, every length and the edges */
    CHECK_LIT("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
    CHECK_LIT("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80"
              "\xf4\x8f\xbf\xbf");
    CHECK_LIT("\xed\x9f\xbf\xee\x80\x80");      /* around the surrogates */
    CHECK_LIT("\xef\xbb\xbf BOM");
    CHECK_LIT("\xe2\x80\xa8\xe2\x80\xa9");      /* U+2028/2029: raw */
    CHECK_LIT("\xc2\x85\xc2\x9f");              /* C1 controls: raw */
    /* invalid UTF-8 */
    CHECK_LIT("\xc0\xaf");                      /* overlong '/' */
    CHECK_LIT("\xc1\xbf");
    CHECK_LIT("\xe0\x80\xaf");                  /* overlong 3 bytes */
    CHECK_LIT("\xe0\x9f\xbf");
    CHECK_LIT("\xf0\x80\x80\xaf");              /* overlong 4 bytes */
    CHECK_LIT("\xf0\x8f\xbf\xbf");
    CHECK_LIT("\xed\xa0\x80");                  /* U+D800 */
    CHECK_LIT("\xed\xbf\xbf");                  /* U+DFFF */
    CHECK_LIT("\xed\xa0\xbd\xed\xb8\x80");      /* CESU-8 pair */
    CHECK_LIT("\xf4\x90\x80\x80");              /* U+110000 */
    CHECK_LIT("\xf5\x80\x80\x80");
    CHECK_LIT("\xf7\xbf\xbf\xbf");
    CHECK_LIT("\xf8\x88\x80\x80\x80");          /* 5 bytes */
    CHECK_LIT("\xfc\x84\x80\x80\x80\x80");      /* 6 bytes */
    CHECK_LIT("\xfe\xff");
    CHECK_LIT("\xe2\x82");                      /* truncated at the end */
    CHECK_LIT("\xe2\x82x");                     /* truncated mid-text */
    CHECK_LIT("\xf0\x9f\x98");
    CHECK_LIT("\xf0\x9f\x98 ok");
    CHECK_LIT("\xc3");
    CHECK_LIT("\x80");                          /* stray continuation */
    CHECK_LIT("a\x80\xbf" "b");
    CHECK_LIT("\xc3\xa9\xa9");
    CHECK_LIT("\xc3\"\xe2\\\xf0\n");            /* bad lead, then escapes */
    CHECK_LIT("\xff\x01\xfe\x1f\x7f");
}

static void test_long_strings(void **state) {
    size_t n = 100 * 1024, i;
    char *s = malloc(n + 1);
    const char *pattern;
    (void)state;
    assert_non_null(s);
    memset(s, 'a', n);
    check_string(s, n);
    for (i = 0; i < n; i++) s[i] = (char)(0x20 + i % 0x5f); /* '"', '\\' */
    check_string(s, n);
    for (i = 0; i < n; i++) s[i] = (char)(1 + i % 0x1f);    /* controls */
    check_string(s, n);
    pattern = "\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9z";
    for (i = 0; i < n; i++) s[i] = pattern[i % 10];         /* UTF-8 */
    check_string(s, n);
    for (i = 0; i < n; i++) s[i] = (char)(0x80 + i % 0x80); /* all invalid */
    check_string(s, n);
    for (i = 0; i < n; i++) s[i] = (char)(1 + (i * 7919) % 255);
    check_string(s, n);
    free(s);
}

/* The double `dir` (+1/-1) units in the last place away from v (v finite,
 * not zero): nextafter without libm. */
static double next_double(double v, int dir) {
    uint64_t bits;
    if (v == 0.0) return v;
    memcpy(&bits, &v, sizeof v);
    bits = dir > 0 ? bits + 1 : bits - 1;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static void check_float(double v) {
    t_kitchen k;
    kitchen_full(&k);
    k.f = v;
    k.of = -v;
    k.df = v;
    check(&t_kitchen_desc, &k);
    inc_msg_free(&t_kitchen_desc, &k);
}

static void test_floats(void **state) {
    static const double v[] = {
        0.0, 1e300, 1e-300, 5e-324, 0.1, 123456789012345678.0, 1.5, -2.0,
        1e21, 1e22, DBL_MAX, DBL_MIN, DBL_EPSILON, 2.2250738585072009e-308,
        1.0, 10.0, 100.0, 0.5, 0.25, 1.0 / 3.0, 2.0 / 3.0, 3.141592653589793,
        1e-4, 1e-5, 1.5e-5, 0.0001234, 1e15, 1e16, 1e17, 9007199254740992.0,
        9007199254740993.0, 9223372036854775807.0, 18446744073709551616.0,
        12345678901234567.0, 99999999999999999.0, 1e100, 1e-100, 1e308,
        4.9406564584124654e-324, 1.7976931348623157e308, 123.456, -0.001,
        4503599627370496.5, 0.30000000000000004, 1e-7, 1e-10, 1e-99,
        1e-320, 6.02214076e23, 1.602176634e-19};
    size_t i;
    int e;
    (void)state;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        check_float(v[i]);
        check_float(-v[i]);
    }
    check_float(-0.0);
    check_float(NAN);
    check_float(-NAN);
    check_float(INFINITY);
    check_float(-INFINITY);
    /* every power of ten and its neighbours, through the exponent switch */
    for (e = -330; e <= 310; e++) {
        char text[16];
        double p;
        snprintf(text, sizeof text, "1e%d", e);
        p = strtod(text, NULL);
        check_float(p);
        check_float(next_double(p, -1));
        check_float(next_double(p, 1));
        check_float(1.5 * p);
    }
}

static void check_int(int64_t v) {
    t_kitchen k;
    t_deposit_money dm;
    kitchen_full(&k);
    k.i = v;
    k.oi = v;
    k.di = v;
    check(&t_kitchen_desc, &k);
    inc_msg_free(&t_kitchen_desc, &k);
    inc_msg_init(&t_deposit_money_desc, &dm);
    dm.amount = v;
    check(&t_deposit_money_desc, &dm);
    inc_msg_free(&t_deposit_money_desc, &dm);
}

static void test_ints(void **state) {
    int64_t p = 1;
    int i;
    (void)state;
    check_int(INT64_MIN);
    check_int(INT64_MIN + 1);
    check_int(INT64_MAX);
    check_int(INT64_MAX - 1);
    check_int(0);
    check_int(INT32_MIN);
    check_int(INT32_MAX);
    check_int((int64_t)UINT32_MAX + 1);
    for (i = 0; i < 19; i++) { /* 10^0 .. 10^18 */
        check_int(p);
        check_int(p - 1);
        check_int(-p);
        check_int(-p + 1);
        if (i < 18) p *= 10;
    }
}

static void test_enums_timestamps(void **state) {
    /* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z */
    static const int64_t ts[] = {
        INT64_MIN, INT64_MIN + 1, INT64_C(-62167219200000001),
        INT64_C(-62167219200000000), INT64_C(-62167219199999999),
        INT64_C(-1), 0, 1, INT64_C(951782400000000), /* 2000-02-29 */
        INT64_C(1795687200123456), INT64_C(253402300799999999),
        INT64_C(253402300800000000), INT64_MAX};
    static const int ev[] = {INT_MIN, -2, -1, 0, 1, 2, 3, 4, INT_MAX};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        t_kitchen k;
        kitchen_full(&k);
        k.t = ts[i];
        k.ot = ts[i];
        k.dt = ts[i];
        check(&t_kitchen_desc, &k);
        inc_msg_free(&t_kitchen_desc, &k);
    }
    for (i = 0; i < sizeof ev / sizeof ev[0]; i++) {
        t_kitchen k;
        kitchen_full(&k);
        *(int *)(void *)&k.e = ev[i];
        *(int *)(void *)&k.oe = ev[i];
        *(int *)(void *)&k.de = ev[i];
        check(&t_kitchen_desc, &k);
        k.has_oe = false;
        check(&t_kitchen_desc, &k);
        inc_msg_free(&t_kitchen_desc, &k);
    }
}

/* ---- random messages ---------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r) { /* xorshift64* */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * UINT64_C(2685821657736338717);
}

static uint64_t rnd_below(rng *r, uint64_t n) { return rnd(r) % n; }

/* Append the UTF-8 encoding of cp. */
static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A random NUL-free string: printable ASCII, any bytes, valid UTF-8 of
 * every length (surrogates and past U+10FFFF included, which are invalid),
 * or a mix; usually short, sometimes a few kB. */
static char *rnd_string(rng *r) {
    size_t n = rnd_below(r, 64) == 0 ? rnd_below(r, 4096) : rnd_below(r, 40);
    unsigned mode = (unsigned)rnd_below(r, 5);
    char *s = malloc(n * 4 + 1);
    size_t o = 0, i;
    assert_non_null(s);
    for (i = 0; i < n; i++) {
        unsigned m = mode == 4 ? (unsigned)rnd_below(r, 4) : mode;
        uint32_t cp;
        switch (m) {
        case 0: /* printable ASCII and the escapes */
            s[o++] = (char)(0x20 + rnd_below(r, 0x60));
            break;
        case 1: /* any byte */
            s[o++] = (char)(1 + rnd_below(r, 255));
            break;
        case 2: /* a code point of each encoded length */
            switch (rnd_below(r, 4)) {
            case 0: cp = (uint32_t)(1 + rnd_below(r, 0x7F)); break;
            case 1: cp = (uint32_t)(0x80 + rnd_below(r, 0x780)); break;
            case 2: cp = (uint32_t)(0x800 + rnd_below(r, 0xF800)); break;
            default: cp = (uint32_t)(0x10000 + rnd_below(r, 0x100000)); break;
            }
            o += put_utf8(s + o, cp);
            break;
        default: /* controls, quotes, edges, broken sequences */
            switch (rnd_below(r, 8)) {
            case 0: s[o++] = (char)(1 + rnd_below(r, 0x1F)); break;
            case 1: s[o++] = "\"\\/\x7f"[rnd_below(r, 4)]; break;
            case 2: o += put_utf8(s + o, (uint32_t)(0xD800 + rnd_below(r, 0x800))); break;
            case 3: o += put_utf8(s + o, (uint32_t)(0x110000 + rnd_below(r, 0xEFFFF))); break;
            case 4: s[o++] = (char)(0x80 + rnd_below(r, 0x40)); break;
            case 5: s[o++] = (char)(0xC0 + rnd_below(r, 0x40)); break;
            case 6: /* overlong 2-byte */
                s[o++] = (char)(0xC0 + rnd_below(r, 2));
                s[o++] = (char)(0x80 + rnd_below(r, 0x40));
                break;
            default: { /* a valid sequence cut short */
                char t[4];
                size_t k = put_utf8(t, (uint32_t)(0x80 + rnd_below(r, 0x10FF80)));
                size_t keep = 1 + rnd_below(r, k);
                memcpy(s + o, t, keep);
                o += keep;
                break;
            }
            }
            break;
        }
    }
    s[o] = '\0';
    return s;
}

static double rnd_double(rng *r) {
    static const double special[] = {0.0, -0.0, 1e300, 1e-300, 5e-324,
                                     DBL_MAX, 1e21, 1e22, 0.1, 1.5};
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4,  1e5,
                                   1e6, 1e7, 1e8, 1e9, 1e10, 1e11};
    uint64_t bits;
    double v;
    switch (rnd_below(r, 6)) {
    case 0: /* any bit pattern: NaNs, infinities, subnormals */
        bits = rnd(r);
        memcpy(&v, &bits, sizeof v);
        return v;
    case 1: /* an integer */
        return (double)(int64_t)(rnd(r) >> rnd_below(r, 64));
    case 2: /* a short decimal */
        return (double)((int64_t)rnd_below(r, 2000001) - 1000000) /
               pow10[rnd_below(r, 12)];
    case 3: /* any finite value, tiny exponents more often */
        bits = rnd(r) & ~(UINT64_C(0x7FF) << 52);
        bits |= (uint64_t)(rnd_below(r, 4) ? rnd_below(r, 2047)
                                           : rnd_below(r, 3))
                << 52;
        memcpy(&v, &bits, sizeof v);
        return v;
    case 4:
        return rnd_below(r, 4) == 0 ? (rnd_below(r, 2) ? INFINITY : NAN)
                                    : special[rnd_below(r, 10)];
    default:
        return (double)rnd_below(r, 1000) / 8.0;
    }
}

static int64_t rnd_int(rng *r) {
    switch (rnd_below(r, 4)) {
    case 0: return (int64_t)rnd(r);
    case 1: return (int64_t)rnd_below(r, 2001) - 1000;
    case 2: return (int64_t)(rnd(r) >> rnd_below(r, 64));
    default: return rnd_below(r, 2) ? INT64_MIN : INT64_MAX;
    }
}

static int64_t rnd_timestamp(rng *r) {
    const int64_t lo = INT64_C(-62167219200000000),
                  hi = INT64_C(253402300799999999);
    switch (rnd_below(r, 4)) {
    case 0: return (int64_t)rnd(r); /* mostly out of range */
    case 1: return (rnd_below(r, 2) ? lo : hi) + (int64_t)rnd_below(r, 5) - 2;
    default: return lo + (int64_t)rnd_below(r, (uint64_t)(hi - lo) + 1);
    }
}

static void rnd_fill(rng *r, const inc_message_desc *d, void *msg) {
    size_t i;
    inc_msg_init(d, msg);
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        set_has(msg, f, rnd_below(r, 5) != 0);
        switch (f->type) {
        case INC_TYPE_INT: *AT(msg, f, int64_t) = rnd_int(r); break;
        case INC_TYPE_FLOAT: *AT(msg, f, double) = rnd_double(r); break;
        case INC_TYPE_BOOL: *AT(msg, f, bool) = rnd_below(r, 2) != 0; break;
        case INC_TYPE_STRING:
            free(*AT(msg, f, char *));
            *AT(msg, f, char *) = rnd_below(r, 10) ? rnd_string(r) : NULL;
            break;
        case INC_TYPE_TIMESTAMP:
            *AT(msg, f, int64_t) = rnd_timestamp(r);
            break;
        case INC_TYPE_ENUM:
            *AT(msg, f, int) = rnd_below(r, 16) == 0
                                   ? (int)(uint32_t)rnd(r)
                                   : (int)rnd_below(r, 6) - 1;
            break;
        case INC_TYPE_RECORD: /* none in this domain: test_lists.c */
        case INC_TYPE_LIST:
            break;
        }
    }
}

static void test_random(void **state) {
    rng r = {UINT64_C(0x9E3779B97F4A7C15)};
    void *msg = malloc(sizeof(t_kitchen) + 256);
    long i;
    (void)state;
    collect_descs();
    assert_non_null(msg);
    for (i = 0; i < RANDOM_MESSAGES; i++) {
        /* the Kitchen (every type) half the time */
        const inc_message_desc *d =
            rnd_below(&r, 2) ? &t_kitchen_desc
                             : all_descs[rnd_below(&r, n_descs)];
        assert_true(d->size <= sizeof(t_kitchen) + 256);
        rnd_fill(&r, d, msg);
        check(d, msg);
        inc_msg_free(d, msg);
    }
    free(msg);
}

/* *len is the text's strlen; NULL is accepted for it. */
static void test_len(void **state) {
    t_money_deposited md;
    size_t len = 12345;
    char *s;
    (void)state;
    inc_msg_init(&t_money_deposited_desc, &md);
    md.amount = -17;
    s = inc_msg_to_text(&t_money_deposited_desc, &md, INC_JSON_SKIP_IMPLICIT,
                        &len);
    assert_non_null(s);
    assert_string_equal(s, "{\"amount\":-17}");
    assert_int_equal(len, strlen(s));
    free(s);
    s = inc_msg_to_text(&t_money_deposited_desc, &md, 0, &len);
    assert_non_null(s);
    assert_string_equal(s, "{\"aggregate_id\":null,\"amount\":-17}");
    assert_int_equal(len, strlen(s));
    free(s);
    s = inc_msg_to_text(&t_money_deposited_desc, &md, 0, NULL);
    assert_non_null(s);
    free(s);
    inc_msg_free(&t_money_deposited_desc, &md);
}

static void test_summary(void **state) {
    (void)state;
    print_message("compared %ld encodes byte for byte\n", compared);
    assert_true(compared > 2 * RANDOM_MESSAGES);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_string_bytes),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_ints),
        cmocka_unit_test(test_enums_timestamps),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_len),
        cmocka_unit_test(test_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
