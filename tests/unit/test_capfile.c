/* Capture file readers: the mmap reader and the libpcap reader must yield the
 * same records (length, time, link type, bytes) on every capture both can
 * read; known values come from tshark / capinfos (command in each comment);
 * bad files get one clear line naming the file; hand-made files written to a
 * temporary directory cover what the corpus lacks (pcapng if_tsresol,
 * several sections, SPB, cuts at chosen offsets, pipes). */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "capture/capfile.h"

#define DATA   WKP_TEST_DATA
#define SHARED WKP_TEST_DATA "/../../../shared/pcaps"

struct rcopy {
    uint8_t *data;
    uint32_t caplen, wirelen;
    int64_t ts_ns;
    int dlt;
};

/* Everything one reader says about one file. */
struct trace {
    wkp_status open_st;
    int end; /* last wkp_capfile_next() result: 0 or a negative status */
    size_t n;
    struct rcopy *r;
    bool truncated;
    uint64_t trunc_off, bytes_done, size;
    int digits, first_dlt;
    bool zero_copy;
    wkp_errbuf err;
    size_t ndamage;
    struct wkp_damage damage[8];
    size_t nunsup;
    struct wkp_unsup_if unsup[8];
    size_t nunsupported; /* records handed out with rec.unsupported */
};

static struct trace read_opt(const char *path, wkp_reader_kind k, bool resync)
{
    struct trace t = {0};
    struct wkp_capfile *cf = NULL;
    t.open_st = wkp_capfile_open(path, k, &cf, &t.err);
    if (t.open_st != WKP_OK)
        return t;
    wkp_capfile_set_resync(cf, resync);
    t.digits = wkp_capfile_ts_digits(cf);
    t.first_dlt = wkp_capfile_first_dlt(cf);
    t.zero_copy = wkp_capfile_zero_copy(cf);
    t.size = wkp_capfile_size(cf);
    cr_assert_str_eq(wkp_capfile_path(cf), path);
    size_t cap = 0;
    struct wkp_rec rec;
    while ((t.end = wkp_capfile_next(cf, &rec, &t.err)) == 1) {
        if (t.n == cap) {
            cap = cap ? cap * 2 : 64;
            t.r = realloc(t.r, cap * sizeof *t.r);
            cr_assert_not_null(t.r);
        }
        struct rcopy *c = &t.r[t.n++];
        c->data = malloc(rec.caplen ? rec.caplen : 1);
        memcpy(c->data, rec.data, rec.caplen);
        c->caplen = rec.caplen;
        c->wirelen = rec.wirelen;
        c->ts_ns = rec.ts_ns;
        c->dlt = rec.dlt;
        t.nunsupported += rec.unsupported;
    }
    /* the end repeats */
    cr_assert_eq(wkp_capfile_next(cf, &rec, &t.err), t.end, "%s: end not sticky", path);
    t.truncated = wkp_capfile_truncated(cf, &t.trunc_off);
    t.bytes_done = wkp_capfile_bytes_done(cf);
    const struct wkp_damage *d = wkp_capfile_damage(cf, &t.ndamage, NULL, NULL);
    cr_assert_leq(t.ndamage, 8);
    if (t.ndamage > 0)
        memcpy(t.damage, d, t.ndamage * sizeof *d);
    const struct wkp_unsup_if *u = wkp_capfile_unsupported(cf, &t.nunsup);
    cr_assert_leq(t.nunsup, 8);
    if (t.nunsup > 0)
        memcpy(t.unsup, u, t.nunsup * sizeof *u);
    if (t.digits < wkp_capfile_ts_digits(cf))
        t.digits = wkp_capfile_ts_digits(cf);
    wkp_capfile_close(cf);
    return t;
}

static struct trace read_all(const char *path, wkp_reader_kind k)
{
    return read_opt(path, k, false);
}

static void trace_free(struct trace *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->r[i].data);
    free(t->r);
}

static void same_records(const char *name, const struct trace *a, const struct trace *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++) {
        const struct rcopy *x = &a->r[i], *y = &b->r[i];
        cr_assert_eq(x->caplen, y->caplen, "%s #%zu caplen %u vs %u", name, i, x->caplen,
                     y->caplen);
        cr_assert_eq(x->wirelen, y->wirelen, "%s #%zu wirelen", name, i);
        cr_assert_eq(x->ts_ns, y->ts_ns, "%s #%zu ts %lld vs %lld", name, i, (long long)x->ts_ns,
                     (long long)y->ts_ns);
        cr_assert_eq(x->dlt, y->dlt, "%s #%zu dlt %d vs %d", name, i, x->dlt, y->dlt);
        cr_assert(memcmp(x->data, y->data, x->caplen) == 0, "%s #%zu bytes differ", name, i);
    }
}

/* Both readers on path: same open status, same records, same end. */
static void readers_agree(const char *path)
{
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    struct trace m = read_all(path, WKP_READER_MMAP);
    struct trace l = read_all(path, WKP_READER_LIBPCAP);
    cr_assert_eq(m.open_st, l.open_st, "%s: open %d (%s) vs %d (%s)", name, m.open_st, m.err.msg,
                 l.open_st, l.err.msg);
    if (m.open_st == WKP_OK) {
        cr_assert(m.zero_copy && !l.zero_copy);
        same_records(name, &m, &l);
        if (strcmp(name, "PcapPlusPlus__many_interfaces-1.pcapng") == 0) {
            /* libpcap 1.10 stops at the second link type: see its own test */
            cr_assert_eq(l.end, WKP_EFORMAT);
        } else {
            cr_assert_eq(m.n, l.n, "%s: %zu vs %zu records", name, m.n, l.n);
            cr_assert_eq(m.end, l.end, "%s: end %d (%s) vs %d (%s)", name, m.end, m.err.msg, l.end,
                         l.err.msg);
            cr_assert_eq(m.truncated, l.truncated, "%s: truncated", name);
            cr_assert_eq(m.trunc_off, l.trunc_off, "%s: truncation offset", name);
            cr_assert_eq(m.digits, l.digits, "%s: digits", name);
            if (m.end == 0 && m.ndamage == 0) /* after damage: mmap at the end, libpcap not */
                cr_assert_eq(m.bytes_done, l.bytes_done, "%s: bytes_done", name);
            cr_assert_eq(m.ndamage, l.ndamage, "%s: damage", name);
            if (m.ndamage > 0) {
                cr_assert_eq(m.damage[0].off, l.damage[0].off, "%s: damage offset", name);
                cr_assert_eq(m.damage[0].len, l.damage[0].len, "%s: damage length", name);
            }
        }
        cr_assert_eq(m.first_dlt, l.first_dlt, "%s: first dlt", name);
        cr_assert_eq(m.size, l.size, "%s: size", name);
    }
    trace_free(&m);
    trace_free(&l);
}

static bool is_capture_name(const char *n)
{
    size_t len = strlen(n);
    return (len > 5 && strcmp(n + len - 5, ".pcap") == 0) ||
           (len > 7 && strcmp(n + len - 7, ".pcapng") == 0);
}

/* The corpus captures this suite reads from tests/data (copies of
 * ../shared/pcaps, byte for byte). */
static const char *const bundled[] = {
    "tcpdump__tcp-handshake-nano.pcap",
    "PcapPlusPlus__nanosecs_big_endian.pcap",
    "tcpdump__pptp.pcap",
    "PcapPlusPlus__many_interfaces-1.pcapng",
    "zeek__pcapng-multi-interface.pcapng",
    "tcpdump__timestamp_invalid_micro.pcap",
    "nDPI__fuzz-2021-10-13.pcap",
    "suricata-verify__bug-1450-04__tls_DER-incomplete-header.pcap",
    "libpcap__pcap-invalid-version-1.pcap",
    "libpcap__shb-option-too-long.pcapng",
    "libpcap__linktype-reserved-field-not-zero.pcap",
    "tcpdump__empty.pcap",
    "tcpdump__empty.pcapng",
    "nDPI__dns.pcap", /* a pcapng file named .pcap */
    "nDPI__http.pcapng",
    "nDPI__http_starting_with_reply.pcapng",
    "PcapPlusPlus__null_loopback.pcap",
    "tcpdump__LINKTYPE_RAW_ipv4.pcap",
    "tcpdump__LINKTYPE_IPV4.pcap",
    "tcpdump__nflog.pcap",
    "zeek__linux_dlt_sll2.pcap",
    "tcpdump__mpls-traceroute.pcap",
    "wa1kpcap__single.pcap",
};

