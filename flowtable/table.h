/* A worker's flow table: liburcu's lock-free hash table (cds_lfht, QSBR
 * flavour) keyed by the canonical flow key, an LRU list ordered by the
 * capture clock of each flow's last packet, and a pool of entries.
 *
 * Only its worker writes the table. Entries are fixed-size blocks of
 * entry_size bytes that start with struct wkp_fentry; the rest belongs to
 * the caller (the worker's per-flow state). A removed entry is not reused
 * until a grace period has passed (the table's resize work runs on liburcu's
 * call_rcu thread and may still be reading it): removed entries wait on a
 * retire list, and after a batch the worker goes offline for one
 * synchronize_rcu() and moves them to its free list. No per-packet
 * allocation: entries come from slabs of about 256 KiB. */
#ifndef WKP_TABLE_H
#define WKP_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define _LGPL_SOURCE
#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>

#include "flowtable/key.h"

struct wkp_fentry {
    struct cds_lfht_node node;
    struct wkp_flow_key key;
    uint64_t hash;
    struct wkp_fentry *lru_prev, *lru_next; /* oldest at head of its class's list */
    int64_t last_clock_ns;                  /* capture clock at its last packet */
    uint8_t lru_class;                      /* which LRU list: one per timeout class */
};

#define WKP_LRU_CLASSES 4

#define WKP_FCACHE_BITS 16

struct wkp_ftable {
    /* Direct-mapped cache of recently used entries in front of the lfht:
     * a hit costs one load and one key compare instead of a walk of the
     * split-ordered list. Only live entries are cached (remove clears). */
    struct wkp_fentry **cache;
    struct cds_lfht *ht;
    size_t entry_size, slab_entries;
    struct wkp_fentry *lru_head[WKP_LRU_CLASSES], *lru_tail[WKP_LRU_CLASSES];
    uint64_t count; /* entries in the table */
    void *free_list, *retired;
    uint64_t nretired;
    void **slabs;
    size_t nslabs, slabs_cap;
};

/* Bytes an entry of entry_size takes in its slab. */
static inline size_t wkp_ftable_entry_bytes(size_t entry_size)
{
    /* 16-byte granularity, not a cache line: a flood is bounded by memory,
     * and the prefetch of a burst hides the extra line an entry may span. */
    return (entry_size + 15) & ~(size_t)15;
}

/* The lfht's share of one entry, beyond the node inside it: auto-resize
 * keeps at most about two buckets (struct cds_lfht_node each) per entry. */
#define WKP_FTABLE_BUCKET_BYTES (2 * sizeof(struct cds_lfht_node))

/* The calling thread must be registered with rcu_register_thread(). */
int wkp_ftable_init(struct wkp_ftable *t, size_t entry_size, unsigned long initial_buckets);
/* Frees every entry, in the table or not. The caller has removed what it needs. */
void wkp_ftable_fini(struct wkp_ftable *t);

struct wkp_fentry *wkp_ftable_lookup(struct wkp_ftable *t, const struct wkp_flow_key *k,
                                     uint64_t hash);
/* A new entry (zeroed past the header) holding key, added to the table and
 * at the tail of LRU list lru_class. NULL if out of memory. Flows of one
 * class share one idle timeout, so each list is ordered by expiry time. */
struct wkp_fentry *wkp_ftable_insert(struct wkp_ftable *t, const struct wkp_flow_key *k,
                                     uint64_t hash, int64_t clock_ns, uint8_t lru_class);
/* Mark e used at clock_ns: moves it to the LRU tail. */
void wkp_ftable_touch(struct wkp_ftable *t, struct wkp_fentry *e, int64_t clock_ns);
/* Move e to the tail of another LRU list (its timeout class changed). */
void wkp_ftable_set_class(struct wkp_ftable *t, struct wkp_fentry *e, uint8_t lru_class);
/* Remove e from the table and the LRU; it is recycled after a grace period. */
void wkp_ftable_remove(struct wkp_ftable *t, struct wkp_fentry *e);
/* Recycle retired entries if enough have piled up (call between bursts,
 * outside any read-side critical section; QSBR readers are always outside). */
void wkp_ftable_reclaim(struct wkp_ftable *t, uint64_t min_batch);

/* Software pipelining for a burst: stage 1 brings the cache slot of a
 * packet a few places ahead into the CPU cache, stage 2 (a little later)
 * the entry that slot points to. Only hints: nothing is read that could be
 * stale in a harmful way (the slot may have changed by the time the packet
 * is looked up; the lookup then does the real work). */
static inline void wkp_ftable_prefetch_slot(const struct wkp_ftable *t, uint64_t hash)
{
    __builtin_prefetch(&t->cache[hash & (((uint64_t)1 << WKP_FCACHE_BITS) - 1)]);
}

static inline void wkp_ftable_prefetch_entry(const struct wkp_ftable *t, uint64_t hash)
{
    const struct wkp_fentry *e = t->cache[hash & (((uint64_t)1 << WKP_FCACHE_BITS) - 1)];
    if (e) {
        __builtin_prefetch(e, 1);
        __builtin_prefetch((const char *)e + 64, 1);
        __builtin_prefetch((const char *)e + 128, 1);
    }
}

/* The entry the cache slot for hash points to now (maybe another flow's),
 * or NULL: a prefetch hint, never a lookup. */
static inline const struct wkp_fentry *wkp_ftable_cached(const struct wkp_ftable *t, uint64_t hash)
{
    return t->cache[hash & (((uint64_t)1 << WKP_FCACHE_BITS) - 1)];
}

/* The least recently used entry of a class, or NULL. */
static inline struct wkp_fentry *wkp_ftable_oldest(const struct wkp_ftable *t, int lru_class)
{
    return t->lru_head[lru_class];
}

#endif
