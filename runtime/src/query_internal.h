/* query_internal.h - what inc_store_query (query.c) shares with the
 * stores' query operations (pg_query.c); not installed. */
#ifndef INCIDENT_QUERY_INTERNAL_H
#define INCIDENT_QUERY_INTERNAL_H

#include <incident/store.h>

/* Longest canonical text of a scalar value that is not a string. */
#define INCX_QUERY_TEXT 48

/* The column called `name` of row `rd` that queries may use (a scalar:
 * not a record or a list), or NULL with INC_ERR_INVALID naming it. */
const inc_field_desc *incx_query_column(const inc_message_desc *rd,
                                        const char *name, const char *what,
                                        inc_error *err);

/* `text` read by f's type into `row` (initialised as f's message):
 * INC_ERR_INVALID naming the field when the type cannot read it. */
int incx_query_value(const inc_field_desc *f, const char *text, void *row,
                     inc_error *err);

/* f's value in `row` as the canonical text a PostgreSQL parameter takes
 * (int decimal, float %.17g, bool, RFC 3339, enum member name, string as
 * is); *out NULL when absent.  `buf` holds what is not borrowed. */
void incx_query_text(const inc_field_desc *f, const void *row,
                     char buf[INCX_QUERY_TEXT], const char **out);

/* A row's key: its first field when that is an implicit string
 * (aggregate_id of a projection row, the declared key of a view row);
 * NULL otherwise. */
const inc_field_desc *incx_row_key(const inc_message_desc *rd);

/* Every field name and value of `q` checked against p's row. */
int incx_query_check(const inc_projection_desc *p, const inc_query *q,
                     inc_error *err);

#endif