Test(capfile, readers_agree_on_bundled_captures)
{
    for (size_t i = 0; i < sizeof bundled / sizeof bundled[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", DATA, bundled[i]);
        readers_agree(path);
    }
}

Test(capfile, readers_agree_on_shared_corpus)
{
    DIR *d = opendir(SHARED);
    if (d == NULL)
        cr_skip_test("%s not present", SHARED);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL) {
        if (!is_capture_name(e->d_name))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", SHARED, e->d_name);
        readers_agree(path);
        files++;
    }
    closedir(d);
    cr_assert_geq(files, 70);
}

/* The `packets` column of MANIFEST.tsv (capinfos -c; "N (read before
 * error)" for captures with an error after N packets) against the mmap
 * reader's count. */
Test(capfile, packet_counts_match_manifest)
{
    FILE *f = fopen(SHARED "/MANIFEST.tsv", "r");
    if (f == NULL)
        cr_skip_test("%s not present", SHARED);
    char line[8192];
    int checked = 0;
    cr_assert_not_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f) != NULL) {
        char *cols[12] = {0};
        int nc = 0;
        for (char *s = line, *tok; nc < 12 && (tok = strsep(&s, "\t")) != NULL;)
            cols[nc++] = tok;
        cr_assert_geq(nc, 8);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", SHARED, cols[0]);
        long want = strtol(cols[7], NULL, 10);
        struct trace m = read_all(path, WKP_READER_MMAP);
        if (m.open_st == WKP_OK) {
            cr_assert_eq((long)m.n, want, "%s: %zu records, capinfos %ld", cols[0], m.n, want);
            checked++;
        } else {
            cr_assert_eq(want, 0, "%s: refused (%s), capinfos %ld", cols[0], m.err.msg, want);
        }
        trace_free(&m);
    }
    fclose(f);
    cr_assert_geq(checked, 65);
}

static struct trace data(const char *name, wkp_reader_kind k)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", DATA, name);
    return read_all(path, k);
}

/* tshark -r tcpdump__tcp-handshake-nano.pcap -T fields -e frame.time_epoch
 *   1418145369.924505488 / .052027262 / .052115157 */
Test(capfile, nanosecond_pcap_keeps_nine_digits)
{
    for (int k = WKP_READER_AUTO; k <= WKP_READER_LIBPCAP; k++) {
        struct trace t = data("tcpdump__tcp-handshake-nano.pcap", k);
        cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
        cr_assert_eq(t.n, 3);
        cr_assert_eq(t.digits, 9);
        cr_assert_eq(t.r[0].ts_ns, 1418145369924505488LL);
        cr_assert_eq(t.r[2].ts_ns, 1418145370052115157LL);
        cr_assert_eq(t.r[0].dlt, 113); /* LINUX_SLL */
        cr_assert_eq(t.r[0].caplen, 76);
        cr_assert_eq(t.zero_copy, k != WKP_READER_LIBPCAP);
        trace_free(&t);
    }
}

/* tshark -r PcapPlusPlus__nanosecs_big_endian.pcap -T fields
 *   -e frame.time_epoch -e frame.cap_len: 1766361926.167647291 74, ...
 *   .167712591 144 (4th); capinfos -c: 10 */
Test(capfile, big_endian_nanosecond_pcap)
{
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        struct trace t = data("PcapPlusPlus__nanosecs_big_endian.pcap", k);
        cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
        cr_assert_eq(t.n, 10);
        cr_assert_eq(t.digits, 9);
        cr_assert_eq(t.r[0].ts_ns, 1766361926167647291LL);
        cr_assert_eq(t.r[3].ts_ns, 1766361926167712591LL);
        cr_assert_eq(t.r[3].caplen, 144);
        cr_assert_eq(t.r[3].wirelen, 144);
        cr_assert_eq(t.r[0].dlt, 1);
        trace_free(&t);
    }
}

/* tshark -r tcpdump__pptp.pcap -T fields -e frame.time_epoch -e frame.cap_len
 *   954147395.148077000 62 (first); capinfos -c: 23 */
Test(capfile, big_endian_microsecond_pcap)
{
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        struct trace t = data("tcpdump__pptp.pcap", k);
        cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
        cr_assert_eq(t.n, 23);
        cr_assert_eq(t.digits, 6);
        cr_assert_eq(t.r[0].ts_ns, 954147395148077000LL);
        cr_assert_eq(t.r[0].caplen, 62);
        cr_assert_eq(t.bytes_done, 2464); /* the file size */
        trace_free(&t);
    }
}

/* tshark -r tcpdump__timestamp_invalid_micro.pcap -T fields -e frame.time_epoch
 *   1418145369.999999000, 1418145370.1000000000 (µs field 1000000: tshark
 *   prints the fraction as is; it is 1418145371 s). The third record's µs
 *   field is 2^31: tshark's 32-bit arithmetic prints .000000000, libpcap
 *   reads it as -2^31; both readers take it unsigned: +2147.483648 s. */
Test(capfile, out_of_range_microseconds_carry_into_seconds)
{
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        struct trace t = data("tcpdump__timestamp_invalid_micro.pcap", k);
        cr_assert_eq(t.n, 3);
        cr_assert_eq(t.r[0].ts_ns, 1418145369999999000LL);
        cr_assert_eq(t.r[1].ts_ns, 1418145371000000000LL);
        cr_assert_eq(t.r[2].ts_ns, 1418145370LL * 1000000000 + 2147483648LL * 1000);
        trace_free(&t);
    }
}

/* tshark -r PcapPlusPlus__many_interfaces-1.pcapng -T fields
 *   -e frame.interface_id -e frame.encap_type: 64 packets, the 3rd and 4th
 *   on interface 10 (encap 15 = NULL, DLT 0), all others on interface 0
 *   (encap 1 = Ethernet). The file has 11 IDBs: Ethernet x8, NULL x2, 12. */
Test(capfile, pcapng_interfaces_keep_their_link_types)
{
    struct trace t = data("PcapPlusPlus__many_interfaces-1.pcapng", WKP_READER_MMAP);
    cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
    cr_assert_eq(t.end, 0, "%s", t.err.msg);
    cr_assert_eq(t.n, 64);
    cr_assert_eq(t.first_dlt, 1);
    for (size_t i = 0; i < t.n; i++)
        cr_assert_eq(t.r[i].dlt, i == 2 || i == 3 ? 0 : 1, "record %zu dlt %d", i, t.r[i].dlt);
    trace_free(&t);

    /* libpcap 1.10 refuses a second link type in one file */
    t = data("PcapPlusPlus__many_interfaces-1.pcapng", WKP_READER_LIBPCAP);
    cr_assert_eq(t.open_st, WKP_OK);
    cr_assert_eq(t.end, WKP_EFORMAT);
    cr_assert_eq(t.n, 0);
    cr_assert(strstr(t.err.msg, "many_interfaces-1.pcapng: ") != NULL, "%s", t.err.msg);
    cr_assert(strstr(t.err.msg, "an interface has a type 0 different from the type of the "
                                "first interface") != NULL,
              "%s", t.err.msg);
    trace_free(&t);
}

/* tshark -r zeek__pcapng-multi-interface.pcapng -T fields -e frame.time_epoch
 *   -e frame.interface_id: 1767663089.500330493 0, ... 1767663437.111897000 1;
 *   interface 0 has if_tsresol 9, interface 1 the default (µs). */
