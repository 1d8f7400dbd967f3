/* SPSC ring and flow queue (see ring.h). A ring is touched by exactly two
 * threads: the reader (producer) and one worker (consumer); a flow queue by
 * one worker (producer) and the merger (consumer).
 *
 * Sleeping: a side that finds nothing to do spins briefly, then raises its
 * *_waiting flag, re-checks the counter, and sleeps on the counter's futex
 * (which sleeps only if the counter still holds the value it checked). The
 * other side stores the counter, then reads the flag. Both the flag store
 * and the counter store are sequentially consistent, so at least one side
 * sees the other's store: no wake-up is lost. Only the sleeper lowers its
 * flag: a waker that lowered it could erase the flag of the sleeper's next
 * sleep (the sleeper woke on its own, checked, raised the flag again), and
 * the wake after that would be skipped. Sleeps also time out, so a lost
 * wake-up could only cost a few milliseconds, never a hang.
 *
 * One wake-up per sleep: a woken thread may wait a while for a CPU, its
 * flag still up, and the other side would otherwise make a system call at
 * each publish or release meanwhile (70,000 futex calls from the reader in
 * one 2.5 s run on a 2-vCPU guest). So before raising its flag the sleeper
 * stores, in one word, the number of its sleep and the counter value its
 * futex sleeps on; the waker reads that word after the flag (so it is the
 * flag's sleep or a later one) and does not wake a sleep it has already
 * woken for sure. A wake is sure when the counter the waker stored before
 * it differs from the sleeper's value: the futex then either is woken by it
 * or, entered later, returns at once. A wake that is not sure (a forced
 * wake with nothing new) is still made, and not remembered.
 *
 * WKP_RING_RACE_POINT(n) marks the windows of that handshake; a test defines
 * it to widen them (tests/tsan/tsan_ring.c). */
#include "engine/ring.h"
#include "util/prefetch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef WKP_RING_RACE_POINT
#define WKP_RING_RACE_POINT(n) ((void)0)
#endif
/* How long the producer sleeps at most on a full ring. */
#ifndef WKP_RING_PROD_WAIT_MS
#define WKP_RING_PROD_WAIT_MS 5
#endif

enum { RESERVE_AHEAD = 8 }; /* slots: see wkp_ring_reserve */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

int wkp_ring_init(struct wkp_ring *r, uint32_t slots, uint64_t arena_bytes, _Atomic int *stop)
{
    memset(r, 0, sizeof *r);
    if (slots < 2 || (slots & (slots - 1)) != 0)
        return -1;
    r->slots = aligned_alloc(64, ((size_t)slots * sizeof(struct wkp_pkt) + 63) & ~(size_t)63);
    r->arena = arena_bytes ? malloc(arena_bytes) : NULL;
    if (!r->slots || (arena_bytes && !r->arena)) {
        free(r->slots);
        free(r->arena);
        return -1;
    }
    r->size = slots;
    r->mask = slots - 1;
    /* Half the ring on both sides: each sleep and wake-up (two system calls
     * and two context switches, several microseconds on a virtual machine)
     * is paid for by half a ring of packets. A quarter cost a wake-up per
     * 512 packets with 2048 slots, 8-15 % of the CPU. */
    r->wake_at = slots / 2 ? slots / 2 : 1;
    r->arena_size = arena_bytes;
    r->stop = stop;
    return 0;
}

void wkp_ring_fini(struct wkp_ring *r)
{
    free(r->slots);
    free(r->arena);
    r->slots = NULL;
    r->arena = NULL;
}

/* The sleeper's side of "one wake-up per sleep": a new sleep's number and
 * the counter value its futex will wait on, in one word, before the flag. */
static inline void note_sleep(_Atomic uint64_t *word, uint32_t val)
{
    uint64_t s = atomic_load_explicit(word, memory_order_relaxed);
    atomic_store_explicit(word, ((s >> 32) + 1) << 32 | val, memory_order_relaxed);
}

/* The waker's side: false if the sleep in `sleep` (the word, read after the
 * flag) was already woken for sure; else true, remembering the sleep when
 * this wake is sure (the counter `now` it stored differs from the value the
 * futex waits on). */
