/* Test-only application dissectors (tests/dissector/): what they saw,
 * for the hook tests to check. Counters are summed over every worker. */
#ifndef WKP_TEST_ECHO_H
#define WKP_TEST_ECHO_H

#include <stdatomic.h>
#include <stdint.h>

struct wkp_test_dis_stats {
    _Atomic uint64_t inits, finis;           /* worker_init / worker_fini calls */
    _Atomic uint64_t probes;                 /* probe calls */
    _Atomic uint64_t parses, dones, not_mines; /* parse calls and their answers */
    _Atomic uint64_t finishes, finish_twice; /* finish calls; repeated on one state */
    _Atomic uint64_t bad_ctx;                /* a callback got another dissector's context */
    _Atomic uint64_t bytes[2];               /* parsed bytes per direction */
    _Atomic uint64_t gaps;                   /* stream chunks flagged with a gap */
    _Atomic uint64_t releases;               /* states taken back (release calls) */
};

/* echo: UDP port 7 (RFC 862), datagram input; full mode also claims a
 * flow whose payload starts with "ECHO". A reply whose length differs
 * from the request is NOT_MINE; an equal one is DONE. Field: first_len,
 * the payload length of the flow's first packet with payload. */
extern struct wkp_test_dis_stats wkp_test_echo_stats;
/* Distinct state addresses echo's parse saw (up to 64 kept). */
unsigned wkp_test_echo_distinct_states(void);

/* chunks: TCP port 7, stream input. A stream whose first byte is 'X' is
 * NOT_MINE; DONE once 100 bytes went up. Fields: up, down (bytes). The
 * first 64 bytes of the up direction, in the order parse saw them. */
extern struct wkp_test_dis_stats wkp_test_chunks_stats;
extern char wkp_test_chunks_up[65];

/* Zero the counters (between runs of one test program). */
void wkp_test_echo_reset(void);
void wkp_test_chunks_reset(void);

#endif
