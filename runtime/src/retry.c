/* retry.c - the retry policy after a version conflict, for inc_dispatch
 * and inc_dispatch_batch alike: at most max_retries more attempts, each
 * after a sleep with full jitter below a cap that doubles from
 * MIN_BACKOFF_US up to max_backoff_us. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <time.h>

#include <incident/gen.h>

#include "app_internal.h"

#define DEFAULT_MAX_RETRIES 10
#define DEFAULT_MAX_BACKOFF_US 20000u
#define MIN_BACKOFF_US 500u

void incx_retry_init(incx_retry *r) {
    r->max_retries = DEFAULT_MAX_RETRIES;
    r->max_backoff_us = DEFAULT_MAX_BACKOFF_US;
    /* seeded from a random uuid: apps started together jitter apart */
    char seed[INC_UUID_TEXT_SIZE];
    if (inc_uuid_v4(seed, NULL) != 0) seed[0] = '\0';
    r->rng = 0x9e3779b97f4a7c15u;
    for (const char *p = seed; *p; p++) r->rng = (r->rng ^ (uint64_t)*p) * 1099511628211u;
    if (!r->rng) r->rng = 1;
}

static uint64_t rng_next(incx_retry *r) {
    /* xorshift64*: only for retry jitter */
    uint64_t x = r->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->rng = x;
    return x * 2685821657736338717u;
}

void incx_backoff(incx_retry *r, unsigned attempt) {
    uint64_t cap = MIN_BACKOFF_US;
    for (unsigned i = 0; i < attempt && cap < r->max_backoff_us; i++) cap *= 2;
    if (cap > r->max_backoff_us) cap = r->max_backoff_us;
    if (cap == 0) return;
    uint64_t us = rng_next(r) % cap; /* full jitter */
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}
