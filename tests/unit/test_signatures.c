/* Payload signatures: the rules loader's messages, the scanner on
 * hand-made segments (splits, out-of-order and repeated segments,
 * directions, the depth budget, UDP, gaps), and the public API on a
 * capture the test writes. Every expected offset is counted by hand in the
 * comment beside it: a match's `end` is the number of bytes of its
 * direction up to and including the match's last byte. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capwriter.h"
#include "signatures/cache.h"
#include "signatures/db.h"
#include "signatures/scan.h"
#include "wa1kpcap/wa1kpcap.h"

#ifdef WKP_HAVE_SIGNATURES

#define SYN 0x02
#define ACK 0x10
#define FIN 0x01

static struct wkp_sigdb *db_of(const char *text)
{
    struct wkp_sigdb *db = NULL;
    char err[512] = "";
    int rc = wkp_sigdb_from_text("t.yaml", text, strlen(text), NULL, &db, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    return db;
}

struct fixture {
    struct wkp_sigdb *db;
    struct wkp_sig_worker sw;
    struct wkp_sig_flow *f;
};

static void fx_init(struct fixture *x, const char *rules, uint32_t depth)
{
    x->db = db_of(rules);
    cr_assert_eq(wkp_sig_worker_init(&x->sw, x->db, depth), 0);
    x->f = NULL;
}

static void fx_fini(struct fixture *x)
{
    wkp_sig_release(&x->sw, &x->f);
    wkp_sig_worker_fini(&x->sw);
    wkp_sigdb_unref(x->db);
}

static void seg(struct fixture *x, int dir, uint32_t seq, uint8_t flags, const char *s)
{
    uint32_t n = (uint32_t)strlen(s);
    cr_assert_eq(wkp_sig_tcp(&x->sw, &x->f, dir, seq, flags, (const uint8_t *)s, n, n), 0);
}

/* The rule id of match i and its end offset. */
static void expect_match(const struct fixture *x, uint32_t i, uint32_t id, int dir, uint64_t end)
{
    cr_assert(x->f && x->f->nm > i, "match %u missing", i);
    const struct wkp_sig_match *m = &x->f->m[i];
    cr_expect_eq(x->db->rules.v[m->rule].id, id);
    cr_expect_eq(m->dir, dir);
    cr_expect_eq(m->end, end, "end %llu, expected %llu", (unsigned long long)m->end,
                 (unsigned long long)end);
}

static uint32_t nmatches(const struct fixture *x)
{
    return x->f ? x->f->nm : 0;
}

static const char *const SSH = "- {id: 7001, name: ssh-banner, pattern: \"^SSH-2\\\\.0-\", "
                               "direction: any, label: SSH}\n";

Test(signatures, match_split_across_two_segments_is_found_once)
{
    struct fixture x;
    fx_init(&x, SSH, 0);
    seg(&x, 0, 100, SYN, "");
    seg(&x, 0, 101, ACK, "SSH-");   /* bytes 1-4 */
    seg(&x, 0, 105, ACK, "2.0-Op"); /* "2.0-" ends at byte 8 */
    seg(&x, 0, 111, ACK, "SSH-2.0-");
    wkp_sig_end(&x.sw, x.f);
    cr_assert_eq(nmatches(&x), 1);
    expect_match(&x, 0, 7001, 0, 8);
    fx_fini(&x);
}

Test(signatures, match_split_across_three_segments_is_found_once)
{
    struct fixture x;
    fx_init(&x, SSH, 0);
    seg(&x, 1, 5000, SYN | ACK, "");
    seg(&x, 1, 5001, ACK, "SS");
    seg(&x, 1, 5003, ACK, "H-2");
    seg(&x, 1, 5006, ACK, ".0-x\r\n"); /* S S H - 2 . 0 - : the 8th byte ends it */
    wkp_sig_end(&x.sw, x.f);
    cr_assert_eq(nmatches(&x), 1);
    expect_match(&x, 0, 7001, 1, 8);
    fx_fini(&x);
}

Test(signatures, out_of_order_and_repeated_segments_match_once_in_sequence_order)
{
    struct fixture x;
    fx_init(&x, SSH, 0);
    seg(&x, 0, 100, SYN, "");
    seg(&x, 0, 105, ACK, "2.0-x"); /* ahead of the hole 101..104: held */
    cr_assert_eq(nmatches(&x), 0);
    seg(&x, 0, 105, ACK, "2.0-x"); /* the same again: nothing new */
    seg(&x, 0, 101, ACK, "SSH-");  /* fills the hole: SSH-2.0-x in order */
    cr_assert_eq(nmatches(&x), 1);
    seg(&x, 0, 101, ACK, "SSH-2.0-"); /* a retransmission of bytes already scanned */
    wkp_sig_end(&x.sw, x.f);
    cr_assert_eq(nmatches(&x), 1);
    expect_match(&x, 0, 7001, 0, 8);
    cr_expect_eq(x.sw.c.bytes, 9); /* "SSH-2.0-x": each byte scanned once */
    fx_fini(&x);
}

