/* parser.y - the bison grammar of the .agg language (docs/language.md).
 *
 * A pure LALR(1) parser (api.pure full) driven by the reentrant scanner in
 * lexer.l; agg_parse (compiler/parse.c) runs it over one file.
 *
 * No %destructor declarations: every semantic value is a scalar or points
 * into the compilation's arena (agg_arena), which owns all nodes and
 * strings, so values that error recovery pops off the stack need no
 * freeing.
 *
 * Error handling:
 *  - syntax errors are reported by yyreport_syntax_error as
 *    "unexpected '}', expected ';'" (tokens quoted as typed; "expression"
 *    and "operator" stand for the sets of tokens that start or continue
 *    one) and the parser recovers at the next ';' or '}' (error rules in
 *    every list: top level, field lists, statement lists, emit
 *    initialisers, projection columns, enum members; aggregate items
 *    resync at '}' only, the end of an item) to find more errors in one
 *    run; bison's own rule (three tokens must shift before the next
 *    report) keeps one mistake from producing a cascade;
 *  - the scanner reports lexical errors itself and returns YYerror only
 *    when a token is broken (unterminated string or comment), which starts
 *    recovery without a second message;
 *  - nesting of ( ! - and if beyond AGG_MAX_NESTING, and binary operator
 *    trees deeper than AGG_MAX_EXPR_DEPTH, are reported once and stop the
 *    parse of the file (YYABORT): a resource limit, like clang's bracket
 *    depth, and the only way to keep hostile input from building trees the
 *    recursive checker cannot walk.
 *
 * parse.lac full makes the expected-token lists exact (no default
 * reductions before an error is detected). */

%require "3.8"
%define api.pure full
%define api.prefix {agg_yy}
%define api.location.type {agg_loc}
%define api.token.prefix {TOK_}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {void *scanner} {agg_pctx *ctx}

%code requires {
#include "front.h"
}

%code provides {
/* The scanner's signature, shared with lexer.l and the flex header. */
#define YY_DECL                                                        \
    int agg_yylex(AGG_YYSTYPE *yylval_param, AGG_YYLTYPE *yylloc_param, \
                  void *yyscanner, agg_pctx *ctx)
YY_DECL;
}

%code top {
#include <stdio.h>
#include <string.h>

#include "parse.h"
}

%code {
/* Locations are agg_loc (file, line, col, end_line, end_col; end_col is
 * one past the last byte).  An empty rule gets the end of the symbol
 * before it. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                 \
    do {                                                            \
        if (N) {                                                    \
            (Cur).file = YYRHSLOC(Rhs, 1).file;                     \
            (Cur).line = YYRHSLOC(Rhs, 1).line;                     \
            (Cur).col = YYRHSLOC(Rhs, 1).col;                       \
            (Cur).end_line = YYRHSLOC(Rhs, N).end_line;             \
            (Cur).end_col = YYRHSLOC(Rhs, N).end_col;               \
        } else {                                                    \
            (Cur).file = YYRHSLOC(Rhs, 0).file;                     \
            (Cur).line = (Cur).end_line = YYRHSLOC(Rhs, 0).end_line; \
            (Cur).col = (Cur).end_col = YYRHSLOC(Rhs, 0).end_col;   \
        }                                                           \
    } while (0)

static void yyerror(const AGG_YYLTYPE *loc, void *scanner, agg_pctx *ctx,
                    const char *msg);

/* Node constructors: zeroed arena memory, so unset fields are NULL/0. */
#define NEW(T) ((T *)agg_arena_alloc(ctx->arena, sizeof(T)))

static agg_expr *mk_expr(agg_pctx *ctx, agg_expr_kind kind, agg_loc loc) {
    agg_expr *e = NEW(agg_expr);
    e->kind = kind;
    e->loc = loc;
    return e;
}

static agg_loc span(agg_loc from, agg_loc to) {
    from.end_line = to.end_line;
    from.end_col = to.end_col;
    return from;
}

/* A binary node.  False, after reporting, when the tree gets deeper than
 * AGG_MAX_EXPR_DEPTH: the caller stops the parse (YYABORT). */
static bool mk_binary(agg_pctx *ctx, agg_op op, agg_loc loc, agg_xval l,
                      agg_xval r, agg_xval *out) {
    agg_expr *e = mk_expr(ctx, AGG_E_BINARY, loc);
    e->op = op;
    e->lhs = l.e;
    e->rhs = r.e;
    out->e = e;
    out->d = (l.d > r.d ? l.d : r.d) + 1;
    if (out->d > AGG_MAX_EXPR_DEPTH) {
        agg_error(ctx->diag, loc,
                  "expression too long: more than %d nested operators",
                  AGG_MAX_EXPR_DEPTH);
        return false;
    }
    return true;
}

static agg_expr *mk_unary(agg_pctx *ctx, agg_op op, agg_loc loc, agg_expr *x) {
    agg_expr *e = mk_expr(ctx, AGG_E_UNARY, loc);
    e->op = op;
    e->lhs = x;
    return e;
}

static agg_expr *mk_member(agg_pctx *ctx, const char *base, agg_loc base_loc,
                           const char *name, agg_loc loc) {
    agg_expr *e = mk_expr(ctx, AGG_E_MEMBER, loc);
    e->base = base;
    e->base_loc = base_loc;
    e->sval = name;
    return e;
}

/* Enter one level of ( ! - or if; `at` is that token.  False when the
 * limit is crossed (reported once, the parse stops). */
static bool nest_enter(agg_pctx *ctx, agg_loc at) {
    if (++ctx->depth <= AGG_MAX_NESTING) return true;
    if (ctx->last_tok == TOK_IF && ctx->prev_tok == TOK_ELSE)
        agg_error(ctx->diag, at, "'else if' chain too long (the limit is %d)",
                  AGG_MAX_NESTING);
    else
        agg_error(ctx->diag, at, "%s nested too deeply (the limit is %d)",
                  ctx->last_tok == TOK_IF ? "'if' statement" : "expression",
                  AGG_MAX_NESTING);
    return false;
}

static void set_domain(agg_pctx *ctx, const char *name, agg_loc loc) {
    if (ctx->file->domain) {
        agg_error(ctx->diag, loc, "duplicate 'domain' declaration");
        agg_note(ctx->diag, ctx->file->domain_loc, "the first one is here");
        return;
    }
    ctx->file->domain = name;
    ctx->file->domain_loc = loc;
}

static agg_field *mk_field(agg_pctx *ctx, const char *name, agg_loc loc,
                           agg_typeref type, agg_expr *def) {
    agg_field *f = NEW(agg_field);
    f->name = name;
    f->loc = loc;
    f->type = type;
    f->def = def;
    return f;
}

/* `on EVENT key EXPR ...` of the view being parsed. */
static void view_on(agg_pctx *ctx, const char *on, agg_loc on_loc,
                    const char *event, agg_loc event_loc, const char *key,
                    agg_loc key_loc, agg_expr *e, agg_stmt *body,
                    bool is_delete) {
    agg_view_on *o = NEW(agg_view_on), **t = &ctx->view->ons;
    if (strcmp(on, "on") != 0)
        agg_error(ctx->diag, on_loc, "expected 'on', 'index' or a column");
    if (strcmp(key, "key") != 0)
        agg_error(ctx->diag, key_loc, "expected 'key' after the event's name");
    o->event_name = event;
    o->loc = event_loc;
    o->key = e;
    o->body = body;
    o->is_delete = is_delete;
    while (*t) t = &(*t)->next;
    *t = o;
}

/* A keyword where a name was expected: say so (the parser's own message
 * would be "unexpected keyword"). */
static void kw_name(agg_pctx *ctx, const char *kw, agg_loc loc,
                    const char *what) {
    agg_error(ctx->diag, loc, "'%s' is a keyword; rename the %s", kw, what);
    ctx->diag->recoverable++; /* the rest of the tree is whole: check it */
}

static agg_stmt *mk_stmt(agg_pctx *ctx, agg_stmt_kind kind, agg_loc loc) {
    agg_stmt *s = NEW(agg_stmt);
    s->kind = kind;
    s->loc = loc;
    return s;
}

/* Append to a singly linked list kept as head/tail in a semantic value. */
#define APPEND(list, node)                    \
    do {                                      \
        if ((list).t) (list).t->next = (node); \
        else (list).h = (node);               \
        (list).t = (node);                    \
    } while (0)

/* Splice a head/tail list onto the end of a list kept by tail pointer. */
#define SPLICE(tailp, list)                   \
    do {                                      \
        if ((list).h) {                       \
            *(tailp) = (list).h;              \
            (tailp) = &(list).t->next;        \
        }                                     \
    } while (0)
}

