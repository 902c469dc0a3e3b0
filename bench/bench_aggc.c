/* bench_aggc.c - the compiler on generated domains of 10, 100 and 1,000
 * aggregates (each: a 3-field state, 2 commands with checks, 2 events,
 * execute and apply rules, a projection): wall time (best of 3) and peak
 * memory (the child's maxrss from wait4) of `aggc -o DIR --emit=c,sql`.
 *
 *   bench_aggc AGGC WORKDIR */
#define _DEFAULT_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

static void write_domain(const char *path, int n) {
    FILE *f = fopen(path, "w");
    if (!f) bench_die("cannot write %s", path);
    fprintf(f, "domain gen%d;\n\n", n);
    for (int i = 0; i < n; i++)
        fprintf(f,
                "aggregate Thing%d {\n"
                "    state { name: string; total: int = 0; open: bool = false; }\n"
                "    command Open%d { name: string; }\n"
                "    command Add%d { amount: int; check amount > 0 else bad_amount; }\n"
                "    event Opened%d { name: string; }\n"
                "    event Added%d { amount: int; }\n"
                "    execute Open%d { require !open else already_open;\n"
                "        emit Opened%d { name = command.name; } }\n"
                "    execute Add%d { require open else not_open;\n"
                "        emit Added%d { amount = command.amount; } }\n"
                "    apply Opened%d { open = true; name = event.name; }\n"
                "    apply Added%d { total += event.amount; }\n"
                "    projection things%d { name; total; }\n"
                "}\n\n",
                i, i, i, i, i, i, i, i, i, i, i, i);
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc != 3) bench_die("usage: bench_aggc AGGC WORKDIR");
    const int sizes[3] = {10, 100, 1000};
    char src[512], out[512], name[64];
    mkdir(argv[2], 0755);
    for (int k = 0; k < 3; k++) {
        int n = sizes[k];
        double best = 1e9;
        long rss = 0;
        snprintf(src, sizeof src, "%s/gen%d.agg", argv[2], n);
        snprintf(out, sizeof out, "%s/out%d", argv[2], n);
        write_domain(src, n);
        mkdir(out, 0755);
        for (int rep = 0; rep < 3; rep++) {
            double t0 = bench_now();
            pid_t pid = fork();
            if (pid == 0) {
                execl(argv[1], argv[1], "-o", out, "--emit=c,sql", src,
                      (char *)NULL);
                _exit(127);
            }
            int status;
            struct rusage ru;
            if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
                WEXITSTATUS(status) != 0)
                bench_die("aggc failed on %s", src);
            double dt = bench_now() - t0;
            if (dt < best) best = dt;
            rss = ru.ru_maxrss;
        }
        snprintf(name, sizeof name, "aggc_ms_%d", n);
        bench_result(name, best * 1e3);
        snprintf(name, sizeof name, "aggc_rss_kb_%d", n);
        bench_result(name, (double)rss);
    }
    return 0;
}
