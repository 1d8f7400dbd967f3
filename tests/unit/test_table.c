/* The per-worker flow table (flowtable/table.h): every lookup agrees with a
 * plain array of which keys are in the table, through slot-array growth,
 * buckets shared by more entries than their count can hold, removal in any
 * order and emptying the whole table at once. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "flowtable/table.h"

struct entry {
    struct wkp_fentry h;
    uint32_t id;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
    /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static struct wkp_flow_key key_of(uint32_t i, uint32_t salt)
{
    struct wkp_flow_key k;
    memset(&k, 0, sizeof k);
    k.family = 4;
    k.proto = 6;
    memcpy(k.a, &i, sizeof i);
    memcpy(k.b, &salt, sizeof salt);
    k.pa = 1000;
    k.pb = 443;
    return k;
}

/* The table holds exactly the keys marked in `in` (entries looked up by
 * key, each found entry the one inserted for it). */
static void check(struct wkp_ftable *t, const struct wkp_flow_key *keys, const uint8_t *in,
                  struct entry **ent, uint32_t n)
{
    uint64_t live = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct wkp_fentry *e = wkp_ftable_lookup(t, &keys[i], wkp_key_hash(&keys[i]));
        if (in[i]) {
            cr_assert_eq(e, &ent[i]->h, "key %u: found %p, inserted %p", i, (void *)e,
                         (void *)ent[i]);
            live++;
        } else {
            cr_assert_null(e, "key %u was removed or never added, yet found", i);
        }
    }
    cr_assert_eq(t->count, live);
    /* the iteration visits each live entry once */
    uint64_t seen = 0;
    struct wkp_ftable_it it;
    for (struct wkp_fentry *e = wkp_ftable_first(t, &it); e; e = wkp_ftable_next(t, &it)) {
        uint32_t id = ((struct entry *)e)->id;
        cr_assert(id < n && in[id] && ent[id] == (struct entry *)e);
        seen++;
    }
    cr_assert_eq(seen, live);
}

/* Returns the most entries the lfht held at once. */
static uint64_t run(const struct wkp_flow_key *keys, uint32_t n)
{
    uint64_t most_in_ht = 0;
    struct wkp_ftable t;
    rcu_register_thread();
    cr_assert_eq(wkp_ftable_init(&t, sizeof(struct entry), 1u << 10), 0);
    uint8_t *in = calloc(n, 1);
    struct entry **ent = calloc(n, sizeof *ent);
    cr_assert(in && ent);

    for (int round = 0; round < 3; round++) {
        /* add every key not in, then remove about half, in random order */
        for (uint32_t i = 0; i < n; i++) {
            if (in[i])
                continue;
            struct entry *e = (struct entry *)wkp_ftable_insert(
                &t, &keys[i], wkp_key_hash(&keys[i]), (int64_t)i, (uint8_t)(i % WKP_LRU_CLASSES));
            cr_assert_not_null(e);
            e->id = i;
            ent[i] = e;
            in[i] = 1;
        }
        check(&t, keys, in, ent, n);
        most_in_ht = t.in_ht > most_in_ht ? t.in_ht : most_in_ht;
        for (uint32_t j = 0; j < n / 2; j++) {
            uint32_t i = (uint32_t)(next_rand() % n);
            if (!in[i])
                continue;
            wkp_ftable_remove(&t, &ent[i]->h);
            in[i] = 0;
        }
        wkp_ftable_reclaim(&t, 1);
        check(&t, keys, in, ent, n);
    }
    /* the whole table at once, as the end of a capture does: the entries
     * collected in the slot array's scratch words (a word each, at least
     * as many as entries), then removed in reverse, which reads no slot */
    wkp_ftable_clear_begin(&t);
    size_t words = 0;
    struct wkp_fentry **scratch = wkp_ftable_clear_scratch(&t, &words);
    cr_assert_not_null(scratch);
    cr_assert_geq(words, t.count);
    cr_assert_eq(words, (size_t)1 << t.cache_bits);
    size_t k = 0;
    struct wkp_ftable_it it;
    for (struct wkp_fentry *e = wkp_ftable_first(&t, &it); e; e = wkp_ftable_next(&t, &it))
        scratch[k++] = e;
    cr_assert_eq(k, t.count);
    memset(scratch + k, 0xa5, (words - k) * sizeof *scratch); /* the rest is free too */
    while (k > 0) {
        struct wkp_fentry *e = scratch[--k];
        in[((struct entry *)e)->id] = 0;
        wkp_ftable_remove(&t, e);
    }
    wkp_ftable_clear_end(&t);
    cr_assert_null(wkp_ftable_clear_scratch(&t, &words), "no scratch outside a clear");
    cr_assert_eq(words, 0);
    cr_assert_eq(t.in_ht, 0);
    for (int c = 0; c < WKP_LRU_CLASSES; c++)
        cr_assert_null(wkp_ftable_oldest(&t, c));
    check(&t, keys, in, ent, n);
    /* and it works as new afterwards */
    for (uint32_t i = 0; i < n; i += 3) {
        struct entry *e =
            (struct entry *)wkp_ftable_insert(&t, &keys[i], wkp_key_hash(&keys[i]), 0, 0);
        cr_assert_not_null(e);
        e->id = i;
        ent[i] = e;
        in[i] = 1;
    }
    check(&t, keys, in, ent, n);
    for (uint32_t i = 0; i < n; i++)
        if (in[i])
            wkp_ftable_remove(&t, &ent[i]->h);
    wkp_ftable_reclaim(&t, 1);
    wkp_ftable_fini(&t);
    rcu_unregister_thread();
    free(in);
    free(ent);
    return most_in_ht;
}

/* 300,000 keys: the slot array grows from 2^16 to 2^19 slots on the way. */
Test(table, lookups_agree_with_the_keys_added_and_removed)
{
    uint32_t n = 300000;
    struct wkp_flow_key *keys = malloc(n * sizeof *keys);
    cr_assert_not_null(keys);
    for (uint32_t i = 0; i < n; i++)
        keys[i] = key_of(i, 7);
    cr_expect_gt(run(keys, n), 0, "some slots are shared");
    free(keys);
}

/* 40 keys whose hashes share their low 17 bits, so they share one bucket
 * while the array has 2^16 or 2^17 slots: four own its slots, the rest go
 * to the lfht, and the bucket's count saturates at 15. Plus 100,000 others
 * to make the array grow while they are in. */
Test(table, keys_sharing_a_slot)
{
    uint32_t want = 40, others = 100000, n = 0;
    struct wkp_flow_key *keys = malloc((want + others) * sizeof *keys);
    cr_assert_not_null(keys);
    uint64_t low = 0;
    for (uint32_t salt = 0; n < want; salt++) {
        struct wkp_flow_key k = key_of(salt, 99);
        uint64_t h = wkp_key_hash(&k) & 0x1ffff;
        if (n == 0)
            low = h;
        if (h == low)
            keys[n++] = k;
    }
    for (uint32_t i = 0; i < others; i++)
        keys[n++] = key_of(i, 5);
    cr_expect_geq(run(keys, n), want - WKP_FCACHE_BUCKET);
    free(keys);
}
