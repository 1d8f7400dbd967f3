/* A worker's flow table: a direct-mapped array of slots, with liburcu's
 * lock-free hash table (cds_lfht, QSBR flavour) for the flows that find no
 * free slot, both keyed by the canonical flow key; an LRU list ordered by
 * the capture clock of each flow's last packet; and a pool of entries.
 *
 * The slots: at least twice as many as live entries (the array doubles when
 * the entries fill half of it), in buckets of four that share a cache line.
 * Each slot holds an owner's address and a 16-bit tag of its hash; the
 * bucket's first slot also counts the bucket's entries in the lfht (0-15;
 * 15 sticks). A new entry owns a free slot of its bucket if there is one,
 * else goes to the lfht. A lookup compares the tags (an owner's entry is
 * read only when its tag matches), then asks the lfht only if the count
 * says it holds an entry of that bucket. A flood looks up mostly owners and
 * new flows, each decided with the one cache line the worker's burst
 * prefetches; a split-ordered list walks a chain of entries scattered over
 * memory for every lookup, insertion and removal. An entry found in the
 * lfht takes a free slot of its bucket if there is one; so do the lfht's
 * entries when the array doubles.
 *
 * Only its worker writes the table. Entries are fixed-size blocks of
 * entry_size bytes that start with struct wkp_fentry; the rest belongs to
 * the caller (the worker's per-flow state). The worker also resizes the
 * lfht itself (no CDS_LFHT_AUTO_RESIZE, whose resizes run on liburcu's
 * call_rcu thread), so no other thread ever reads it and a removed entry is
 * free at once, with no grace period. No per-packet allocation: entries
 * come from slabs of 256 KiB, then 2 MiB. */
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
    struct wkp_fentry *lru_prev, *lru_next; /* oldest at head of its class's list */
    int64_t last_clock_ns;                  /* capture clock at its last packet */
    uint8_t lru_class;                      /* which LRU list; WKP_FENTRY_FREE: not in the table */
    uint8_t in_ht;                          /* in the lfht (else it owns a slot) */
    uint16_t tag;                           /* bits 32-47 of the key's hash */
    uint32_t hash_lo;                       /* the low 32 bits of the key's hash: its bucket */
};

#define WKP_LRU_CLASSES 4
#define WKP_FENTRY_FREE 0xff

/* The slot array starts with 2^16 slots and never has more than 2^32. */
#define WKP_FCACHE_BITS     16
#define WKP_FCACHE_MAX_BITS 32
#define WKP_FCACHE_CNT      ((uintptr_t)15) /* low bits of a bucket's first slot: the count */
#define WKP_FCACHE_PTR      ((uintptr_t)0x0000fffffffffff0) /* an owner's address */
#define WKP_FCACHE_BUCKET   4                               /* slots; 4 words share a cache line */

/* A slot word: tag << 48 | owner address | count (first slot only). */
static inline uint16_t wkp_ftable_tag(uint64_t hash)
{
    return (uint16_t)(hash >> 32);
}

struct wkp_ftable {
    uintptr_t *cache; /* the slots, in buckets of WKP_FCACHE_BUCKET */
    uint64_t cache_mask;
    unsigned cache_bits;
    unsigned bulk; /* between clear_begin and clear_end */
    struct cds_lfht *ht;
    size_t entry_size, slab_entries, big_slab_entries;
    struct wkp_fentry *lru_head[WKP_LRU_CLASSES], *lru_tail[WKP_LRU_CLASSES];
    uint64_t count;               /* entries in the table */
    uint64_t in_ht;               /* of which in the lfht */
    unsigned long ht_size;        /* the lfht's buckets */
    struct wkp_fentry *free_list; /* linked through lru_next */
    void **slabs;
    size_t nslabs, slabs_cap;
};

/* Bytes an entry of entry_size takes in its slab. */
static inline size_t wkp_ftable_entry_bytes(size_t entry_size)
{
    /* 16-byte granularity, not a cache line: a flood is bounded by memory,
     * and the prefetch of a burst hides the extra line an entry may span.
     * A slot keeps a count in the low 4 bits of its owner's address. */
    return (entry_size + 15) & ~(size_t)15;
}

/* The lfht's share of an entry in it, beyond the node inside the entry:
 * its buckets (struct cds_lfht_node each) stay between half and twice its
 * entries. Counted for every entry, as if every one were in the lfht. */
#define WKP_FTABLE_BUCKET_BYTES (2 * sizeof(struct cds_lfht_node))
/* The slot array's share of one entry: at most four slots per live entry
 * (8 bytes each), as the array doubles once the entries fill half of it. */