Test(signatures, out_of_order_first_segment_waits_for_the_bytes_after_the_syn)
{
    /* the pattern is anchored: had the stream started at the first data
     * segment seen, "2.0-" would be its start and nothing would match */
    struct fixture x;
    fx_init(&x, SSH, 0);
    seg(&x, 0, 100, SYN, "");
    seg(&x, 0, 103, ACK, "H-2.0-");
    seg(&x, 0, 101, ACK, "SS");
    wkp_sig_end(&x.sw, x.f);
    cr_assert_eq(nmatches(&x), 1);
    expect_match(&x, 0, 7001, 0, 8);
    fx_fini(&x);
}

Test(signatures, rule_bound_to_down_does_not_fire_on_up)
{
    static const char rules[] = "- {id: 1, name: hello-down, pattern: hello, direction: down}\n"
                                "- {id: 2, name: hello-up, pattern: hello, direction: up}\n";
    struct fixture x;
    fx_init(&x, rules, 0);
    seg(&x, 0, 1, ACK, "hello"); /* up: only rule 2 */
    cr_assert_eq(nmatches(&x), 1);
    expect_match(&x, 0, 2, 0, 5);
    seg(&x, 1, 900, ACK, "why hello"); /* down: rule 1, ending at byte 9 */
    cr_assert_eq(nmatches(&x), 2);
    expect_match(&x, 1, 1, 1, 9);
    fx_fini(&x);
}

/* depth 16: a match ending at byte 16 is inside the budget, one ending at
 * byte 17 is not. */
Test(signatures, depth_budget_stops_the_scan)
{
    static const char rules[] = "- {id: 1, name: magic, pattern: MAGIC}\n";
    struct fixture x;
    fx_init(&x, rules, 16);
    seg(&x, 0, 1, ACK, "0123456789a");  /* 11 bytes */
    seg(&x, 0, 12, ACK, "MAGIC-more");  /* MAGIC ends at 11 + 5 = 16 */
    seg(&x, 1, 1, ACK, "0123456789ab"); /* 12 bytes */
    seg(&x, 1, 13, ACK, "MAGIC-more");  /* MAGIC would end at 17 */
    wkp_sig_end(&x.sw, x.f);
    cr_assert_eq(nmatches(&x), 1);
    expect_match(&x, 0, 1, 0, 16);
    cr_expect_eq(x.sw.c.bytes, 32); /* 16 per direction */
    cr_expect_eq(x.sw.c.budget_stops, 2);
    cr_expect_eq(x.sw.open, 0); /* both streams closed at the budget */
    fx_fini(&x);
}

/* every rule of the direction has a depth: the largest (6) ends its scan */
Test(signatures, scan_stops_where_no_rule_can_match)
{
    static const char rules[] = "- {id: 1, name: a, pattern: \"^ab\", depth: 4}\n"
                                "- {id: 2, name: b, pattern: zz, depth: 6}\n"
                                "- {id: 3, name: c, pattern: zz, direction: down}\n";
    struct fixture x;
    fx_init(&x, rules, 100);
    cr_expect_eq(x.sw.limit[0], 6);
    cr_expect_eq(x.sw.limit[1], 100); /* rule 3 has no depth: the scan depth */
    seg(&x, 0, 1, ACK, "ab--zz");     /* zz ends at 6: inside */
    cr_expect_eq(x.sw.open, 0);       /* the up stream closed at 6 bytes */
    seg(&x, 0, 7, ACK, "zz");
    cr_expect_eq(x.sw.c.bytes, 6);
    cr_expect_eq(nmatches(&x), 2);
    fx_fini(&x);
}

Test(signatures, udp_datagrams_form_one_stream_per_direction)
{
    static const char rules[] = "- {id: 3, name: split, pattern: \"abcdef\"}\n"
                                "- {id: 4, name: first, pattern: \"^xyz\", direction: up}\n";
    struct fixture x;
    fx_init(&x, rules, 0);
    cr_assert_eq(wkp_sig_datagram(&x.sw, &x.f, 0, (const uint8_t *)"xyzabc", 6), 0);
    cr_assert_eq(wkp_sig_datagram(&x.sw, &x.f, 0, (const uint8_t *)"defxyz", 6), 0);
    wkp_sig_end(&x.sw, x.f);
    cr_assert_eq(nmatches(&x), 2); /* ^xyz only at the stream's start */
    expect_match(&x, 0, 4, 0, 3);
    expect_match(&x, 1, 3, 0, 9); /* xyzabcdef */
    fx_fini(&x);
}

/* Five rules matching one direction: the first two matches sit in the
 * flow's own block, the rest in a list grown past it, in the order found.
 * "a1 b2 c3 d4 e5": a1 ends at 2, b2 at 5, c3 at 8, d4 at 11, e5 at 14. */
Test(signatures, more_matches_than_the_flow_block_holds_keep_their_order)
{
    static const char rules[] = "- {id: 11, name: a, pattern: \"a1\"}\n"
                                "- {id: 12, name: b, pattern: \"b2\"}\n"
                                "- {id: 13, name: c, pattern: \"c3\"}\n"
                                "- {id: 14, name: d, pattern: \"d4\"}\n"
                                "- {id: 15, name: e, pattern: \"e5\"}\n";
    struct fixture x;
    fx_init(&x, rules, 0);
    seg(&x, 0, 1, ACK, "a1 b2 c3 d4 e5");
    wkp_sig_end(&x.sw, x.f);
    cr_assert_eq(nmatches(&x), 5);
    cr_expect_gt(x.f->nm, WKP_SIG_INLINE_MATCHES);
    for (uint32_t i = 0; i < 5; i++)
        expect_match(&x, i, 11 + i, 0, 2 + 3 * i);
    fx_fini(&x);
}