Test(capfile, pcapng_resolution_per_interface)
{
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        struct trace t = data("zeek__pcapng-multi-interface.pcapng", k);
        cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
        cr_assert_eq(t.n, 6);
        cr_assert_eq(t.digits, 9);
        cr_assert_eq(t.r[0].ts_ns, 1767663089500330493LL);
        cr_assert_eq(t.r[1].ts_ns, 1767663089514291940LL);
        cr_assert_eq(t.r[2].ts_ns, 1767663437111897000LL);
        cr_assert_eq(t.r[2].caplen, 70);
        trace_free(&t);
    }
}

/* LINKTYPE_RAW (101) in the file is DLT_RAW for pcap_datalink(): both
 * readers report the DLT (12 on Linux) as libpcap's linktype_to_dlt(). */
Test(capfile, linktype_raw_maps_to_dlt_raw)
{
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        struct trace t = data("tcpdump__LINKTYPE_RAW_ipv4.pcap", k);
        cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
        cr_assert_eq(t.first_dlt, 12);
        cr_assert_eq(t.r[0].dlt, 12);
        trace_free(&t);
    }
}

/* ---- malformed corpus files (MANIFEST: MALFORMED FILE) ------------------ */

static void refused(const char *name, wkp_status want, const char *needle)
{
    for (int k = WKP_READER_AUTO; k <= WKP_READER_LIBPCAP; k++) {
        struct trace t = data(name, k);
        cr_assert_eq(t.open_st, want, "%s reader %d: %d %s", name, k, t.open_st, t.err.msg);
        cr_assert(strstr(t.err.msg, name) != NULL, "no file name: %s", t.err.msg);
        cr_assert(strchr(t.err.msg, '\n') == NULL);
        if (k != WKP_READER_LIBPCAP || needle[0] != '!')
            cr_assert(strstr(t.err.msg, needle[0] == '!' ? needle + 1 : needle) != NULL, "%s",
                      t.err.msg);
        trace_free(&t);
    }
}

/* libpcap: "archaic pcap savefile format"; capinfos: "pcap: major version 1
 * unsupported" */
Test(capfile, pcap_version_1_is_refused)
{
    refused("libpcap__pcap-invalid-version-1.pcap", WKP_EFORMAT, "archaic pcap savefile format");
}

/* capinfos: "pcapng: Not enough data to handle option of length 12336";
 * libpcap checks the trailer first ("block total length in header and
 * trailer don't match"). Ours names the option. */
Test(capfile, pcapng_option_overrunning_its_block_is_refused)
{
    refused("libpcap__shb-option-too-long.pcapng", WKP_EFORMAT, "!option 12336 at 24");
}

/* The link-type field 0x00300000 has reserved bits set. libpcap 1.10 keeps
 * bits 0-25 and reports link type 3145728 (capinfos: "network type reserved
 * field not zero"); both readers mirror it, and no decoder knows 3145728. */
Test(capfile, reserved_linktype_bits_are_an_unsupported_link_type)
{
    refused("libpcap__linktype-reserved-field-not-zero.pcap", WKP_ELINKTYPE,
            "unsupported link type 3145728");
}

/* pcap 2.0 (lengths swapped before 2.3): tshark -e frame.cap_len -e frame.len
 * gives 197 524501; then 2 bytes of a record header: capinfos "cut short in
 * the middle of a packet" after 1 packet. 24 + 16 + 197 = 237. */
Test(capfile, file_cut_inside_a_record_header_is_truncated)
{
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        struct trace t = data("nDPI__fuzz-2021-10-13.pcap", k);
        cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
        cr_assert_eq(t.end, 0);
        cr_assert_eq(t.n, 1);
        cr_assert_eq(t.r[0].caplen, 197);
        cr_assert_eq(t.r[0].wirelen, 524501);
        cr_assert_eq(t.r[0].dlt, 0);
        cr_assert(t.truncated);
        cr_assert_eq(t.trunc_off, 237);
        cr_assert_eq(t.digits, 9);
        trace_free(&t);
    }
}

/* Six good records, then at 5035 a header claiming 4325376 bytes (capinfos:
 * "An error occurred after reading 6 packets"): more than any snapshot
 * length cannot be right. After good records that is damage: the read ends
 * there, the rest (5696 - 5035 = 661 bytes) unread. With resync the next
 * run of plausible records starts at 5115: tshark on the file's header +
 * bytes 5115.. reads 7 packets of the same connection (50802 -> 10443). */
Test(capfile, record_claiming_more_than_the_maximum_after_good_ones_is_damage)
{
    const char *name = "suricata-verify__bug-1450-04__tls_DER-incomplete-header.pcap";
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        struct trace t = data(name, k);
        cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
        cr_assert_eq(t.n, 6);
        cr_assert_eq(t.end, 0, "%s", t.err.msg);
        cr_assert(!t.truncated);
        cr_assert_eq(t.ndamage, 1);
        cr_assert_eq(t.damage[0].off, 5035);
        cr_assert_eq(t.damage[0].len, 661);
        cr_assert(!t.damage[0].resumed);
        cr_assert(strstr(t.damage[0].why, "record at 5035") != NULL, "%s", t.damage[0].why);
        cr_assert(strstr(t.damage[0].why, "4325376") != NULL, "%s", t.damage[0].why);
        trace_free(&t);
    }
    struct trace t = read_opt(DATA "/suricata-verify__bug-1450-04__tls_DER-incomplete-header.pcap",
                              WKP_READER_MMAP, true);
    cr_assert_eq(t.n, 13);
    cr_assert_eq(t.ndamage, 1);
    cr_assert_eq(t.damage[0].off, 5035);
    cr_assert_eq(t.damage[0].len, 80);
    cr_assert(t.damage[0].resumed);
    trace_free(&t);
}

Test(capfile, header_only_captures_are_empty)
{
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        struct trace t = data("tcpdump__empty.pcap", k);
        cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
        cr_assert_eq(t.n, 0);
        cr_assert_eq(t.end, 0);
        cr_assert(!t.truncated);
        trace_free(&t);
        t = data("tcpdump__empty.pcapng", k);
        cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
        cr_assert_eq(t.n, 0);
        cr_assert_eq(t.first_dlt, 1);
        trace_free(&t);
    }
}

/* ---- hand-made files ---------------------------------------------------- */

static char tmpdir[256];

static void mk_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_capfile.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        if (e->d_name[0] != '.')
            unlink(p);
    }
    closedir(d);
    rmdir(tmpdir);
}

TestSuite(capfile_made, .init = mk_tmpdir, .fini = rm_tmpdir);

struct buf {
    uint8_t b[8192];
    size_t n;
    bool be; /* write numbers big-endian */
};

static void put(struct buf *b, const void *p, size_t n)
{
    cr_assert_leq(b->n + n, sizeof b->b);
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void put16(struct buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    if (b->be) {
        x[0] = (uint8_t)(v >> 8);
        x[1] = (uint8_t)v;
    }
    put(b, x, 2);
}

static void put32(struct buf *b, uint32_t v)
{
    if (b->be) {
        put16(b, (uint16_t)(v >> 16));
        put16(b, (uint16_t)v);
    } else {
        put16(b, (uint16_t)v);
        put16(b, (uint16_t)(v >> 16));
    }
}

static const char *write_file(const char *name, const void *p, size_t n)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(p, 1, n, f), n);
    fclose(f);
    return path;
}

static void pcap_hdr(struct buf *b, uint32_t magic, uint32_t linktype)
{
    put32(b, magic);
    put16(b, 2);
    put16(b, 4);
    put32(b, 0);
    put32(b, 0);
    put32(b, 65535);
    put32(b, linktype);
}

static void pcap_rec(struct buf *b, uint32_t sec, uint32_t frac, uint32_t len, uint8_t fill)
{
    put32(b, sec);
    put32(b, frac);
    put32(b, len);
    put32(b, len + 4); /* wirelen: 4 bytes of FCS not captured */
    for (uint32_t i = 0; i < len; i++)
        put(b, &fill, 1);
}