static inline bool wake_once(uint64_t sleep, uint32_t *woken, uint32_t now)
{
    uint32_t nr = (uint32_t)(sleep >> 32);
    if (nr == *woken)
        return false;
    if ((uint32_t)sleep != now)
        *woken = nr;
    return true;
}

static void publish(struct wkp_ring *r, bool force)
{
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed) + r->pending;
    if (r->pending) {
        /* seq_cst store: pairs with the consumer's acquire load of head in
         * wkp_ring_peek, and orders against our load of cons_waiting below. */
        atomic_store(&r->head, h);
        r->pending = 0;
    }
    if (atomic_load(&r->cons_waiting)) {
        uint32_t waiting = h - atomic_load_explicit(&r->tail, memory_order_relaxed);
        uint64_t sleep = atomic_load_explicit(&r->cons_sleep, memory_order_relaxed);
        WKP_RING_RACE_POINT(1);
        if ((force || waiting >= r->wake_at) && wake_once(sleep, &r->cons_woken, h)) {
            wkp_futex_wake(&r->head);
            WKP_RING_RACE_POINT(5);
        }
    }
}

void wkp_ring_publish(struct wkp_ring *r)
{
    if (r->pending)
        publish(r, false);
}

void wkp_ring_publish_wake(struct wkp_ring *r)
{
    publish(r, true);
}

/* Is there room for one more slot and need arena bytes at arena_head? */
static bool has_room(struct wkp_ring *r, uint32_t h, uint64_t need)
{
    /* acquire: pairs with the consumer's release of tail/arena_tail, so the
     * slots and bytes it gave back are no longer read. */
    r->cached_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (h - r->cached_tail >= r->size)
        return false;
    if (need) {
        uint64_t at = atomic_load_explicit(&r->arena_tail, memory_order_acquire);
        if (r->arena_head + need - at > r->arena_size)
            return false;
    }
    return true;
}

struct wkp_pkt *wkp_ring_reserve(struct wkp_ring *r, uint32_t copy_len, uint8_t **arena_out)
{
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed) + r->pending;
    uint64_t need = 0;
    if (copy_len) {
        /* A frame is contiguous: if it would straddle the end of the arena,
         * the rest of the arena is skipped. */
        uint64_t off = r->arena_head % r->arena_size;
        uint64_t pad = off + copy_len > r->arena_size ? r->arena_size - off : 0;
        need = pad + copy_len;
    }
    if (h - r->cached_tail >= r->size || need) {
        int spins = 0;
        while (!has_room(r, h, need)) {
            publish(r, true); /* the consumer may be waiting for these */
            if (atomic_load_explicit(r->stop, memory_order_relaxed))
                return NULL;
            if (++spins < 64) {
                cpu_relax();
                continue;
            }
            if (r->on_block)
                r->on_block(r->on_block_arg);
            uint32_t t = r->cached_tail;
            note_sleep(&r->prod_sleep, t);
            atomic_store(&r->prod_waiting, 1);
            if (!has_room(r, h, need)) {
                WKP_RING_RACE_POINT(2);
                wkp_futex_wait(&r->tail, t, WKP_RING_PROD_WAIT_MS);
            }
            atomic_store_explicit(&r->prod_waiting, 0, memory_order_relaxed);
        }
    }
    if (copy_len) {
        uint64_t off = r->arena_head % r->arena_size;
        if (off + copy_len > r->arena_size) {
            r->arena_head += r->arena_size - off;
            off = 0;
        }
        *arena_out = r->arena + off;
        r->arena_head += copy_len;
    }
    struct wkp_pkt *p = &r->slots[h & r->mask];
    p->arena_end = r->arena_head;
    r->pending++;
    /* The slot RESERVE_AHEAD on was last read (and partly written) by the
     * consumer, on its core: ask for its lines now, so that filling it is
     * not a string of stalls then. Only if the consumer has released it. */
    if (h + RESERVE_AHEAD - r->cached_tail < r->size)
        wkp_prefetch_w_lines(&r->slots[(h + RESERVE_AHEAD) & r->mask], sizeof *p);
    return p;
}