/* A direction's stream is kept when its flow goes and serves the next
 * flow from a clean start: the first flow's "ab" must not complete "abc"
 * with the second flow's "c" (a match ending at 1), and the second flow's
 * own "abc", after that "c", ends at 4 of its direction (not 6, as it
 * would if the offsets went on from the first flow's 2 bytes). */
Test(signatures, a_kept_stream_starts_the_next_flow_afresh)
{
    static const char rules[] = "- {id: 21, name: abc, pattern: \"abc\"}\n";
    struct fixture x;
    fx_init(&x, rules, 0);
    seg(&x, 0, 1, ACK, "ab");
    cr_assert_eq(x.sw.open, 1);
    wkp_sig_release(&x.sw, &x.f); /* the flow goes with its stream open */
    cr_expect_eq(x.sw.open, 0);
    cr_assert_eq(x.sw.nidle[0], 1);
    struct hs_stream *kept = x.sw.idle[0][0];
    seg(&x, 0, 1, ACK, "c");
    cr_expect_eq(x.sw.nidle[0], 0);
    cr_expect_eq(x.f->d[0].hs, kept);
    cr_expect_eq(nmatches(&x), 0);
    seg(&x, 0, 2, ACK, "abc");
    cr_assert_eq(nmatches(&x), 1);
    expect_match(&x, 0, 21, 0, 4); /* "c" + "abc": ends at 4 */
    fx_fini(&x);
}

Test(signatures, end_anchored_pattern_matches_only_when_the_flow_ends)
{
    static const char rules[] = "- {id: 5, name: tail, pattern: \"bye$\"}\n";
    struct fixture x;
    fx_init(&x, rules, 0);
    seg(&x, 0, 1, ACK, "good bye");
    cr_assert_eq(nmatches(&x), 0);
    wkp_sig_end(&x.sw, x.f);
    cr_assert_eq(nmatches(&x), 1);
    expect_match(&x, 0, 5, 0, 8);
    fx_fini(&x);
}

Test(signatures, fin_or_rst_in_sequence_ends_the_direction_and_its_data)
{
    static const char rules[] = "- {id: 5, name: tail, pattern: \"bye$\"}\n";
    struct fixture x;
    fx_init(&x, rules, 0);
    seg(&x, 0, 100, SYN, "");
    seg(&x, 0, 101, ACK, "bye");
    cr_expect_eq(nmatches(&x), 0);
    seg(&x, 0, 104, FIN | ACK, ""); /* "bye" then the end of the data: bye$ */
    cr_expect_eq(x.sw.open, 0);
    cr_assert_eq(nmatches(&x), 1);
    expect_match(&x, 0, 5, 0, 3);
    seg(&x, 1, 900, ACK, "bye");
    seg(&x, 1, 903, 0x04, ""); /* RST: the other direction's data ends too */
    cr_expect_eq(x.sw.open, 0);
    cr_expect_eq(nmatches(&x), 1); /* the rule already matched up */
    fx_fini(&x);
}

Test(signatures, a_gap_ends_the_direction_scan)
{
    static const char rules[] = "- {id: 6, name: after, pattern: \"late\"}\n"
                                "- {id: 7, name: before, pattern: \"early\"}\n";
    struct fixture x;
    fx_init(&x, rules, 0);
    seg(&x, 0, 1, ACK, "early ");   /* bytes 1-6 */
    seg(&x, 0, 100, ACK, "late");   /* held behind the hole 7..99 */
    seg(&x, 0, 104, FIN | ACK, ""); /* the FIN gives the hole up: a gap */
    wkp_sig_end(&x.sw, x.f);
    cr_assert_eq(nmatches(&x), 1);
    expect_match(&x, 0, 7, 0, 5);
    cr_expect_eq(x.sw.c.gap_stops, 1);
    fx_fini(&x);
}

Test(signatures, offset_and_depth_bound_the_match_end)
{
    /* "ab" ends at 2, 4 and 6 in "ababab": offset 3 and depth 5 keep 4 */
    static const char rules[] = "- {id: 8, name: ab, pattern: ab, offset: 3, depth: 5}\n";
    struct fixture x;
    fx_init(&x, rules, 0);
    seg(&x, 0, 1, ACK, "ababab");
    wkp_sig_end(&x.sw, x.f);
    cr_assert_eq(nmatches(&x), 1);
    expect_match(&x, 0, 8, 0, 4);
    fx_fini(&x);
}

Test(signatures, flags_caseless)
{
    static const char rules[] = "- {id: 9, name: ci, pattern: \"^ehlo \", flags: [caseless]}\n";
    struct fixture x;
    fx_init(&x, rules, 0);
    seg(&x, 0, 1, ACK, "EHLO mx\r\n");
    wkp_sig_end(&x.sw, x.f);
    cr_assert_eq(nmatches(&x), 1);
    fx_fini(&x);
}

/* ---- rules files that must be refused, with their messages ---- */

