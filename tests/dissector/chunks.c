/* A test-only stream dissector on TCP port 7: counts the in-order bytes of
 * each direction, keeps the first 64 bytes going up (to check they arrive
 * in sequence order), is NOT_MINE for a stream whose first byte is 'X' and
 * DONE once 100 bytes went up. Linked only into the hook tests. */
#include <string.h>

#include <netinet/in.h>

#include "dissectors/dissector.h"
#include "tests/dissector/echo.h"

struct wkp_test_dis_stats wkp_test_chunks_stats;
char wkp_test_chunks_up[65];

#define CHUNKS_DONE_AT 100u

struct chunks_state {
    uint64_t bytes[2];
    uint8_t finished;
};

static enum wkp_dis_result chunks_parse(void *ctx, void *state, const struct wkp_dis_pkt *p,
                                        struct wkp_cur *c)
{
    (void)ctx;
    struct chunks_state *s = state;
    int d = p->dir & 1;
    wkp_test_chunks_stats.parses++;
    wkp_test_chunks_stats.gaps += p->gap;
    if (s->bytes[0] + s->bytes[1] == 0 && c->len && c->p[0] == 'X') {
        wkp_test_chunks_stats.not_mines++;
        return WKP_DIS_NOT_MINE;
    }
    if (d == 0) {
        for (uint32_t i = 0; i < c->len && s->bytes[0] + i < 64; i++)
            wkp_test_chunks_up[s->bytes[0] + i] = (char)c->p[i];
    }
    s->bytes[d] += c->len;
    wkp_test_chunks_stats.bytes[d] += c->len;
    if (s->bytes[0] >= CHUNKS_DONE_AT) {
        wkp_test_chunks_stats.dones++;
        return WKP_DIS_DONE;
    }
    return WKP_DIS_MORE;
}

static void chunks_finish(void *ctx, void *state)
{
    (void)ctx;
    struct chunks_state *s = state;
    if (s->finished)
        wkp_test_chunks_stats.finish_twice++;
    s->finished = 1;
    wkp_test_chunks_stats.finishes++;
}

static void chunks_write(const void *state, struct wkp_buf *out)
{
    const struct chunks_state *s = state;
    wkp_buf_puts(out, "{\"up\":");
    wkp_buf_u64(out, s->bytes[0]);
    wkp_buf_puts(out, ",\"down\":");
    wkp_buf_u64(out, s->bytes[1]);
    wkp_buf_putc(out, '}');
}

static const uint16_t chunks_ports[] = {7};

const struct wkp_dissector wkp_dissector_chunks = {
    .name = "chunks",
    .transport = IPPROTO_TCP,
    .ports = chunks_ports,
    .nports = 1,
    .input = WKP_DIS_STREAM,
    .flow_state_size = sizeof(struct chunks_state),
    .parse = chunks_parse,
    .finish = chunks_finish,
    .write = chunks_write,
};

void wkp_test_chunks_reset(void)
{
    memset(&wkp_test_chunks_stats, 0, sizeof wkp_test_chunks_stats);
    memset(wkp_test_chunks_up, 0, sizeof wkp_test_chunks_up);
}
