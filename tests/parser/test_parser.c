/* test_parser.c - cmocka tests of the .agg front end (grammar/lexer.l,
 * grammar/parser.y, compiler/parse.c): the tree built for valid input
 * (kinds, names, locations, precedence, literals), the exact text of
 * syntax and lexical errors, and hostile input (deep nesting, huge
 * identifiers, NUL bytes, invalid UTF-8) that must give one clear error
 * and never crash. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

/* ---------------------------------------------------------------- helpers */

typedef struct parsed {
    agg_arena arena;
    agg_diag diag;
    agg_source src;
    FILE *mem;
    char *out;
    size_t out_len;
    char *text;
    agg_file *f;
} parsed;

/* Parse `len` bytes under the name t.agg, capturing diagnostics. */
static agg_file *parse_n(parsed *p, const char *text, size_t len) {
    memset(p, 0, sizeof *p);
    agg_arena_init(&p->arena);
    p->mem = open_memstream(&p->out, &p->out_len);
    assert_non_null(p->mem);
    agg_diag_init(&p->diag, p->mem, false);
    /* a private copy: the parser must not need a terminator */
    p->text = malloc(len ? len : 1);
    assert_non_null(p->text);
    memcpy(p->text, text, len);
    p->src.path = "t.agg";
    p->src.text = p->text;
    p->src.len = len;
    agg_diag_add_source(&p->diag, &p->src);
    p->f = agg_parse(&p->arena, &p->diag, "t.agg", p->text, len);
    assert_non_null(p->f);
    fflush(p->mem);
    return p->f;
}

static agg_file *parse(parsed *p, const char *text) {
    return parse_n(p, text, strlen(text));
}

static void done(parsed *p) {
    fclose(p->mem);
    free(p->out);
    free(p->text);
    agg_arena_free(&p->arena);
}

/* The diagnostic lines without the quoted source and caret lines. */
static char *errors(parsed *p) {
    fflush(p->mem);
    char *r = agg_arena_alloc(&p->arena, p->out_len + 1);
    size_t n = 0;
    const char *s = p->out ? p->out : "";
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t l = nl ? (size_t)(nl - s) + 1 : strlen(s);
        if (!(l >= 2 && s[0] == ' ' && s[1] == ' ')) {
            memcpy(r + n, s, l);
            n += l;
        }
        s += l;
    }
    r[n] = '\0';
    return r;
}

/* A statement body wrapped into a minimal file. */
static char *in_execute(const char *body) {
    const char *pre = "domain d;\naggregate A {\n execute C {\n";
    const char *post = "\n }\n}\n";
    size_t n = strlen(pre) + strlen(body) + strlen(post) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%s%s%s", pre, body, post);
    return s;
}

/* The expression of `require EXPR else x;`, parsed without errors. */
static agg_expr *expr_of(parsed *p, const char *expr) {
    char body[4096];
    snprintf(body, sizeof body, "require %s else x;", expr);
    char *src = in_execute(body);
    parse(p, src);
    free(src);
    assert_string_equal(errors(p), "");
    assert_non_null(p->f->aggregates);
    agg_stmt *s = p->f->aggregates->executes->body;
    assert_non_null(s);
    assert_int_equal(s->kind, AGG_S_REQUIRE);
    return s->cond;
}

/* Render an expression as a fully parenthesised string (precedence). */
static void render(const agg_expr *e, char *buf, size_t cap) {
    static const char *ops[] = {"?", "!", "-", "+", "-", "*", "/", "%", "==",
                                "!=", "<", "<=", ">", ">=", "&&", "||", "in"};
    size_t n = strlen(buf);
    switch (e->kind) {
    case AGG_E_INT: snprintf(buf + n, cap - n, "%lld", (long long)e->ival); break;
    case AGG_E_FLOAT: snprintf(buf + n, cap - n, "%g", e->fval); break;
    case AGG_E_STRING: snprintf(buf + n, cap - n, "\"%s\"", e->sval); break;
    case AGG_E_BOOL: snprintf(buf + n, cap - n, "%s", e->ival ? "true" : "false"); break;
    case AGG_E_NULL: snprintf(buf + n, cap - n, "null"); break;
    case AGG_E_NAME: snprintf(buf + n, cap - n, "%s", e->sval); break;
    case AGG_E_MEMBER: snprintf(buf + n, cap - n, "%s.%s", e->base, e->sval); break;
    case AGG_E_DURATION: snprintf(buf + n, cap - n, "%lldus", (long long)e->ival); break;
    case AGG_E_EMPTY: snprintf(buf + n, cap - n, "[]"); break;
    case AGG_E_FIELD:
        render(e->lhs, buf, cap);
        n = strlen(buf);
        snprintf(buf + n, cap - n, ".%s", e->sval);
        break;
    case AGG_E_CALL:
        snprintf(buf + n, cap - n, "%s(", e->sval);
        if (e->lhs) render(e->lhs, buf, cap); /* now() has none */
        if (e->var) {
            n = strlen(buf);
            snprintf(buf + n, cap - n, " for %s in ", e->var);
            render(e->rhs, buf, cap);
        }
        if (e->filter) {
            n = strlen(buf);
            snprintf(buf + n, cap - n, " if ");
            render(e->filter, buf, cap);
        }
        n = strlen(buf);
        snprintf(buf + n, cap - n, ")");
        break;
    case AGG_E_UNARY:
        snprintf(buf + n, cap - n, "(%s", ops[e->op]);
        render(e->lhs, buf, cap);
        n = strlen(buf);
        snprintf(buf + n, cap - n, ")");
        break;
    case AGG_E_BINARY:
        snprintf(buf + n, cap - n, "(");
        render(e->lhs, buf, cap);
        n = strlen(buf);
        snprintf(buf + n, cap - n, " %s ", ops[e->op]);
        render(e->rhs, buf, cap);
        n = strlen(buf);
        snprintf(buf + n, cap - n, ")");
        break;
    }
}

static void assert_tree(const char *expr, const char *want) {
    parsed p;
    agg_expr *e = expr_of(&p, expr);
    char buf[1024] = "";
    render(e, buf, sizeof buf);
    assert_string_equal(buf, want);
    done(&p);
}

#define assert_loc(l, a, b, c, d) assert_loc_((l), (a), (b), (c), (d), __LINE__)
static void assert_loc_(agg_loc l, int line, int col, int end_line, int end_col,
                        int at) {
    if (l.line != line || l.col != col || l.end_line != end_line ||
        l.end_col != end_col)
        print_error("line %d: location %d:%d-%d:%d, expected %d:%d-%d:%d\n", at,
                    l.line, l.col, l.end_line, l.end_col, line, col, end_line,
                    end_col);
    assert_string_equal(l.file, "t.agg");
    assert_int_equal(l.line, line);
    assert_int_equal(l.col, col);
    assert_int_equal(l.end_line, end_line);
    assert_int_equal(l.end_col, end_col);
}