struct bad {
    const char *text, *msg;
};

Test(signatures, bad_rules_files_are_refused_with_file_line_column)
{
    static const struct bad v[] = {
        {"- {id: 1, name: a, pattern: x, depht: 4}\n",
         "t.yaml:1:32: unknown key 'depht' (id, name, pattern, flags, direction, offset, depth, "
         "label)"},
        /* a key with a line break in it (YAML's "\n" escape): the message
         * stays one line, the break written as \n */
        {"- {id: 1, name: a, pattern: x, \"de\\npht\": 4}\n",
         "t.yaml:1:32: unknown key 'de\\npht' (id, name, pattern, flags, direction, offset, "
         "depth, label)"},
        {"- {id: 1, name: a}\n", "t.yaml:1:3: rule has no 'pattern'"},
        {"- {name: a, pattern: x}\n", "t.yaml:1:3: rule has no 'id'"},
        {"- {id: 1, name: a, pattern: x}\n- {id: 1, name: b, pattern: y}\n",
         "t.yaml:2:3: duplicate id 1 (first at line 1)"},
        {"- {id: 1, id: 2, name: a, pattern: x}\n", "t.yaml:1:11: key 'id' given twice"},
        {"- {id: -1, name: a, pattern: x}\n", "t.yaml:1:8: id must be a decimal integer"},
        {"- {id: 4294967296, name: a, pattern: x}\n",
         "t.yaml:1:8: id 4294967296 is out of range (at most 4294967295)"},
        {"- {id: 1, name: a, pattern: x, direction: sideways}\n",
         "t.yaml:1:43: direction must be up, down or any"},
        {"- {id: 1, name: a, pattern: x, flags: [caseless, greedy]}\n",
         "t.yaml:1:50: unknown flag 'greedy' (caseless, dotall, multiline, single-match)"},
        {"- {id: 1, name: a, pattern: x, offset: 9, depth: 4}\n",
         "t.yaml:1:3: rule 1: offset 9 is past depth 4"},
        {"- {id: 1, name: \"\", pattern: x}\n", "t.yaml:1:17: name is empty"},
        {"- {id: 1, name: [a], pattern: x}\n", "t.yaml:1:17: name must be a string"},
        {"id: 1\n", "t.yaml:1:1: the rules file must be a list of rules"},
        {"- 42\n", "t.yaml:1:3: a rule must be a mapping (id, name, pattern, ...)"},
        {"- {id: 1, name: a, pattern: x\n",
         "t.yaml:2:1: did not find expected ',' or '}' while parsing a flow mapping"},
        {"- {id: 1, name: ok, pattern: fine}\n- {id: 77, name: broken, pattern: \"a(b\"}\n",
         "t.yaml:2:3: rule 77 (broken): pattern rejected: Missing close parenthesis for group "
         "started at index 1."},
        /* the compiler's message quotes the rule's name, line break and all */
        {"- {id: 77, name: \"bro\\nken\", pattern: \"a(b\"}\n",
         "t.yaml:1:3: rule 77 (bro\\nken): pattern rejected: Missing close parenthesis for group "
         "started at index 1."},
        {"- {id: 5, name: empty, pattern: \"a*\"}\n",
         "t.yaml:1:3: rule 5 (empty): pattern rejected: Pattern matches empty buffer; use "
         "HS_FLAG_ALLOWEMPTY to enable support."},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct wkp_sigdb *db = NULL;
        char err[512] = "";
        int rc =
            wkp_sigdb_from_text("t.yaml", v[i].text, strlen(v[i].text), NULL, &db, err, sizeof err);
        cr_expect_eq(rc, -1, "case %zu accepted", i);
        cr_expect_str_eq(err, v[i].msg, "case %zu: %s", i, err);
        cr_expect_null(db);
    }
}

Test(signatures, empty_file_and_empty_list_are_no_rules)
{
    struct wkp_sigdb *db = db_of("");
    cr_expect_eq(db->rules.n, 0);
    wkp_sigdb_unref(db);
    db = db_of("[]\n");
    cr_expect_eq(db->rules.n, 0);
    wkp_sigdb_unref(db);
}

Test(signatures, shipped_rules_compile)
{
    struct wkp_sigdb *db = NULL;
    char err[512] = "";
    cr_assert_eq(
        wkp_sigdb_load(WKP_SOURCE_DIR "/protocols/signatures.yaml", NULL, &db, err, sizeof err), 0,
        "%s", err);
    cr_expect_geq(db->rules.n, 10);
    wkp_sigdb_unref(db);
}

/* ---- the compiled-rules cache ---- */

static struct wkp_sigdb *db_cached(const char *text, const char *dir)
{
    struct wkp_sigdb *db = NULL;
    char err[512] = "";
    int rc = wkp_sigdb_from_text("t.yaml", text, strlen(text), dir, &db, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    return db;
}

/* The .hsdb files in dir (names into v, up to 8). */
static int cache_files(const char *dir, char v[8][128])
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".hsdb") == 0 && n < 8)
            snprintf(v[n++], 128, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    return n;
}

/* Rules for both directions with each kind of input the key covers: a
 * direction, a flag, an offset and a depth. */
