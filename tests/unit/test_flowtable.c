/* The per-worker flow table: insert, lookup from both directions, hash
 * collisions, remove then lookup, recycling only after a grace period, the
 * LRU lists. Each test registers its thread with liburcu (QSBR) as a worker
 * does, and a second registered thread takes quiescent states while the
 * table grows, so grace periods and the lfht's resizes really run. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "flowtable/table.h"

/* A worker's entry: the table's header, then the caller's state. */
struct entry {
    struct wkp_fentry h;
    uint64_t tag;
    char state[40];
};

static struct wkp_ftable T;

static void setup(void)
{
    rcu_register_thread();
    cr_assert_eq(wkp_ftable_init(&T, sizeof(struct entry), 16), 0);
}

static void teardown(void)
{
    wkp_ftable_fini(&T);
    rcu_unregister_thread();
}

TestSuite(flowtable, .init = setup, .fini = teardown);

static struct wkp_l2l4 pkt4(const char *src, uint16_t sp, const char *dst, uint16_t dp,
                            uint8_t proto)
{
    struct wkp_l2l4 m;
    memset(&m, 0, sizeof m);
    m.family = 4;
    m.proto = proto;
    cr_assert_eq(inet_pton(AF_INET, src, m.src), 1);
    cr_assert_eq(inet_pton(AF_INET, dst, m.dst), 1);
    m.sport = sp;
    m.dport = dp;
    return m;
}

/* The key of 10.0.0.1:port -> 10.0.0.2:80 TCP. */
static struct wkp_flow_key key_n(uint16_t port)
{
    struct wkp_l2l4 m = pkt4("10.0.0.1", port, "10.0.0.2", 80, 6);
    struct wkp_flow_key k;
    wkp_key_from_l2l4(&m, &k);
    return k;
}

Test(flowtable, insert_then_lookup_from_both_directions)
{
    struct wkp_l2l4 up = pkt4("192.168.226.54", 8907, "111.13.142.55", 443, 6);
    struct wkp_l2l4 down = pkt4("111.13.142.55", 443, "192.168.226.54", 8907, 6);
    struct wkp_flow_key ku, kd;
    wkp_key_from_l2l4(&up, &ku);
    wkp_key_from_l2l4(&down, &kd);
    uint64_t hu = wkp_key_hash(&ku), hd = wkp_key_hash(&kd);

    cr_assert_null(wkp_ftable_lookup(&T, &ku, hu));
    struct entry *e = (struct entry *)wkp_ftable_insert(&T, &ku, hu, 1000, 0);
    cr_assert_not_null(e);
    /* zeroed past the header */
    static const char zero[sizeof e->state];
    cr_assert_eq(e->tag, 0);
    cr_assert_eq(memcmp(e->state, zero, sizeof zero), 0);
    e->tag = 7;
    cr_assert_eq(T.count, 1);
    cr_assert_eq(e->h.last_clock_ns, 1000);

    /* the reply finds the same entry (an entry in the lfht: test_table.c) */
    cr_assert_eq(wkp_ftable_lookup(&T, &kd, hd), &e->h);
    cr_assert_eq(((struct entry *)wkp_ftable_lookup(&T, &ku, hu))->tag, 7);

    /* another protocol on the same endpoints is another flow */
    struct wkp_l2l4 udp = pkt4("192.168.226.54", 8907, "111.13.142.55", 443, 17);
    struct wkp_flow_key k17;
    wkp_key_from_l2l4(&udp, &k17);
    cr_assert_null(wkp_ftable_lookup(&T, &k17, wkp_key_hash(&k17)));
}

/* 64 flows under one hash value (so one bucket of four slots, the rest in the lfht):
 * each lookup compares keys and finds its own entry, an absent key with that
 * hash misses, and removing some leaves the others findable. */