bool wkp_ring_last(const struct wkp_ring *r, uint64_t *pos, uint8_t *kind)
{
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed) + r->pending;
    if (h == 0) /* nothing yet (or exactly 2^32 items: a missed update, no harm) */
        return false;
    const struct wkp_pkt *p = &r->slots[(h - 1) & r->mask];
    *pos = p->pos;
    *kind = p->kind;
    return true;
}

uint32_t wkp_ring_peek(struct wkp_ring *r, uint32_t max, uint32_t *first)
{
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    /* acquire: pairs with the producer's store of head in wkp_ring_publish,
     * so the published slots' contents are visible. */
    uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    uint32_t n = h - t;
    *first = t & r->mask;
    return n < max ? n : max;
}

void wkp_ring_release(struct wkp_ring *r, uint32_t n)
{
    if (!n)
        return;
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    const struct wkp_pkt *last = &r->slots[(t + n - 1) & r->mask];
    /* release: pairs with the producer's acquire in has_room; the slots and
     * arena bytes are no longer read after this. */
    atomic_store_explicit(&r->arena_tail, last->arena_end, memory_order_release);
    atomic_store(&r->tail, t + n);
    if (atomic_load(&r->prod_waiting)) {
        /* Wake a waiting reader only once a good part of the ring is free
         * (or its arena may be what it waits for: then wake when empty),
         * so a slow worker does not cost a wake-up per burst; but from a
         * sixteenth on when another consumer of the reader sleeps on an
         * empty ring: its CPU idles until the reader goes on. */
        uint32_t used = atomic_load_explicit(&r->head, memory_order_relaxed) - (t + n);
        uint64_t sleep = atomic_load_explicit(&r->prod_sleep, memory_order_relaxed);
        WKP_RING_RACE_POINT(3);
        uint32_t room = r->size - used;
        bool starving = r->hungry && atomic_load_explicit(r->hungry, memory_order_relaxed) > 0;
        if ((room >= r->wake_at || used == 0 || (starving && room >= r->size / 16)) &&
            wake_once(sleep, &r->prod_woken, t + n)) {
            wkp_futex_wake(&r->tail);
            WKP_RING_RACE_POINT(6);
        }
    }
}

void wkp_ring_wait(struct wkp_ring *r, int timeout_ms)
{
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    for (int i = 0; i < 128; i++) {
        if (atomic_load_explicit(&r->head, memory_order_acquire) != t)
            return;
        cpu_relax();
    }
    note_sleep(&r->cons_sleep, t);
    atomic_store(&r->cons_waiting, 1);
    if (r->hungry) /* a hint for the producer's other consumers (wkp_ring_release) */
        atomic_fetch_add_explicit(r->hungry, 1, memory_order_relaxed);
    if (atomic_load(&r->head) == t && !atomic_load_explicit(r->stop, memory_order_relaxed)) {
        WKP_RING_RACE_POINT(4);
        wkp_futex_wait(&r->head, t, timeout_ms);
    }
    if (r->hungry)
        atomic_fetch_sub_explicit(r->hungry, 1, memory_order_relaxed);
    atomic_store_explicit(&r->cons_waiting, 0, memory_order_relaxed);
}

int wkp_flowq_init(struct wkp_flowq *q, uint32_t slots, uint64_t max_bytes, _Atomic int *stop,
                   _Atomic uint32_t *consumer_wake, _Atomic int *consumer_sleeping)
{
    memset(q, 0, sizeof *q);
    if (slots < 1 || (slots & (slots - 1)) != 0)
        return -1;
    q->slots = calloc(slots, sizeof *q->slots);
    if (!q->slots)
        return -1;
    q->size = slots;
    q->mask = slots - 1;
    q->max_bytes = max_bytes;
    q->stop = stop;
    q->consumer_wake = consumer_wake;
    q->consumer_sleeping = consumer_sleeping;
    return 0;
}

void wkp_flowq_fini(struct wkp_flowq *q)
{
    free(q->slots);
    q->slots = NULL;
}

static void wake_consumer(struct wkp_flowq *q)
{
    if (atomic_load_explicit(q->consumer_sleeping, memory_order_relaxed) &&
        atomic_exchange(q->consumer_sleeping, 0)) {
        atomic_fetch_add(q->consumer_wake, 1);
        wkp_futex_wake(q->consumer_wake);
    }
}