static const char CACHE_RULES[] =
    "- {id: 1, name: ssh, pattern: \"^SSH-2\\\\.0-\", direction: up}\n"
    "- {id: 2, name: ci, pattern: \"ehlo \", flags: [caseless]}\n"
    "- {id: 3, name: ab, pattern: ab, offset: 3, depth: 5, "
    "direction: down}\n";

/* The matches of one flow through db: up "SSH-2.0-x" and "EHLO mx", down
 * "ababab"; ends counted by hand: "SSH-2.0-" ends at 8 (rule 1, up),
 * "EHLO " at 5 of the second segment, 9 + 5 = 14 (rule 2, up); down, "ab"
 * ends at 2, 4, 6 and offset 3, depth 5 keep 4 (rule 3). */
static void expect_cache_rules_matches(struct wkp_sigdb *db)
{
    struct fixture x = {.db = wkp_sigdb_ref(db)}; /* fx_fini drops it */
    cr_assert_eq(wkp_sig_worker_init(&x.sw, db, 0), 0);
    seg(&x, 0, 1, ACK, "SSH-2.0-x");
    seg(&x, 0, 10, ACK, "EHLO mx");
    seg(&x, 1, 1, ACK, "ababab");
    wkp_sig_end(&x.sw, x.f);
    cr_assert_eq(nmatches(&x), 3);
    expect_match(&x, 0, 1, 0, 8);
    expect_match(&x, 1, 2, 0, 14);
    expect_match(&x, 2, 3, 1, 4);
    fx_fini(&x);
}