%initial-action {
    @$ = (agg_loc){ctx->path, 1, 1, 1, 1};
}

%union {
    uint64_t u64;
    double num;
    struct { const char *s; size_t len; } str;
    const char *id;
    int n;
    agg_op op;
    agg_xval ex;
    agg_typeref type;
    agg_field *field;
    struct { agg_field *h, *t; } fields;
    agg_check *check;
    struct { agg_field *h, *t; agg_check *ch, *ct; } cbody;
    agg_stmt *stmt;
    struct { agg_stmt *h, *t; } stmts;
    struct { agg_init *h, *t; } inits;
    agg_column *col;
    struct { agg_column *h, *t; } cols;
    struct { const char *name; agg_loc loc; } target;
    /* schema evolution */
    agg_upcast *upcast;
    struct { agg_name *h, *t; } names;
    struct { agg_field *h, *t; agg_upcast *uh, *ut; } ebody;
    agg_react_step *step;
    agg_view *view;
}

/* The order here is the order of expected-token lists in messages
 * ("expected ';', '=' or '?'", "... 'projection' or '}'"). */
%token SEMI ";" COLON ":" COMMA "," ASSIGN "=" QUESTION "?" DOT "."
       LPAREN "(" RPAREN ")" LBRACE "{" LBRACKET "[" RBRACKET "]"
%token <id> IDENT "identifier"
%token <u64> INT "integer"
%token <num> FLOAT "number"
%token <str> STRING "string"
%token DOMAIN "domain" ENUM "enum" AGGREGATE "aggregate" RECORD "record"
       STATE "state"
       COMMAND "command" EVENT "event" EXECUTE "execute" APPLY "apply"
       PROJECTION "projection" CHECK "check" ELSE "else" REQUIRE "require"
       REACT "react" AS "as" DISPATCH "dispatch" THEN "then"
       FAIL "fail" EMIT "emit" IF "if" EXTERN "extern" IN "in" FOR "for"
       TRUE "true" FALSE "false" VIEW "view" NULL_ "null"
%token RBRACE "}"
%token PLUS_EQ "+=" MINUS_EQ "-=" EQ "==" NE "!=" LE "<=" GE ">="
       AND "&&" OR "||" LT "<" GT ">" PLUS "+" MINUS "-" STAR "*"
       SLASH "/" PERCENT "%" NOT "!"
%token <u64> DURATION "duration"

%left "||"
%left "&&"
%nonassoc "==" "!="
%nonassoc "<" "<=" ">" ">=" "in"
%left "+" "-"
%left "*" "/" "%"

%type <n> nest
%type <ex> expr unary prefix primary atom path call
%type <type> type
%type <field> field
%type <fields> fields
%type <check> check
%type <cbody> cbody
%type <stmt> stmt if_stmt
%type <stmts> stmts body
%type <inits> inits
%type <col> column
%type <cols> columns
%type <op> assign_op
%type <target> target
%type <upcast> upcast
%type <names> was was_names
%type <ebody> ebody
%type <step> react_step react_then react_else step_command
%type <view> view_head
%type <id> keyword
%type <type> elem_type

%%

file:
    %empty
  | file top
  ;

top:
    DOMAIN IDENT ";"      { set_domain(ctx, $2, @2); }
    /* `domain bank` without ";": report, keep the name, go on */
  | DOMAIN IDENT error    { set_domain(ctx, $2, @2); }
  | enum
  | record
  | aggregate             { ctx->agg = NULL; }
  | reaction
  | view
  | error ";"
  | error "}"
  ;