static void expect_refused(const char *path, wkp_status want, const char *msg)
{
    for (int k = WKP_READER_AUTO; k <= WKP_READER_LIBPCAP; k++) {
        struct trace t = read_all(path, k);
        cr_assert_eq(t.open_st, want, "reader %d: %d %s", k, t.open_st, t.err.msg);
        cr_assert_str_eq(t.err.msg, msg, "reader %d", k);
        trace_free(&t);
    }
}

Test(capfile_made, bad_inputs_give_one_line_naming_the_file)
{
    char p[600], want[700];
    snprintf(p, sizeof p, "%s/missing.pcap", tmpdir);
    snprintf(want, sizeof want, "%s: No such file or directory", p);
    expect_refused(p, WKP_EIO, want);

    const char *q = write_file("empty.pcap", "", 0);
    snprintf(want, sizeof want, "%s: empty file, not a capture", q);
    expect_refused(q, WKP_EFORMAT, want);

    /* a path with a line break in it: still one line, the break as \n */
    snprintf(p, sizeof p, "%s/two\nlines.pcap", tmpdir);
    snprintf(want, sizeof want, "%s/two\\nlines.pcap: No such file or directory", tmpdir);
    expect_refused(p, WKP_EIO, want);

    q = write_file("three.pcap", "\xd4\xc3\xb2", 3);
    snprintf(want, sizeof want, "%s: file too short (3 bytes), not a pcap or pcapng file", q);
    expect_refused(q, WKP_EFORMAT, want);

    q = write_file("hello.txt", "Hello, world\n", 13);
    snprintf(want, sizeof want, "%s: not a pcap or pcapng file (starts with 0x48656c6c)", q);
    expect_refused(q, WKP_EFORMAT, want);

    struct buf b = {0};
    pcap_hdr(&b, 0xa1b2c3d4, 1);
    q = write_file("short_header.pcap", b.b, 10);
    snprintf(want, sizeof want, "%s: truncated pcap file header (10 of 24 bytes)", q);
    expect_refused(q, WKP_EFORMAT, want);

    snprintf(want, sizeof want, "%s: is a directory, not a capture", tmpdir);
    expect_refused(tmpdir, WKP_EIO, want);

    b.n = 0;
    pcap_hdr(&b, 0xa1b2c3d4, 147); /* USER0: no decoder */
    q = write_file("user0.pcap", b.b, b.n);
    snprintf(want, sizeof want, "%s: unsupported link type 147 (%s)", q,
             pcap_datalink_val_to_name(147) ? pcap_datalink_val_to_name(147) : "unknown");
    expect_refused(q, WKP_ELINKTYPE, want);
}

/* Records of 100 bytes: record i starts at 24 + 116 i. */
Test(capfile_made, cut_mid_record_ends_with_the_record_offset)
{
    struct buf b = {0};
    pcap_hdr(&b, 0xa1b2c3d4, 1);
    for (int i = 0; i < 3; i++)
        pcap_rec(&b, 1000 + (uint32_t)i, 250000, 100, (uint8_t)i);
    size_t full = b.n;
    cr_assert_eq(full, 24 + 3 * 116);
    struct {
        size_t len;
        size_t records;
        uint64_t off;
    } cuts[] = {
        {full - 5, 2, 256},      /* in the data of record 3 */
        {full - 100, 2, 256},    /* in its header */
        {24 + 116 + 16, 1, 140}, /* its header whole, no data */
        {24 + 3, 0, 24},
    };
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        const char *q = write_file("cut.pcap", b.b, cuts[c].len);
        for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
            struct trace t = read_all(q, k);
            cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
            cr_assert_eq(t.end, 0);
            cr_assert_eq(t.n, cuts[c].records, "cut %zu reader %d", c, k);
            cr_assert(t.truncated, "cut %zu reader %d", c, k);
            cr_assert_eq(t.trunc_off, cuts[c].off, "cut %zu reader %d: %llu", c, k,
                         (unsigned long long)t.trunc_off);
            if (t.n > 0) {
                cr_assert_eq(t.r[0].ts_ns, 1000250000000LL);
                cr_assert_eq(t.r[0].caplen, 100);
                cr_assert_eq(t.r[0].wirelen, 104);
            }
            trace_free(&t);
        }
    }
    const char *q = write_file("whole.pcap", b.b, full);
    struct trace t = read_all(q, WKP_READER_MMAP);
    cr_assert_eq(t.n, 3);
    cr_assert(!t.truncated);
    cr_assert_eq(t.bytes_done, full);
    cr_assert_eq(t.size, full);
    trace_free(&t);
}

/* pcapng writer: blocks in b's byte order. */
static void ng_block(struct buf *b, uint32_t type, const struct buf *body)
{
    uint32_t len = 12 + (uint32_t)((body->n + 3) & ~(size_t)3);
    put32(b, type);
    put32(b, len);
    put(b, body->b, body->n);
    static const uint8_t zero[4];
    put(b, zero, (4 - body->n % 4) % 4);
    put32(b, len);
}

static void ng_shb(struct buf *b)
{
    struct buf x = {.be = b->be};
    put32(&x, 0x1a2b3c4d);
    put16(&x, 1);
    put16(&x, 0);
    put32(&x, 0xffffffff); /* section length unknown */
    put32(&x, 0xffffffff);
    ng_block(b, 0x0a0d0d0a, &x);
}

/* tsresol < 0: none; tsoffset 0: none */
static void ng_idb(struct buf *b, uint16_t lt, int tsresol, int64_t tsoffset)
{
    struct buf x = {.be = b->be};
    put16(&x, lt);
    put16(&x, 0);
    put32(&x, 0);
    if (tsresol >= 0) {
        put16(&x, 9);
        put16(&x, 1);
        uint8_t v[4] = {(uint8_t)tsresol};
        put(&x, v, 4);
    }
    if (tsoffset != 0) {
        put16(&x, 14);
        put16(&x, 8);
        put32(&x, b->be ? (uint32_t)((uint64_t)tsoffset >> 32) : (uint32_t)tsoffset);
        put32(&x, b->be ? (uint32_t)tsoffset : (uint32_t)((uint64_t)tsoffset >> 32));
    }
    put16(&x, 0);
    put16(&x, 0);
    ng_block(b, 1, &x);
}

static void ng_epb(struct buf *b, uint32_t ifid, uint64_t ts, uint32_t caplen, uint8_t fill)
{
    struct buf x = {.be = b->be};
    put32(&x, ifid);
    put32(&x, (uint32_t)(ts >> 32));
    put32(&x, (uint32_t)ts);
    put32(&x, caplen);
    put32(&x, caplen + 10);
    for (uint32_t i = 0; i < caplen; i++)
        put(&x, &fill, 1);
    ng_block(b, 6, &x);
}

/* Section 1 (little-endian): if 0 ns (if_tsresol 9), if 1 2^-10 s (0x8a),
 * if 2 µs with if_tsoffset 100 s, a name resolution block, then an SPB.
 * Section 2 (big-endian): if 0 is RAW (101), µs. Expected values by hand. */
