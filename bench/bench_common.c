/* bench_common.c - see bench_common.h. */
#define _POSIX_C_SOURCE 200809L

#include "bench_common.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>

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

/* utime + stime of /proc/PID/stat in seconds, and its parent's pid. */
static double proc_cpu(long pid, long *ppid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* after the ")" that ends the command name: state ppid ... field 14
     * utime, 15 stime */
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    char st;
    long pp;
    unsigned long ut, stt;
    if (sscanf(p + 2, "%c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &st,
               &pp, &ut, &stt) != 4)
        return -1;
    if (ppid) *ppid = pp;
    return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

/* Autovacuum workers come and go (their CPU would vanish from the sum
 * when they exit) and work on their own schedule: left out. */
static int is_autovacuum_worker(long pid) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, "autovacuum worker") != NULL;
}

double bench_server_cpu(PGconn *c) {
    long backend = (long)bench_query_i64(c, "SELECT pg_backend_pid()"), postmaster;
    if (proc_cpu(backend, &postmaster) < 0) bench_die("cannot read /proc/%ld/stat", backend);
    double sum = proc_cpu(postmaster, NULL);
    DIR *d = opendir("/proc");
    if (!d) bench_die("cannot read /proc");
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        long pp;
        if (*end || pid <= 0 || pid == postmaster) continue;
        double t = proc_cpu(pid, &pp);
        if (t >= 0 && pp == postmaster && !is_autovacuum_worker(pid)) sum += t;
    }
    closedir(d);
    return sum;
}

double bench_self_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

double bench_wal_bytes(PGconn *c) {
    return (double)bench_query_i64(c, "SELECT (pg_current_wal_lsn() - '0/0')::bigint");
}