/* ---------------------------------------------------------------- enums */

enum:
    enum_head members "}"
  | enum_head error "}"
  ;

/* Members are linked into the enum as they parse, so a syntax error late
 * in the list keeps the earlier ones. */
enum_head:
    ENUM IDENT "{" {
        agg_enum *e = NEW(agg_enum);
        e->name = $2;
        e->loc = @2;
        *ctx->enum_tail = e;
        ctx->enum_tail = &e->next;
        ctx->member_tail = &e->members;
    }
  ;

members:
    %empty
  | member_list
  | member_list ","
  ;

member_list:
    member
  | member_list "," member
  ;

member:
    IDENT {
        agg_enum_member *m = NEW(agg_enum_member);
        m->name = $1;
        m->loc = @1;
        *ctx->member_tail = m;
        ctx->member_tail = &m->next;
    }
  ;

/* -------------------------------------------------------------- records */

record:
    RECORD IDENT "{" fields rbrace {
        agg_record *r = NEW(agg_record);
        r->name = $2;
        r->loc = @2;
        r->fields = $4.h;
        *ctx->record_tail = r;
        ctx->record_tail = &r->next;
    }
  ;

/* ----------------------------------------------------------- aggregates */

aggregate:
    agg_head items "}"
  ;

/* Items are linked into the aggregate as they parse (see enum_head). */
agg_head:
    AGGREGATE IDENT "{" {
        agg_aggregate *a = NEW(agg_aggregate);
        a->name = $2;
        a->loc = @2;
        *ctx->agg_tail = a;
        ctx->agg_tail = &a->next;
        ctx->agg = a;
        ctx->state_tail = &a->state;
        ctx->cmd_tail = &a->commands;
        ctx->ev_tail = &a->events;
        ctx->exec_tail = &a->executes;
        ctx->apply_tail = &a->applies;
        ctx->proj_tail = &a->projections;
    }
  ;

/* An error in an item resyncs at the next "}", the end of an item body
 * (";" would stop inside the body and close the aggregate early). */
items:
    %empty
  | items item            { ctx->depth = 0; }
  | items error "}"       { ctx->depth = 0; }
  ;

/* "}" or, after an error in the last element of a list, the "}" that
 * ends it. */
rbrace:
    "}"
  | error "}"
  ;

item:
    STATE "{" fields rbrace {
        if (ctx->agg->state_loc.line == 0) ctx->agg->state_loc = @1;
        SPLICE(ctx->state_tail, $3);
    }
  | COMMAND IDENT "{" cbody rbrace {
        agg_command *c = NEW(agg_command);
        c->name = $2;
        c->loc = @2;
        c->fields = $4.h;
        c->checks = $4.ch;
        *ctx->cmd_tail = c;
        ctx->cmd_tail = &c->next;
    }
  | EVENT IDENT was "{" ebody rbrace {
        agg_event *e = NEW(agg_event);
        e->name = $2;
        e->loc = @2;
        e->fields = $5.h;
        e->was = $3.h;
        e->upcasts = $5.uh;
        *ctx->ev_tail = e;
        ctx->ev_tail = &e->next;
    }
  | EXECUTE IDENT EXTERN ";" {
        agg_execute *x = NEW(agg_execute);
        x->command_name = $2;
        x->loc = @2;
        x->is_extern = true;
        *ctx->exec_tail = x;
        ctx->exec_tail = &x->next;
    }
  | EXECUTE IDENT body {
        agg_execute *x = NEW(agg_execute);
        x->command_name = $2;
        x->loc = @2;
        x->body = $3.h;
        *ctx->exec_tail = x;
        ctx->exec_tail = &x->next;
    }
  | APPLY IDENT EXTERN ";" {
        agg_apply *x = NEW(agg_apply);
        x->event_name = $2;
        x->loc = @2;
        x->is_extern = true;
        *ctx->apply_tail = x;
        ctx->apply_tail = &x->next;
    }
  | APPLY IDENT body {
        agg_apply *x = NEW(agg_apply);
        x->event_name = $2;
        x->loc = @2;
        x->body = $3.h;
        *ctx->apply_tail = x;
        ctx->apply_tail = &x->next;
    }
  | PROJECTION IDENT "{" columns rbrace {
        agg_projection *p = NEW(agg_projection);
        p->name = $2;
        p->loc = @2;
        /* `index NAME;` entries become the projection's indexes */
        agg_column **cp = &$4.h;
        agg_view_index **ip = &p->indexes;
        while (*cp) {
            if (!(*cp)->is_index) { cp = &(*cp)->next; continue; }
            agg_view_index *x = NEW(agg_view_index);
            x->name = (*cp)->name;
            x->loc = (*cp)->loc;
            *ip = x;
            ip = &x->next;
            *cp = (*cp)->next;
        }
        p->columns = $4.h;
        *ctx->proj_tail = p;
        ctx->proj_tail = &p->next;
    }
  ;

/* ------------------------------------------------------------ reactions */

/* react Event as name { dispatch C {...} [then C {...}] [else C {...}] } */
reaction:
    REACT IDENT AS IDENT "{" react_step react_then react_else rbrace {
        agg_reaction *r = NEW(agg_reaction);
        r->event_name = $2;
        r->event_loc = @2;
        r->name = $4;
        r->loc = @4;
        r->dispatch = $6;
        r->on_ok = $7;
        r->on_rejected = $8;
        if (!ctx->react_tail) ctx->react_tail = &ctx->file->reactions;
        *ctx->react_tail = r;
        ctx->react_tail = &r->next;
    }
  ;

react_step:
    DISPATCH step_command { $$ = $2; $$->loc = @1; }
  ;

react_then:
    %empty                { $$ = NULL; }
  | THEN step_command     { $$ = $2; $$->loc = @1; }
  ;

react_else:
    %empty                { $$ = NULL; }
  | ELSE step_command     { $$ = $2; $$->loc = @1; }
  ;

/* The command of a step and its fields, as in `emit`. */
step_command:
    IDENT "{" inits rbrace {
        $$ = NEW(agg_react_step);
        $$->command_name = $1;
        $$->command_loc = @1;
        $$->inits = $3.h;
    }
  ;

