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

struct wkp_ring {
    /* producer side */
    _Alignas(64) _Atomic uint32_t head; /* slots published (release; pairs with consumer acquire) */
    uint32_t pending;                   /* slots filled, not yet published */
    uint32_t cached_tail;
    uint64_t arena_head; /* arena bytes handed out */
    _Atomic int prod_waiting;

    /* consumer side */
    _Alignas(64) _Atomic uint32_t tail; /* slots released (release; pairs with producer acquire) */
    _Atomic uint64_t arena_tail;        /* arena bytes given back, published with tail */
    _Atomic int cons_waiting;

    _Alignas(64) uint32_t size, mask;
    uint32_t wake_at; /* wake a sleeping consumer once this many slots wait */
    struct wkp_pkt *slots;
    uint8_t *arena;
    uint64_t arena_size;
    _Atomic int *stop; /* set when the run is stopped: waits give up */
};

int wkp_ring_init(struct wkp_ring *r, uint32_t slots, uint64_t arena_bytes, _Atomic int *stop);
void wkp_ring_fini(struct wkp_ring *r);

/* Producer: a slot to fill, and if copy_len > 0 room for that many frame
 * bytes in the arena (*arena_out). Waits while the ring or arena is full,
 * publishing what is pending first. NULL only if the run was stopped. */
struct wkp_pkt *wkp_ring_reserve(struct wkp_ring *r, uint32_t copy_len, uint8_t **arena_out);
/* Producer: publish every reserved slot. A sleeping consumer is woken only
 * once wake_at slots are waiting (a futex wake per burst of 32 packets
 * would cost more than the packets), or always with wkp_ring_publish_wake. */
void wkp_ring_publish(struct wkp_ring *r);
void wkp_ring_publish_wake(struct wkp_ring *r);

/* Consumer: up to max slots ready to read starting at *first (index into
 * slots, already masked; slots wrap, so read r->slots[(first + i) & mask]).
 * Returns 0 when empty. */
uint32_t wkp_ring_peek(struct wkp_ring *r, uint32_t max, uint32_t *first);
/* Consumer: give back n slots (and their arena bytes). */
void wkp_ring_release(struct wkp_ring *r, uint32_t n);
/* Consumer: wait until something is published (or the run stops, or
 * timeout_ms passes). */
void wkp_ring_wait(struct wkp_ring *r, int timeout_ms);

#endif
