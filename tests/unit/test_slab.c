/* Unit tests for util/slab's stock of huge slabs faulted in ahead: when a
 * filler adds slabs, which requests take them, that a taken slab is a
 * whole, aligned, writable 2 MiB, and that the owner's requests ring the
 * filler's bell. */
#include "util/futex.h"
#include "util/slab.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

static _Atomic uint32_t bell;
static const _Atomic int go = 0;

static int ready_count(struct wkp_slab_stock *s)
{
    int n = 0;
    for (int i = 0; i < WKP_SLAB_STOCK_SLOTS; i++)
        n += atomic_load(&s->ready[i]) != NULL;
    return n;
}

static bool is_ready(struct wkp_slab_stock *s, void *p)
{
    for (int i = 0; i < WKP_SLAB_STOCK_SLOTS; i++)
        if (atomic_load(&s->ready[i]) == p)
            return true;
    return false;
}

/* A stock its owner has not drawn on stays empty: a short run holds no
 * spare slab. */
Test(slab_stock, nothing_is_faulted_in_before_the_owner_wants_a_slab)
{
    struct wkp_slab_stock s = {.bell = &bell};
    cr_assert_eq(wkp_slab_stock_fill(&s, &go), 0);
    cr_assert_eq(ready_count(&s), 0);
    /* slabs below 2 MiB are not huge ones: they do not count as wanting */
    wkp_slab_stock_use(&s);
    void *small = wkp_slab_alloc(256u << 10);
    wkp_slab_stock_use(NULL);
    cr_assert_not_null(small);
    free(small);
    cr_assert_eq(wkp_slab_stock_fill(&s, &go), 0);
    cr_assert_eq(ready_count(&s), 0);
}

Test(slab_stock, the_owners_huge_slabs_come_from_the_stock_once_filled)
{
    struct wkp_slab_stock s = {.bell = &bell};
    wkp_slab_stock_use(&s);
    uint32_t rung = atomic_load(&bell);
    /* the first huge slab: the stock is empty, so it is allocated here, and
     * the bell says the owner now wants slabs */
    char *first = wkp_slab_alloc(WKP_SLAB_HUGE);
    cr_assert_not_null(first);
    cr_assert_eq(atomic_load(&bell), rung + 1);
    cr_assert_eq(wkp_slab_stock_fill(&s, &go), WKP_SLAB_STOCK_SLOTS);
    cr_assert_eq(ready_count(&s), WKP_SLAB_STOCK_SLOTS);
    cr_assert_eq(wkp_slab_stock_fill(&s, &go), 0, "a full stock takes no more");

    /* every slot's slab is handed out once, then the stock is empty */
    void *got[WKP_SLAB_STOCK_SLOTS];
    for (int i = 0; i < WKP_SLAB_STOCK_SLOTS; i++) {
        void *want[WKP_SLAB_STOCK_SLOTS];
        for (int j = 0; j < WKP_SLAB_STOCK_SLOTS; j++)
            want[j] = atomic_load(&s.ready[j]);
        got[i] = wkp_slab_alloc(WKP_SLAB_HUGE);
        bool from_stock = false;
        for (int j = 0; j < WKP_SLAB_STOCK_SLOTS; j++)
            from_stock |= want[j] == got[i];
        cr_assert(from_stock, "slab %d was not one of the stock's", i);
        cr_assert(!is_ready(&s, got[i]), "a slab handed out stays in the stock");
        cr_assert_eq((uintptr_t)got[i] % WKP_SLAB_HUGE, 0);
        cr_assert_eq(atomic_load(&bell), rung + 2 + (unsigned)i, "each take rings the bell");
        memset(got[i], 0xa5, WKP_SLAB_HUGE); /* all of it is the owner's (ASan checks) */
    }
    cr_assert_eq(ready_count(&s), 0);
    cr_assert_neq(got[0], got[1]);
    /* empty again: the next one is allocated on the spot */
    char *after = wkp_slab_alloc(WKP_SLAB_HUGE);
    cr_assert_not_null(after);
    cr_assert_neq(after, got[0]);
    cr_assert_neq(after, got[1]);

    /* requests that are not exactly one huge slab never draw on it */
    cr_assert_eq(wkp_slab_stock_fill(&s, &go), WKP_SLAB_STOCK_SLOTS);
    char *big = wkp_slab_alloc(2 * WKP_SLAB_HUGE);
    char *mid = wkp_slab_alloc(WKP_SLAB_HUGE - 64);
    cr_assert(!is_ready(&s, big) && !is_ready(&s, mid));
    cr_assert_eq(ready_count(&s), WKP_SLAB_STOCK_SLOTS);
    wkp_slab_stock_use(NULL);
    /* nor does a thread without the stock (here: this one, detached) */
    char *other = wkp_slab_alloc(WKP_SLAB_HUGE);
    cr_assert_eq(ready_count(&s), WKP_SLAB_STOCK_SLOTS);
    cr_assert(!is_ready(&s, other));

    free(first);
    free(after);
    free(big);
    free(mid);
    free(other);
    for (int i = 0; i < WKP_SLAB_STOCK_SLOTS; i++)
        free(got[i]);
    wkp_slab_stock_drain(&s); /* LeakSanitizer checks that it frees them */
    cr_assert_eq(ready_count(&s), 0);
}

Test(slab_stock, a_stop_leaves_the_stock_as_it_is)
{
    static const _Atomic int stop = 1;
    struct wkp_slab_stock s = {.bell = &bell};
    wkp_slab_stock_use(&s);
    free(wkp_slab_alloc(WKP_SLAB_HUGE)); /* wanted */
    wkp_slab_stock_use(NULL);
    cr_assert_eq(wkp_slab_stock_fill(&s, &stop), 0);
    cr_assert_eq(ready_count(&s), 0);
    wkp_slab_stock_drain(&s);
}

/* An owner thread takes 64 huge slabs while a filler thread keeps its
 * stock full: each slab is whole and distinct from every other held. */
enum { TAKES = 64 };
static struct wkp_slab_stock shared = {.bell = &bell};
static _Atomic int owner_done;

static void *filler(void *arg)
{
    (void)arg;
    for (;;) {
        uint32_t seen = atomic_load(&bell);
        if (atomic_load(&owner_done))
            return NULL;
        wkp_slab_stock_fill(&shared, &owner_done);
        wkp_futex_wait(&bell, seen, 5);
    }
}

Test(slab_stock, an_owner_and_a_filler_thread)
{
    static char *held[TAKES];
    pthread_t f;
    cr_assert_eq(pthread_create(&f, NULL, filler, NULL), 0);
    wkp_slab_stock_use(&shared);
    for (int i = 0; i < TAKES; i++) {
        held[i] = wkp_slab_alloc(WKP_SLAB_HUGE);
        cr_assert_not_null(held[i]);
        /* first and last byte of every page: stamped with the take */
        for (size_t o = 0; o < WKP_SLAB_HUGE; o += 4096) {
            held[i][o] = (char)i;
            held[i][o + 4095] = (char)i;
        }
    }
    wkp_slab_stock_use(NULL);
    atomic_store(&owner_done, 1);
    wkp_slab_bell_ring(&bell);
    pthread_join(f, NULL);
    for (int i = 0; i < TAKES; i++) {
        for (size_t o = 0; o < WKP_SLAB_HUGE; o += 4096)
            cr_assert(held[i][o] == (char)i && held[i][o + 4095] == (char)i,
                      "slab %d was written by another take", i);
        free(held[i]);
    }
    wkp_slab_stock_drain(&shared);
}