Test(capfile_made, pcapng_resolutions_sections_and_simple_packets)
{
    struct buf b = {0};
    ng_shb(&b);
    ng_idb(&b, 1, 9, 0);
    ng_idb(&b, 1, 0x8a, 0);
    ng_idb(&b, 0, -1, 100);
    ng_epb(&b, 0, 1234567890123456789ull, 60, 0xa0);
    ng_epb(&b, 1, (5ull << 10) + 512, 61, 0xa1); /* 5.5 s */
    ng_epb(&b, 2, 7000001, 62, 0xa2);            /* 7.000001 s + 100 s */
    struct buf nrb = {0};
    put32(&nrb, 0); /* nrb_record_end */
    ng_block(&b, 4, &nrb);
    struct buf spb = {0};
    put32(&spb, 1500); /* original length, 40 bytes captured */
    for (int i = 0; i < 40; i++)
        put(&spb, "\xa3", 1);
    ng_block(&b, 3, &spb);
    b.be = true;
    ng_shb(&b);
    ng_idb(&b, 101, -1, 0);
    ng_epb(&b, 0, 1500000000123456ull, 63, 0xa4);

    const char *q = write_file("multi.pcapng", b.b, b.n);
    struct trace t = read_all(q, WKP_READER_AUTO);
    cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
    cr_assert_eq(t.end, 0, "%s", t.err.msg);
    cr_assert_eq(t.n, 5);
    cr_assert_eq(t.digits, 9);
    cr_assert_eq(t.first_dlt, 1);
    cr_assert_eq(t.r[0].ts_ns, 1234567890123456789LL);
    cr_assert_eq(t.r[1].ts_ns, 5500000000LL);
    cr_assert_eq(t.r[2].ts_ns, 107000001000LL);
    cr_assert_eq(t.r[2].dlt, 0);
    cr_assert_eq(t.r[2].caplen, 62);
    cr_assert_eq(t.r[2].wirelen, 72);
    cr_assert_eq(t.r[2].data[61], 0xa2);
    /* SPB: interface 0, the previous packet's time, caplen from the block */
    cr_assert_eq(t.r[3].ts_ns, t.r[2].ts_ns);
    cr_assert_eq(t.r[3].dlt, 1);
    cr_assert_eq(t.r[3].caplen, 40);
    cr_assert_eq(t.r[3].wirelen, 1500);
    cr_assert_eq(t.r[4].ts_ns, 1500000000123456000LL);
    cr_assert_eq(t.r[4].dlt, 12); /* LINKTYPE_RAW -> DLT_RAW */
    cr_assert_eq(t.r[4].data[0], 0xa4);
    cr_assert_eq(t.bytes_done, b.n);
    trace_free(&t);

    /* a 2^-10 interface alone is coarser than a µs: 6 digits */
    struct buf c = {0};
    ng_shb(&c);
    ng_idb(&c, 1, 0x8a, 0);
    ng_epb(&c, 0, 1025, 60, 0);
    q = write_file("binary.pcapng", c.b, c.n);
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        t = read_all(q, k);
        cr_assert_eq(t.n, 1);
        cr_assert_eq(t.digits, 6);
        cr_assert_eq(t.r[0].ts_ns, 1000976562LL); /* floor(1025 * 10^9 / 1024) */
        trace_free(&t);
    }
}

Test(capfile_made, pcapng_errors_name_the_file_and_offset)
{
    /* a packet on an interface the section does not describe */
    struct buf b = {0};
    ng_shb(&b);
    ng_idb(&b, 1, -1, 0);
    ng_epb(&b, 3, 0, 60, 0);
    const char *q = write_file("badif.pcapng", b.b, b.n);
    struct trace t = read_all(q, WKP_READER_MMAP);
    cr_assert_eq(t.open_st, WKP_OK);
    cr_assert_eq(t.end, WKP_EFORMAT);
    char want[800];
    snprintf(want, sizeof want,
             "%s: pcapng enhanced packet block at 52: interface 3, but the section describes 1", q);
    cr_assert_str_eq(t.err.msg, want);
    trace_free(&t);

    /* a later interface with a link type nothing decodes */
    b.n = 0;
    ng_shb(&b);
    ng_idb(&b, 1, -1, 0);
    ng_epb(&b, 0, 0, 60, 0);
    ng_idb(&b, 147, -1, 0);
    ng_epb(&b, 1, 0, 60, 0);
    q = write_file("later_user0.pcapng", b.b, b.n);
    t = read_all(q, WKP_READER_MMAP);
    cr_assert_eq(t.open_st, WKP_OK);
    cr_assert_eq(t.n, 2); /* handed out, marked: the reader counts it */
    cr_assert_eq(t.end, 0, "%s", t.err.msg);
    cr_assert_eq(t.nunsupported, 1);
    cr_assert_eq(t.r[1].dlt, 147);
    cr_assert_eq(t.nunsup, 1);
    cr_assert_eq(t.unsup[0].index, 1);
    cr_assert_eq(t.unsup[0].block_off, 144);
    cr_assert_eq(t.unsup[0].dlt, 147);
    cr_assert_eq(t.unsup[0].packets, 1);
    trace_free(&t);

    /* trailer disagreeing with the header */
    b.n = 0;
    ng_shb(&b);
    ng_idb(&b, 1, -1, 0);
    ng_epb(&b, 0, 0, 60, 0);
    b.b[b.n - 1] ^= 0x40;
    q = write_file("trailer.pcapng", b.b, b.n);
    t = read_all(q, WKP_READER_MMAP);
    cr_assert_eq(t.end, WKP_EFORMAT);
    cr_assert(strstr(t.err.msg, "block at 52: length 92 in its header") != NULL, "%s", t.err.msg);
    trace_free(&t);

    /* a block cut by the end of the file: truncation at its start */
    b.n = 0;
    ng_shb(&b);
    ng_idb(&b, 1, -1, 0);
    ng_epb(&b, 0, 0, 60, 0);
    ng_epb(&b, 0, 0, 60, 0);
    q = write_file("cut.pcapng", b.b, b.n - 7);
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        t = read_all(q, k);
        cr_assert_eq(t.end, 0, "%s", t.err.msg);
        cr_assert_eq(t.n, 1);
        cr_assert(t.truncated);
        cr_assert_eq(t.trunc_off, 52 + 92);
        trace_free(&t);
    }

    /* bad length, and a file with no interface */
    b.n = 0;
    ng_shb(&b);
    put32(&b, 6);
    put32(&b, 10);
    put32(&b, 0);
    q = write_file("badlen.pcapng", b.b, b.n);
    t = read_all(q, WKP_READER_MMAP);
    snprintf(want, sizeof want, "%s: pcapng enhanced packet block at 28 has an invalid length 10",
             q);
    cr_assert_str_eq(t.err.msg, want);
    trace_free(&t);
    b.n = 0;
    ng_shb(&b);
    q = write_file("noif.pcapng", b.b, b.n);
    t = read_all(q, WKP_READER_MMAP);
    cr_assert_eq(t.open_st, WKP_EFORMAT);
    cr_assert(strstr(t.err.msg, "ends before its first interface description block") != NULL, "%s",
              t.err.msg);
    trace_free(&t);
}

/* A pipe: AUTO falls back to libpcap (no copy-free records, no size), MMAP
 * refuses it; the records are those of the file. */
Test(capfile_made, pipes_go_to_libpcap)
{
    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/fifo", tmpdir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    const char *src = DATA "/zeek__pcapng-multi-interface.pcapng";
    struct trace want = read_all(src, WKP_READER_MMAP);

    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        FILE *in = fopen(src, "rb"), *out = fopen(fifo, "wb");
        char chunk[512];
        size_t n;
        while (in && out && (n = fread(chunk, 1, sizeof chunk, in)) > 0)
            fwrite(chunk, 1, n, out);
        if (out)
            fclose(out); /* _exit() does not flush */
        _exit(0);
    }
    struct trace t = read_all(fifo, WKP_READER_AUTO);
    int status;
    waitpid(pid, &status, 0);
    cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
    cr_assert(!t.zero_copy);
    cr_assert_eq(t.size, 0);
    cr_assert_eq(t.digits, 9);
    cr_assert_eq(t.n, want.n);
    same_records("fifo", &t, &want);
    cr_assert_eq(t.bytes_done, 1348);
    trace_free(&t);
    trace_free(&want);

    t = read_all(fifo, WKP_READER_MMAP); /* refused before open: no writer needed */
    cr_assert_eq(t.open_st, WKP_EINVAL);
    cr_assert(strstr(t.err.msg, "not a regular file") != NULL, "%s", t.err.msg);
    trace_free(&t);
}