Test(signatures_cache, a_second_load_reads_what_the_first_compiled)
{
    char dir[] = "/tmp/wkp-sigcache-XXXXXX", sub[64], files[8][128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/made/here", dir); /* two levels made */
    struct wkp_sigdb *a = db_cached(CACHE_RULES, sub);
    cr_expect(!a->cached[0] && !a->cached[1]);
    cr_assert_eq(cache_files(sub, files), 2, "one file a direction");
    struct wkp_sigdb *b = db_cached(CACHE_RULES, sub);
    cr_expect(b->cached[0] && b->cached[1]);
    cr_expect_eq(b->db_bytes[0], a->db_bytes[0]);
    cr_expect_eq(b->db_bytes[1], a->db_bytes[1]);
    expect_cache_rules_matches(a);
    expect_cache_rules_matches(b);

    /* one flag more on the down rule is another compilation for down (a
     * third file); up's rules are the same and come from the cache */
    static const char other[] = "- {id: 1, name: ssh, pattern: \"^SSH-2\\\\.0-\", direction: up}\n"
                                "- {id: 2, name: ci, pattern: \"ehlo \", flags: [caseless]}\n"
                                "- {id: 3, name: ab, pattern: ab, offset: 3, depth: 5, "
                                "direction: down, flags: [caseless]}\n";
    struct wkp_sigdb *c = db_cached(other, sub);
    cr_expect(c->cached[0] && !c->cached[1]);
    cr_expect_eq(cache_files(sub, files), 3);
    wkp_sigdb_unref(c);
    /* and the depth alone, too */
    static const char deeper[] = "- {id: 1, name: ssh, pattern: \"^SSH-2\\\\.0-\", direction: up}\n"
                                 "- {id: 2, name: ci, pattern: \"ehlo \", flags: [caseless]}\n"
                                 "- {id: 3, name: ab, pattern: ab, offset: 3, depth: 6, "
                                 "direction: down}\n";
    c = db_cached(deeper, sub);
    cr_expect(c->cached[0] && !c->cached[1]);
    cr_expect_eq(cache_files(sub, files), 4);
    wkp_sigdb_unref(c);

    /* damaged files: compiled again, and rewritten whole */
    int n = cache_files(sub, files);
    for (int i = 0; i < n; i++) {
        FILE *f = fopen(files[i], i % 2 ? "r+b" : "wb");
        cr_assert_not_null(f);
        fputs("not a database", f);
        fclose(f);
    }
    struct wkp_sigdb *d = db_cached(CACHE_RULES, sub);
    cr_expect(!d->cached[0] && !d->cached[1]);
    expect_cache_rules_matches(d);
    struct wkp_sigdb *e = db_cached(CACHE_RULES, sub);
    cr_expect(e->cached[0] && e->cached[1]);
    expect_cache_rules_matches(e);

    wkp_sigdb_unref(a);
    wkp_sigdb_unref(b);
    wkp_sigdb_unref(d);
    wkp_sigdb_unref(e);
    n = cache_files(sub, files);
    for (int i = 0; i < n; i++)
        unlink(files[i]);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/made", dir);
    rmdir(sub);
    cr_expect_eq(rmdir(dir), 0, "no file left behind (temporary ones included)");
}

/* What someone else could have written is not loaded: a file writable by
 * the group, a link, a directory writable by the group. */
Test(signatures_cache, only_files_of_this_user_alone_are_read)
{
    char dir[] = "/tmp/wkp-sigcache-XXXXXX", files[8][128], moved[160];
    cr_assert_not_null(mkdtemp(dir));
    wkp_sigdb_unref(db_cached(CACHE_RULES, dir));
    cr_assert_eq(cache_files(dir, files), 2);
    struct wkp_sigdb *db = db_cached(CACHE_RULES, dir);
    cr_assert(db->cached[0] && db->cached[1], "the check below needs a working cache");
    wkp_sigdb_unref(db);

    cr_assert_eq(chmod(files[0], 0664), 0);
    snprintf(moved, sizeof moved, "%s/elsewhere", dir);
    cr_assert_eq(rename(files[1], moved), 0);
    cr_assert_eq(symlink(moved, files[1]), 0);
    db = db_cached(CACHE_RULES, dir);
    cr_expect(!db->cached[0] && !db->cached[1], "a group-writable file or a link was read");
    expect_cache_rules_matches(db);
    wkp_sigdb_unref(db);
    /* both were written again, as this user's own files */
    db = db_cached(CACHE_RULES, dir);
    cr_expect(db->cached[0] && db->cached[1]);
    wkp_sigdb_unref(db);

    cr_assert_eq(chmod(dir, 0770), 0);
    db = db_cached(CACHE_RULES, dir);
    cr_expect(!db->cached[0] && !db->cached[1], "a group-writable directory was used");
    wkp_sigdb_unref(db);

    int n = cache_files(dir, files);
    for (int i = 0; i < n; i++)
        unlink(files[i]);
    unlink(moved);
    cr_expect_eq(rmdir(dir), 0, "no file left behind");
}

/* A file at dir/name holding "x", its time set `age` seconds back, with
 * `mode`; its path into out. */
static void aged_file(char *out, size_t n, const char *dir, const char *name, long age, int mode)
{
    snprintf(out, n, "%s/%s", dir, name);
    FILE *f = fopen(out, "wb");
    cr_assert_not_null(f, "%s", out);
    fputs("x", f);
    fclose(f);
    cr_assert_eq(chmod(out, (mode_t)mode), 0);
    struct timespec t[2] = {{time(NULL) - age, 0}, {time(NULL) - age, 0}};
    cr_assert_eq(utimensat(AT_FDCWD, out, t, 0), 0);
}

/* A database's name as the cache gives it: 64 hex digits, then suffix. */
static const char *hex_name(unsigned i, const char *suffix)
{
    static char name[96];
    snprintf(name, sizeof name, "%064x%s", i, suffix);
    return name;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void remove_all(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    cr_expect_eq(rmdir(dir), 0);
}

Test(signatures_cache, a_store_keeps_the_64_databases_used_last)
{
    char dir[] = "/tmp/wkp-sigcache-XXXXXX", path[256];
    cr_assert_not_null(mkdtemp(dir));
    /* 70 databases, file i last used i + 1 minutes ago */
    for (unsigned i = 0; i < 70; i++)
        aged_file(path, sizeof path, dir, hex_name(i, ".hsdb"), 60L * (i + 1), 0600);
    /* older than all of them, and not the cache's to remove: another
     * user's kind of file (group-writable), other names, a link */
    aged_file(path, sizeof path, dir, hex_name(100, ".hsdb"), 40L * 86400, 0660);
    aged_file(path, sizeof path, dir, "notes.txt", 40L * 86400, 0600);
    aged_file(path, sizeof path, dir, "abc.hsdb", 40L * 86400, 0600);
    char link[256];
    snprintf(link, sizeof link, "%s/%s", dir, hex_name(101, ".hsdb"));
    cr_assert_eq(symlink("notes.txt", link), 0);
    /* a write abandoned two hours ago, one ten minutes old */
    aged_file(path, sizeof path, dir, hex_name(102, ".hsdb.123.tmp"), 7200, 0600);
    aged_file(path, sizeof path, dir, hex_name(103, ".hsdb.456.tmp"), 600, 0600);

    /* Two stores (one a direction). The first keeps itself and the 63
     * newest of the 70 (0..62); the second keeps itself, the first and
     * 62 of them (0..61). */
    struct wkp_sigdb *db = db_cached(CACHE_RULES, dir);
    cr_expect(!db->cached[0] && !db->cached[1]);
    expect_cache_rules_matches(db);
    wkp_sigdb_unref(db);
    for (unsigned i = 0; i < 70; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, hex_name(i, ".hsdb"));
        cr_expect_eq(exists(path), i < 62, "database %u of 70", i);
    }
    int ours = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; (e = readdir(d));)
        ours += strlen(e->d_name) == 69 && strcmp(e->d_name + 64, ".hsdb") == 0;
    closedir(d);
    cr_expect_eq(ours, 62 + 2 + 2, "62 old, the 2 new, the group-writable one and the link");
    snprintf(path, sizeof path, "%s/%s", dir, hex_name(100, ".hsdb"));
    cr_expect(exists(path), "a group-writable file was removed");
    cr_expect(exists(link), "a link was removed");
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    cr_expect(exists(path));
    snprintf(path, sizeof path, "%s/abc.hsdb", dir);
    cr_expect(exists(path));
    snprintf(path, sizeof path, "%s/%s", dir, hex_name(102, ".hsdb.123.tmp"));
    cr_expect(!exists(path), "an abandoned write stayed");
    snprintf(path, sizeof path, "%s/%s", dir, hex_name(103, ".hsdb.456.tmp"));
    cr_expect(exists(path), "a recent write was removed");

    /* the two new files are read back */
    db = db_cached(CACHE_RULES, dir);
    cr_expect(db->cached[0] && db->cached[1]);
    wkp_sigdb_unref(db);
    remove_all(dir);
}