#define WKP_FTABLE_INDEX_BYTES  (4 * sizeof(uintptr_t))

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
/* Remove e from the table and the LRU; its memory is reused at once. */
void wkp_ftable_remove(struct wkp_ftable *t, struct wkp_fentry *e);
/* Nothing to do any more: removed entries are reused at once. Kept for
 * the worker's loop, which calls it between bursts. */
void wkp_ftable_reclaim(struct wkp_ftable *t, uint64_t min_batch);

/* Emptying the whole table (the end of a capture): after clear_begin,
 * wkp_ftable_remove leaves the LRU lists and the slots alone (unlinking
 * each entry from its LRU neighbours costs two cache misses), and nothing
 * but remove and the iteration below may be called until clear_end, which
 * takes the entries left in the lfht out in the lfht's own order (a short
 * walk each) and empties the LRU lists and the slots. Every entry must
 * have been removed by then. */
void wkp_ftable_clear_begin(struct wkp_ftable *t);
void wkp_ftable_clear_end(struct wkp_ftable *t);
/* Between clear_begin and clear_end nothing reads the slot array, which
 * has room for at least as many words as there are entries (unless it
 * could not grow for lack of memory): the caller may use it as scratch
 * space of *words 8-byte words, for instance to order the entries it ends,
 * instead of allocating as much again at the peak of its memory. */
void *wkp_ftable_clear_scratch(struct wkp_ftable *t, size_t *words);

/* Every entry in the table, in memory order (neither LRU nor hash order):
 *   for (e = wkp_ftable_first(t, &it); e; e = wkp_ftable_next(t, &it))
 * Removing the entry just returned is allowed. */
struct wkp_ftable_it {
    size_t slab, i;
};
struct wkp_fentry *wkp_ftable_next(const struct wkp_ftable *t, struct wkp_ftable_it *it);
static inline struct wkp_fentry *wkp_ftable_first(const struct wkp_ftable *t,
                                                  struct wkp_ftable_it *it)
{
    it->slab = it->i = 0;
    return wkp_ftable_next(t, it);
}

static inline struct wkp_fentry *wkp_ftable_slot_entry(uintptr_t w)
{
    return (struct wkp_fentry *)(w & WKP_FCACHE_PTR);
}

/* The first slot of hash's bucket. */
static inline uintptr_t *wkp_ftable_bucket(const struct wkp_ftable *t, uint64_t hash)
{
    return &t->cache[hash & t->cache_mask & ~(uint64_t)(WKP_FCACHE_BUCKET - 1)];
}

/* The owner in hash's bucket whose tag is hash's (maybe another flow's,
 * one time in 65,536), or NULL: a prefetch hint, never a lookup. */
static inline const struct wkp_fentry *wkp_ftable_cached(const struct wkp_ftable *t, uint64_t hash)
{
    const uintptr_t *b = wkp_ftable_bucket(t, hash);
    uintptr_t tag = (uintptr_t)wkp_ftable_tag(hash) << 48;
    for (int j = 0; j < WKP_FCACHE_BUCKET; j++)
        if ((b[j] & ~(WKP_FCACHE_PTR | WKP_FCACHE_CNT)) == tag && (b[j] & WKP_FCACHE_PTR))
            return wkp_ftable_slot_entry(b[j]);
    return NULL;
}

/* Software pipelining for a burst: stage 1 brings the bucket of a packet
 * a few places ahead into the CPU cache, stage 2 (a little later) the
 * entry whose tag matches, stage 3 the entry's LRU neighbours, which the
 * packet's touch rewrites. Only hints: nothing is read that could be stale
 * in a harmful way (the slot may have changed by the time the packet is
 * looked up; the lookup then does the real work). */
static inline void wkp_ftable_prefetch_slot(const struct wkp_ftable *t, uint64_t hash)
{
    __builtin_prefetch(wkp_ftable_bucket(t, hash));
}

static inline void wkp_ftable_prefetch_entry(const struct wkp_ftable *t, uint64_t hash)
{
    const struct wkp_fentry *e = wkp_ftable_cached(t, hash);
    if (e) {
        __builtin_prefetch(e, 1);
        __builtin_prefetch((const char *)e + 64, 1);
        __builtin_prefetch((const char *)e + 128, 1);
    }
}

static inline void wkp_ftable_prefetch_lru(const struct wkp_ftable *t, uint64_t hash)
{
    const struct wkp_fentry *e = wkp_ftable_cached(t, hash);
    if (e && e->hash_lo == (uint32_t)hash) {
        if (e->lru_prev)
            __builtin_prefetch(&e->lru_prev->lru_next, 1);
        if (e->lru_next)
            __builtin_prefetch(&e->lru_next->lru_prev, 1);
    }
}

/* The least recently used entry of a class, or NULL. */
static inline struct wkp_fentry *wkp_ftable_oldest(const struct wkp_ftable *t, int lru_class)
{
    return t->lru_head[lru_class];
}

#endif