/* ---------------------------------------------------------------- views */

/* `view NAME key COLUMN { ... }`; `key`, `index`, `on` and `delete` are
 * plain identifiers here (checked by name), so no field, state or event
 * loses them as a name. */
view:
    view_head vitems "}"
  ;

view_head:
    VIEW IDENT IDENT IDENT "{" {
        agg_view *v = NEW(agg_view), **tail = &ctx->file->views;
        v->name = $2;
        v->loc = @2;
        v->key_name = $4;
        v->key_loc = @4;
        if (strcmp($3, "key") != 0)
            agg_error(ctx->diag, @3, "expected 'key' after the view's name");
        while (*tail) tail = &(*tail)->next;
        *tail = v;
        $$ = v;
        ctx->view = v;
    }
  ;

vitems:
    %empty
  | vitems vitem          { ctx->depth = 0; }
  | vitems error ";"      { ctx->depth = 0; }
  ;

vitem:
    field {
        agg_field **t = &ctx->view->columns;
        while (*t) t = &(*t)->next;
        *t = $1;
    }
  | IDENT IDENT ";" {
        agg_view_index *x = NEW(agg_view_index), **t = &ctx->view->indexes;
        x->name = $2;
        x->loc = @2;
        if (strcmp($1, "index") != 0)
            agg_error(ctx->diag, @1, "expected 'index', a column or 'on'");
        while (*t) t = &(*t)->next;
        *t = x;
    }
  | IDENT IDENT IDENT expr body {
        view_on(ctx, $1, @1, $2, @2, $3, @3, $4.e, $5.h, false);
    }
  | IDENT IDENT IDENT expr IDENT ";" {
        view_on(ctx, $1, @1, $2, @2, $3, @3, $4.e, NULL, true);
        if (strcmp($5, "delete") != 0)
            agg_error(ctx->diag, @5, "expected 'delete' or '{'");
    }
  ;

/* --------------------------------------------------------------- fields */

fields:
    %empty                { $$.h = $$.t = NULL; }
  | fields field          { $$ = $1; if ($2) APPEND($$, $2); }
  | fields error ";"      { $$ = $1; }
  ;

/* `error` in place of the final ";": a missing ";" is one error (the
 * next field parses as usual) rather than a resync that swallows it. */
field:
    IDENT ":" type ";"            { $$ = mk_field(ctx, $1, @1, $3, NULL); }
  | IDENT ":" type "=" expr ";"   { $$ = mk_field(ctx, $1, @1, $3, $5.e); }
  | IDENT ":" type error          { $$ = mk_field(ctx, $1, @1, $3, NULL); }
  | IDENT ":" type "=" expr error { $$ = mk_field(ctx, $1, @1, $3, $5.e); }
    /* a keyword as a name: explained, the field dropped, parsing goes on */
  | keyword ":" type ";"          { $$ = NULL; kw_name(ctx, $1, @1, "field"); }
  | keyword ":" type "=" expr ";" { $$ = NULL; kw_name(ctx, $1, @1, "field"); }
  ;

/* Every keyword but 'check', which starts a check where a command's
 * field could start (`check: int;` is reported as a bad check). */
keyword:
    DOMAIN { $$ = "domain"; }         | ENUM { $$ = "enum"; }
  | AGGREGATE { $$ = "aggregate"; }   | STATE { $$ = "state"; }
  | COMMAND { $$ = "command"; }       | EVENT { $$ = "event"; }
  | EXECUTE { $$ = "execute"; }       | APPLY { $$ = "apply"; }
  | PROJECTION { $$ = "projection"; } | ELSE { $$ = "else"; }
  | REQUIRE { $$ = "require"; }
  | FAIL { $$ = "fail"; }             | EMIT { $$ = "emit"; }
  | IF { $$ = "if"; }                 | EXTERN { $$ = "extern"; }
  | TRUE { $$ = "true"; }             | FALSE { $$ = "false"; }
  | REACT { $$ = "react"; }           | AS { $$ = "as"; }
  | DISPATCH { $$ = "dispatch"; }     | THEN { $$ = "then"; }
  | VIEW { $$ = "view"; }             | NULL_ { $$ = "null"; }
  | RECORD { $$ = "record"; }         | IN { $$ = "in"; }
  | FOR { $$ = "for"; }
  ;

type:
    IDENT {
        memset(&$$, 0, sizeof $$);
        $$.name = $1;
        $$.loc = @1;
    }
  | IDENT "?" {
        memset(&$$, 0, sizeof $$);
        $$.name = $1;
        $$.loc = @$;
        $$.optional = true;
    }
    /* list<T>, list<T?>, list<T>?: "list" is an ordinary identifier here,
     * checked by the checker (lists of lists do not parse) */
  | IDENT "<" elem_type ">" {
        $$ = $3;
        $$.name = $1;
        $$.loc = @$;
    }
  | IDENT "<" elem_type ">" "?" {
        $$ = $3;
        $$.name = $1;
        $$.loc = @$;
        $$.optional = true;
    }
  ;

elem_type:
    IDENT {
        memset(&$$, 0, sizeof $$);
        $$.is_list = true;
        $$.elem_name = $1;
        $$.elem_loc = @1;
    }
  | IDENT "?" {
        memset(&$$, 0, sizeof $$);
        $$.is_list = true;
        $$.elem_name = $1;
        $$.elem_loc = @$;
        $$.elem_optional = true;
    }
  ;

/* ----------------------------------------------- schema evolution */

/* `was` and `upcast` are words only in these places (identifiers
 * elsewhere), so domains that use them as names keep compiling. */
was:
    %empty                { $$.h = $$.t = NULL; }
  | IDENT was_names {
        if (strcmp($1, "was") != 0)
            agg_error(ctx->diag, @1, "unexpected identifier '%s', expected 'was' or '{'",
                      $1);
        $$ = $2;
    }
  ;

was_names:
    IDENT {
        agg_name *n = NEW(agg_name);
        n->name = $1;
        n->loc = @1;
        $$.h = $$.t = NULL;
        APPEND($$, n);
    }
  | was_names "," IDENT {
        agg_name *n = NEW(agg_name);
        n->name = $3;
        n->loc = @3;
        $$ = $1;
        APPEND($$, n);
    }
  ;

