/* Per-worker flow table (see table.h). One thread only: its worker. */
#include "flowtable/table.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/slab.h"

/* Entries come in slabs: a flood allocates millions, and large slabs keep
 * the allocator's bookkeeping and page-fault path out of the per-flow cost.
 * The first SMALL_SLABS are 256 KiB, so a small capture stays small; later
 * ones are 2 MiB on transparent huge pages (util/slab.h): a flood reads its
 * entries in random order. */
#define SLAB_BYTES     (256u * 1024u)
#define BIG_SLAB_BYTES WKP_SLAB_HUGE
#define SMALL_SLABS    8

/* Entries in slab i. */
static size_t slab_len(const struct wkp_ftable *t, size_t i)
{
    return i < SMALL_SLABS ? t->slab_entries : t->big_slab_entries;
}

static pthread_mutex_t lfht_new_lock = PTHREAD_MUTEX_INITIALIZER;

static int slots_alloc(struct wkp_ftable *t, unsigned bits)
{
    /* a bucket in one cache line; a large array on huge pages, as its
     * lookups land anywhere in it */
    size_t bytes = ((size_t)1 << bits) * sizeof(uintptr_t);
    uintptr_t *c = wkp_slab_alloc(bytes);
    if (!c)
        return -1;
    memset(c, 0, bytes);
    free(t->cache);
    t->cache = c;
    t->cache_bits = bits;
    t->cache_mask = ((uint64_t)1 << bits) - 1;
    return 0;
}

int wkp_ftable_init(struct wkp_ftable *t, size_t entry_size, unsigned long initial_buckets)
{
    memset(t, 0, sizeof *t);
    if (entry_size < sizeof(struct wkp_fentry))
        return -1;
    t->entry_size = wkp_ftable_entry_bytes(entry_size);
    t->slab_entries = SLAB_BYTES / t->entry_size;
    t->big_slab_entries = BIG_SLAB_BYTES / t->entry_size;
    if (slots_alloc(t, WKP_FCACHE_BITS) != 0)
        return -1;
    /* No CDS_LFHT_AUTO_RESIZE: the worker resizes the lfht itself (below),
     * so no other thread ever reads it, and a node out of it may be used
     * again at once. One thread at a time: liburcu sets up its per-CPU
     * counter sizes on the first call without a lock, and a second worker
     * creating its table meanwhile could read them half set (an assertion
     * in liburcu 0.13 aborts the run). */
    pthread_mutex_lock(&lfht_new_lock);
    t->ht = cds_lfht_new(initial_buckets, initial_buckets, 0, 0, NULL);
    pthread_mutex_unlock(&lfht_new_lock);
    t->ht_size = initial_buckets;
    return t->ht ? 0 : -1;
}

void wkp_ftable_fini(struct wkp_ftable *t)
{
    if (t->ht) {
        /* an empty lfht would still walk every bucket to find nothing */
        if (t->in_ht) {
            struct cds_lfht_iter it;
            struct cds_lfht_node *n;
            cds_lfht_first(t->ht, &it);
            while ((n = cds_lfht_iter_get_node(&it)) != NULL) {
                cds_lfht_del(t->ht, n);
                cds_lfht_next(t->ht, &it);
            }
        }
        /* cds_lfht_destroy must not be called from a read-side section:
         * QSBR registered threads go offline for it. */
        rcu_thread_offline();
        cds_lfht_destroy(t->ht, NULL);
        rcu_thread_online();
        t->ht = NULL;
    }
    free(t->cache);
    for (size_t i = 0; i < t->nslabs; i++)
        free(t->slabs[i]);
    free(t->slabs);
    memset(t, 0, sizeof *t);
}

static int match(struct cds_lfht_node *node, const void *key)
{
    const struct wkp_fentry *e = caa_container_of(node, struct wkp_fentry, node);
    return wkp_key_eq(&e->key, key);
}