Test(flowtable, colliding_hashes_are_told_apart_by_key)
{
    enum { N = 64 };
    const uint64_t hash = 0x123456789abcdef0u;
    struct entry *e[N];
    for (int i = 0; i < N; i++) {
        struct wkp_flow_key k = key_n((uint16_t)(1000 + i));
        e[i] = (struct entry *)wkp_ftable_insert(&T, &k, hash, i, 0);
        cr_assert_not_null(e[i]);
        e[i]->tag = (uint64_t)i;
    }
    cr_assert_eq(T.count, N);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < N; i++) {
            struct wkp_flow_key k = key_n((uint16_t)(1000 + i));
            struct entry *got = (struct entry *)wkp_ftable_lookup(&T, &k, hash);
            cr_assert_eq(got, e[i], "flow %d", i);
            cr_assert_eq(got->tag, (uint64_t)i);
        }
    struct wkp_flow_key absent = key_n(999);
    cr_assert_null(wkp_ftable_lookup(&T, &absent, hash));

    /* the same key under another hash is not found: the hash picks the bucket */
    struct wkp_flow_key k0 = key_n(1000);
    cr_assert_null(wkp_ftable_lookup(&T, &k0, hash ^ 1));

    for (int i = 0; i < N; i += 2)
        wkp_ftable_remove(&T, &e[i]->h);
    cr_assert_eq(T.count, N / 2);
    for (int i = 0; i < N; i++) {
        struct wkp_flow_key k = key_n((uint16_t)(1000 + i));
        struct wkp_fentry *got = wkp_ftable_lookup(&T, &k, hash);
        if (i % 2)
            cr_assert_eq(got, &e[i]->h, "flow %d", i);
        else
            cr_assert_null(got, "removed flow %d found", i);
    }
}

/* Two hashes that share a bucket of slots (equal low bits) are told apart by
 * their tags (bits 32-47 of the hash) and keys. */
Test(flowtable, cache_slot_shared_by_two_hashes)
{
    const uint64_t h1 = 0x0000000100000042u, h2 = 0x0000000200000042u;
    struct wkp_flow_key k1 = key_n(1), k2 = key_n(2);
    struct wkp_fentry *e1 = wkp_ftable_insert(&T, &k1, h1, 0, 0);
    struct wkp_fentry *e2 = wkp_ftable_insert(&T, &k2, h2, 0, 0);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(wkp_ftable_lookup(&T, &k1, h1), e1);
        cr_assert_eq(wkp_ftable_lookup(&T, &k2, h2), e2);
    }
    /* k1 under h2 (the slot now holds e2, same hash, other key): a miss */
    cr_assert_null(wkp_ftable_lookup(&T, &k1, h2));
    wkp_ftable_remove(&T, e2);
    cr_assert_null(wkp_ftable_lookup(&T, &k2, h2));
    cr_assert_eq(wkp_ftable_lookup(&T, &k1, h1), e1);
}

/* A removed entry is found by neither direction and is handed out again at
 * once: only its worker ever reads the table, so no grace period is needed
 * (the free list is last in, first out: the next insert gets it). */
Test(flowtable, removed_entry_misses_and_is_reused_at_once)
{
    struct wkp_l2l4 up = pkt4("10.1.1.1", 5000, "10.2.2.2", 53, 17);
    struct wkp_l2l4 down = pkt4("10.2.2.2", 53, "10.1.1.1", 5000, 17);
    struct wkp_flow_key ku, kd;
    wkp_key_from_l2l4(&up, &ku);
    wkp_key_from_l2l4(&down, &kd);
    uint64_t h = wkp_key_hash(&ku);
    struct wkp_fentry *e = wkp_ftable_insert(&T, &ku, h, 0, 1);
    cr_assert_eq(wkp_ftable_lookup(&T, &kd, h), e);
    wkp_ftable_remove(&T, e);
    cr_assert_eq(T.count, 0);
    cr_assert_null(wkp_ftable_lookup(&T, &ku, h));
    cr_assert_null(wkp_ftable_lookup(&T, &kd, h));
    cr_assert_null(wkp_ftable_oldest(&T, 1));

    struct wkp_flow_key k3 = key_n(3);
    struct wkp_fentry *y = wkp_ftable_insert(&T, &k3, wkp_key_hash(&k3), 0, 0);
    cr_assert_eq(y, e);
    cr_assert_eq(wkp_ftable_lookup(&T, &k3, wkp_key_hash(&k3)), y);
    cr_assert_null(wkp_ftable_lookup(&T, &ku, h));
}

