/* The stock of huge slabs (util/slab.h) between its owner and a filler
 * thread, for ThreadSanitizer: the owner takes slabs and writes all of
 * each while the filler faults new ones in and publishes them. A plain
 * program (Criterion cannot start under TSan).
 *
 * Pass: every slab the owner holds keeps what the owner wrote in it (no
 * slab is handed out twice, none is written by the filler after it was
 * taken), some came from the stock, and TSan reports no race.
 *
 * Usage: tsan_slab [TAKES]   (default 100)   Last line: N passed, N failed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/futex.h"
#include "util/slab.h"

static _Atomic uint32_t bell;
static _Atomic int done;
static struct wkp_slab_stock stock = {.bell = &bell};
static _Atomic long filled;

static void *filler(void *arg)
{
    (void)arg;
    for (;;) {
        uint32_t seen = atomic_load(&bell);
        if (atomic_load(&done))
            return NULL;
        atomic_fetch_add(&filled, wkp_slab_stock_fill(&stock, &done));
        wkp_futex_wait(&bell, seen, 5);
    }
}

int main(int argc, char **argv)
{
    int takes = argc > 1 ? atoi(argv[1]) : 100;
    char **held = calloc((size_t)takes, sizeof *held);
    pthread_t f;
    if (!held || pthread_create(&f, NULL, filler, NULL) != 0) {
        printf("0 passed, 1 failed (setup)\n");
        return 1;
    }
    int failed = 0;
    wkp_slab_stock_use(&stock);
    for (int i = 0; i < takes; i++) {
        if (!(held[i] = wkp_slab_alloc(WKP_SLAB_HUGE))) {
            failed = 1;
            break;
        }
        for (size_t o = 0; o < WKP_SLAB_HUGE; o += 4096)
            held[i][o] = (char)i;
    }
    wkp_slab_stock_use(NULL);
    atomic_store(&done, 1);
    wkp_slab_bell_ring(&bell);
    pthread_join(f, NULL);
    int bad = 0;
    for (int i = 0; i < takes && held[i]; i++) {
        for (size_t o = 0; o < WKP_SLAB_HUGE; o += 4096)
            bad += held[i][o] != (char)i;
        free(held[i]);
    }
    free(held);
    long left = 0;
    for (int i = 0; i < WKP_SLAB_STOCK_SLOTS; i++)
        left += atomic_load(&stock.ready[i]) != NULL;
    wkp_slab_stock_drain(&stock);
    long n = atomic_load(&filled), taken = n - left;
    if (bad || taken <= 0)
        failed = 1;
    printf("stock: %d takes, %ld of them from %ld slabs faulted in ahead, %d bytes wrong\n", takes,
           taken, n, bad);
    printf("%d passed, %d failed\n", !failed, failed);
    return failed;
}
