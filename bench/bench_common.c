/* bench_common.c - see bench_common.h. */
#define _POSIX_C_SOURCE 200809L

#include "bench_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_result(const char *name, double value) {
    printf("RESULT %s %.6g\n", name, value);
    fflush(stdout);
}

void bench_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

const char *bench_db(void) {
    const char *db = getenv("INCIDENT_DB");
    if (!db || !*db) bench_die("INCIDENT_DB is not set (bench/run sets it)");
    return db;
}

static void quiet(void *ud, const char *m) {
    (void)ud;
    (void)m;
}

PGconn *bench_connect(const char *schema) {
    PGconn *c = PQconnectdb(bench_db());
    if (PQstatus(c) != CONNECTION_OK)
        bench_die("connect: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    if (schema) {
        char sql[256];
        snprintf(sql, sizeof sql, "SET search_path = %s", schema);
        bench_exec(c, sql);
    }
    return c;
}

void bench_exec(PGconn *c, const char *sql) {
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        bench_die("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

int64_t bench_query_i64(PGconn *c, const char *sql) {
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
        bench_die("%s: %s", sql, PQerrorMessage(c));
    int64_t v = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

void bench_fresh_schema(const char *schema) {
    char sql[256];
    PGconn *c = bench_connect(NULL);
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
    bench_exec(c, sql);
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
    bench_exec(c, sql);
    PQfinish(c);
}

uint64_t bench_rand(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717u;
}