Test(signatures_cache, a_database_unused_for_30_days_goes_and_a_load_renews_one)
{
    char dir[] = "/tmp/wkp-sigcache-XXXXXX", path[256], files[8][128];
    cr_assert_not_null(mkdtemp(dir));
    /* the rules' own two files, last used 40 days ago: a load renews them */
    wkp_sigdb_unref(db_cached(CACHE_RULES, dir));
    cr_assert_eq(cache_files(dir, files), 2);
    struct timespec old[2] = {{time(NULL) - 40L * 86400, 0}, {time(NULL) - 40L * 86400, 0}};
    for (int i = 0; i < 2; i++)
        cr_assert_eq(utimensat(AT_FDCWD, files[i], old, 0), 0);
    struct wkp_sigdb *db = db_cached(CACHE_RULES, dir);
    cr_expect(db->cached[0] && db->cached[1]);
    wkp_sigdb_unref(db);
    for (int i = 0; i < 2; i++) {
        struct stat st;
        cr_assert_eq(stat(files[i], &st), 0);
        cr_expect_lt(labs((long)(time(NULL) - st.st_mtime)), 60L, "a load did not renew %s",
                     files[i]);
    }

    /* others: 29 and 31 days unused; a store (other rules) removes the
     * second only */
    aged_file(path, sizeof path, dir, hex_name(1, ".hsdb"), 29L * 86400, 0600);
    aged_file(path, sizeof path, dir, hex_name(2, ".hsdb"), 31L * 86400, 0600);
    static const char other[] = "- {id: 1, name: ssh, pattern: \"^SSH-2\\\\.1-\", direction: up}\n";
    wkp_sigdb_unref(db_cached(other, dir));
    snprintf(path, sizeof path, "%s/%s", dir, hex_name(1, ".hsdb"));
    cr_expect(exists(path), "29 days unused: kept");
    snprintf(path, sizeof path, "%s/%s", dir, hex_name(2, ".hsdb"));
    cr_expect(!exists(path), "31 days unused: removed");
    for (int i = 0; i < 2; i++)
        cr_expect(exists(files[i]), "renewed by the load, kept");
    remove_all(dir);
}

Test(signatures_cache, a_cache_that_cannot_be_written_only_costs_the_compilation)
{
    struct wkp_sigdb *db = db_cached(CACHE_RULES, "/dev/null/cache");
    cr_expect(!db->cached[0] && !db->cached[1]);
    expect_cache_rules_matches(db);
    wkp_sigdb_unref(db);
}

Test(signatures_cache, the_default_directory_comes_from_the_environment)
{
    char out[256];
    setenv("WKP_CACHE_DIR", "/srv/c", 1);
    setenv("XDG_CACHE_HOME", "/x", 1);
    setenv("HOME", "/home/u", 1);
    cr_expect_str_eq(wkp_sigcache_default_dir(out, sizeof out), "/srv/c");
    setenv("WKP_CACHE_DIR", "", 1);
    cr_expect_null(wkp_sigcache_default_dir(out, sizeof out), "set and empty: no cache");
    unsetenv("WKP_CACHE_DIR");
    cr_expect_str_eq(wkp_sigcache_default_dir(out, sizeof out), "/x/wa1kpcap");
    setenv("XDG_CACHE_HOME", "relative", 1); /* the XDG rule: only absolute paths */
    cr_expect_str_eq(wkp_sigcache_default_dir(out, sizeof out), "/home/u/.cache/wa1kpcap");
    unsetenv("XDG_CACHE_HOME");
    cr_expect_str_eq(wkp_sigcache_default_dir(out, sizeof out), "/home/u/.cache/wa1kpcap");
    unsetenv("HOME");
    cr_expect_null(wkp_sigcache_default_dir(out, sizeof out));
    setenv("HOME", "/home/u", 1);
    cr_expect_null(wkp_sigcache_default_dir(out, 8), "too long for out");
}

/* ---- the public API ---- */

