/* One application dissector outside the engine, driven as a worker drives
 * it: a zeroed context given to worker_init with this file's counters, a
 * zeroed flow state, and release() before the state is freed. For unit
 * tests that define `static const struct wkp_dissector *D`. */
#ifndef WKP_TEST_DIS_HARNESS_H
#define WKP_TEST_DIS_HARNESS_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/dissector.h"

static uint64_t counters[WKP_DIS_MAX_COUNTERS];
static const char *option_values[WKP_DIS_MAX_OPTIONS];
/* worker_init may keep the pointer: it lives as long as the test */
static struct wkp_dis_env env = {.counters = counters, .option_values = option_values};
static void *ctx, *state;
static struct wkp_buf out;

static void dis_setup(const struct wkp_dissector *d)
{
    memset(counters, 0, sizeof counters);
    ctx = calloc(1, d->worker_ctx_size ? d->worker_ctx_size : 1);
    state = calloc(1, d->flow_state_size);
    cr_assert(ctx && state);
    if (d->worker_init)
        cr_assert_eq(d->worker_init(ctx, &env), 0);
    memset(&out, 0, sizeof out);
}

static void dis_teardown(const struct wkp_dissector *d)
{
    if (d->release)
        d->release(ctx, state);
    if (d->worker_fini)
        d->worker_fini(ctx);
    free(ctx);
    free(state);
    wkp_buf_free(&out);
}

#endif