/* Room for one more slot of `bytes` after h? Sequentially consistent loads:
 * the waiting producer's flag store must not pass them (see wkp_flowq_pop). */
static bool flowq_room(struct wkp_flowq *q, uint32_t h, uint64_t bytes)
{
    uint32_t t = atomic_load(&q->tail);
    if (h - t >= q->size)
        return false;
    if (h == t)
        return true; /* one flow always fits, however large */
    uint64_t used =
        atomic_load_explicit(&q->bytes_in, memory_order_relaxed) - atomic_load(&q->bytes_out);
    return used + bytes <= q->max_bytes;
}

static void flowq_put(struct wkp_flowq *q, uint32_t h, const struct wkp_flowq_slot *s)
{
    q->slots[h & q->mask] = *s;
    atomic_store_explicit(&q->bytes_in,
                          atomic_load_explicit(&q->bytes_in, memory_order_relaxed) + s->bytes,
                          memory_order_relaxed);
    /* release: pairs with the consumer's acquire in wkp_flowq_peek; the slot
     * and the record it points to are visible before the slot is. */
    atomic_store_explicit(&q->head, h + 1, memory_order_release);
    if (q->size > 1 && h + 1 - atomic_load_explicit(&q->tail, memory_order_relaxed) == q->size / 2)
        wake_consumer(q);
}

bool wkp_flowq_try_push(struct wkp_flowq *q, const struct wkp_flowq_slot *s)
{
    uint32_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (!flowq_room(q, h, s->bytes))
        return false;
    flowq_put(q, h, s);
    return true;
}

bool wkp_flowq_push(struct wkp_flowq *q, const struct wkp_flowq_slot *s)
{
    uint32_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    int spins = 0;
    while (!flowq_room(q, h, s->bytes)) {
        if (atomic_load_explicit(q->stop, memory_order_relaxed))
            return false;
        if (++spins < 64) {
            cpu_relax();
            continue;
        }
        /* Sleep until the consumer took half the queue. The flag store and
         * the consumer's tail store are both sequentially consistent: either
         * the recheck sees the slot it freed or it sees the flag. */
        uint32_t seq = atomic_load(&q->wake_seq);
        atomic_store(&q->prod_waiting, 1);
        if (flowq_room(q, h, s->bytes)) {
            atomic_store_explicit(&q->prod_waiting, 0, memory_order_relaxed);
            break;
        }
        wake_consumer(q);
        wkp_futex_wait(&q->wake_seq, seq, 5);
        atomic_store_explicit(&q->prod_waiting, 0, memory_order_relaxed);
    }
    flowq_put(q, h, s);
    return true;
}

const struct wkp_flowq_slot *wkp_flowq_peek(struct wkp_flowq *q)
{
    uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    /* acquire: pairs with the producer's release store of head */
    if (atomic_load_explicit(&q->head, memory_order_acquire) == t)
        return NULL;
    return &q->slots[t & q->mask];
}

void wkp_flowq_pop(struct wkp_flowq *q)
{
    uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint64_t out =
        atomic_load_explicit(&q->bytes_out, memory_order_relaxed) + q->slots[t & q->mask].bytes;
    atomic_store_explicit(&q->bytes_out, out, memory_order_relaxed);
    /* seq_cst: published after bytes_out, ordered against our load of
     * prod_waiting below (the producer stores the flag, then loads tail). */
    atomic_store(&q->tail, t + 1);
    if (atomic_load(&q->prod_waiting)) {
        uint32_t used = atomic_load_explicit(&q->head, memory_order_relaxed) - (t + 1);
        uint64_t bytes = atomic_load_explicit(&q->bytes_in, memory_order_relaxed) - out;
        if (used == 0 || (used <= q->size / 2 && bytes <= q->max_bytes / 2)) {
            atomic_store_explicit(&q->prod_waiting, 0, memory_order_relaxed);
            atomic_fetch_add(&q->wake_seq, 1);
            wkp_futex_wake(&q->wake_seq);
        }
    }
}
