/* The SPSC ring: order, wrap-around of the free-running counters,
 * backpressure with tiny rings, and the copy arena. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "engine/ring.h"

static _Atomic int no_stop;

Test(ring, rejects_sizes_that_are_not_powers_of_two)
{
    struct wkp_ring r;
    cr_assert_neq(wkp_ring_init(&r, 3, 0, &no_stop), 0);
    cr_assert_neq(wkp_ring_init(&r, 1, 0, &no_stop), 0);
    cr_assert_eq(wkp_ring_init(&r, 4, 0, &no_stop), 0);
    wkp_ring_fini(&r);
}

Test(ring, single_thread_fifo_across_counter_wrap)
{
    struct wkp_ring r;
    cr_assert_eq(wkp_ring_init(&r, 4, 0, &no_stop), 0);
    /* start the free-running counters just below 2^32 so they wrap */
    atomic_store(&r.head, UINT32_MAX - 5);
    atomic_store(&r.tail, UINT32_MAX - 5);
    r.cached_tail = UINT32_MAX - 5;
    uint64_t next = 1;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 3; i++) {
            struct wkp_pkt *p = wkp_ring_reserve(&r, 0, NULL);
            cr_assert_not_null(p);
            p->pos = next + (uint64_t)i;
        }
        wkp_ring_publish(&r);
        uint32_t first;
        uint32_t n = wkp_ring_peek(&r, 64, &first);
        cr_assert_eq(n, 3);
        for (uint32_t i = 0; i < n; i++)
            cr_assert_eq(r.slots[(first + i) & r.mask].pos, next + i);
        wkp_ring_release(&r, n);
        next += 3;
    }
    wkp_ring_fini(&r);
}

struct prod_arg {
    struct wkp_ring *r;
    uint64_t n;
};

static void *producer(void *arg)
{
    struct prod_arg *a = arg;
    for (uint64_t i = 1; i <= a->n; i++) {
        uint8_t *buf = NULL;
        uint32_t len = (uint32_t)(i % 1500) + 1;
        struct wkp_pkt *p = wkp_ring_reserve(a->r, len, &buf);
        cr_assert_not_null(p);
        memset(buf, (int)(i & 0xff), len);
        p->pos = i;
        p->caplen = len;
        p->data = buf;
        if (i % 7 == 0)
            wkp_ring_publish(a->r);
    }
    wkp_ring_publish(a->r);
    return NULL;
}

Test(ring, two_threads_keep_order_and_bytes_under_backpressure)
{
    /* 2 slots and a 4 KiB arena: the producer waits most of the time. */
    struct wkp_ring r;
    cr_assert_eq(wkp_ring_init(&r, 2, 4096, &no_stop), 0);
    struct prod_arg a = {&r, 200000};
    pthread_t t;
    pthread_create(&t, NULL, producer, &a);
    uint64_t expect = 1;
    while (expect <= a.n) {
        uint32_t first;
        uint32_t n = wkp_ring_peek(&r, 64, &first);
        if (!n) {
            wkp_ring_wait(&r, 5);
            continue;
        }
        for (uint32_t i = 0; i < n; i++) {
            const struct wkp_pkt *p = &r.slots[(first + i) & r.mask];
            cr_assert_eq(p->pos, expect);
            cr_assert_eq(p->caplen, (uint32_t)(expect % 1500) + 1);
            cr_assert_eq(p->data[0], (uint8_t)(expect & 0xff));
            cr_assert_eq(p->data[p->caplen - 1], (uint8_t)(expect & 0xff));
            expect++;
        }
        wkp_ring_release(&r, n);
    }
    pthread_join(t, NULL);
    wkp_ring_fini(&r);
}

Test(ring, reserve_gives_up_when_stopped)
{
    _Atomic int stop = 0;
    struct wkp_ring r;
    cr_assert_eq(wkp_ring_init(&r, 2, 0, &stop), 0);
    cr_assert_not_null(wkp_ring_reserve(&r, 0, NULL));
    cr_assert_not_null(wkp_ring_reserve(&r, 0, NULL));
    atomic_store(&stop, 1);
    cr_assert_null(wkp_ring_reserve(&r, 0, NULL)); /* full and stopped */
    wkp_ring_fini(&r);
}
