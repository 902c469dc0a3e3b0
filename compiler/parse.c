/* parse.c - agg_parse (parse.h): runs the flex scanner (grammar/lexer.l)
 * and the bison parser (grammar/parser.y) over one file's text. */
#include "parse.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "front.h"
#include "lexer.h"
#include "parser.h"

agg_file *agg_parse(agg_arena *arena, agg_diag *diag, const char *path,
                    const char *text, size_t len) {
    agg_file *file = agg_arena_alloc(arena, sizeof *file);
    file->path = agg_arena_strdup(arena, path ? path : "<input>");
    if (!text) len = 0;

    agg_pctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.arena = arena;
    ctx.diag = diag;
    ctx.file = file;
    ctx.path = file->path;
    ctx.src = text ? text : "";
    ctx.len = len;
    ctx.line = ctx.col = 1;
    ctx.bad_utf8_end = SIZE_MAX;
    ctx.enum_tail = &file->enums;
    ctx.agg_tail = &file->aggregates;
    ctx.record_tail = &file->records;

    /* flex sizes buffers with int (and adds two end-of-buffer bytes) */
    if (len > (size_t)INT_MAX - 2) {
        agg_loc at = {file->path, 1, 1, 1, 1};
        agg_error(diag, at, "file is too large (%zu bytes)", len);
        return file;
    }

    yyscan_t scanner;
    if (agg_yylex_init(&scanner) != 0) {
        agg_error_plain(diag, "%s: cannot start the scanner", file->path);
        return file;
    }
    /* A UTF-8 byte order mark is harmless at the start: skip it (columns
     * still count its bytes).  yy_scan_bytes copies the text, so it may
     * hold NUL bytes and needs no terminator. */
    size_t skip = 0;
    if (len >= 3 && memcmp(ctx.src, "\xEF\xBB\xBF", 3) == 0) skip = 3;
    ctx.pos = skip;
    ctx.col = 1 + (int)skip;
    agg_yy_scan_bytes(ctx.src + skip, (int)(len - skip), scanner);
    agg_yyparse(scanner, &ctx);
    agg_yylex_destroy(scanner);
    free(ctx.sbuf);
    return file;
}
