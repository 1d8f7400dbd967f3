/* The ring's sleep/wake handshake under forced interleavings, and a
 * two-thread hammer with tiny rings. A plain program (runs under TSan too).
 *
 * engine/ring.c is compiled into this file with WKP_RING_RACE_POINT(n)
 * defined to hooks that hold one side inside a window of the handshake
 * until the other side has reached a chosen point, and with the sleeps'
 * timeout raised to 2 s, so a lost wake-up shows as a wait of 2 s or more
 * instead of hiding inside a few milliseconds.
 *
 * Scripted interleaving (the consumer's; the producer's is its mirror):
 *   1. the consumer finds the ring empty, raises its flag, re-checks: empty,
 *      and is held just before its futex sleep (point 4);
 *   2. the producer publishes an item, reads the flag (raised), and is held
 *      just before its wake (point 1);
 *   3. the consumer goes on: the futex sees the new head and returns at
 *      once; it lowers its flag, takes the item, finds the ring empty again,
 *      raises its flag, re-checks, and is held at point 4 again;
 *   4. the producer wakes (nobody sleeps yet) and passes point 5;
 *   5. the consumer sleeps. The producer's next item must wake it: if the
 *      waker lowered the flag in step 4, it erased the flag of step 3 and
 *      the item waits for the consumer's timeout.
 * A third script: the consumer has raised its flag on an empty ring and is
 * held before its sleep while the producer makes a forced wake with nothing
 * new; then it sleeps, and the producer's next item must still wake it (a
 * waker that took that wake for the sleep's one wake-up would skip it).
 * Every hold gives up after 20 ms, so a run that does not follow the script
 * only loses time. Pass: every item arrives in order, and no wait of either
 * side takes 1 s or more (a busy machine may delay a thread, not by that much).
 *
 * Usage: tsan_ring [ROUNDS]   (default 2000 per phase)   Last line: N passed, N failed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void race_point(int n);
#define WKP_RING_RACE_POINT(n) race_point(n)
#define WKP_RING_PROD_WAIT_MS  2000
#include "../../engine/ring.c"

#define LONG_WAIT_MS 2000
#define SLOW_S       1.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Which script the hooks follow: 0 none, 1 the consumer's sleep, 2 the
 * producer's, 3 the consumer's sleep after a wake with nothing new. */
static _Atomic int phase;
/* Script position: 0 idle, 1 sleeper held before its sleep, 2 waker held
 * before its wake, 4 sleeper held before its next sleep, 5 waker done. */
static _Atomic int stage;
static _Atomic long scripted; /* times step 5 was reached */

static bool hold_until(int want)
{
    double t0 = now_s();
    while (atomic_load(&stage) != want) {
        if (now_s() - t0 > 0.02)
            return false;
        sched_yield();
    }
    return true;
}

static void sleeper_point(void)
{
    int expect = 2;
    if (atomic_compare_exchange_strong(&stage, &expect, 4)) {
        /* step 3 done: the waker is held before its wake */
        if (hold_until(5))
            atomic_fetch_add(&scripted, 1);
        atomic_store(&stage, 0);
        return;
    }
    expect = 0;
    if (atomic_compare_exchange_strong(&stage, &expect, 1)) { /* step 1 */
        if (!hold_until(2)) {
            expect = 1;
            atomic_compare_exchange_strong(&stage, &expect, 0);
        }
    }
}

static void waker_before(void)
{
    int expect = 1;
    if (atomic_compare_exchange_strong(&stage, &expect, 2)) { /* step 2 */
        if (!hold_until(4)) {
            expect = 2;
            atomic_compare_exchange_strong(&stage, &expect, 0);
        }
    }
}

static void waker_after(void)
{
    int expect = 4;
    atomic_compare_exchange_strong(&stage, &expect, 5); /* step 4 */
}

