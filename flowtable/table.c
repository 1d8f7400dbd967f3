/* Per-worker flow table (see table.h). One thread only: its worker. */
#include "flowtable/table.h"

#include <stdlib.h>
#include <string.h>

/* Entries come in slabs of about 256 KiB: a flood allocates millions, and
 * large slabs keep the allocator's bookkeeping and page-fault path out of
 * the per-flow cost. */
#define SLAB_BYTES (256u * 1024u)

struct free_link {
    struct free_link *next;
};

int wkp_ftable_init(struct wkp_ftable *t, size_t entry_size, unsigned long initial_buckets)
{
    memset(t, 0, sizeof *t);
    if (entry_size < sizeof(struct wkp_fentry))
        return -1;
    t->entry_size = wkp_ftable_entry_bytes(entry_size);
    t->slab_entries = SLAB_BYTES / t->entry_size;
    t->cache = calloc((size_t)1 << WKP_FCACHE_BITS, sizeof *t->cache);
    if (!t->cache)
        return -1;
    t->ht = cds_lfht_new(initial_buckets, initial_buckets, 0,
                         CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
    return t->ht ? 0 : -1;
}

void wkp_ftable_fini(struct wkp_ftable *t)
{
    if (t->ht) {
        struct cds_lfht_iter it;
        struct cds_lfht_node *n;
        cds_lfht_first(t->ht, &it);
        while ((n = cds_lfht_iter_get_node(&it)) != NULL) {
            cds_lfht_del(t->ht, n);
            cds_lfht_next(t->ht, &it);
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

static inline size_t cache_slot(uint64_t hash)
{
    /* the top bits pick the worker; use the low ones here */
    return (size_t)(hash & (((uint64_t)1 << WKP_FCACHE_BITS) - 1));
}

struct wkp_fentry *wkp_ftable_lookup(struct wkp_ftable *t, const struct wkp_flow_key *k,
                                     uint64_t hash)
{
    struct wkp_fentry **slot = &t->cache[cache_slot(hash)];
    struct wkp_fentry *c = *slot;
    if (c && c->hash == hash && wkp_key_eq(&c->key, k))
        return c;
    struct cds_lfht_iter it;
    cds_lfht_lookup(t->ht, (unsigned long)hash, match, k, &it);
    struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
    if (!n)
        return NULL;
    c = caa_container_of(n, struct wkp_fentry, node);
    *slot = c;
    return c;
}

static int grow(struct wkp_ftable *t)
{
    if (t->nslabs == t->slabs_cap) {
        size_t cap = t->slabs_cap ? t->slabs_cap * 2 : 64;
        void **s = realloc(t->slabs, cap * sizeof *s);
        if (!s)
            return -1;
        t->slabs = s;
        t->slabs_cap = cap;
    }
    char *slab = aligned_alloc(64, t->entry_size * t->slab_entries);
    if (!slab)
        return -1;
    t->slabs[t->nslabs++] = slab;
    for (size_t i = t->slab_entries; i-- > 0;) {
        struct free_link *l = (struct free_link *)(slab + i * t->entry_size);
        l->next = t->free_list;
        t->free_list = l;
    }
    return 0;
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
    struct free_link *l = t->free_list;
    t->free_list = l->next;
    struct wkp_fentry *e = (struct wkp_fentry *)l;
    memset(e, 0, t->entry_size);
    cds_lfht_node_init(&e->node);
    e->key = *k;
    e->hash = hash;
    e->last_clock_ns = clock_ns;
    e->lru_class = lru_class < WKP_LRU_CLASSES ? lru_class : 0;
    cds_lfht_add(t->ht, (unsigned long)hash, &e->node);
    t->cache[cache_slot(hash)] = e;
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
    cds_lfht_del(t->ht, &e->node);
    if (t->cache[cache_slot(e->hash)] == e)
        t->cache[cache_slot(e->hash)] = NULL;
    lru_unlink(t, e);
    t->count--;
    /* The node itself may still be read by a resize on the call_rcu thread
     * until the grace period ends: chain through the LRU link instead. */
    e->lru_next = t->retired;
    t->retired = e;
    t->nretired++;
}

void wkp_ftable_reclaim(struct wkp_ftable *t, uint64_t min_batch)
{
    /* A grace period waits for every other worker to pass a quiescent
     * state, which on a loaded machine can take a scheduling quantum: with
     * many live flows, batch in proportion (a sixteenth of the live entries
     * waiting costs 6 % memory) so a flood of short flows pays few waits. */
    if (min_batch < t->count / 16)
        min_batch = t->count / 16;
    if (t->nretired == 0 || t->nretired < min_batch)
        return;
    /* A QSBR thread must be offline while it waits for a grace period. */
    rcu_thread_offline();
    synchronize_rcu();
    rcu_thread_online();
    struct wkp_fentry *e = t->retired;
    while (e) {
        struct wkp_fentry *next = e->lru_next;
        struct free_link *l = (struct free_link *)e;
        l->next = t->free_list;
        t->free_list = l;
        e = next;
    }
    t->retired = NULL;
    t->nretired = 0;
}