static inline uintptr_t slot_word(const struct wkp_fentry *e)
{
    return (uintptr_t)e->tag << 48 | (uintptr_t)e;
}

_Static_assert(sizeof(uintptr_t) == 8, "a slot word holds a 48-bit address and a 16-bit tag");

/* Take a free slot of bucket b for e (in no lfht); false if none is free
 * (or if e lies above 2^48, where no system maps memory unasked: such an
 * entry lives in the lfht). */
static bool own(uintptr_t *b, struct wkp_fentry *e)
{
    if ((uintptr_t)e & ~WKP_FCACHE_PTR)
        return false;
    for (int j = 0; j < WKP_FCACHE_BUCKET; j++) {
        if (!(b[j] & WKP_FCACHE_PTR)) {
            b[j] = (b[j] & WKP_FCACHE_CNT) | slot_word(e);
            return true;
        }
    }
    return false;
}

static void count_down(uintptr_t *b)
{
    if ((b[0] & WKP_FCACHE_CNT) < WKP_FCACHE_CNT)
        b[0]--;
}

static void count_up(uintptr_t *b)
{
    if ((b[0] & WKP_FCACHE_CNT) < WKP_FCACHE_CNT)
        b[0]++;
}

struct wkp_fentry *wkp_ftable_lookup(struct wkp_ftable *t, const struct wkp_flow_key *k,
                                     uint64_t hash)
{
    /* the top bits of the hash pick the worker; the slots use the low ones */
    uintptr_t *b = wkp_ftable_bucket(t, hash);
    uintptr_t tag = (uintptr_t)wkp_ftable_tag(hash) << 48;
    for (int j = 0; j < WKP_FCACHE_BUCKET; j++) {
        uintptr_t w = b[j];
        struct wkp_fentry *o = wkp_ftable_slot_entry(w);
        if ((w & ~(WKP_FCACHE_PTR | WKP_FCACHE_CNT)) == tag && o && o->hash_lo == (uint32_t)hash &&
            wkp_key_eq(&o->key, k))
            return o;
    }
    if ((b[0] & WKP_FCACHE_CNT) == 0)
        return NULL; /* no entry of this bucket in the lfht */
    struct cds_lfht_iter it;
    cds_lfht_lookup(t->ht, (unsigned long)hash, match, k, &it);
    struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
    if (!n)
        return NULL;
    struct wkp_fentry *o = caa_container_of(n, struct wkp_fentry, node);
    if (own(b, o)) {
        /* a slot of its bucket is free: it leaves the lfht */
        cds_lfht_del(t->ht, n);
        o->in_ht = 0;
        t->in_ht--;
        count_down(b);
    }
    return o;
}

static void free_push(struct wkp_ftable *t, struct wkp_fentry *e)
{
    e->lru_class = WKP_FENTRY_FREE;
    e->lru_next = t->free_list;
    t->free_list = e;
}

static int grow(struct wkp_ftable *t)
{
    if (wkp_slab_room(&t->slabs, t->nslabs, &t->slabs_cap) != 0)
        return -1;
    size_t len = slab_len(t, t->nslabs);
    char *slab = wkp_slab_alloc(len < t->big_slab_entries ? SLAB_BYTES : BIG_SLAB_BYTES);
    if (!slab)
        return -1;
    t->slabs[t->nslabs++] = slab;
    for (size_t i = len; i-- > 0;)
        free_push(t, (struct wkp_fentry *)(slab + i * t->entry_size));
    return 0;
}

struct wkp_fentry *wkp_ftable_next(const struct wkp_ftable *t, struct wkp_ftable_it *it)
{
    for (; it->slab < t->nslabs; it->slab++, it->i = 0) {
        char *slab = t->slabs[it->slab];
        size_t len = slab_len(t, it->slab);
        while (it->i < len) {
            struct wkp_fentry *e = (struct wkp_fentry *)(slab + it->i++ * t->entry_size);
            if (e->lru_class != WKP_FENTRY_FREE)
                return e;
        }
    }
    return NULL;
}