static void race_point(int n)
{
    int ph = atomic_load_explicit(&phase, memory_order_relaxed);
    if (ph == 1) { /* the consumer sleeps, the producer wakes */
        if (n == 4)
            sleeper_point();
        else if (n == 1)
            waker_before();
        else if (n == 5)
            waker_after();
    } else if (ph == 3 && n == 4) { /* held before the sleep until the empty wake was made */
        int expect = 0;
        if (atomic_compare_exchange_strong(&stage, &expect, 1)) {
            if (hold_until(2))
                atomic_fetch_add(&scripted, 1);
            atomic_store(&stage, 0);
        }
    } else if (ph == 2) { /* the producer sleeps, the consumer wakes */
        if (n == 2)
            sleeper_point();
        else if (n == 3)
            waker_before();
        else if (n == 6)
            waker_after();
    }
}

struct run {
    struct wkp_ring r;
    _Atomic int stop;
    uint64_t n;        /* items */
    uint32_t max_take; /* the consumer takes at most this many at a time */
    int prod_gap_us, cons_gap_us;
    bool copy;
    double prod_max_wait, cons_max_wait;
    uint64_t bad; /* items out of order or with wrong bytes */
};

static uint64_t xs(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void pause_us(uint64_t *s, int max_us)
{
    if (max_us <= 0)
        return;
    uint64_t us = xs(s) % (uint64_t)(max_us + 1);
    if (us == 0)
        return;
    struct timespec ts = {0, (long)us * 1000};
    nanosleep(&ts, NULL);
}

static void *producer(void *arg)
{
    struct run *u = arg;
    if (atomic_load(&phase) == 3) { /* the third script (see the top) */
        for (uint64_t i = 1; i <= u->n; i++) {
            double t0 = now_s();
            while (atomic_load(&stage) != 1 && now_s() - t0 < 0.02)
                sched_yield();
            if (atomic_load(&stage) == 1) {
                wkp_ring_publish_wake(&u->r); /* nothing new */
                atomic_store(&stage, 2);
                struct timespec ts = {0, 1000000L}; /* the consumer goes to sleep */
                nanosleep(&ts, NULL);
            }
            struct wkp_pkt *p = wkp_ring_reserve(&u->r, 0, NULL);
            if (!p || atomic_load(&u->stop))
                return NULL;
            p->pos = i;
            wkp_ring_publish_wake(&u->r);
        }
        return NULL;
    }
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (uint64_t i = 1; i <= u->n; i++) {
        uint8_t *buf = NULL;
        uint32_t len = u->copy ? (uint32_t)(i % 700) + 1 : 0;
        double t0 = now_s();
        struct wkp_pkt *p = wkp_ring_reserve(&u->r, len, &buf);
        double w = now_s() - t0;
        if (w > u->prod_max_wait)
            u->prod_max_wait = w;
        if (w >= SLOW_S) /* a lost wake-up: no need to see more */
            atomic_store(&u->stop, 1);
        if (!p || atomic_load(&u->stop))
            return NULL;
        p->pos = i;
        p->caplen = len;
        if (len) {
            memset(buf, (int)(i & 0xff), len);
            p->data = buf;
        }
        if (xs(&s) % 3 == 0)
            wkp_ring_publish(&u->r);
        else
            wkp_ring_publish_wake(&u->r);
        pause_us(&s, u->prod_gap_us);
    }
    wkp_ring_publish_wake(&u->r);
    return NULL;
}

static void consume(struct run *u)
{
    uint64_t s = 0x2545f4914f6cdd1dULL, expect = 1;
    while (expect <= u->n && !atomic_load(&u->stop)) {
        uint32_t first;
        uint32_t n = wkp_ring_peek(&u->r, u->max_take, &first);
        if (!n) {
            double t0 = now_s();
            wkp_ring_wait(&u->r, LONG_WAIT_MS);
            double w = now_s() - t0;
            if (w > u->cons_max_wait)
                u->cons_max_wait = w;
            if (w >= SLOW_S) { /* a lost wake-up: no need to see more */
                atomic_store(&u->stop, 1);
                return;
            }
            continue;
        }
        for (uint32_t i = 0; i < n; i++) {
            const struct wkp_pkt *p = &u->r.slots[(first + i) & u->r.mask];
            if (p->pos != expect ||
                (u->copy && (p->caplen != (uint32_t)(expect % 700) + 1 ||
                             p->data[0] != (uint8_t)(expect & 0xff) ||
                             p->data[p->caplen - 1] != (uint8_t)(expect & 0xff))))
                u->bad++;
            expect++;
        }
        pause_us(&s, u->cons_gap_us);
        wkp_ring_release(&u->r, n);
    }
}

static int passed, failed;

static void check(const char *name, int ph, uint32_t slots, uint64_t arena, uint64_t items,
                  uint32_t max_take, int prod_gap_us, int cons_gap_us)
{
    struct run u;
    memset(&u, 0, sizeof u);
    if (wkp_ring_init(&u.r, slots, arena, &u.stop) != 0) {
        printf("FAIL %s: ring init\n", name);
        failed++;
        return;
    }
    u.n = items;
    u.max_take = max_take;
    u.prod_gap_us = prod_gap_us;
    u.cons_gap_us = cons_gap_us;
    u.copy = arena != 0;
    atomic_store(&stage, 0);
    atomic_store(&scripted, 0);
    atomic_store(&phase, ph);
    pthread_t t;
    double t0 = now_s();
    pthread_create(&t, NULL, producer, &u);
    consume(&u);
    pthread_join(t, NULL);
    atomic_store(&phase, 0);
    double wall = now_s() - t0;
    bool ok = u.bad == 0 && u.prod_max_wait < SLOW_S && u.cons_max_wait < SLOW_S;
    printf("%s %s: %llu items, %ld scripted interleavings, longest wait: producer %.3f s, "
           "consumer %.3f s; %.2f s\n",
           ok ? "ok" : "FAIL", name, (unsigned long long)items, (long)atomic_load(&scripted),
           u.prod_max_wait, u.cons_max_wait, wall);
    if (u.bad)
        printf("  %llu items out of order or damaged\n", (unsigned long long)u.bad);
    ok ? passed++ : failed++;
    wkp_ring_fini(&u.r);
}

static void *stopper(void *arg)
{
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store((_Atomic int *)arg, 1);
    return NULL;
}

/* A stop reaches a producer sleeping on a full ring and a consumer sleeping
 * on an empty one within their sleep's timeout. */
static void check_stop(void)
{
    _Atomic int stop = 0;
    struct wkp_ring full, empty;
    wkp_ring_init(&full, 2, 0, &stop);
    wkp_ring_init(&empty, 2, 0, &stop);
    wkp_ring_reserve(&full, 0, NULL);
    wkp_ring_reserve(&full, 0, NULL);
    pthread_t t;
    pthread_create(&t, NULL, stopper, &stop);
    double t0 = now_s();
    struct wkp_pkt *p = wkp_ring_reserve(&full, 0, NULL);
    double prod = now_s() - t0;
    t0 = now_s();
    wkp_ring_wait(&empty, LONG_WAIT_MS); /* stop already set: returns at once */
    double cons = now_s() - t0;
    pthread_join(t, NULL);
    /* the producer notices a stop when its sleep times out */
    bool ok = p == NULL && prod < WKP_RING_PROD_WAIT_MS / 1000.0 + SLOW_S && cons < SLOW_S;
    printf("%s stop: a full ring's producer gave up after %.3f s, an empty ring's consumer "
           "returned after %.3f s\n",
           ok ? "ok" : "FAIL", prod, cons);
    ok ? passed++ : failed++;
    wkp_ring_fini(&full);
    wkp_ring_fini(&empty);
}

struct one_more {
    struct wkp_ring *r;
    _Atomic int done;
};

static void *reserve_one_more(void *arg)
{
    struct one_more *m = arg;
    struct wkp_pkt *p = wkp_ring_reserve(m->r, 0, NULL);
    if (p)
        wkp_ring_publish(m->r);
    atomic_store(&m->done, p ? 1 : -1);
    return NULL;
}

static void *sleep_on_empty(void *arg)
{
    wkp_ring_wait(arg, LONG_WAIT_MS);
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* The producer sleeping on a full 64-slot ring is woken once half of it is
 * free, or a sixteenth (4 slots) while a consumer of another of its rings
 * sleeps on an empty one (the count they share). Its sleeps last 2 s here,
 * so a wake that is not made shows as a wait that long. */
static void check_hungry(void)
{
    _Atomic int stop = 0, hungry = 0;
    struct wkp_ring full, empty;
    wkp_ring_init(&full, 64, 0, &stop);
    wkp_ring_init(&empty, 64, 0, &stop);
    full.hungry = empty.hungry = &hungry;
    for (int i = 0; i < 64; i++)
        wkp_ring_reserve(&full, 0, NULL);
    wkp_ring_publish(&full);
    struct one_more m = {.r = &full};
    pthread_t prod, cons;
    pthread_create(&prod, NULL, reserve_one_more, &m);
    sleep_ms(50); /* past its spin: asleep */
    uint32_t first;
    wkp_ring_peek(&full, 4, &first);
    wkp_ring_release(&full, 4); /* nobody starves: a sixteenth is not enough */
    sleep_ms(100);
    bool slept_on = atomic_load(&m.done) == 0;

    pthread_create(&cons, NULL, sleep_on_empty, &empty);
    double t0 = now_s();
    while (atomic_load(&hungry) == 0 && now_s() - t0 < 1.0)
        sched_yield();
    bool counted = atomic_load(&hungry) == 1;
    sleep_ms(10); /* in its futex now, most likely; either way it is counted */
    t0 = now_s();
    wkp_ring_peek(&full, 1, &first);
    wkp_ring_release(&full, 1); /* 5 free, a consumer starves: wake */
    while (atomic_load(&m.done) == 0 && now_s() - t0 < 1.5)
        sched_yield();
    double woke = now_s() - t0;
    bool woken = atomic_load(&m.done) == 1 && woke < SLOW_S;

    wkp_ring_reserve(&empty, 0, NULL);
    wkp_ring_publish_wake(&empty);
    pthread_join(cons, NULL);
    pthread_join(prod, NULL);
    bool back = atomic_load(&hungry) == 0;
    bool ok = slept_on && counted && woken && back;
    printf("%s starving consumer: the producer slept on at a sixteenth free (%s), was woken "
           "%.3f s after one more slot with a consumer asleep on an empty ring (%s), the count "
           "back to 0 (%s)\n",
           ok ? "ok" : "FAIL", slept_on ? "yes" : "no", woke, counted ? "counted" : "not counted",
           back ? "yes" : "no");
    ok ? passed++ : failed++;
    wkp_ring_fini(&full);
    wkp_ring_fini(&empty);
}

int main(int argc, char **argv)
{
    uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000;
    /* Scripted: the consumer sleeps on an empty 4-slot ring between items. */
    check("consumer wake-up, scripted", 1, 4, 0, rounds, 64, 100, 0);
    /* Scripted: the producer sleeps on a full 2-slot ring, the consumer takes
     * one item at a time. */
    check("producer wake-up, scripted", 2, 2, 0, rounds, 1, 0, 100);
    /* Scripted: the consumer sleeps after a forced wake with nothing new. */
    check("consumer wake-up after an empty wake, scripted", 3, 4, 0, rounds / 4, 64, 0, 0);
    /* Hammer: tiny rings and arenas, both sides pausing at random. */
    check("hammer 2 slots, 2 KiB arena", 0, 2, 2048, rounds * 20, 64, 2, 2);
    check("hammer 4 slots, no arena", 0, 4, 0, rounds * 20, 3, 1, 0);
    check("hammer 8 slots, 4 KiB arena", 0, 8, 4096, rounds * 50, 64, 0, 3);
    check_stop();
    check_hungry();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