/* An event's body: fields and `upcast N { FIELDS } { ASSIGNMENTS }`. */
ebody:
    %empty                { $$.h = $$.t = NULL; $$.uh = $$.ut = NULL; }
  | ebody field           { $$ = $1; APPEND($$, $2); }
  | ebody upcast {
        $$ = $1;
        if ($$.ut) $$.ut->next = $2;
        else $$.uh = $2;
        $$.ut = $2;
    }
  | ebody error ";"       { $$ = $1; }
  ;

upcast:
    IDENT INT "{" fields rbrace body {
        if (strcmp($1, "upcast") != 0)
            agg_error(ctx->diag, @1,
                      "unexpected identifier '%s', expected 'upcast N { ... } { ... }' "
                      "or a field",
                      $1);
        $$ = NEW(agg_upcast);
        $$->loc = @2;
        $$->version = $2 > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)$2;
        $$->fields = $4.h;
        $$->body = $6.h;
        $$->body_loc = @6;
    }
  ;

cbody:
    %empty                { $$.h = $$.t = NULL; $$.ch = $$.ct = NULL; }
  | cbody field           { $$ = $1; if ($2) APPEND($$, $2); }
  | cbody check {
        $$ = $1;
        if ($$.ct) $$.ct->next = $2;
        else $$.ch = $2;
        $$.ct = $2;
    }
  | cbody error ";"       { $$ = $1; }
  ;

check:
    CHECK expr ELSE IDENT semi {
        $$ = NEW(agg_check);
        $$->loc = @1;
        $$->cond = $2.e;
        $$->code.name = $4;
        $$->code.loc = @4;
    }
  ;

/* The ";" that ends a statement, or a missing one (reported by the
 * parser, then parsing goes on with the next statement: no resync that
 * would swallow it). */
semi:
    ";"
  | error
  ;

/* ----------------------------------------------------------- projections */

columns:
    %empty                { $$.h = $$.t = NULL; }
  | columns column        { $$ = $1; if ($2) APPEND($$, $2); }
  | columns error ";"     { $$ = $1; }
  ;

column:
    IDENT ";" {
        $$ = NEW(agg_column);
        $$->name = $1;
        $$->loc = @1;
    }
  | IDENT IDENT ";" {
        /* `index column;` (index is a word only here) */
        $$ = NEW(agg_column);
        $$->name = $2;
        $$->loc = @2;
        $$->is_index = true;
        if (strcmp($1, "index") != 0)
            agg_error(ctx->diag, @1, "expected 'index', a column or '}'");
    }
  | IDENT ":" type "=" expr ";" {
        $$ = NEW(agg_column);
        $$->name = $1;
        $$->loc = @1;
        $$->type = $3;
        $$->has_type = true;
        $$->value = $5.e;
    }
  | IDENT "=" expr ";" {
        $$ = NEW(agg_column);
        $$->name = $1;
        $$->loc = @1;
        $$->value = $3.e;
    }
  | keyword ";"                 { $$ = NULL; kw_name(ctx, $1, @1, "column"); }
  | keyword ":" type "=" expr ";" { $$ = NULL; kw_name(ctx, $1, @1, "column"); }
  | keyword "=" expr ";"        { $$ = NULL; kw_name(ctx, $1, @1, "column"); }
  ;

/* ----------------------------------------------------------- statements */

body:
    "{" stmts rbrace      { $$ = $2; }
  ;

stmts:
    %empty                { $$.h = $$.t = NULL; }
  | stmts stmt            { $$ = $1; APPEND($$, $2); }
  | stmts error ";"       { $$ = $1; }
  ;

stmt:
    REQUIRE expr ELSE IDENT semi {
        $$ = mk_stmt(ctx, AGG_S_REQUIRE, @1);
        $$->cond = $2.e;
        $$->code.name = $4;
        $$->code.loc = @4;
    }
  | FAIL IDENT semi {
        $$ = mk_stmt(ctx, AGG_S_FAIL, @1);
        $$->code.name = $2;
        $$->code.loc = @2;
    }
  | EMIT IDENT "{" inits rbrace {
        $$ = mk_stmt(ctx, AGG_S_EMIT, @1);
        $$->event_name = $2;
        $$->event_loc = @2;
        $$->inits = $4.h;
    }
  | if_stmt
  | target assign_op expr semi {
        $$ = mk_stmt(ctx, AGG_S_ASSIGN, @1);
        $$->target = $1.name;
        $$->target_loc = $1.loc;
        $$->assign_op = $2;
        $$->value = $3.e;
    }
  | target "-=" expr ";" {
        $$ = mk_stmt(ctx, AGG_S_ASSIGN, @1);
        $$->target = $1.name;
        $$->target_loc = $1.loc;
        $$->assign_op = AGG_OP_SUB;
        $$->value = $3.e;
    }
    /* `xs -= x if cond;`: remove the elements for which cond holds */
  | target "-=" IDENT IF expr ";" {
        $$ = mk_stmt(ctx, AGG_S_ASSIGN, @1);
        $$->target = $1.name;
        $$->target_loc = $1.loc;
        $$->assign_op = AGG_OP_SUB;
        $$->var = $3;
        $$->var_loc = @3;
        $$->cond = $5.e;
    }
  ;

target:
    IDENT                 { $$.name = $1; $$.loc = @1; }
  | STATE "." IDENT       { $$.name = $3; $$.loc = @3; }
  ;

/* "-=" has rules of its own (stmt): `xs -= x if c;` */
assign_op:
    "="                   { $$ = AGG_OP_NONE; }
  | "+="                  { $$ = AGG_OP_ADD; }
  ;

if_stmt:
    IF nest expr body {
        ctx->depth = $2;
        $$ = mk_stmt(ctx, AGG_S_IF, @1);
        $$->cond = $3.e;
        $$->then_body = $4.h;
    }
  | IF nest expr body ELSE body {
        ctx->depth = $2;
        $$ = mk_stmt(ctx, AGG_S_IF, @1);
        $$->cond = $3.e;
        $$->then_body = $4.h;
        $$->has_else = true;
        $$->else_body = $6.h;
    }
  | IF nest expr body ELSE if_stmt {
        ctx->depth = $2;
        $$ = mk_stmt(ctx, AGG_S_IF, @1);
        $$->cond = $3.e;
        $$->then_body = $4.h;
        $$->has_else = true;
        $$->else_body = $6;
    }
  ;

