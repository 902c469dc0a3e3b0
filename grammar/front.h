/* front.h - private glue between the flex scanner (lexer.l), the bison
 * parser (parser.y) and agg_parse (compiler/parse.c).  Nothing outside the
 * front end includes it; the public interface is compiler/parse.h. */
#ifndef AGGC_FRONT_H
#define AGGC_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"

/* Binary operators nest without parentheses (`a + b + c ...` is a left-deep
 * tree), so they get their own, larger, limit: the checker and generators
 * recurse over expressions and must not run out of stack. */
#define AGG_MAX_EXPR_DEPTH 1024

/* An expression as a semantic value: the node and the depth of its tree. */
typedef struct agg_xval {
    agg_expr *e;
    int d;
} agg_xval;

/* State of one agg_parse call, shared by scanner and parser. */
typedef struct agg_pctx {
    agg_arena *arena;
    agg_diag *diag;
    agg_file *file;
    const char *path; /* arena copy; every location points at it */
    const char *src;  /* the caller's text, for quoting tokens */
    size_t len;

    /* scanner position: next byte to read */
    size_t pos;
    int line, col;
    int nl_col;           /* column of the last newline, for EOF locations */
    size_t bad_utf8_end;  /* offset after the last invalid byte reported */
    int prev_tok, last_tok; /* token kinds, for `else if` and error text */
    agg_loc prev_loc, last_loc; /* their locations, for "missing ';'" */
    size_t tok_off, tok_len; /* the last token's bytes in src */

    /* string literal being scanned */
    char *sbuf;
    size_t slen, scap;
    agg_loc sloc;
    size_t soff;
    agg_loc comment_loc;

    /* parser */
    int depth;           /* open ( ! - if, see AGG_MAX_NESTING */
    agg_aggregate *agg;  /* the aggregate whose items are being parsed */
    agg_field **state_tail;
    agg_command **cmd_tail;
    agg_event **ev_tail;
    agg_execute **exec_tail;
    agg_apply **apply_tail;
    agg_projection **proj_tail;
    agg_enum_member **member_tail;
    agg_enum **enum_tail;
    agg_aggregate **agg_tail;
    agg_reaction **react_tail; /* NULL before the file's first reaction */
    agg_view *view;      /* the view whose items are being parsed */
    agg_record **record_tail;
} agg_pctx;

#endif