/* "-" is standard input, read by libpcap whatever it is. */
Test(capfile_made, dash_reads_standard_input)
{
    const char *src = DATA "/tcpdump__tcp-handshake-nano.pcap";
    struct trace want = read_all(src, WKP_READER_MMAP);
    FILE *f = fopen(src, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(dup2(fileno(f), STDIN_FILENO), STDIN_FILENO);
    fclose(f);
    struct trace t = read_all("-", WKP_READER_AUTO);
    cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
    cr_assert(!t.zero_copy);
    cr_assert_eq(t.size, 0);
    cr_assert_eq(t.digits, 9);
    cr_assert_eq(t.n, 3);
    same_records("stdin", &t, &want);
    trace_free(&t);
    trace_free(&want);
    t = read_all("-", WKP_READER_MMAP);
    cr_assert_eq(t.open_st, WKP_EINVAL);
    cr_assert_str_eq(t.err.msg, "-: not a regular file; the mmap reader needs one");
    trace_free(&t);
}

/* ---- damage (docs/design.md, "Damaged captures") ----------------------- */

/* 3 good records of 100 bytes (116 with the header: record i at 24 + 116 i),
 * a 4th whose header is spoilt by set_bad, its 100 data bytes, then 5 good
 * ones: the damage is at 372, the next whole record at 488. */
static size_t damaged_pcap(struct buf *b, void (*set_bad)(struct buf *))
{
    b->n = 0;
    pcap_hdr(b, 0xa1b2c3d4, 1);
    for (int i = 0; i < 3; i++)
        pcap_rec(b, 1000 + (uint32_t)i, 0, 100, (uint8_t)i);
    pcap_rec(b, 1003, 0, 100, 0xee);
    set_bad(b);
    for (int i = 0; i < 5; i++)
        pcap_rec(b, 1004 + (uint32_t)i, 0, 100, (uint8_t)(10 + i));
    return b->n;
}

static void huge_caplen(struct buf *b)
{
    memcpy(b->b + 372 + 8, "\x0d\x01\x00\xea", 4); /* 3925868813, as smtp-to-comma */
}

static void caplen_over_wirelen(struct buf *b)
{
    memcpy(b->b + 372 + 12, "\x14\x00\x00\x00", 4); /* 100 captured of a 20-byte packet */
}

Test(capfile_made, damage_after_good_records_ends_the_read)
{
    struct buf b = {0};
    void (*bad[])(struct buf *) = {huge_caplen, caplen_over_wirelen};
    const char *why[] = {"record at 372 claims 3925868813 bytes",
                         "record at 372 claims 100 captured bytes of a 20-byte packet"};
    for (int i = 0; i < 2; i++) {
        size_t n = damaged_pcap(&b, bad[i]);
        const char *q = write_file("damaged.pcap", b.b, n);
        for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
            struct trace t = read_all(q, k);
            cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
            cr_assert_eq(t.end, 0, "case %d reader %d: %s", i, k, t.err.msg);
            cr_assert_eq(t.n, 3);
            cr_assert(!t.truncated);
            cr_assert_eq(t.ndamage, 1, "case %d reader %d", i, k);
            cr_assert_eq(t.damage[0].off, 372);
            cr_assert_eq(t.damage[0].len, n - 372);
            cr_assert(!t.damage[0].resumed);
            if (k == WKP_READER_MMAP || i == 1)
                cr_assert(strstr(t.damage[0].why, why[i]) != NULL, "%s", t.damage[0].why);
            trace_free(&t);
        }
        /* resync: the 5 records after it; the libpcap reader cannot scan */
        struct trace t = read_opt(q, WKP_READER_MMAP, true);
        cr_assert_eq(t.end, 0);
        cr_assert_eq(t.n, 8);
        cr_assert_eq(t.r[3].ts_ns, 1004000000000LL);
        cr_assert_eq(t.r[3].data[0], 10);
        cr_assert_eq(t.ndamage, 1);
        cr_assert_eq(t.damage[0].off, 372);
        cr_assert_eq(t.damage[0].len, 116);
        cr_assert(t.damage[0].resumed);
        cr_assert_eq(t.bytes_done, n);
        trace_free(&t);
        t = read_opt(q, WKP_READER_LIBPCAP, true);
        cr_assert_eq(t.n, 3);
        cr_assert(!t.damage[0].resumed);
        trace_free(&t);
    }
    /* resync finds nothing: the rest of the file is skipped */
    size_t n = damaged_pcap(&b, huge_caplen);
    memset(b.b + 372 + 16, 0xff, n - 372 - 16); /* nothing after it can be right */
    const char *q = write_file("garbage.pcap", b.b, n);
    struct trace t = read_opt(q, WKP_READER_MMAP, true);
    cr_assert_eq(t.end, 0);
    cr_assert_eq(t.n, 3, "%zu records, damage %llu+%llu %d %s", t.n,
                 (unsigned long long)t.damage[0].off, (unsigned long long)t.damage[0].len,
                 t.damage[0].resumed, t.damage[0].why);
    cr_assert_eq(t.ndamage, 1);
    cr_assert_eq(t.damage[0].len, n - 372);
    cr_assert(!t.damage[0].resumed);
    trace_free(&t);
}

/* A first record that cannot be right is no capture we read: an error. */
Test(capfile_made, a_bad_first_record_stays_an_error)
{
    struct buf b = {0};
    pcap_hdr(&b, 0xa1b2c3d4, 1);
    pcap_rec(&b, 1000, 0, 100, 1);
    pcap_rec(&b, 1001, 0, 100, 2);
    memcpy(b.b + 24 + 8, "\x0d\x01\x00\xea", 4);
    const char *q = write_file("bad_first.pcap", b.b, b.n);
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        for (int rs = 0; rs < 2; rs++) {
            struct trace t = read_opt(q, k, rs);
            cr_assert_eq(t.open_st, WKP_OK);
            cr_assert_eq(t.end, WKP_EFORMAT, "reader %d", k);
            cr_assert_eq(t.n, 0);
            cr_assert_eq(t.ndamage, 0);
            cr_assert(strstr(t.err.msg, "bad_first.pcap: record at 24") != NULL, "%s", t.err.msg);
            trace_free(&t);
        }
    }
}

/* pcapng: 3 packet blocks (SHB 28 + IDB 24: the first at 52, each 92
 * bytes), 6 junk bytes inserted (no alignment kept), 4 more packet blocks.
 * Damage at 328 (its "length" is junk), the next block at 334. */
Test(capfile_made, pcapng_resync_past_inserted_bytes)
{
    struct buf b = {0};
    ng_shb(&b);
    ng_idb(&b, 1, -1, 0);
    for (int i = 0; i < 3; i++)
        ng_epb(&b, 0, 5000000 + (uint64_t)i, 60, (uint8_t)i);
    cr_assert_eq(b.n, 328);
    put(&b, "\x06\x00\x00\x00\xff\x7f", 6); /* an EPB type, then a bad length */
    for (int i = 0; i < 4; i++)
        ng_epb(&b, 0, 6000000 + (uint64_t)i, 60, (uint8_t)(10 + i));
    const char *q = write_file("inserted.pcapng", b.b, b.n);
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        struct trace t = read_all(q, k);
        cr_assert_eq(t.end, 0, "%s", t.err.msg);
        cr_assert_eq(t.n, 3);
        cr_assert_eq(t.ndamage, 1);
        cr_assert_eq(t.damage[0].off, 328);
        cr_assert_eq(t.damage[0].len, b.n - 328);
        trace_free(&t);
    }
    struct trace t = read_opt(q, WKP_READER_MMAP, true);
    cr_assert_eq(t.end, 0, "%s", t.err.msg);
    cr_assert_eq(t.n, 7);
    cr_assert_eq(t.r[3].ts_ns, 6000000000LL);
    cr_assert_eq(t.ndamage, 1);
    cr_assert_eq(t.damage[0].off, 328);
    cr_assert_eq(t.damage[0].len, 6);
    cr_assert(t.damage[0].resumed);
    trace_free(&t);
}