inits:
    %empty                { $$.h = $$.t = NULL; }
  | inits IDENT "=" expr semi {
        agg_init *i = NEW(agg_init);
        i->name = $2;
        i->loc = @2;
        i->value = $4.e;
        $$ = $1;
        APPEND($$, i);
    }
  | inits error ";"       { $$ = $1; }
  ;

/* ---------------------------------------------------------- expressions */

/* One more level of ( ! - or if.  Its value is the depth to restore when
 * the construct ends; restoring (rather than decrementing) stays right
 * when error recovery drops an inner construct half-way. */
nest:
    %empty {
        $$ = ctx->depth;
        if (!nest_enter(ctx, @0)) YYABORT;
    }
  ;

expr:
    expr "||" expr  { if (!mk_binary(ctx, AGG_OP_OR, @2, $1, $3, &$$)) YYABORT; }
  | expr "&&" expr  { if (!mk_binary(ctx, AGG_OP_AND, @2, $1, $3, &$$)) YYABORT; }
  | expr "==" expr  { if (!mk_binary(ctx, AGG_OP_EQ, @2, $1, $3, &$$)) YYABORT; }
  | expr "!=" expr  { if (!mk_binary(ctx, AGG_OP_NE, @2, $1, $3, &$$)) YYABORT; }
  | expr "<" expr   { if (!mk_binary(ctx, AGG_OP_LT, @2, $1, $3, &$$)) YYABORT; }
  | expr "<=" expr  { if (!mk_binary(ctx, AGG_OP_LE, @2, $1, $3, &$$)) YYABORT; }
  | expr ">" expr   { if (!mk_binary(ctx, AGG_OP_GT, @2, $1, $3, &$$)) YYABORT; }
  | expr ">=" expr  { if (!mk_binary(ctx, AGG_OP_GE, @2, $1, $3, &$$)) YYABORT; }
  | expr "+" expr   { if (!mk_binary(ctx, AGG_OP_ADD, @2, $1, $3, &$$)) YYABORT; }
  | expr "-" expr   { if (!mk_binary(ctx, AGG_OP_SUB, @2, $1, $3, &$$)) YYABORT; }
  | expr "*" expr   { if (!mk_binary(ctx, AGG_OP_MUL, @2, $1, $3, &$$)) YYABORT; }
  | expr "/" expr   { if (!mk_binary(ctx, AGG_OP_DIV, @2, $1, $3, &$$)) YYABORT; }
  | expr "%" expr   { if (!mk_binary(ctx, AGG_OP_MOD, @2, $1, $3, &$$)) YYABORT; }
  | expr "in" expr  { if (!mk_binary(ctx, AGG_OP_IN, @2, $1, $3, &$$)) YYABORT; }
  | unary
  ;

unary:
    primary
  | prefix
  ;

/* Unary minus directly on an integer literal folds into the literal, so
 * that -9223372036854775808 (INT64_MIN) is writable although its
 * magnitude is not an int64.  The operand of "-" is never a bare INT via
 * `primary`, which keeps the grammar free of conflicts. */
prefix:
    "!" nest unary {
        ctx->depth = $2;
        $$.e = mk_unary(ctx, AGG_OP_NOT, @1, $3.e);
        $$.d = $3.d + 1;
    }
  | "-" nest INT {
        ctx->depth = $2;
        $$.e = mk_expr(ctx, AGG_E_INT, span(@1, @3));
        $$.e->ival = $3 == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)$3;
        $$.d = 0;
    }
  | "-" nest atom {
        ctx->depth = $2;
        $$.e = mk_unary(ctx, AGG_OP_NEG, @1, $3.e);
        $$.d = $3.d + 1;
    }
  | "-" nest prefix {
        ctx->depth = $2;
        $$.e = mk_unary(ctx, AGG_OP_NEG, @1, $3.e);
        $$.d = $3.d + 1;
    }
  ;

primary:
    INT {
        $$.e = mk_expr(ctx, AGG_E_INT, @1);
        $$.d = 0;
        if ($1 > (uint64_t)INT64_MAX)
            agg_error(ctx->diag, @1, "integer literal out of range");
        else
            $$.e->ival = (int64_t)$1;
    }
  | atom
  ;

atom:
    FLOAT {
        $$.e = mk_expr(ctx, AGG_E_FLOAT, @1);
        $$.e->fval = $1;
        $$.d = 0;
    }
  | STRING {
        $$.e = mk_expr(ctx, AGG_E_STRING, @1);
        $$.e->sval = $1.s;
        $$.e->slen = $1.len;
        $$.d = 0;
    }
  | TRUE {
        $$.e = mk_expr(ctx, AGG_E_BOOL, @1);
        $$.e->ival = 1;
        $$.d = 0;
    }
  | FALSE {
        $$.e = mk_expr(ctx, AGG_E_BOOL, @1);
        $$.d = 0;
    }
  | NULL_ {
        $$.e = mk_expr(ctx, AGG_E_NULL, @1);
        $$.d = 0;
    }
  | IDENT {
        $$.e = mk_expr(ctx, AGG_E_NAME, @1);
        $$.e->sval = $1;
        $$.d = 0;
    }
  | DURATION {
        $$.e = mk_expr(ctx, AGG_E_DURATION, @1);
        $$.e->ival = (int64_t)$1;
        $$.d = 0;
    }
  | IDENT "(" ")" { /* now(): no argument (check_time.c) */
        $$.e = mk_expr(ctx, AGG_E_CALL, span(@1, @3));
        $$.e->sval = $1;
        $$.d = 0;
    }
  | path
  | call
  | "[" "]" {
        $$.e = mk_expr(ctx, AGG_E_EMPTY, span(@1, @2));
        $$.d = 0;
    }
  | "(" nest expr ")" {
        ctx->depth = $2;
        $$ = $3;
    }
  ;