/* Parse and compare the error lines exactly. */
static void assert_errors_n(const char *text, size_t len, const char *want) {
    parsed p;
    parse_n(&p, text, len);
    assert_string_equal(errors(&p), want);
    done(&p);
}

static void assert_errors(const char *text, const char *want) {
    assert_errors_n(text, strlen(text), want);
}

static char *repeat(const char *pre, const char *unit, size_t n,
                    const char *mid, const char *unit2, const char *post) {
    size_t u = strlen(unit), u2 = strlen(unit2);
    size_t cap = strlen(pre) + n * (u + u2) + strlen(mid) + strlen(post) + 1;
    char *s = malloc(cap), *w = s;
    w += sprintf(w, "%s", pre);
    for (size_t i = 0; i < n; i++) w += sprintf(w, "%s", unit);
    w += sprintf(w, "%s", mid);
    for (size_t i = 0; i < n; i++) w += sprintf(w, "%s", unit2);
    sprintf(w, "%s", post);
    return s;
}

/* ------------------------------------------------------ the bank example */

static const char bank[] =
    "// bank.agg — comments are // and /* */\n"
    "domain bank;                          // the C prefix of everything generated\n"
    "\n"
    "enum TransferStatus { requested, initiated, completed, reverted, cancelled }\n"
    "\n"
    "aggregate Account {\n"
    "    state {\n"
    "        account_number: string;\n"
    "        balance: int = 0;             // default value\n"
    "        opened: bool = false;\n"
    "    }\n"
    "\n"
    "    command OpenAccount { account_number: string; }\n"
    "    command DepositMoney {\n"
    "        amount: int;\n"
    "        check amount > 0 else invalid_amount;      // validation, before any I/O\n"
    "    }\n"
    "    command WithdrawMoney {\n"
    "        amount: int;\n"
    "        check amount > 0 else invalid_amount;\n"
    "    }\n"
    "\n"
    "    event AccountOpened  { account_number: string; }\n"
    "    event MoneyDeposited { amount: int; }\n"
    "    event MoneyWithdrawn { amount: int; }\n"
    "\n"
    "    execute OpenAccount {\n"
    "        require !opened else account_already_opened;\n"
    "        emit AccountOpened { account_number = command.account_number; }\n"
    "    }\n"
    "    execute DepositMoney {\n"
    "        require opened else account_not_found;\n"
    "        emit MoneyDeposited { amount = command.amount; }\n"
    "    }\n"
    "    execute WithdrawMoney {\n"
    "        require opened else account_not_found;\n"
    "        require balance >= command.amount else no_enough_balance;\n"
    "        emit MoneyWithdrawn { amount = command.amount; }\n"
    "    }\n"
    "\n"
    "    apply AccountOpened  { opened = true; account_number = event.account_number; }\n"
    "    apply MoneyDeposited { balance += event.amount; }\n"
    "    apply MoneyWithdrawn { balance -= event.amount; }\n"
    "\n"
    "    projection bank_accounts { account_number; balance; }\n"
    "}\n";

static void test_bank_example(void **state) {
    (void)state;
    parsed p;
    agg_file *f = parse(&p, bank);
    assert_string_equal(errors(&p), "");
    assert_string_equal(f->path, "t.agg");
    assert_string_equal(f->domain, "bank");
    assert_loc(f->domain_loc, 2, 8, 2, 12);

    agg_enum *e = f->enums;
    assert_non_null(e);
    assert_string_equal(e->name, "TransferStatus");
    assert_loc(e->loc, 4, 6, 4, 20);
    const char *members[] = {"requested", "initiated", "completed", "reverted",
                             "cancelled"};
    agg_enum_member *m = e->members;
    for (int i = 0; i < 5; i++, m = m->next) {
        assert_non_null(m);
        assert_string_equal(m->name, members[i]);
    }
    assert_null(m);
    assert_null(e->next);

    agg_aggregate *a = f->aggregates;
    assert_non_null(a);
    assert_null(a->next);
    assert_string_equal(a->name, "Account");
    assert_loc(a->loc, 6, 11, 6, 18);
    assert_loc(a->state_loc, 7, 5, 7, 10);

    agg_field *sf = a->state;
    assert_string_equal(sf->name, "account_number");
    assert_loc(sf->loc, 8, 9, 8, 23);
    assert_string_equal(sf->type.name, "string");
    assert_false(sf->type.optional);
    assert_loc(sf->type.loc, 8, 25, 8, 31);
    assert_null(sf->def);
    sf = sf->next;
    assert_string_equal(sf->name, "balance");
    assert_int_equal(sf->def->kind, AGG_E_INT);
    assert_int_equal(sf->def->ival, 0);
    sf = sf->next;
    assert_string_equal(sf->name, "opened");
    assert_string_equal(sf->type.name, "bool");
    assert_int_equal(sf->def->kind, AGG_E_BOOL);
    assert_int_equal(sf->def->ival, 0);
    assert_null(sf->next);

    const char *cmds[] = {"OpenAccount", "DepositMoney", "WithdrawMoney"};
    agg_command *c = a->commands;
    for (int i = 0; i < 3; i++, c = c->next) assert_string_equal(c->name, cmds[i]);
    assert_null(c);
    c = a->commands->next;
    assert_loc(c->loc, 14, 13, 14, 25);
    assert_string_equal(c->fields->name, "amount");
    assert_null(c->fields->next);
    agg_check *ck = c->checks;
    assert_non_null(ck);
    assert_null(ck->next);
    assert_loc(ck->loc, 16, 9, 16, 14);
    assert_string_equal(ck->code.name, "invalid_amount");
    assert_loc(ck->code.loc, 16, 31, 16, 45);
    assert_int_equal(ck->cond->kind, AGG_E_BINARY);
    assert_int_equal(ck->cond->op, AGG_OP_GT);
    assert_loc(ck->cond->loc, 16, 22, 16, 23);
    assert_string_equal(ck->cond->lhs->sval, "amount");
    assert_int_equal(ck->cond->rhs->ival, 0);

    const char *evs[] = {"AccountOpened", "MoneyDeposited", "MoneyWithdrawn"};
    agg_event *ev = a->events;
    for (int i = 0; i < 3; i++, ev = ev->next) {
        assert_string_equal(ev->name, evs[i]);
        assert_non_null(ev->fields);
    }
    assert_null(ev);

    agg_execute *x = a->executes;
    assert_string_equal(x->command_name, "OpenAccount");
    assert_loc(x->loc, 27, 13, 27, 24);
    assert_false(x->is_extern);
    agg_stmt *s = x->body;
    assert_int_equal(s->kind, AGG_S_REQUIRE);
    assert_loc(s->loc, 28, 9, 28, 16);
    assert_int_equal(s->cond->kind, AGG_E_UNARY);
    assert_int_equal(s->cond->op, AGG_OP_NOT);
    assert_int_equal(s->cond->lhs->kind, AGG_E_NAME);
    assert_string_equal(s->cond->lhs->sval, "opened");
    assert_string_equal(s->code.name, "account_already_opened");
    s = s->next;
    assert_int_equal(s->kind, AGG_S_EMIT);
    assert_string_equal(s->event_name, "AccountOpened");
    assert_loc(s->event_loc, 29, 14, 29, 27);
    agg_init *in = s->inits;
    assert_string_equal(in->name, "account_number");
    assert_loc(in->loc, 29, 30, 29, 44);
    assert_int_equal(in->value->kind, AGG_E_MEMBER);
    assert_string_equal(in->value->base, "command");
    assert_string_equal(in->value->sval, "account_number");
    assert_loc(in->value->base_loc, 29, 47, 29, 54);
    assert_loc(in->value->loc, 29, 55, 29, 69);
    assert_null(in->next);
    assert_null(s->next);
    x = x->next->next;
    assert_string_equal(x->command_name, "WithdrawMoney");
    s = x->body->next;
    assert_int_equal(s->cond->op, AGG_OP_GE);
    assert_string_equal(s->code.name, "no_enough_balance");

    agg_apply *ap = a->applies;
    assert_string_equal(ap->event_name, "AccountOpened");
    s = ap->body;
    assert_int_equal(s->kind, AGG_S_ASSIGN);
    assert_string_equal(s->target, "opened");
    assert_int_equal(s->assign_op, AGG_OP_NONE);
    assert_int_equal(s->value->kind, AGG_E_BOOL);
    assert_int_equal(s->value->ival, 1);
    s = s->next;
    assert_string_equal(s->target, "account_number");
    assert_string_equal(s->value->base, "event");
    s = ap->next->body;
    assert_string_equal(s->target, "balance");
    assert_loc(s->target_loc, 42, 28, 42, 35);
    assert_int_equal(s->assign_op, AGG_OP_ADD);
    s = ap->next->next->body;
    assert_int_equal(s->assign_op, AGG_OP_SUB);
    assert_null(ap->next->next->next);

    agg_projection *pr = a->projections;
    assert_string_equal(pr->name, "bank_accounts");
    agg_column *col = pr->columns;
    assert_string_equal(col->name, "account_number");
    assert_false(col->has_type);
    assert_null(col->value);
    assert_string_equal(col->next->name, "balance");
    assert_null(col->next->next);
    assert_null(pr->next);
    done(&p);
}