/* Interface 0 of link type 274 (ETHERNET_MPACKET), interface 1 Ethernet:
 * the file opens with Ethernet as its first decodable link type, 274's
 * packets are handed out marked. With only 274, no interface is
 * decodable: the file is refused. */
Test(capfile_made, pcapng_undecoded_interface_is_counted)
{
    struct buf b = {0};
    ng_shb(&b);
    ng_idb(&b, 274, -1, 0);
    ng_idb(&b, 1, -1, 0);
    ng_epb(&b, 0, 1, 60, 0xa0);
    ng_epb(&b, 1, 2, 60, 0xa1);
    ng_epb(&b, 0, 3, 60, 0xa2);
    const char *q = write_file("mpacket.pcapng", b.b, b.n);
    struct trace t = read_all(q, WKP_READER_AUTO);
    cr_assert_eq(t.open_st, WKP_OK, "%s", t.err.msg);
    cr_assert_eq(t.first_dlt, 1);
    cr_assert_eq(t.n, 3);
    cr_assert_eq(t.end, 0);
    cr_assert_eq(t.nunsupported, 2);
    cr_assert_eq(t.r[1].dlt, 1);
    cr_assert_eq(t.nunsup, 1);
    cr_assert_eq(t.unsup[0].index, 0);
    cr_assert_eq(t.unsup[0].block_off, 28);
    cr_assert_eq(t.unsup[0].dlt, 274);
    cr_assert_eq(t.unsup[0].packets, 2);
    trace_free(&t);

    b.n = 0;
    ng_shb(&b);
    ng_idb(&b, 274, -1, 0);
    ng_epb(&b, 0, 1, 60, 0xa0);
    q = write_file("only_mpacket.pcapng", b.b, b.n);
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        t = read_all(q, k);
        cr_assert_eq(t.open_st, WKP_ELINKTYPE, "reader %d: %s", k, t.err.msg);
        cr_assert(strstr(t.err.msg, "unsupported link type 274") != NULL, "%s", t.err.msg);
        trace_free(&t);
    }
}

/* Offsets past 2^32, in a sparse file: SHB, IDB, a packet block at 52, 257
 * skipped blocks of 16 MiB (type 0x0bad, only their lengths written, the
 * rest a hole), so the next packet block starts at 52 + 92 + 257 * 2^24 =
 * 4311744656 > 2^32; then a block whose trailer disagrees (damage), a good
 * packet block, and one cut by the end of the file. Every offset reported
 * must be the exact 64-bit one. (bench/big.sh reads real 4.4 GiB captures
 * with both readers.) */
Test(capfile_made, offsets_past_4_gib_in_a_sparse_pcapng)
{
    struct buf b = {0};
    ng_shb(&b);
    ng_idb(&b, 1, -1, 0);
    ng_epb(&b, 0, 1000000, 60, 1);
    cr_assert_eq(b.n, 144);
    char path[600];
    snprintf(path, sizeof path, "%s/sparse.pcapng", tmpdir);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b.b, 1, b.n, f), b.n);
    const uint64_t skip = (uint64_t)1 << 24;
    uint64_t off = 144;
    for (int i = 0; i < 257; i++, off += skip) {
        struct buf h = {0};
        put32(&h, 0xbad);
        put32(&h, (uint32_t)skip);
        cr_assert_eq(fseeko(f, (off_t)off, SEEK_SET), 0);
        cr_assert_eq(fwrite(h.b, 1, 8, f), 8);
        cr_assert_eq(fseeko(f, (off_t)(off + skip - 4), SEEK_SET), 0);
        cr_assert_eq(fwrite(h.b + 4, 1, 4, f), 4);
    }
    const uint64_t epb2 = 52 + 92 + 257 * skip;
    cr_assert_eq(off, epb2);
    cr_assert_gt(epb2, UINT32_MAX);
    b.n = 0;
    ng_epb(&b, 0, 2000000, 60, 2);
    ng_epb(&b, 0, 3000000, 60, 3); /* damaged below */
    ng_epb(&b, 0, 4000000, 60, 4);
    ng_epb(&b, 0, 5000000, 60, 5);
    b.b[92 + 91] ^= 0x40; /* the second block's trailer */
    cr_assert_eq(fwrite(b.b, 1, b.n - 10, f), b.n - 10);
    cr_assert_eq(fclose(f), 0);
    const uint64_t size = epb2 + 4 * 92 - 10;

    struct trace t = read_opt(path, WKP_READER_MMAP, true);
    cr_assert_eq(t.end, 0, "%s", t.err.msg);
    cr_assert_eq(t.n, 3);
    cr_assert_eq(t.r[1].ts_ns, 2000000000LL);
    cr_assert_eq(t.r[2].ts_ns, 4000000000LL);
    cr_assert_eq(t.size, size);
    cr_assert_eq(t.ndamage, 1);
    cr_assert_eq(t.damage[0].off, epb2 + 92);
    cr_assert_eq(t.damage[0].len, 92);
    cr_assert(t.damage[0].resumed);
    cr_assert(t.truncated);
    cr_assert_eq(t.trunc_off, epb2 + 3 * 92);
    cr_assert_eq(t.bytes_done, size);
    char want[64];
    snprintf(want, sizeof want, "block at %llu", (unsigned long long)(epb2 + 92));
    cr_assert(strstr(t.damage[0].why, want) != NULL, "%s", t.damage[0].why);
    trace_free(&t);

    /* libpcap reads the 4 GiB hole through read(): seconds, so on request */
    int last = getenv("WKP_TEST_BIG") ? WKP_READER_LIBPCAP : WKP_READER_MMAP;
    for (int k = WKP_READER_MMAP; k <= last; k++) {
        t = read_all(path, k);
        cr_assert_eq(t.end, 0, "%s", t.err.msg);
        cr_assert_eq(t.n, 2);
        cr_assert_eq(t.ndamage, 1);
        cr_assert_eq(t.damage[0].off, epb2 + 92, "reader %d: %llu", k,
                     (unsigned long long)t.damage[0].off);
        cr_assert_eq(t.damage[0].len, size - epb2 - 92);
        trace_free(&t);
    }
    unlink(path);
}

/* ---- read ahead and byte-offset slices ----------------------------------- */

/* The timestamps of the records of cf's slice [lo, hi) into ts[] (at most max). */
static size_t read_slice(const char *path, uint64_t lo, uint64_t hi, int64_t *ts, size_t max)
{
    struct wkp_capfile *cf = NULL;
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp_capfile_open(path, WKP_READER_MMAP, &cf, &err), WKP_OK, "%s", err.msg);
    cr_assert_eq(wkp_capfile_set_slice(cf, lo, hi, &err), WKP_OK, "%s", err.msg);
    struct wkp_rec rec;
    size_t n = 0;
    int rc;
    while ((rc = wkp_capfile_next(cf, &rec, &err)) == 1) {
        cr_assert_lt(n, max);
        ts[n++] = rec.ts_ns;
    }
    cr_assert_eq(rc, 0, "%s [%llu, %llu): %s", path, (unsigned long long)lo, (unsigned long long)hi,
                 err.msg);
    wkp_capfile_close(cf);
    return n;
}

/* Where each packet record starts: pcap (24-byte file header, 16-byte record
 * headers, caplen at +8) or pcapng (packet blocks 2, 3, 6; length at +4),
 * little-endian files only. */
static size_t record_starts(const char *path, uint64_t *at, size_t max, uint64_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    static uint8_t b[1 << 20];
    size_t len = fread(b, 1, sizeof b, f);
    fclose(f);
    *size = len;
    uint32_t magic;
    memcpy(&magic, b, 4);
    size_t n = 0;
    for (uint64_t off = magic == 0x0a0d0d0au ? 0 : 24; off + 16 <= len;) {
        uint32_t w[4];
        memcpy(w, b + off, sizeof w);
        if (magic == 0x0a0d0d0au) {
            if (w[0] == 2 || w[0] == 3 || w[0] == 6)
                at[n++] = off;
            off += w[1];
        } else {
            at[n++] = off;
            off += 16 + w[2];
        }
        cr_assert_leq(n, max);
    }
    return n;
}