Test(flowtable, lru_lists_keep_order_of_last_use_per_class)
{
    struct wkp_fentry *e[3];
    for (int i = 0; i < 3; i++) {
        struct wkp_flow_key k = key_n((uint16_t)(10 + i));
        e[i] = wkp_ftable_insert(&T, &k, wkp_key_hash(&k), 100 * i, 0);
    }
    cr_assert_eq(wkp_ftable_oldest(&T, 0), e[0]);
    wkp_ftable_touch(&T, e[0], 500);
    cr_assert_eq(wkp_ftable_oldest(&T, 0), e[1]);
    cr_assert_eq(e[1]->lru_next, e[2]);
    cr_assert_eq(e[2]->lru_next, e[0]);
    cr_assert_eq(e[0]->last_clock_ns, 500);
    wkp_ftable_set_class(&T, e[1], 2);
    cr_assert_eq(wkp_ftable_oldest(&T, 0), e[2]);
    cr_assert_eq(wkp_ftable_oldest(&T, 2), e[1]);
    wkp_ftable_remove(&T, e[2]);
    cr_assert_eq(wkp_ftable_oldest(&T, 0), e[0]);
    cr_assert_null(e[0]->lru_next);
}

static atomic_bool other_stop;

/* Another registered reader, as the other workers are: a grace period must
 * wait for it to pass a quiescent state. */
static void *other_worker(void *arg)
{
    (void)arg;
    rcu_register_thread();
    while (!atomic_load(&other_stop)) {
        rcu_quiescent_state();
        sched_yield();
    }
    rcu_unregister_thread();
    return NULL;
}

/* 60,000 flows in bursts of 512, as a worker sees them: each burst inserts
 * new flows and removes older ones, then takes a quiescent state while
 * another registered thread runs. The table grows (the slot array doubles,
 * several slabs), and a shadow list says which flows must be found. */
Test(flowtable, bursts_of_inserts_and_removes_agree_with_a_shadow_list)
{
    enum { N = 60000, BURST = 512, LIVE = 8000 };
    static struct wkp_fentry *live[N];
    pthread_t th;
    atomic_store(&other_stop, false);
    cr_assert_eq(pthread_create(&th, NULL, other_worker, NULL), 0);
    uint32_t removed = 0;
    for (uint32_t i = 0; i < N;) {
        for (uint32_t b = 0; b < BURST && i < N; b++, i++) {
            struct wkp_l2l4 m = pkt4("172.16.0.1", (uint16_t)(i & 0xffff), "172.17.0.1",
                                     (uint16_t)(i >> 16), 17);
            struct wkp_flow_key k;
            wkp_key_from_l2l4(&m, &k);
            uint64_t h = wkp_key_hash(&k);
            cr_assert_null(wkp_ftable_lookup(&T, &k, h));
            live[i] = wkp_ftable_insert(&T, &k, h, i, 0);
            cr_assert_not_null(live[i]);
            ((struct entry *)live[i])->tag = i;
            /* keep at most LIVE flows: the oldest one ends */
            if (i - removed >= LIVE) {
                cr_assert_eq(wkp_ftable_oldest(&T, 0), live[removed]);
                wkp_ftable_remove(&T, live[removed]);
                live[removed++] = NULL;
            }
        }
        rcu_quiescent_state();
        wkp_ftable_reclaim(&T, 4096);
    }
    cr_assert_eq(T.count, N - removed);
    for (uint32_t i = 0; i < N; i += 7) {
        struct wkp_l2l4 m = pkt4("172.17.0.1", (uint16_t)(i >> 16), "172.16.0.1",
                                 (uint16_t)(i & 0xffff), 17);
        struct wkp_flow_key k;
        wkp_key_from_l2l4(&m, &k);
        struct entry *got = (struct entry *)wkp_ftable_lookup(&T, &k, wkp_key_hash(&k));
        if (i < removed) {
            cr_assert_null(got, "ended flow %u found", i);
        } else {
            cr_assert_eq(&got->h, live[i], "flow %u", i);
            cr_assert_eq(got->tag, i);
        }
    }
    atomic_store(&other_stop, true);
    pthread_join(th, NULL);
}