/* The project's real example files parse without errors. */
static void test_example_files(void **state) {
    (void)state;
    const char *files[] = {"examples/bank/bank.agg",
                           "tests/golden/kitchen/kitchen.agg"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", INCIDENT_SOURCE_DIR, files[i]);
        FILE *fp = fopen(path, "rb");
        if (!fp) fail_msg("example file %s is missing", path);
        char *buf = malloc(1 << 20);
        size_t n = fread(buf, 1, 1 << 20, fp);
        fclose(fp);
        parsed p;
        parse_n(&p, buf, n);
        if (strcmp(errors(&p), "") != 0) fprintf(stderr, "%s:\n%s", path, p.out);
        assert_string_equal(errors(&p), "");
        assert_non_null(p.f->aggregates);
        done(&p);
        free(buf);
    }
}

/* ------------------------------------------------------------ structure */

static void test_items_any_order(void **state) {
    (void)state;
    parsed p;
    agg_file *f = parse(&p,
        "aggregate B {\n"
        "  apply E extern;\n"
        "  execute C extern;\n"
        "  event E { t: timestamp?; n: Status = Status.open; }\n"
        "  state { a: int; }\n"
        "  projection rows { a; b: int = a * 2; c = state.a + 1; }\n"
        "  command C { x: string?; check x != null else bad; y: int = -1; }\n"
        "  state { b: float = 1.5; }\n"
        "  execute D { fail nope; }\n"
        "  apply F {}\n"
        "}\n"
        "enum Status { open, closed, }\n"
        "enum Empty {}\n");
    assert_string_equal(errors(&p), "");
    assert_null(f->domain);
    agg_aggregate *a = f->aggregates;
    assert_string_equal(a->name, "B");
    assert_true(a->applies->is_extern);
    assert_null(a->applies->body);
    assert_false(a->applies->next->is_extern);
    assert_null(a->applies->next->body);
    assert_true(a->executes->is_extern);
    assert_int_equal(a->executes->next->body->kind, AGG_S_FAIL);
    assert_string_equal(a->executes->next->body->code.name, "nope");
    assert_loc(a->executes->next->body->code.loc, 9, 20, 9, 24);

    agg_field *t = a->events->fields;
    assert_string_equal(t->type.name, "timestamp");
    assert_true(t->type.optional);
    assert_loc(t->type.loc, 4, 16, 4, 26);
    assert_string_equal(t->next->type.name, "Status");
    assert_int_equal(t->next->def->kind, AGG_E_MEMBER);
    assert_string_equal(t->next->def->base, "Status");
    assert_string_equal(t->next->def->sval, "open");

    /* both state blocks, in order; state_loc is the first */
    assert_string_equal(a->state->name, "a");
    assert_string_equal(a->state->next->name, "b");
    assert_null(a->state->next->next);
    assert_loc(a->state_loc, 5, 3, 5, 8);

    agg_column *c = a->projections->columns;
    assert_false(c->has_type);
    assert_null(c->value);
    c = c->next;
    assert_true(c->has_type);
    assert_string_equal(c->type.name, "int");
    assert_int_equal(c->value->op, AGG_OP_MUL);
    c = c->next;
    assert_false(c->has_type);
    assert_int_equal(c->value->op, AGG_OP_ADD);
    assert_string_equal(c->value->lhs->base, "state");

    agg_command *cmd = a->commands;
    assert_string_equal(cmd->fields->name, "x");
    assert_true(cmd->fields->type.optional);
    assert_string_equal(cmd->fields->next->name, "y");
    assert_int_equal(cmd->fields->next->def->kind, AGG_E_INT);
    assert_int_equal(cmd->fields->next->def->ival, -1);
    assert_int_equal(cmd->checks->cond->op, AGG_OP_NE);
    assert_int_equal(cmd->checks->cond->rhs->kind, AGG_E_NULL);

    agg_enum *e = f->enums;
    assert_string_equal(e->members->next->name, "closed");
    assert_null(e->members->next->next);
    assert_string_equal(e->next->name, "Empty");
    assert_null(e->next->members);
    done(&p);
}