static char *write_rules(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/wkp-sigs-XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

Test(signatures_api, setter_reports_the_file_and_keeps_the_previous_setting)
{
    wkp_config *cfg;
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_expect_eq(wkp_config_set_signatures(cfg, "/nonexistent/rules.yaml", &err), WKP_EINVAL);
    cr_expect_str_eq(err.msg, "/nonexistent/rules.yaml: No such file or directory");
    char *path = write_rules("- {id: 3, name: x, pattern: \"(\"}\n");
    cr_expect_eq(wkp_config_set_signatures(cfg, path, &err), WKP_EINVAL);
    cr_expect(strstr(err.msg, ": rule 3 (x): pattern rejected: ") != NULL, "%s", err.msg);
    unlink(path);
    cr_expect_eq(wkp_config_set_signature_depth(cfg, 0), WKP_EINVAL);
    cr_expect_eq(wkp_config_set_signature_depth(cfg, 100), WKP_OK);
    cr_expect_eq(wkp_config_set_signatures(cfg, NULL, NULL), WKP_OK);
    cr_expect_eq(wkp_config_set_signatures(NULL, "x", NULL), WKP_EINVAL);
    wkp_config_free(cfg);
}

/* One TCP flow 10.0.0.1:40000 -> 10.0.0.2:2222: SYN, SYN-ACK, then the
 * client's "SSH-2.0-client\r\n" in two segments, sent second part first;
 * the server's banner "SSH-2.0-srv\r\n"; a 5-byte "hello" from the server
 * on UDP too, in another flow. */
static void write_capture(const char *path)
{
    static const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    struct capw w;
    capw_open(&w, path);
    uint8_t f[128];
    uint32_t n;
    int64_t t = 1000000;
    n = capw_tcp4(f, a, b, 40000, 2222, 100, SYN, 0);
    capw_packet(&w, t++, f, n, n);
    n = capw_tcp4(f, b, a, 2222, 40000, 700, SYN | ACK, 0);
    capw_packet(&w, t++, f, n, n);
    n = capw_tcp4(f, a, b, 40000, 2222, 105, ACK, 12);
    memcpy(f + 54, "2.0-client\r\n", 12); /* bytes 5-16 of "SSH-2.0-client\r\n" */
    capw_packet(&w, t++, f, n, n);
    n = capw_tcp4(f, a, b, 40000, 2222, 101, ACK, 4);
    memcpy(f + 54, "SSH-", 4);
    capw_packet(&w, t++, f, n, n);
    n = capw_tcp4(f, b, a, 2222, 40000, 701, ACK, 13);
    memcpy(f + 54, "SSH-2.0-srv\r\n", 13);
    capw_packet(&w, t++, f, n, n);
    n = capw_udp4(f, a, b, 5000, 6000, 5);
    memcpy(f + 42, "hello", 5);
    capw_packet(&w, t++, f, n, n);
    capw_close(&w);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void run_to_csv(const char *pcap, const char *rules, unsigned threads, const char *out)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *s;
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, threads), WKP_OK);
    cr_assert_eq(wkp_config_set_columns(cfg, "flow_id,app,signatures"), WKP_OK);
    if (rules)
        cr_assert_eq(wkp_config_set_signatures(cfg, rules, &err), WKP_OK, "%s", err.msg);
    cr_assert_eq(wkp_engine_new(cfg, &e, &err), WKP_OK, "%s", err.msg);
    wkp_config_free(cfg); /* the engine keeps its own reference to the rules */
    cr_assert_eq(wkp_sink_file_new(out, WKP_FMT_CSV, &s, &err), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, s), WKP_OK);
    const char *files[] = {pcap};
    cr_assert_eq(wkp_engine_run(e, files, 1), WKP_OK, "%s", wkp_engine_last_error(e));
    wkp_engine_free(e);
}

Test(signatures_api, engine_writes_app_and_signatures_columns)
{
    char pcap[64], out[80];
    capw_tmpname(pcap, sizeof pcap, "wkp-sig");
    write_capture(pcap);
    char *rules = write_rules("- {id: 7001, name: ssh-banner, pattern: \"^SSH-2\\\\.0-\", "
                              "direction: any, label: SSH}\n"
                              "- {id: 7002, name: client, pattern: \"client\\\\r\\\\n\", "
                              "direction: up}\n"
                              "- {id: 7003, name: hello, pattern: \"^hello\", label: Greeting}\n");
    snprintf(out, sizeof out, "%s.csv", pcap);
    run_to_csv(pcap, rules, 1, out);
    /* client: "SSH-2.0-" ends at 8, "client\r\n" at 16; server: at 8 */
    cr_expect_str_eq(
        slurp(out),
        "flow_id,app,signatures\n"
        "1,SSH,\"[{\"\"id\"\":7001,\"\"name\"\":\"\"ssh-banner\"\",\"\"dir\"\":\"\"up\"\","
        "\"\"end\"\":8},{\"\"id\"\":7002,\"\"name\"\":\"\"client\"\",\"\"dir\"\":"
        "\"\"up\"\",\"\"end\"\":16}]\"\n"
        "6,Greeting,\"[{\"\"id\"\":7003,\"\"name\"\":\"\"hello\"\",\"\"dir\"\":"
        "\"\"up\"\",\"\"end\"\":5}]\"\n");
    /* the same at 2 and 4 workers */
    char first[1 << 12];
    snprintf(first, sizeof first, "%s", slurp(out));
    for (unsigned t = 2; t <= 4; t += 2) {
        run_to_csv(pcap, rules, t, out);
        cr_expect_str_eq(slurp(out), first, "-t %u", t);
    }
    unlink(out);
    unlink(rules);
    unlink(pcap);
}

Test(signatures_api, columns_absent_without_signatures)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_columns(cfg, "app"), WKP_OK);
    cr_expect_eq(wkp_engine_new(cfg, &e, &err), WKP_EINVAL);
    cr_expect_str_eq(err.msg, "--columns: 'app' matches no column");
    wkp_config_free(cfg);
}

#else /* a build without Hyperscan */

Test(signatures_api, build_without_hyperscan_refuses_signatures)
{
    wkp_config *cfg;
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_expect_eq(wkp_config_set_signatures(cfg, "rules.yaml", &err), WKP_EINVAL);
    cr_expect(strstr(err.msg, "rules.yaml: this build has no signature support") == err.msg, "%s",
              err.msg);
    wkp_config_free(cfg);
}

#endif
