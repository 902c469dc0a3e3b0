/* bench_common.h - small helpers shared by the benchmark programs: clocks,
 * result lines, a private schema per benchmark, plain libpq calls. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>

#include <libpq-fe.h>

/* Monotonic seconds. */
double bench_now(void);
/* Print "RESULT <name> <value>" (what bench/run collects) and flush. */
void bench_result(const char *name, double value);
/* Die with a message (benchmarks have no error recovery to speak of). */
void bench_die(const char *fmt, ...);
/* $INCIDENT_DB or die. */
const char *bench_db(void);
/* A connection whose search_path is `schema` (NULL: the default). */
PGconn *bench_connect(const char *schema);
/* Run SQL, die unless it succeeds. */
void bench_exec(PGconn *c, const char *sql);
/* The first value of the first row as int64 (die on error). */
int64_t bench_query_i64(PGconn *c, const char *sql);
/* DROP SCHEMA IF EXISTS name CASCADE; CREATE SCHEMA name. */
void bench_fresh_schema(const char *schema);
/* xorshift64*: per-thread random numbers. */
uint64_t bench_rand(uint64_t *state);

#endif