/* `base.name`, and fields of records after it: `command.address.city`. */
path:
    IDENT "." IDENT {
        $$.e = mk_member(ctx, $1, @1, $3, @3);
        $$.d = 0;
    }
  | path "." IDENT {
        $$.e = mk_expr(ctx, AGG_E_FIELD, @3);
        $$.e->lhs = $1.e;
        $$.e->sval = $3;
        $$.d = $1.d;
    }
  | COMMAND "." IDENT {
        $$.e = mk_member(ctx, "command", @1, $3, @3);
        $$.d = 0;
    }
  | EVENT "." IDENT {
        $$.e = mk_member(ctx, "event", @1, $3, @3);
        $$.d = 0;
    }
  | STATE "." IDENT {
        $$.e = mk_member(ctx, "state", @1, $3, @3);
        $$.d = 0;
    }
  ;

/* len(xs); sum/all/any/count(e for x in xs) with an optional `if c`: the
 * checker knows the names.  Loops only over existing lists, so every
 * expression terminates. */
call:
    IDENT "(" nest expr ")" {
        ctx->depth = $3;
        $$.e = mk_expr(ctx, AGG_E_CALL, @1);
        $$.e->sval = $1;
        $$.e->lhs = $4.e;
        $$.d = $4.d;
    }
  | IDENT "(" nest expr FOR IDENT IN expr ")" {
        ctx->depth = $3;
        $$.e = mk_expr(ctx, AGG_E_CALL, @1);
        $$.e->sval = $1;
        $$.e->lhs = $4.e;
        $$.e->var = $6;
        $$.e->var_loc = @6;
        $$.e->rhs = $8.e;
        $$.d = ($4.d > $8.d ? $4.d : $8.d);
    }
  | IDENT "(" nest expr FOR IDENT IN expr IF expr ")" {
        ctx->depth = $3;
        $$.e = mk_expr(ctx, AGG_E_CALL, @1);
        $$.e->sval = $1;
        $$.e->lhs = $4.e;
        $$.e->var = $6;
        $$.e->var_loc = @6;
        $$.e->rhs = $8.e;
        $$.e->filter = $10.e;
        $$.d = ($4.d > $8.d ? $4.d : $8.d);
        if ($10.d > $$.d) $$.d = $10.d;
    }
  ;

%%

static void yyerror(const AGG_YYLTYPE *loc, void *scanner, agg_pctx *ctx,
                    const char *msg) {
    (void)scanner;
    agg_error(ctx->diag, *loc, "%s", msg);
}

/* ------------------------------------------------------ error messages */

/* A small bounded string builder for one message. */
typedef struct msgbuf {
    char s[512];
    size_t n;
} msgbuf;

static void mb_add(msgbuf *b, const char *p, size_t n) {
    if (n > sizeof b->s - 1 - b->n) n = sizeof b->s - 1 - b->n;
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void mb_puts(msgbuf *b, const char *p) { mb_add(b, p, strlen(p)); }

/* How an expected token is named: keywords and punctuation quoted as
 * typed, the rest by what they are. */
static void mb_symbol(msgbuf *b, yysymbol_kind_t k) {
    switch (k) {
    case YYSYMBOL_YYEOF: mb_puts(b, "end of file"); return;
    case YYSYMBOL_IDENT: mb_puts(b, "identifier"); return;
    case YYSYMBOL_INT: mb_puts(b, "integer"); return;
    case YYSYMBOL_FLOAT: mb_puts(b, "number"); return;
    case YYSYMBOL_STRING: mb_puts(b, "string"); return;
    case YYSYMBOL_DURATION: mb_puts(b, "duration"); return;
    default: break;
    }
    /* bison gives string aliases without their quotes: "domain" is
     * domain; quote it as the user would type it */
    mb_puts(b, "'");
    mb_puts(b, yysymbol_name(k));
    mb_puts(b, "'");
}

static bool is_keyword(yysymbol_kind_t k) {
    return k >= YYSYMBOL_DOMAIN && k <= YYSYMBOL_NULL_;
}

/* The token as the user typed it, cut to a readable length on a UTF-8
 * boundary, control bytes shown as '?'. */
static void mb_token_text(msgbuf *b, const agg_pctx *ctx) {
    const size_t max = 40;
    size_t n = ctx->tok_len, off = ctx->tok_off;
    bool cut = false;
    if (off > ctx->len) n = 0;
    else if (n > ctx->len - off) n = ctx->len - off;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)ctx->src[off + n] & 0xC0) == 0x80) n--;
        cut = true;
    }
    for (size_t i = 0; i < n; i++) {
        char c = ctx->src[off + i];
        if ((unsigned char)c < 0x20 || c == 0x7f) c = '?';
        mb_add(b, &c, 1);
    }
    if (cut) mb_puts(b, "...");
}

static void mb_lookahead(msgbuf *b, const agg_pctx *ctx, yysymbol_kind_t k) {
    const char *what = NULL;
    switch (k) {
    case YYSYMBOL_YYEOF: mb_puts(b, "end of file"); return;
    case YYSYMBOL_IDENT: what = "identifier '"; break;
    case YYSYMBOL_INT: what = "integer "; break;
    case YYSYMBOL_FLOAT: what = "number "; break;
    case YYSYMBOL_STRING: what = "string "; break;
    case YYSYMBOL_DURATION: what = "duration "; break;
    default: what = is_keyword(k) ? "keyword '" : "'"; break;
    }
    mb_puts(b, what);
    mb_token_text(b, ctx);
    if (what[strlen(what) - 1] == '\'') mb_puts(b, "'");
}

/* The tokens an expression may start with: when all of them are expected
 * the message says "expression" instead of listing thirteen tokens. */
static bool starts_expr(yysymbol_kind_t k) {
    switch (k) {
    case YYSYMBOL_INT: case YYSYMBOL_FLOAT: case YYSYMBOL_STRING:
    case YYSYMBOL_TRUE: case YYSYMBOL_FALSE: case YYSYMBOL_NULL_:
    case YYSYMBOL_IDENT: case YYSYMBOL_COMMAND: case YYSYMBOL_EVENT:
    case YYSYMBOL_STATE: case YYSYMBOL_LPAREN: case YYSYMBOL_NOT:
    case YYSYMBOL_MINUS: case YYSYMBOL_DURATION: case YYSYMBOL_LBRACKET:
        return true;
    default:
        return false;
    }
}

