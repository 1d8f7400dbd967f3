/* main() for the fuzz targets when they are not built with libFuzzer: the
 * CTest `fuzz-smoke.<entry>` tests.
 *
 *   smoke_<entry> [-n MUTATIONS] [-t SECONDS] [-s SEED] [-r ITER] [-o FILE] [-d DIR] PATH...
 *
 * Each PATH is a file or a directory (its regular files, sorted by name).
 * Every file goes through the target's wkp_fuzz_seed() hook when it has one
 * (e.g. a capture becomes one input per frame), else it is one input as is.
 * All inputs run once, then MUTATIONS (default 20000) inputs derived from them
 * with a fixed xorshift generator: the run is the same every time, except
 * that it stops early after SECONDS (default 4) of mutations.
 *
 * To reproduce a failing mutation: the driver prints "mutation I" every 500
 * and names the failing one when an invariant aborts (a sanitizer report
 * names none: set WKP_FUZZ_TRACE=1 to print each one); -r I -o FILE writes
 * that input to FILE and runs only it. FILE then goes to
 * tests/fuzz/corpus/<entry>/ and the real fuzzer runs it as a seed.
 * -d DIR writes every seed input (after the hook) into DIR: a starting
 * corpus for the libFuzzer binary, which does not read captures itself. */
#include "fuzz_common.h"

#include <dirent.h>
#include <stdbool.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SEED_MUTATE (64u << 10) /* larger seeds run as is, but are not mutated */
#define FZ_MAX_INPUT    (256u << 10)

struct seed {
    uint8_t *p;
    size_t n;
};
static struct seed *seeds;
static size_t nseeds, capseeds, nrun;
static long cur_mutation = -1;
static const char *dump_dir; /* -d: write each seed input there */

/* Run one input from an exact-size heap copy, so that ASan sees any read
 * past its end (as it does under libFuzzer). */
static void run(const uint8_t *d, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    if (c == NULL)
        abort();
    if (n)
        memcpy(c, d, n);
    LLVMFuzzerTestOneInput(n ? c : NULL, n);
    free(c);
    nrun++;
}

static void emit(const uint8_t *d, size_t n)
{
    if (n > FZ_MAX_INPUT)
        n = FZ_MAX_INPUT;
    if (dump_dir) {
        char name[4096];
        snprintf(name, sizeof name, "%s/seed-%06zu", dump_dir, nrun);
        FILE *f = fopen(name, "wb");
        if (f == NULL || fwrite(d, 1, n, f) != n || fclose(f) != 0) {
            perror(name);
            exit(2);
        }
    }
    run(d, n);
    if (n > MAX_SEED_MUTATE)
        return;
    if (nseeds == capseeds) {
        capseeds = capseeds ? 2 * capseeds : 256;
        seeds = realloc(seeds, capseeds * sizeof *seeds);
        if (seeds == NULL)
            abort();
    }
    uint8_t *c = malloc(n ? n : 1);
    if (c == NULL)
        abort();
    if (n)
        memcpy(c, d, n);
    seeds[nseeds++] = (struct seed){c, n};
}

static void load_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            buf = realloc(buf, cap);
            if (buf == NULL)
                abort();
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    if (wkp_fuzz_seed)
        wkp_fuzz_seed(path, buf, n, emit);
    else
        emit(buf, n);
    free(buf);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_path(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        perror(path);
        exit(2);
    }
    if (!S_ISDIR(sb.st_mode)) {
        load_file(path);
        return;
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        perror(path);
        exit(2);
    }
    char **names = NULL;
    size_t k = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (k + 1) * sizeof *names);
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[k] = malloc(len);
        if (names == NULL || names[k] == NULL)
            abort();
        snprintf(names[k], len, "%s/%s", path, e->d_name);
        k++;
    }
    closedir(d);
    if (k)
        qsort(names, k, sizeof *names, cmp_str);
    for (size_t i = 0; i < k; i++) {
        if (stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode))
            load_file(names[i]);
        free(names[i]);
    }
    free(names);
}

