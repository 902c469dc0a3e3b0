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
/* CPU seconds (user + system) so far of the server that `c` is connected
 * to: its postmaster and every child of it (same machine; /proc).
 * Measures work, not speed: it does not depend on what else the machine
 * runs, as long as the backends counted stay alive in between (autovacuum
 * workers, which come and go, are left out). */
double bench_server_cpu(PGconn *c);
/* CPU seconds (user + system) of this process, every thread. */
double bench_self_cpu(void);
/* The server's WAL insert position in bytes (differences: WAL written). */
double bench_wal_bytes(PGconn *c);

#endif