static void test_statements(void **state) {
    (void)state;
    parsed p;
    char *src = in_execute(
        "if a > 1 { x = 1; } else if b { state.y += 2; } else { z -= 3; }\n"
        "if c { }\n"
        "emit E { a = 1; b = \"s\"; }\n"
        "emit F {}\n");
    parse(&p, src);
    free(src);
    assert_string_equal(errors(&p), "");
    agg_stmt *s = p.f->aggregates->executes->body;
    assert_int_equal(s->kind, AGG_S_IF);
    assert_loc(s->loc, 4, 1, 4, 3);
    assert_true(s->has_else);
    assert_int_equal(s->then_body->kind, AGG_S_ASSIGN);
    agg_stmt *elif = s->else_body;
    assert_int_equal(elif->kind, AGG_S_IF);
    assert_null(elif->next);
    assert_string_equal(elif->cond->sval, "b");
    assert_string_equal(elif->then_body->target, "y");
    assert_loc(elif->then_body->target_loc, 4, 39, 4, 40);
    assert_int_equal(elif->then_body->assign_op, AGG_OP_ADD);
    assert_true(elif->has_else);
    assert_string_equal(elif->else_body->target, "z");
    assert_int_equal(elif->else_body->assign_op, AGG_OP_SUB);
    s = s->next;
    assert_int_equal(s->kind, AGG_S_IF);
    assert_false(s->has_else);
    assert_null(s->then_body);
    s = s->next;
    assert_int_equal(s->kind, AGG_S_EMIT);
    assert_string_equal(s->inits->next->name, "b");
    assert_string_equal(s->inits->next->value->sval, "s");
    s = s->next;
    assert_int_equal(s->kind, AGG_S_EMIT);
    assert_null(s->inits);
    assert_null(s->next);
    done(&p);
}

/* Reactions: the name, the event, the steps in order; a file keeps them
 * in declaration order. */
static void test_reactions(void **state) {
    (void)state;
    parsed p;
    parse(&p, "domain d;\n"
              "react E as first { dispatch C { aggregate_id = event.to; n = 1; } }\n"
              "react F as second {\n"
              "  dispatch C { aggregate_id = aggregate_id; }\n"
              "  then D { aggregate_id = \"x\"; }\n"
              "  else G {}\n"
              "}\n");
    assert_string_equal(errors(&p), "");
    agg_reaction *r = p.f->reactions;
    assert_non_null(r);
    assert_string_equal(r->name, "first");
    assert_loc(r->loc, 2, 12, 2, 17);
    assert_string_equal(r->event_name, "E");
    assert_loc(r->event_loc, 2, 7, 2, 8);
    assert_string_equal(r->dispatch->command_name, "C");
    assert_loc(r->dispatch->loc, 2, 20, 2, 28);
    assert_string_equal(r->dispatch->inits->name, "aggregate_id");
    assert_string_equal(r->dispatch->inits->value->base, "event");
    assert_string_equal(r->dispatch->inits->next->name, "n");
    assert_null(r->on_ok);
    assert_null(r->on_rejected);
    r = r->next;
    assert_non_null(r);
    assert_string_equal(r->name, "second");
    assert_string_equal(r->on_ok->command_name, "D");
    assert_loc(r->on_ok->loc, 5, 3, 5, 7);
    assert_string_equal(r->on_rejected->command_name, "G");
    assert_null(r->on_rejected->inits);
    assert_null(r->next);
    done(&p);
}

/* -------------------------------------------------------- expressions */

static void test_precedence(void **state) {
    (void)state;
    assert_tree("a || b && c == d + e * f", "(a || (b && (c == (d + (e * f)))))");
    assert_tree("a * b + c < d && e != f || g",
                "(((((a * b) + c) < d) && (e != f)) || g)");
    assert_tree("a - b - c", "((a - b) - c)");
    assert_tree("a / b % c * d", "(((a / b) % c) * d)");
    assert_tree("(a + b) * c", "((a + b) * c)");
    assert_tree("!a && b", "((!a) && b)");
    assert_tree("!(a && b)", "(!(a && b))");
    assert_tree("-a * b", "((-a) * b)");
    assert_tree("- -a", "(-(-a))");
    assert_tree("-(5)", "(-5)");
    assert_tree("a <= b == c >= d", "((a <= b) == (c >= d))");
    assert_tree("a - -1", "(a - -1)");
    assert_tree("command.x + event.y + state.z + E.m",
                "(((command.x + event.y) + state.z) + E.m)");
    assert_tree("\"a\" + \"b\"", "(\"a\" + \"b\")");
    assert_tree("!!true || false || null == null",
                "(((!(!true)) || false) || (null == null))");
    /* records and lists */
    assert_tree("x in xs && !(y in ys)", "((x in xs) && (!(y in ys)))");
    assert_tree("a + 1 in xs == b", "(((a + 1) in xs) == b)");
    assert_tree("command.address.city", "command.address.city");
    assert_tree("l.price.amount * 2", "(l.price.amount * 2)");
    assert_tree("len(xs) + 1", "(len(xs) + 1)");
    assert_tree("sum(l.qty * 2 for l in command.lines if l.qty > 0) > 3",
                "(sum((l.qty * 2) for l in command.lines if (l.qty > 0)) > 3)");
    assert_tree("all(any(t == \"x\" for t in l.tags) for l in lines)",
                "all(any((t == \"x\") for t in l.tags) for l in lines)");
    assert_tree("[]", "[]");
}

/* Duration literals are microseconds; now() is a call. */
static void test_time_literals(void **state) {
    (void)state;
    assert_tree("now() - 30d + 2h", "((now() - 2592000000000us) + 7200000000us)");
    assert_tree("15m + 90s + 500ms + 7us", "(((900000000us + 90000000us) + 500000us) + 7us)");
    assert_tree("-1d * n", "((-86400000000us) * n)");
    assert_tree("0s", "0us");
    /* the largest whole number of days that fits, and one more */
    assert_tree("106751991d", "9223372022400000000us");
    parsed p;
    char *src = in_execute("require x < 106751992d else y;");
    parse(&p, src);
    free(src);
    assert_non_null(strstr(errors(&p), "duration literal out of range"));
    done(&p);
    src = in_execute("require x < 30min else y;");
    parse(&p, src);
    free(src);
    assert_non_null(strstr(errors(&p), "invalid number '30min'"));
    done(&p);
}