int wkp_fuzz_each_record(const uint8_t *data, size_t size, wkp_fuzz_rec_fn fn, void *ctx)
{
    FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
    if (f == NULL || size < 4)
        return f ? fclose(f), -1 : -1;
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_fopen_offline(f, eb);
    if (pc == NULL) {
        fclose(f);
        return -1;
    }
    struct pcap_pkthdr *h;
    const u_char *pkt;
    size_t i = 0;
    while (pcap_next_ex(pc, &h, &pkt) == 1)
        fn(pcap_datalink(pc), pkt, h->caplen, h->len, i++, ctx);
    pcap_close(pc); /* closes f */
    return 0;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t xs(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const uint8_t interesting[] = {0,    1,    2,    4,    5,    6,    8,    0x11,
                                      0x14, 0x28, 0x29, 0x2c, 0x3a, 0x40, 0x45, 0x60,
                                      0x7f, 0x80, 0x81, 0x86, 0xdd, 0xfe, 0xff};

/* One input derived from the seeds: 1 to 8 edits of a random seed. */
static size_t mutate(uint8_t *out, size_t cap)
{
    const struct seed *s = &seeds[xs() % nseeds];
    size_t n = s->n;
    memcpy(out, s->p, n);
    int edits = 1 + (int)(xs() % 8);
    for (int e = 0; e < edits; e++) {
        size_t pos = n ? xs() % n : 0;
        switch (xs() % 9) {
        case 0: /* flip a bit */
            if (n)
                out[pos] ^= (uint8_t)(1u << (xs() % 8));
            break;
        case 1: /* random byte */
            if (n)
                out[pos] = (uint8_t)xs();
            break;
        case 2: /* interesting byte */
            if (n)
                out[pos] = interesting[xs() % sizeof interesting];
            break;
        case 3: /* 16-bit big-endian extreme */
            if (n >= 2) {
                pos = xs() % (n - 1);
                uint16_t v = (uint16_t[]){0, 1, 0x7fff, 0x8000, 0xffff, 0x5dc, 0x600}[xs() % 7];
                out[pos] = (uint8_t)(v >> 8);
                out[pos + 1] = (uint8_t)v;
            }
            break;
        case 4: /* truncate */ n = pos; break;
        case 5: { /* delete a chunk */
            size_t len = n - pos ? 1 + xs() % (n - pos < 64 ? n - pos : 64) : 0;
            memmove(out + pos, out + pos + len, n - pos - len);
            n -= len;
            break;
        }
        case 6: { /* insert random bytes */
            size_t len = 1 + xs() % 32;
            if (n + len > cap)
                break;
            memmove(out + pos + len, out + pos, n - pos);
            for (size_t i = 0; i < len; i++)
                out[pos + i] = (uint8_t)xs();
            n += len;
            break;
        }
        case 7: { /* duplicate a chunk */
            if (n == 0)
                break;
            size_t from = xs() % n, len = 1 + xs() % (n - from < 256 ? n - from : 256);
            if (n + len > cap)
                break;
            memmove(out + pos + len, out + pos, n - pos);
            memmove(out + pos, out + (from >= pos ? from + len : from), len);
            n += len;
            break;
        }
        default: { /* splice: the tail of another seed */
            const struct seed *o = &seeds[xs() % nseeds];
            if (o->n == 0)
                break;
            size_t from = xs() % o->n, len = o->n - from;
            if (pos + len > cap)
                len = cap - pos;
            memcpy(out + pos, o->p + from, len);
            n = pos + len;
            break;
        }
        }
    }
    return n;
}

static void on_abort(int sig)
{
    if (cur_mutation >= 0) {
        char msg[96];
        int k =
            snprintf(msg, sizeof msg, "smoke: failed at mutation %ld (rerun with -r %ld -o FILE)\n",
                     cur_mutation, cur_mutation);
        if (write(STDERR_FILENO, msg, (size_t)k) < 0) {
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long mutations = 20000, replay = -1;
    double seconds = 4;
    const char *outpath = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "n:t:s:r:o:d:")) != -1) {
        switch (opt) {
        case 'n': mutations = strtol(optarg, NULL, 10); break;
        case 't': seconds = strtod(optarg, NULL); break;
        case 's': rng = strtoull(optarg, NULL, 0) | 1; break;
        case 'r': replay = strtol(optarg, NULL, 10); break;
        case 'o': outpath = optarg; break;
        case 'd': dump_dir = optarg; break;
        default:
            fprintf(stderr,
                    "usage: %s [-n N] [-t SEC] [-s SEED] [-r ITER] [-o FILE] [-d DIR] PATH...\n",
                    argv[0]);
            return 2;
        }
    }
    signal(SIGABRT, on_abort);
    signal(SIGSEGV, on_abort);
    bool trace = getenv("WKP_FUZZ_TRACE") != NULL;
    double t0 = now_s();
    for (int i = optind; i < argc; i++)
        load_path(argv[i]);
    size_t loaded = nrun;
    if (nseeds == 0) {
        fprintf(stderr, "smoke: no seeds\n");
        return 2;
    }
    double t1 = now_s();
    uint8_t *buf = malloc(FZ_MAX_INPUT);
    if (buf == NULL)
        abort();
    long done = 0, slowest_i = -1;
    double slowest = 0;
    for (long i = 0; i < mutations || (replay >= 0 && i <= replay); i++) {
        size_t n = mutate(buf, FZ_MAX_INPUT);
        if (replay >= 0) {
            if (i < replay)
                continue;
            if (outpath) {
                FILE *f = fopen(outpath, "wb");
                if (f == NULL || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
                    perror(outpath);
                    return 2;
                }
                fprintf(stderr, "smoke: wrote mutation %ld (%zu bytes) to %s\n", i, n, outpath);
            }
        }
        cur_mutation = i;
        if (trace || i % 500 == 0)
            fprintf(stderr, "smoke: mutation %ld\n", i);
        double ti = now_s();
        run(buf, n);
        ti = now_s() - ti;
        if (ti > slowest) {
            slowest = ti;
            slowest_i = i;
        }
        done++;
        if (replay >= 0 || now_s() - t1 > seconds)
            break;
    }
    cur_mutation = -1;
    printf("%s: %zu seed inputs (%zu mutable) in %.2f s, %ld mutations in %.2f s "
           "(slowest: %ld, %.3f s): ok\n",
           argv[0], loaded, nseeds, t1 - t0, done, now_s() - t1, slowest_i, slowest);
    free(buf);
    return 0;
}