/* Keep the lfht's buckets between half and twice its entries: resized by
 * the worker, offline (a resize waits for grace periods). Out of memory
 * or refused: it stays right, only slower. */
static void ht_fit(struct wkp_ftable *t)
{
    if (t->in_ht <= 2 * t->ht_size)
        return;
    unsigned long size = t->ht_size;
    while (size < t->in_ht)
        size *= 2;
    rcu_thread_offline();
    cds_lfht_resize(t->ht, size);
    rcu_thread_online();
    t->ht_size = size;
}

/* Put e (in no lfht, no free slot in its bucket b) in the lfht. */
static void overflow(struct wkp_ftable *t, struct wkp_fentry *e, uintptr_t *b, uint64_t hash)
{
    /* a node may come back after a delete left its flags in it */
    memset(&e->node, 0, sizeof e->node);
    cds_lfht_add(t->ht, (unsigned long)hash, &e->node);
    e->in_ht = 1;
    t->in_ht++;
    count_up(b);
    ht_fit(t);
}

/* Twice the slots, filled from the live entries in memory order: first
 * the owners, each of which takes a free slot of its new bucket or else
 * joins the lfht; then the entries in the lfht, each of which takes a free
 * slot (leaving the lfht) or else is counted in its bucket. Out of memory:
 * keep the old array, which stays right, only busier. */
static void slots_grow(struct wkp_ftable *t)
{
    if (t->cache_bits >= WKP_FCACHE_MAX_BITS || slots_alloc(t, t->cache_bits + 1) != 0)
        return;
    struct wkp_ftable_it it;
    for (struct wkp_fentry *e = wkp_ftable_first(t, &it); e; e = wkp_ftable_next(t, &it)) {
        if (e->in_ht)
            e->in_ht = 2; /* was in the lfht before the growth */
        else if (!own(wkp_ftable_bucket(t, e->hash_lo), e))
            /* only the lfht node keeps the full hash (bit-reversed), and an
             * owner is in no lfht: hash the key again */
            overflow(t, e, wkp_ftable_bucket(t, e->hash_lo), wkp_key_hash(&e->key));
    }
    for (struct wkp_fentry *e = wkp_ftable_first(t, &it); e; e = wkp_ftable_next(t, &it)) {
        if (e->in_ht != 2)
            continue;
        uintptr_t *b = wkp_ftable_bucket(t, e->hash_lo);
        if (own(b, e)) {
            cds_lfht_del(t->ht, &e->node);
            e->in_ht = 0;
            t->in_ht--;
        } else {
            e->in_ht = 1;
            count_up(b);
        }
    }
}