static void test_expression_locations(void **state) {
    (void)state;
    parsed p;
    /* line 4: "require a + -5 * state.b else x;" */
    agg_expr *e = expr_of(&p, "a + -5 * state.b");
    assert_int_equal(e->kind, AGG_E_BINARY);
    assert_loc(e->loc, 4, 11, 4, 12);
    assert_loc(e->lhs->loc, 4, 9, 4, 10);
    agg_expr *mul = e->rhs;
    assert_loc(mul->loc, 4, 16, 4, 17);
    assert_int_equal(mul->lhs->kind, AGG_E_INT);
    assert_int_equal(mul->lhs->ival, -5);
    assert_loc(mul->lhs->loc, 4, 13, 4, 15); /* the '-' and the digits */
    assert_int_equal(mul->rhs->kind, AGG_E_MEMBER);
    assert_string_equal(mul->rhs->base, "state");
    assert_loc(mul->rhs->base_loc, 4, 18, 4, 23);
    assert_loc(mul->rhs->loc, 4, 24, 4, 25);
    done(&p);

    e = expr_of(&p, "!\tx");
    assert_loc(e->loc, 4, 9, 4, 10);
    assert_loc(e->lhs->loc, 4, 11, 4, 12); /* a tab is one column */
    done(&p);
}

static void test_literals(void **state) {
    (void)state;
    parsed p;
    agg_expr *e = expr_of(&p, "9223372036854775807");
    assert_int_equal(e->kind, AGG_E_INT);
    assert_true(e->ival == INT64_MAX);
    done(&p);

    e = expr_of(&p, "-9223372036854775808");
    assert_int_equal(e->kind, AGG_E_INT);
    assert_true(e->ival == INT64_MIN);
    assert_loc(e->loc, 4, 9, 4, 29);
    done(&p);

    e = expr_of(&p, "- 9223372036854775807");
    assert_true(e->ival == -INT64_MAX);
    done(&p);

    e = expr_of(&p, "0");
    assert_int_equal(e->kind, AGG_E_INT);
    assert_int_equal(e->ival, 0);
    done(&p);

    e = expr_of(&p, "1.5");
    assert_int_equal(e->kind, AGG_E_FLOAT);
    assert_true(e->fval == 1.5);
    done(&p);
    e = expr_of(&p, "1e3");
    assert_int_equal(e->kind, AGG_E_FLOAT);
    assert_true(e->fval == 1000.0);
    done(&p);
    e = expr_of(&p, "2.5e-3");
    assert_true(e->fval == 2.5e-3);
    done(&p);
    e = expr_of(&p, "-1.5");
    assert_int_equal(e->kind, AGG_E_UNARY);
    assert_int_equal(e->op, AGG_OP_NEG);
    assert_true(e->lhs->fval == 1.5);
    done(&p);

    e = expr_of(&p, "true");
    assert_int_equal(e->kind, AGG_E_BOOL);
    assert_int_equal(e->ival, 1);
    done(&p);
    e = expr_of(&p, "null");
    assert_int_equal(e->kind, AGG_E_NULL);
    done(&p);

    char *s = in_execute("require 9223372036854775808 else x;\n"
                         "require 99999999999999999999 else x;\n"
                         "require -99999999999999999999 else x;\n"
                         "require 1e999 else x;\n"
                         "require 12abc else x;");
    assert_errors(s,
                  "t.agg:4:9: error: integer literal out of range\n"
                  "t.agg:5:9: error: integer literal out of range\n"
                  "t.agg:6:10: error: integer literal out of range\n"
                  "t.agg:7:9: error: floating-point literal out of range\n"
                  "t.agg:8:9: error: invalid number '12abc'\n");
    free(s);
}

