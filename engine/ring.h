/* Bounded single-producer single-consumer ring of wkp_pkt slots, with a
 * byte arena for frames that must be copied (the libpcap reader reuses its
 * buffer). Power-of-two slots; head and tail run free as 32-bit counters and
 * are masked on access, so full (head - tail == size) and empty (head ==
 * tail) are told apart without a spare slot. Head and tail sit on their own
 * cache lines. Items move in bursts: the producer fills several slots and
 * publishes them with one release store; the consumer takes what is there
 * and releases them with one store.
 *
 * Neither side spins for long: after a short spin a waiting side sleeps on a
 * futex and the other side wakes it. An offline run never drops a packet: a
 * full ring makes the reader wait. */
#ifndef WKP_RING_H
#define WKP_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/pkt.h"
#include "util/futex.h"

struct wkp_ring {
    /* producer side */
    _Alignas(64) _Atomic uint32_t head; /* slots published (release; pairs with consumer acquire) */
    uint32_t pending;                   /* slots filled, not yet published */
    uint32_t cached_tail;
    uint64_t arena_head; /* arena bytes handed out */
    _Atomic int prod_waiting;
    _Atomic uint64_t prod_sleep; /* (the producer's sleeps << 32) | the tail it sleeps on */
    uint32_t cons_woken;         /* the consumer's sleep last woken for sure (see ring.c) */

    /* consumer side */
    _Alignas(64) _Atomic uint32_t tail; /* slots released (release; pairs with producer acquire) */
    _Atomic uint64_t arena_tail;        /* arena bytes given back, published with tail */
    _Atomic int cons_waiting;
    _Atomic uint64_t cons_sleep; /* (the consumer's sleeps << 32) | the head it sleeps on */
    uint32_t prod_woken;         /* the producer's sleep last woken for sure */

    _Alignas(64) uint32_t size, mask;
    uint32_t wake_at; /* wake a sleeping consumer once this many slots wait */
    struct wkp_pkt *slots;
    uint8_t *arena;
    uint64_t arena_size;
    _Atomic int *stop; /* set when the run is stopped: waits give up */
    /* Shared by the rings of one producer (NULL: not kept): how many of
     * their consumers sleep on an empty ring. While one does, a consumer
     * wakes the producer sleeping on its full ring as soon as a sixteenth
     * of it is free, not half. */
    _Atomic int *hungry;
    /* Called by the producer before it sleeps on this full ring (NULL: no
     * call). The engine uses it to publish every ring and how far the
     * reader got, so idle workers can advance their watermarks while the
     * reader waits (see merger.c: the hand-off cannot deadlock). */
    void (*on_block)(void *arg);
    void *on_block_arg;
};

int wkp_ring_init(struct wkp_ring *r, uint32_t slots, uint64_t arena_bytes, _Atomic int *stop);
void wkp_ring_fini(struct wkp_ring *r);

/* Producer: a slot to fill, and if copy_len > 0 room for that many frame
 * bytes in the arena (*arena_out). Waits while the ring or arena is full,
 * publishing what is pending first. NULL only if the run was stopped. */
struct wkp_pkt *wkp_ring_reserve(struct wkp_ring *r, uint32_t copy_len, uint8_t **arena_out);
/* Producer: publish every reserved slot. A sleeping consumer is woken only
 * once wake_at slots (half the ring) are waiting (a futex wake per burst of
 * 32 packets would cost more than the packets), or always with
 * wkp_ring_publish_wake. */
void wkp_ring_publish(struct wkp_ring *r);
void wkp_ring_publish_wake(struct wkp_ring *r);

/* Producer side, from the producer's thread: the position and kind of the
 * item last reserved in this ring; false if none ever was. */
bool wkp_ring_last(const struct wkp_ring *r, uint64_t *pos, uint8_t *kind);

/* Consumer: up to max slots ready to read starting at *first (index into
 * slots, already masked; slots wrap, so read r->slots[(first + i) & mask]).
 * Returns 0 when empty. */
uint32_t wkp_ring_peek(struct wkp_ring *r, uint32_t max, uint32_t *first);
/* Consumer: give back n slots (and their arena bytes). */
void wkp_ring_release(struct wkp_ring *r, uint32_t n);
/* Consumer: wait until something is published (or the run stops, or
 * timeout_ms passes). */
void wkp_ring_wait(struct wkp_ring *r, int timeout_ms);

/* Bounded single-producer single-consumer queue of finished flows, from a
 * worker to the merger. Each slot carries the flow's sort key so the
 * merger compares without touching the record. The producer may hold at
 * most `size` flows and, beyond the first, `max_bytes` bytes of record
 * text in the queue; past that it sleeps until the consumer has taken half
 * of them (or the run stops). */
struct wkp_flow;
struct wkp_flowq_slot {
    uint64_t end_pos, id;
    struct wkp_flow *f;
    uint64_t bytes;
};

struct wkp_flowq {
    /* producer side */
    _Alignas(64) _Atomic uint32_t head; /* slots pushed (release; pairs with consumer acquire) */
    _Atomic uint64_t bytes_in;          /* bytes pushed, stored with head */
    _Atomic int prod_waiting;
    _Atomic uint32_t wake_seq; /* futex word the sleeping producer waits on */

    /* consumer side */
    _Alignas(64) _Atomic uint32_t tail; /* slots taken (release; pairs with producer acquire) */
    _Atomic uint64_t bytes_out;         /* bytes taken, stored before tail */

    _Alignas(64) uint32_t size, mask;
    uint64_t max_bytes;
    struct wkp_flowq_slot *slots;
    _Atomic int *stop;
    /* The consumer sleeps on *consumer_wake while *consumer_sleeping is
     * set; a producer about to wait, or whose queue got half full, wakes
     * it. Shared by every queue of one consumer. */
    _Atomic uint32_t *consumer_wake;
    _Atomic int *consumer_sleeping;
};

/* slots: a power of two (>= 1). 0 on success. */
int wkp_flowq_init(struct wkp_flowq *q, uint32_t slots, uint64_t max_bytes, _Atomic int *stop,
                   _Atomic uint32_t *consumer_wake, _Atomic int *consumer_sleeping);
void wkp_flowq_fini(struct wkp_flowq *q);
/* Producer: queue s if there is room now; false if not. */
bool wkp_flowq_try_push(struct wkp_flowq *q, const struct wkp_flowq_slot *s);
/* Producer: queue s, waiting while the queue is full. false only if the
 * run was stopped while waiting (s was not queued; the caller keeps f). */
bool wkp_flowq_push(struct wkp_flowq *q, const struct wkp_flowq_slot *s);
/* Consumer: the oldest queued slot, or NULL if the queue is empty. */
const struct wkp_flowq_slot *wkp_flowq_peek(struct wkp_flowq *q);
/* Consumer: drop the slot peek returned; wakes a waiting producer once
 * half the queue is free. */
void wkp_flowq_pop(struct wkp_flowq *q);

#endif