static void lru_unlink(struct wkp_ftable *t, struct wkp_fentry *e)
{
    int c = e->lru_class;
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        t->lru_head[c] = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        t->lru_tail[c] = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_append(struct wkp_ftable *t, struct wkp_fentry *e)
{
    int c = e->lru_class;
    e->lru_next = NULL;
    e->lru_prev = t->lru_tail[c];
    if (t->lru_tail[c])
        t->lru_tail[c]->lru_next = e;
    else
        t->lru_head[c] = e;
    t->lru_tail[c] = e;
}

struct wkp_fentry *wkp_ftable_insert(struct wkp_ftable *t, const struct wkp_flow_key *k,
                                     uint64_t hash, int64_t clock_ns, uint8_t lru_class)
{
    if (!t->free_list && grow(t) != 0)
        return NULL;
    /* Half full at most: at one entry a slot, one bucket of 4 slots in 4
     * (Poisson) held more than 4 entries, and every lookup of a flow in
     * such a bucket that no slot finds walks the lfht; at half, 1 in 20. */
    if (t->count >= ((uint64_t)1 << t->cache_bits) / 2)
        slots_grow(t);
    struct wkp_fentry *e = t->free_list;
    t->free_list = e->lru_next;
    /* the next insertion takes the next free entry: freed entries lie
     * anywhere, so fetch it now, not when it is needed */
    if (t->free_list)
        __builtin_prefetch(&t->free_list->lru_next);
    memset(e, 0, t->entry_size);
    cds_lfht_node_init(&e->node);
    e->key = *k;
    e->hash_lo = (uint32_t)hash;
    e->tag = wkp_ftable_tag(hash);
    e->last_clock_ns = clock_ns;
    e->lru_class = lru_class < WKP_LRU_CLASSES ? lru_class : 0;
    uintptr_t *b = wkp_ftable_bucket(t, hash);
    if (!own(b, e))
        overflow(t, e, b, hash);
    lru_append(t, e);
    t->count++;
    return e;
}

void wkp_ftable_touch(struct wkp_ftable *t, struct wkp_fentry *e, int64_t clock_ns)
{
    e->last_clock_ns = clock_ns;
    if (t->lru_tail[e->lru_class] != e) {
        lru_unlink(t, e);
        lru_append(t, e);
    }
}

void wkp_ftable_set_class(struct wkp_ftable *t, struct wkp_fentry *e, uint8_t lru_class)
{
    if (lru_class >= WKP_LRU_CLASSES || lru_class == e->lru_class)
        return;
    lru_unlink(t, e);
    e->lru_class = lru_class;
    lru_append(t, e);
}

void wkp_ftable_remove(struct wkp_ftable *t, struct wkp_fentry *e)
{
    t->count--;
    if (t->bulk) {
        /* left in the LRU lists and the slots, which clear_end empties */
        if (e->in_ht)
            e->lru_class = WKP_FENTRY_FREE; /* clear_end takes it out of the lfht */
        else
            free_push(t, e);
        return;
    }
    uintptr_t *b = wkp_ftable_bucket(t, e->hash_lo);
    lru_unlink(t, e);
    if (!e->in_ht) {
        for (int j = 0; j < WKP_FCACHE_BUCKET; j++)
            if (wkp_ftable_slot_entry(b[j]) == e)
                b[j] &= WKP_FCACHE_CNT; /* no owner; the first keeps its count */
    } else {
        cds_lfht_del(t->ht, &e->node);
        t->in_ht--;
        count_down(b);
    }
    free_push(t, e);
}

void wkp_ftable_clear_begin(struct wkp_ftable *t)
{
    t->bulk = 1;
}

void *wkp_ftable_clear_scratch(struct wkp_ftable *t, size_t *words)
{
    *words = t->bulk ? (size_t)1 << t->cache_bits : 0;
    return t->bulk ? t->cache : NULL;
}

void wkp_ftable_clear_end(struct wkp_ftable *t)
{
    t->bulk = 0;
    if (t->in_ht) {
        /* In the lfht's order each node is the first of its bucket by the
         * time it is deleted, so each delete walks one link. */
        struct cds_lfht_iter it;
        struct cds_lfht_node *n;
        cds_lfht_first(t->ht, &it);
        while ((n = cds_lfht_iter_get_node(&it)) != NULL) {
            struct wkp_fentry *e = caa_container_of(n, struct wkp_fentry, node);
            cds_lfht_del(t->ht, n);
            cds_lfht_next(t->ht, &it);
            free_push(t, e);
        }
        t->in_ht = 0;
    }
    for (int c = 0; c < WKP_LRU_CLASSES; c++)
        t->lru_head[c] = t->lru_tail[c] = NULL;
    /* back to the first size: a later capture may be small */
    if (t->cache_bits == WKP_FCACHE_BITS || slots_alloc(t, WKP_FCACHE_BITS) != 0)
        memset(t->cache, 0, ((size_t)1 << t->cache_bits) * sizeof *t->cache);
}

void wkp_ftable_reclaim(struct wkp_ftable *t, uint64_t min_batch)
{
    /* nothing waits: no other thread reads the lfht (see init) */
    (void)t;
    (void)min_batch;
}