static void test_strings(void **state) {
    (void)state;
    parsed p;
    agg_expr *e = expr_of(&p, "\"a\\\"b\\\\c\\/d\\ne\\tf\\rg\"");
    assert_int_equal(e->kind, AGG_E_STRING);
    assert_int_equal(e->slen, 13);
    assert_memory_equal(e->sval, "a\"b\\c/d\ne\tf\rg", 14);
    assert_loc(e->loc, 4, 9, 4, 30);
    done(&p);

    e = expr_of(&p, "\"\"");
    assert_int_equal(e->slen, 0);
    assert_string_equal(e->sval, "");
    done(&p);

    /* \u escapes become UTF-8; a surrogate pair is one code point */
    e = expr_of(&p, "\"\\u00e9\\u20AC\\ud83d\\ude00\\u0041\"");
    assert_string_equal(e->sval, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80" "A");
    assert_int_equal(e->slen, 10);
    done(&p);

    /* raw UTF-8 passes through unchanged */
    e = expr_of(&p, "\"caf\xC3\xA9 \xF0\x9F\x98\x80 \xE2\x82\xAC\"");
    assert_string_equal(e->sval, "caf\xC3\xA9 \xF0\x9F\x98\x80 \xE2\x82\xAC");
    done(&p);

    char *s = in_execute(
        "require \"\\ud800\" == \"\\udc00x\" else x;\n"
        "require \"\\u0000\" == \"a\\qb\" else x;\n"
        "require \"\\u12\" == \"\\ud83d\\u0041\" else x;");
    assert_errors(s,
                  "t.agg:4:10: error: lone surrogate \\uD800 in string\n"
                  "t.agg:4:22: error: lone surrogate \\uDC00 in string\n"
                  "t.agg:5:10: error: \\u0000 is not allowed in a string\n"
                  "t.agg:5:23: error: invalid escape sequence '\\q'\n"
                  "t.agg:6:10: error: invalid escape sequence '\\u': "
                  "expected 4 hex digits\n"
                  "t.agg:6:20: error: lone surrogate \\uD83D in string\n");
    free(s);

    /* the valid part of a string with a bad escape is kept */
    s = in_execute("require \"a\\qb\\ud83d\\u0041\" else x;");
    parse(&p, s);
    free(s);
    assert_string_equal(p.f->aggregates->executes->body->cond->sval, "abA");
    done(&p);
}

/* ----------------------------------------------------- syntax errors */

static void test_syntax_errors(void **state) {
    (void)state;
    assert_errors("domain d;\naggregate A {\n  state { x: int }\n}\n",
                  "t.agg:3:18: error: unexpected '}', expected ';', '=', '?' or '<'\n");
    /* a ';' missing before a new line: said where it belongs */
    assert_errors("domain d\nenum E { a }\n",
                  "t.agg:1:9: error: missing ';' at the end of the line\n");
    assert_errors("domain d;\naggregate A {\n  state { x: int = 1\n y: int; }\n}\n",
                  "t.agg:3:21: error: missing ';' at the end of the line\n");
    assert_errors("domain d;\naggregate A {\n  command C { a int; }\n}\n",
                  "t.agg:3:17: error: unexpected identifier 'int', expected ':'\n");
    assert_errors("domain d;\naggregate A {\n  comand C { a: int; }\n}\n",
                  "t.agg:3:3: error: unexpected identifier 'comand', expected "
                  "'state', 'command', 'event', 'execute', 'apply', "
                  "'projection' or '}'\n");
    assert_errors("domain d;\naggregate A {\n  command C { a: int;\n",
                  "t.agg:3:22: error: unexpected end of file, expected "
                  "identifier, 'check' or '}'\n");
    assert_errors("domain d; x = 1;",
                  "t.agg:1:11: error: unexpected identifier 'x', expected "
                  "'domain', 'enum', 'aggregate', 'record', 'react', 'view' or end of file\n");
    assert_errors("domain state;",
                  "t.agg:1:8: error: unexpected keyword 'state', expected "
                  "identifier\n");
    assert_errors("enum E { a b }",
                  "t.agg:1:12: error: unexpected identifier 'b', expected ',' "
                  "or '}'\n");
    assert_errors("domain d;\ndomain e;\n",
                  "t.agg:2:8: error: duplicate 'domain' declaration\n"
                  "t.agg:1:8: note: the first one is here\n");

    char *s = in_execute("require a < else x;");
    assert_errors(s, "t.agg:4:13: error: unexpected keyword 'else', expected "
                     "expression\n");
    free(s);
    s = in_execute("require a = b else x;");
    assert_errors(s, "t.agg:4:11: error: unexpected '='; did you mean '=='?\n");
    free(s);
    s = in_execute("require a < b < c else x;");
    assert_errors(s, "t.agg:4:15: error: unexpected '<': comparisons cannot be "
                     "chained; combine them with '&&'\n");
    free(s);
    s = in_execute("require a == b == c else x;");
    assert_errors(s, "t.agg:4:16: error: unexpected '==': comparisons cannot "
                     "be chained; combine them with '&&'\n");
    free(s);
    s = in_execute("require total > 0 account_not_found;");
    assert_errors(s, "t.agg:4:19: error: unexpected identifier "
                     "'account_not_found', expected operator or 'else'\n");
    free(s);
    s = in_execute("require ok;");
    assert_errors(s, "t.agg:4:11: error: unexpected ';', expected operator or 'else'\n");
    free(s);
    s = in_execute("emit E { a = 1 }");
    assert_errors(s, "t.agg:4:16: error: unexpected '}', expected operator or ';'\n");
    free(s);
    s = in_execute("x = 1 2;");
    parsed p;
    parse(&p, s);
    assert_string_equal(errors(&p), "t.agg:4:7: error: unexpected integer 2, expected operator or ';'\n");
    /* the caret line under the quoted source */
    assert_string_equal(p.out, "t.agg:4:7: error: unexpected integer 2, expected operator or ';'\n"
                               "  x = 1 2;\n"
                               "        ^\n");
    done(&p);
    free(s);
    s = in_execute("require a \"a string that is definitely much longer than "
                   "forty bytes\" else x;");
    assert_errors(s, "t.agg:4:11: error: unexpected string \"a string that is "
                     "definitely much longer..., expected operator or 'else'\n");
    free(s);
    s = in_execute("require a else \"x\";");
    assert_errors(s, "t.agg:4:16: error: unexpected string \"x\", expected "
                     "identifier\n");
    free(s);
    s = in_execute("require aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
                   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb "
                   "else x;");
    assert_errors(s, "t.agg:4:65: error: unexpected identifier "
                     "'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...', expected "
                     "operator or 'else'\n");
    free(s);
    s = in_execute("x = 1;\n}\n}\n}");
    assert_errors(s, "t.agg:7:1: error: unexpected '}', expected 'domain', "
                     "'enum', 'aggregate', 'record', 'react', 'view' or end of file\n");
    free(s);
}

/* One file reports every independent mistake, without cascades. */
static void test_error_recovery(void **state) {
    (void)state;
    parsed p;
    agg_file *f = parse(&p,
        "domain d;\n"
        "enum E { a, b c, d }\n"                       /* 2 */
        "aggregate A {\n"
        "  state { x: int; y int; z: bool; }\n"        /* 4 */
        "  command C { a: int; check a > else bad; b: int; }\n" /* 5 */
        "  comand D { a: int; }\n"                     /* 6 */
        "  event Ev { a: int; }\n"
        "  execute C {\n"
        "    require a else;\n"                        /* 9 */
        "    emit Ev { a = 1; }\n"
        "    if x { y = ; z = 1; }\n"                  /* 11 */
        "  }\n"
        "  apply Ev { x = 1 }\n"                       /* 13 */
        "  projection p { x; y: int; z; }\n"           /* 14 */
        "}\n"
        "aggregate B { state { q: int; } }\n");
    assert_string_equal(errors(&p),
        "t.agg:2:15: error: unexpected identifier 'c', expected ',' or '}'\n"
        "t.agg:4:21: error: unexpected identifier 'int', expected ':'\n"
        "t.agg:5:33: error: unexpected keyword 'else', expected expression\n"
        "t.agg:6:3: error: unexpected identifier 'comand', expected 'state', "
        "'command', 'event', 'execute', 'apply', 'projection' or '}'\n"
        "t.agg:9:19: error: unexpected ';', expected identifier\n"
        "t.agg:11:16: error: unexpected ';', expected expression\n"
        "t.agg:13:20: error: unexpected '}', expected operator or ';'\n"
        "t.agg:14:27: error: unexpected ';', expected '=', '?' or '<'\n");
    /* what parsed around the errors is in the tree */
    assert_string_equal(f->enums->members->name, "a");
    assert_string_equal(f->enums->members->next->name, "b");
    agg_aggregate *a = f->aggregates;
    assert_string_equal(a->state->name, "x");
    assert_string_equal(a->state->next->name, "z");
    assert_string_equal(a->commands->fields->name, "a");
    assert_string_equal(a->commands->fields->next->name, "b");
    assert_null(a->commands->next);
    assert_string_equal(a->events->name, "Ev");
    agg_stmt *s = a->executes->body;
    assert_int_equal(s->kind, AGG_S_EMIT);
    assert_int_equal(s->next->kind, AGG_S_IF);
    assert_string_equal(s->next->then_body->target, "z");
    assert_string_equal(a->applies->event_name, "Ev");
    assert_string_equal(a->projections->columns->name, "x");
    assert_string_equal(a->projections->columns->next->name, "z");
    assert_string_equal(a->next->name, "B");
    assert_string_equal(a->next->state->name, "q");
    done(&p);
}

/* ----------------------------------------------------- lexical errors */

static void test_lexical_errors(void **state) {
    (void)state;
    assert_errors("domain d; @ #", "t.agg:1:11: error: unexpected character '@'\n"
                                   "t.agg:1:13: error: unexpected character '#'\n");
    assert_errors("domain d;\n\x01", "t.agg:2:1: error: unexpected character U+0001\n");
    char *s = in_execute("require a & b else x;");
    assert_errors(s, "t.agg:4:11: error: unexpected character '&' (did you mean "
                     "'&&'?)\n");
    free(s);
    /* non-ASCII outside strings and comments; in a word, the word stays
     * one identifier so that nothing else is reported */
    assert_errors("domain caf\xC3\xA9;\n",
                  "t.agg:1:11: error: unexpected character U+00E9 '\xC3\xA9' "
                  "in identifier\n");
    assert_errors("domain d;\naggregate A { state { tot\xC3\xA1l_\xC3\xA9: int; } }",
                  "t.agg:2:26: error: unexpected character U+00E1 '\xC3\xA1' "
                  "in identifier\n");
    assert_errors("domain d; \xE2\x82\xAC",
                  "t.agg:1:11: error: unexpected character U+20AC '\xE2\x82\xAC'\n");
    /* a byte order mark is fine at the start only */
    assert_errors("\xEF\xBB\xBF" "domain d;", "");
    assert_errors("domain d;\xEF\xBB\xBF",
                  "t.agg:1:10: error: unexpected character U+FEFF '\xEF\xBB\xBF'\n");
    parsed p;
    parse(&p, "\xEF\xBB\xBF" "domain d;");
    assert_loc(p.f->domain_loc, 1, 11, 1, 12);
    done(&p);
    /* comments may hold any UTF-8 */
    assert_errors("// caf\xC3\xA9 \xF0\x9F\x98\x80\n/* \xE2\x82\xAC */ domain d;", "");
}

static void test_invalid_utf8(void **state) {
    (void)state;
    /* Latin-1 é outside, inside a string, inside both comment kinds */
    assert_errors("domain caf\xE9;",
                  "t.agg:1:11: error: invalid UTF-8 byte 0xE9\n");
    char *s = in_execute("require \"caf\xE9\" == \"ok\" else x;");
    assert_errors(s, "t.agg:4:13: error: invalid UTF-8 byte 0xE9\n");
    free(s);
    assert_errors("// \xFF\n/* \xC0\xAF */\ndomain d;",
                  "t.agg:1:4: error: invalid UTF-8 byte 0xFF\n"
                  "t.agg:2:4: error: invalid UTF-8 byte 0xC0\n");
    /* surrogates encoded in UTF-8 and truncated sequences are invalid;
     * a run of bad bytes is one error */
    assert_errors("domain d; \xED\xA0\x80 \xE2\x82",
                  "t.agg:1:11: error: invalid UTF-8 byte 0xED\n"
                  "t.agg:1:15: error: invalid UTF-8 byte 0xE2\n");
}

static void test_nul_byte(void **state) {
    (void)state;
    static const char text[] = "domain d;\n// a\0b\n/* \0 */\n\0";
    assert_errors_n(text, sizeof text - 1,
                    "t.agg:2:5: error: NUL byte in source\n"
                    "t.agg:3:4: error: NUL byte in source\n"
                    "t.agg:4:1: error: NUL byte in source\n");
    static const char str[] = "domain d;\naggregate A { state { s: string = \"a\0b\"; } }";
    parsed p;
    parse_n(&p, str, sizeof str - 1);
    assert_string_equal(errors(&p), "t.agg:2:37: error: NUL byte in source\n");
    /* the string keeps its other bytes and stays NUL-free */
    agg_expr *e = p.f->aggregates->state->def;
    assert_int_equal(e->slen, 2);
    assert_string_equal(e->sval, "ab");
    done(&p);
    /* the text after a NUL is still parsed */
    static const char after[] = "\0domain d;";
    parse_n(&p, after, sizeof after - 1);
    assert_string_equal(errors(&p), "t.agg:1:1: error: NUL byte in source\n");
    assert_string_equal(p.f->domain, "d");
    done(&p);
}

static void test_unterminated(void **state) {
    (void)state;
    /* a string broken by a newline: one error at its start, then the
     * parser resumes after the next ';' */
    assert_errors("domain d;\naggregate A {\n state {\n  s: string = \"abc\n"
                  "  t: int;\n  u: int;\n }\n}\n",
                  "t.agg:4:15: error: unterminated string\n");
    assert_errors("domain d;\naggregate A { state { s: string = \"abc",
                  "t.agg:2:35: error: unterminated string\n");
    assert_errors("domain d;\n/* comment\n\n", "t.agg:2:1: error: unterminated comment\n");
    assert_errors("domain d;\naggregate A { /* x", "t.agg:2:15: error: unterminated comment\n");
    assert_errors("domain d; // no newline at the end", "");
}

static void test_empty_files(void **state) {
    (void)state;
    const char *texts[] = {"", "   \n\t\n", "// only a comment\n", "/* */"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        parsed p;
        agg_file *f = parse(&p, texts[i]);
        assert_string_equal(errors(&p), "");
        assert_string_equal(f->path, "t.agg");
        assert_null(f->domain);
        assert_null(f->enums);
        assert_null(f->aggregates);
        done(&p);
    }
    /* NULL text with length 0 is an empty file too */
    agg_arena a;
    agg_arena_init(&a);
    agg_diag d;
    FILE *null_out = fopen("/dev/null", "w");
    agg_diag_init(&d, null_out, false);
    agg_file *f = agg_parse(&a, &d, "x.agg", NULL, 0);
    assert_non_null(f);
    assert_string_equal(f->path, "x.agg");
    assert_int_equal(d.errors, 0);
    fclose(null_out);
    agg_arena_free(&a);
}

/* ------------------------------------------------------- hostile input */

static void test_long_identifier(void **state) {
    (void)state;
    char *id = malloc(100001);
    memset(id, 'x', 100000);
    id[100000] = '\0';
    char *s = repeat("domain ", id, 1, ";\naggregate ", id, " { }\n");
    parsed p;
    parse(&p, s);
    assert_string_equal(errors(&p),
        "t.agg:1:8: error: identifier is 100000 characters long; the limit is 63\n"
        "t.agg:2:11: error: identifier is 100000 characters long; the limit is 63\n");
    assert_int_equal(strlen(p.f->domain), AGG_MAX_IDENT);
    assert_int_equal(strlen(p.f->aggregates->name), AGG_MAX_IDENT);
    done(&p);
    free(s);
    free(id);
    /* exactly the limit is fine */
    char ok[AGG_MAX_IDENT + 16];
    memset(ok, 'y', sizeof ok);
    memcpy(ok, "domain ", 7);
    strcpy(ok + 7 + AGG_MAX_IDENT, ";");
    assert_errors(ok, "");
}

static void test_deep_parens(void **state) {
    (void)state;
    /* 256 levels parse; the 257th '(' is the error, reported once */
    char *s = repeat("domain d;\naggregate A { execute C { require ", "(", 256,
                     "a", ")", " else x; } }");
    assert_errors(s, "");
    free(s);
    s = repeat("domain d;\naggregate A { execute C { require ", "(", 10000, "a",
               ")", " else x; } }\n");
    assert_errors(s, "t.agg:2:291: error: expression nested too deeply (the "
                     "limit is 256)\n");
    free(s);
    s = repeat("domain d;\naggregate A { execute C { require ", "(", 10000, "", "",
               "");
    assert_errors(s, "t.agg:2:291: error: expression nested too deeply (the "
                     "limit is 256)\n");
    free(s);
}

static void test_deep_unary(void **state) {
    (void)state;
    char *s = repeat("domain d;\naggregate A { execute C { require ", "!", 10000,
                     "a", "", " else x; } }\n");
    assert_errors(s, "t.agg:2:291: error: expression nested too deeply (the "
                     "limit is 256)\n");
    free(s);
    s = repeat("domain d;\naggregate A { execute C { require ", "-", 10000,
                     "1", "", " else x; } }\n");
    assert_errors(s, "t.agg:2:291: error: expression nested too deeply (the "
                     "limit is 256)\n");
    free(s);
    s = repeat("domain d;\naggregate A { execute C { require ", "!(", 5000, "a",
               ")", " else x; } }\n");
    assert_errors(s, "t.agg:2:291: error: expression nested too deeply (the "
                     "limit is 256)\n");
    free(s);
}

static void test_deep_ifs(void **state) {
    (void)state;
    char *s = repeat("domain d;\naggregate A { execute C {\n", "if a {", 10000,
                     "", "}", "} }\n");
    assert_errors(s, "t.agg:3:1537: error: 'if' statement nested too deeply "
                     "(the limit is 256)\n");
    free(s);
    s = repeat("domain d;\naggregate A { execute C {\nif a {}", " else if a {}",
               10000, "", "", "} }\n");
    assert_errors(s, "t.agg:3:3329: error: 'else if' chain too long (the limit "
                     "is 256)\n");
    free(s);
    s = repeat("domain d;\naggregate A { execute C {\nif a {}", " else if a {}",
               255, "", "", "} }\n");
    assert_errors(s, "");
    free(s);
}

static void test_long_operator_chain(void **state) {
    (void)state;
    /* a + a + ... is a left-deep tree: bounded so later passes can recurse */
    char *s = repeat("domain d;\naggregate A { execute C { require a", " + a",
                     100000, "", "", " else x; } }\n");
    assert_errors(s, "t.agg:2:4133: error: expression too long: more than 1024 "
                     "nested operators\n");
    free(s);
    s = repeat("domain d;\naggregate A { execute C { require a", " || a", 1000,
               "", "", " else x; } }\n");
    assert_errors(s, "");
    free(s);
}

static void test_many_braces(void **state) {
    (void)state;
    char *s = repeat("domain d;\naggregate A {", "{", 100000, "", "", "");
    assert_errors(s, "t.agg:2:14: error: unexpected '{', expected 'state', "
                     "'command', 'event', 'execute', 'apply', 'projection' or "
                     "'}'\n");
    free(s);
    s = repeat("", "}", 100000, "", "", "");
    assert_errors(s, "t.agg:1:1: error: unexpected '}', expected 'domain', "
                     "'enum', 'aggregate', 'record', 'react', 'view' or end of file\n");
    free(s);
}

/* The error cap (compiler/diag.h): at most AGG_DIAG_MAX_ERRORS error lines
 * are printed, and past the cap exactly one "too many errors" line says so. */
static void assert_cap(parsed *p) {
    fflush(p->mem);
    int shown = 0, notes = 0;
    char note[64];
    snprintf(note, sizeof note, "aggc: too many errors (stopping after %d)\n",
             AGG_DIAG_MAX_ERRORS);
    /* line by line: quoted source lines start with two spaces, so garbage
     * that happens to contain ": error: " is not counted */
    for (const char *l = p->out ? p->out : ""; *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) + 1 : strlen(l);
        if (strncmp(l, "t.agg:", 6) == 0 && strstr(l, ": error: ") &&
            strstr(l, ": error: ") < l + len)
            shown++;
        if (len == strlen(note) && strncmp(l, note, len) == 0) notes++;
        l += len;
    }
    assert_true(shown <= AGG_DIAG_MAX_ERRORS);
    if (p->diag.errors > AGG_DIAG_MAX_ERRORS) {
        assert_int_equal(shown, AGG_DIAG_MAX_ERRORS);
        assert_int_equal(notes, 1);
    } else {
        assert_int_equal(shown, p->diag.errors);
        assert_int_equal(notes, 0);
    }
}