static bool is_binary_op(yysymbol_kind_t k) {
    switch (k) {
    case YYSYMBOL_OR: case YYSYMBOL_AND: case YYSYMBOL_EQ: case YYSYMBOL_NE:
    case YYSYMBOL_LT: case YYSYMBOL_LE: case YYSYMBOL_GT: case YYSYMBOL_GE:
    case YYSYMBOL_PLUS: case YYSYMBOL_MINUS: case YYSYMBOL_STAR:
    case YYSYMBOL_SLASH: case YYSYMBOL_PERCENT: case YYSYMBOL_IN:
        return true;
    default:
        return false;
    }
}

/* "unexpected X, expected A, B or C" (the list only when it is short
 * enough to help), plus a hint for two classic mistakes. */
static int yyreport_syntax_error(const yypcontext_t *yyctx, void *scanner,
                                 agg_pctx *ctx) {
    (void)scanner;
    yysymbol_kind_t tok = yypcontext_token(yyctx);
    /* the scanner reported a broken token already */
    if (tok == YYSYMBOL_YYerror || tok == YYSYMBOL_YYUNDEF) return 0;

    yysymbol_kind_t exp[YYNTOKENS];
    int n = yypcontext_expected_tokens(yyctx, exp, YYNTOKENS);
    if (n < 0) n = 0;
    /* Where a field or column name goes, every keyword but 'check' is
     * "expected" (by the rules that explain a keyword used as a name, see
     * `keyword`); none of them really is: leave them out of the list.
     * 'check' is not one of them, so it is listed where it belongs. */
    int n_kw = 0;
    bool want_ident = false;
    for (int i = 0; i < n; i++) {
        if (is_keyword(exp[i]) && exp[i] != YYSYMBOL_CHECK) n_kw++;
        if (exp[i] == YYSYMBOL_IDENT) want_ident = true;
    }
    if (want_ident && n_kw == YYSYMBOL_NULL_ - YYSYMBOL_DOMAIN) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (!is_keyword(exp[i]) || exp[i] == YYSYMBOL_CHECK) exp[m++] = exp[i];
        n = m;
    }
    int n_expr = 0, n_ops = 0;
    bool want_and = false, want_eq = false;
    for (int i = 0; i < n; i++) {
        if (starts_expr(exp[i])) n_expr++;
        if (is_binary_op(exp[i])) n_ops++;
        if (exp[i] == YYSYMBOL_AND) want_and = true;
        if (exp[i] == YYSYMBOL_EQ) want_eq = true;
    }
    /* "expression" stands for the 15 tokens that can start one, and
     * "operator" for the binary operators (and '.') that can continue one
     * (fewer than 13 after a comparison, which does not chain) */
    const bool any_expr = n_expr == 15, any_op = n_ops >= 2;
    /* the entries of the list: symbols, or -1 for "expression", -2 for
     * "operator" */
    int items[YYNTOKENS + 1];
    int n_items = 0;
    bool expr_done = false, op_done = false, want_eof = false;
    if (any_op) { /* listed first: "operator or ';'" */
        items[n_items++] = -2;
        op_done = true;
    }
    for (int i = 0; i < n; i++) {
        if (any_expr && starts_expr(exp[i])) {
            if (!expr_done) items[n_items++] = -1;
            expr_done = true;
        } else if (any_op && (is_binary_op(exp[i]) || exp[i] == YYSYMBOL_DOT ||
                              exp[i] == YYSYMBOL_LPAREN)) {
            /* '(' after a name: a call such as len(xs) */
            if (!op_done) items[n_items++] = -2;
            op_done = true;
        } else if (exp[i] == YYSYMBOL_YYEOF) {
            want_eof = true; /* listed last: "... or end of file" */
        } else {
            items[n_items++] = (int)exp[i];
        }
    }
    if (want_eof) items[n_items++] = YYSYMBOL_YYEOF;

    /* A ';' could end what came before, and the unexpected token starts
     * another line: a forgotten ';' (said where it belongs, after the
     * last token of that line) is by far the likeliest mistake. */
    agg_loc at = *yypcontext_location(yyctx);
    bool want_semi = false;
    for (int i = 0; i < n; i++)
        if (exp[i] == YYSYMBOL_SEMI) want_semi = true;
    if (want_semi && ctx->prev_loc.file && ctx->prev_loc.end_line < at.line) {
        agg_loc end = ctx->prev_loc;
        end.line = end.end_line;
        end.col = end.end_col;
        agg_error(ctx->diag, end, "missing ';' at the end of the line");
        return 0;
    }

    msgbuf b = {.n = 0};
    b.s[0] = '\0';
    mb_puts(&b, "unexpected ");
    mb_lookahead(&b, ctx, tok);
    switch (tok) {
    case YYSYMBOL_EQ: case YYSYMBOL_NE: case YYSYMBOL_LE: case YYSYMBOL_GE:
    case YYSYMBOL_LT: case YYSYMBOL_GT:
        if (want_and) {
            mb_puts(&b, ": comparisons cannot be chained; combine them "
                        "with '&&'");
            n_items = 0;
        }
        break;
    case YYSYMBOL_ASSIGN:
        if (want_eq) {
            mb_puts(&b, "; did you mean '=='?");
            n_items = 0;
        }
        break;
    default:
        break;
    }
    if (n_items > 0 && n_items <= 8) {
        mb_puts(&b, ", expected ");
        for (int i = 0; i < n_items; i++) {
            if (i > 0) mb_puts(&b, i == n_items - 1 ? " or " : ", ");
            if (items[i] == -1) mb_puts(&b, "expression");
            else if (items[i] == -2) mb_puts(&b, "operator");
            else mb_symbol(&b, (yysymbol_kind_t)items[i]);
        }
    }
    agg_error(ctx->diag, at, "%s", b.s);
    return 0;
}
