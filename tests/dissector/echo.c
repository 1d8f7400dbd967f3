/* A test-only application dissector: echo (RFC 862) on UDP port 7.
 *
 * It shows what a dissector is: one file, one `const struct wkp_dissector`,
 * one row (tests/dissector/registry_extra.def). The test copy of the CLI
 * (wa1kpcap-echo) and the hook tests link it; the product does not. Its
 * field, first_len, is the payload length of the flow's first packet with
 * payload: what `tshark -T fields -e udp.length` minus 8 gives for it. */
#include <pthread.h>
#include <string.h>

#include <netinet/in.h>

#include "dissectors/dissector.h"
#include "tests/dissector/echo.h"

struct wkp_test_dis_stats wkp_test_echo_stats;

#define ECHO_MAGIC 0xEC40u

struct echo_ctx {
    uint32_t magic; /* set by worker_init: proves parse gets this worker's context */
    const struct wkp_dis_env *env;
};

/* counters: replies seen, replies of another length than the request */
enum { ECHO_REPLIES, ECHO_MISMATCHES };
static const char *const echo_counters[] = {"replies", "mismatches"};
static const struct wkp_dis_option echo_options[] = {
    {"echo.label", "add \"label\": VALUE to each echo object"},
};

struct echo_state {
    uint32_t first_len, req_len;
    uint8_t have_first, finished;
    const char *label; /* the echo.label option, or NULL */
};

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static const void *seen[64];
static unsigned nseen;

static void note_state(const void *s)
{
    pthread_mutex_lock(&seen_lock);
    unsigned i = 0;
    while (i < nseen && seen[i] != s)
        i++;
    if (i == nseen && nseen < 64)
        seen[nseen++] = s;
    pthread_mutex_unlock(&seen_lock);
}

unsigned wkp_test_echo_distinct_states(void)
{
    pthread_mutex_lock(&seen_lock);
    unsigned n = nseen;
    pthread_mutex_unlock(&seen_lock);
    return n;
}

void wkp_test_echo_reset(void)
{
    memset(&wkp_test_echo_stats, 0, sizeof wkp_test_echo_stats);
    pthread_mutex_lock(&seen_lock);
    nseen = 0;
    pthread_mutex_unlock(&seen_lock);
}

static void check_ctx(const void *ctx)
{
    if (((const struct echo_ctx *)ctx)->magic != ECHO_MAGIC)
        wkp_test_echo_stats.bad_ctx++;
}

static int echo_init(void *ctx, const struct wkp_dis_env *env)
{
    ((struct echo_ctx *)ctx)->magic = ECHO_MAGIC;
    ((struct echo_ctx *)ctx)->env = env;
    wkp_test_echo_stats.inits++;
    return 0;
}

static void echo_fini(void *ctx)
{
    check_ctx(ctx);
    wkp_test_echo_stats.finis++;
}

static bool echo_probe(void *ctx, const struct wkp_dis_pkt *p, wkp_app_layer mode,
                       bool port_match)
{
    (void)mode;
    check_ctx(ctx);
    wkp_test_echo_stats.probes++;
    return port_match || (p->payload_len >= 4 && memcmp(p->payload, "ECHO", 4) == 0);
}

static enum wkp_dis_result echo_parse(void *ctx, void *state, const struct wkp_dis_pkt *p,
                                      struct wkp_cur *c)
{
    struct echo_state *s = state;
    const struct wkp_dis_env *env = ((struct echo_ctx *)ctx)->env;
    check_ctx(ctx);
    note_state(state);
    s->label = env->option_values[0];
    wkp_test_echo_stats.parses++;
    wkp_test_echo_stats.bytes[p->dir & 1] += c->len;
    if (!s->have_first) {
        s->first_len = c->len;
        s->have_first = 1;
    }
    if (p->dir == WKP_DIS_UP) {
        s->req_len = c->len;
        return WKP_DIS_MORE;
    }
    env->counters[ECHO_REPLIES]++;
    if (c->len != s->req_len) { /* an echo server sends back what it got */
        env->counters[ECHO_MISMATCHES]++;
        wkp_test_echo_stats.not_mines++;
        return WKP_DIS_NOT_MINE;
    }
    wkp_test_echo_stats.dones++;
    return WKP_DIS_DONE;
}

static void echo_finish(void *ctx, void *state)
{
    struct echo_state *s = state;
    check_ctx(ctx);
    if (s->finished)
        wkp_test_echo_stats.finish_twice++;
    s->finished = 1;
    wkp_test_echo_stats.finishes++;
}

static void echo_write(const void *state, struct wkp_buf *out)
{
    const struct echo_state *s = state;
    if (!s->have_first)
        return;
    wkp_buf_puts(out, "{\"first_len\":");
    wkp_buf_u64(out, s->first_len);
    if (s->label) {
        wkp_buf_puts(out, ",\"label\":");
        wkp_buf_json_str(out, s->label);
    }
    wkp_buf_putc(out, '}');
}

static size_t echo_ext(const void *state, const char **names, size_t max)
{
    (void)state;
    if (max < 1)
        return 0;
    names[0] = "ECHO";
    return 1;
}

static void echo_release(void *ctx, void *state)
{
    check_ctx(ctx);
    (void)state;
    wkp_test_echo_stats.releases++;
}

static const uint16_t echo_ports[] = {7};

const struct wkp_dissector wkp_dissector_echo = {
    .name = "echo",
    .transport = IPPROTO_UDP,
    .ports = echo_ports,
    .nports = 1,
    .input = WKP_DIS_DATAGRAM,
    .flow_state_size = sizeof(struct echo_state),
    .worker_ctx_size = sizeof(struct echo_ctx),
    .counter_names = echo_counters,
    .ncounters = 2,
    .options = echo_options,
    .noptions = 1,
    .worker_init = echo_init,
    .worker_fini = echo_fini,
    .probe = echo_probe,
    .parse = echo_parse,
    .finish = echo_finish,
    .write = echo_write,
    .ext_protocol = echo_ext,
    .release = echo_release,
};