/* For every byte offset B, the slices [0, B) and [B, end) read the records
 * starting before B and those starting at or after it, in file order: two
 * consecutive slices never lose or repeat a record. */
static void check_every_cut(const char *path, size_t packets)
{
    uint64_t at[256], size;
    size_t n = record_starts(path, at, 256, &size);
    cr_assert_eq(n, packets, "%s: %zu records", path, n);
    int64_t all[256], a[256], b[256];
    cr_assert_eq(read_slice(path, 0, UINT64_MAX, all, 256), n, "%s", path);
    for (uint64_t cut = 0; cut <= size + 1; cut++) {
        size_t want = 0;
        while (want < n && at[want] < cut)
            want++;
        size_t na = read_slice(path, 0, cut, a, 256);
        size_t nb = read_slice(path, cut, UINT64_MAX, b, 256);
        cr_assert_eq(na, want, "%s: [0, %llu) read %zu records, %zu start there", path,
                     (unsigned long long)cut, na, want);
        cr_assert_eq(nb, n - want, "%s: [%llu, end) read %zu records, %zu start there", path,
                     (unsigned long long)cut, nb, n - want);
        cr_assert_arr_eq(a, all, na * sizeof a[0]);
        cr_assert_arr_eq(b, all + na, nb * sizeof b[0]);
    }
}

Test(capfile_slice, pcap_cut_at_every_offset)
{
    check_every_cut(DATA "/wa1kpcap__dup.pcap", 100); /* capinfos -c: 100; 11353 bytes */
}

Test(capfile_slice, pcapng_cut_at_every_offset)
{
    /* capinfos -c: 18 packets; also a name resolution and statistics blocks */
    check_every_cut(DATA "/nDPI__http_starting_with_reply.pcapng", 18);
}

Test(capfile_slice, libpcap_reader_refuses_a_slice)
{
    struct wkp_capfile *cf = NULL;
    wkp_errbuf err = {{0}};
    const char *path = DATA "/wa1kpcap__dup.pcap";
    cr_assert_eq(wkp_capfile_open(path, WKP_READER_LIBPCAP, &cf, &err), WKP_OK);
    cr_assert_eq(wkp_capfile_set_slice(cf, 100, UINT64_MAX, &err), WKP_EINVAL);
    cr_assert_not_null(strstr(err.msg, "wa1kpcap__dup.pcap: a byte-offset slice needs the mmap"));
    wkp_capfile_close(cf);
}

/* peek hands out the next record and leaves it for next(), with both readers. */
Test(capfile, peek_then_next_give_the_same_record)
{
    for (int k = 0; k < 2; k++) {
        struct wkp_capfile *cf = NULL;
        wkp_errbuf err = {{0}};
        cr_assert_eq(wkp_capfile_open(DATA "/wa1kpcap__dup.pcap",
                                      k ? WKP_READER_LIBPCAP : WKP_READER_MMAP, &cf, &err),
                     WKP_OK);
        struct wkp_rec p1, p2, r1, r2;
        cr_assert_eq(wkp_capfile_peek(cf, &p1, &err), 1);
        cr_assert_eq(wkp_capfile_peek(cf, &p2, &err), 1);
        cr_assert_eq(p1.ts_ns, p2.ts_ns);
        cr_assert_eq(wkp_capfile_next(cf, &r1, &err), 1);
        cr_assert_eq(r1.ts_ns, p1.ts_ns);
        cr_assert_eq(r1.caplen, p1.caplen);
        cr_assert_eq(r1.data, p1.data);
        cr_assert_eq(wkp_capfile_next(cf, &r2, &err), 1);
        size_t n = 2;
        while (wkp_capfile_next(cf, &r2, &err) == 1)
            n++;
        cr_assert_eq(n, 100); /* capinfos -c wa1kpcap__dup.pcap */
        wkp_capfile_close(cf);
    }
}

/* The read window (capture/capfile.c): a pcap file read with pread into huge
 * pages 1.5 MiB ahead yields the records the mapping does, byte for byte,
 * across its 512 KiB reads and 2 MiB pages; with resync, damage far past
 * the first reads is found at the same offset and the read resumes at the
 * same record. The file: 18 MiB of records of 1 to 65,535 bytes (sizes from
 * a fixed LCG, each frame's bytes its index), so many records straddle a
 * read's boundary and a page's, and
 * record 200 (at about 6 MiB) made to claim 300,000 bytes, more than the
 * 262,144 the format allows, and followed by 8 MiB of garbage. */
static struct trace read_window(const char *path, const char *window, bool resync)
{
    cr_assert_eq(setenv("WKP_READ_WINDOW", window, 1), 0);
    struct trace t = read_opt(path, WKP_READER_MMAP, resync);
    unsetenv("WKP_READ_WINDOW");
    return t;
}

Test(capfile_made, read_window_yields_the_mapped_records)
{
    char path[600];
    snprintf(path, sizeof path, "%s/window.pcap", tmpdir);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    const uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
    cr_assert_eq(fwrite(gh, 4, 6, f), 6);
    static uint8_t frame[65535];
    uint32_t x = 12345, n = 0;
    uint64_t bytes = 24, bad_off = 0;
    while (bytes < ((uint64_t)18 << 20)) {
        x = x * 1103515245u + 12345u;
        uint32_t len = 1 + (x >> 8) % 65535u;
        memset(frame, (int)(n & 0xff), len);
        uint32_t rh[4] = {1700000000u + n, n % 1000000u, len, len};
        if (n == 200) {
            rh[2] = 300000; /* damage: over the maximum */
            bad_off = bytes;
        }
        cr_assert_eq(fwrite(rh, 4, 4, f), 4);
        cr_assert_eq(fwrite(frame, 1, len, f), len);
        bytes += 16 + len;
        if (n == 200) { /* and 8 MiB of 0xff: resync must look past the reads ahead */
            memset(frame, 0xff, sizeof frame);
            for (int i = 0; i < 128; i++)
                cr_assert_eq(fwrite(frame, 1, 65536 - 1, f), 65535);
            bytes += 128 * 65535;
        }
        n++;
    }
    cr_assert_eq(fclose(f), 0);
    cr_assert_gt(bad_off, (uint64_t)4 << 20);

    for (int resync = 0; resync <= 1; resync++) {
        struct trace w = read_window(path, "1", resync);
        struct trace m = read_window(path, "0", resync);
        cr_assert_eq(w.open_st, WKP_OK, "%s", w.err.msg);
        cr_assert_eq(m.open_st, WKP_OK, "%s", m.err.msg);
        cr_assert_eq(w.n, m.n, "resync %d: %zu vs %zu records", resync, w.n, m.n);
        same_records("window", &w, &m);
        cr_assert_eq(w.end, 0, "%s", w.err.msg);
        cr_assert_eq(w.ndamage, 1);
        cr_assert_eq(m.ndamage, 1);
        cr_assert_eq(w.damage[0].off, bad_off);
        cr_assert_eq(w.damage[0].len, m.damage[0].len);
        cr_assert_eq(w.damage[0].resumed, (bool)resync);
        /* without resync the read ends at the damage: records 0..199 */
        if (!resync)
            cr_assert_eq(w.n, 200);
        else
            cr_assert_gt(w.n, 250);
        for (size_t i = 0; i < 200; i++) /* the frames are what was written */
            cr_assert(w.r[i].caplen > 0 && w.r[i].data[0] == (uint8_t)i &&
                          w.r[i].data[w.r[i].caplen - 1] == (uint8_t)i,
                      "record %zu", i);
        trace_free(&w);
        trace_free(&m);
    }
}