/* Random token soup and random bytes: never a crash (the suite also runs
 * under ASan+UBSan), always a tree, errors capped. */
static void test_garbage(void **state) {
    (void)state;
    int over_cap = 0;
    static const char *toks[] = {
        "domain", "enum", "aggregate", "state", "command", "event", "execute",
        "apply", "projection", "check", "else", "require", "fail", "emit", "if",
        "extern", "true", "false", "null", "x", "Y", "1", "1.5", "\"s\"", ";",
        ":", ",", ".", "{", "}", "(", ")", "?", "=", "+=", "-=", "+", "-", "*",
        "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "!", "\n",
        "\"", "/*", "*/", "//", "\xC3\xA9", "\xE9", "\\u"};
    const size_t ntoks = sizeof toks / sizeof *toks;
    uint32_t seed = 12345;
    char *buf = malloc(1 << 16);
    for (int round = 0; round < 3000; round++) {
        size_t n = 0;
        int count = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 300;
        bool bytes = round % 5 == 4;
        for (int i = 0; i < count; i++) {
            seed = seed * 1103515245u + 12345u;
            if (bytes) {
                buf[n++] = (char)(seed >> 16);
            } else {
                const char *t = toks[(seed >> 16) % ntoks];
                size_t l = strlen(t);
                memcpy(buf + n, t, l);
                n += l;
                buf[n++] = ' ';
            }
        }
        parsed p;
        parse_n(&p, buf, n);
        assert_cap(&p);
        if (p.diag.errors > AGG_DIAG_MAX_ERRORS) over_cap++;
        done(&p);
    }
    free(buf);
    /* the soup must reach the cap at least once, or the cap went untested */
    assert_true(over_cap > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bank_example),
        cmocka_unit_test(test_example_files),
        cmocka_unit_test(test_items_any_order),
        cmocka_unit_test(test_statements),
        cmocka_unit_test(test_reactions),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_time_literals),
        cmocka_unit_test(test_expression_locations),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_error_recovery),
        cmocka_unit_test(test_lexical_errors),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_unterminated),
        cmocka_unit_test(test_empty_files),
        cmocka_unit_test(test_long_identifier),
        cmocka_unit_test(test_deep_parens),
        cmocka_unit_test(test_deep_unary),
        cmocka_unit_test(test_deep_ifs),
        cmocka_unit_test(test_long_operator_chain),
        cmocka_unit_test(test_many_braces),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
