/* Community ID v1 (see community_id.h).
 *
 * The hash input, all in network byte order, aligned on 32 bits:
 *   seed (2) | lower address (4/16) | higher address (4/16) | proto (1) |
 *   0 (1) | port of the lower endpoint (2) | port of the higher one (2)
 * where the ports are present only for TCP, UDP, SCTP, ICMP and ICMPv6.
 * "Lower" compares addresses as bytes, then ports when the addresses are
 * equal. ICMP has no ports: the type goes in the source slot and, for a
 * request/reply type, its counterpart type in the destination slot (so
 * both directions order alike); any other type is one-way, keeps its code
 * and is never reordered. The tables are pycommunityid's icmp.py and
 * icmp6.py, which mirror Zeek's ICMP4_counterpart/ICMP6_counterpart.
 *
 * Called once per flow when its record is written, by any worker. SHA-1 is
 * fetched from the provider once per process: EVP_sha1() alone makes every
 * EVP_Digest call fetch it again, which was two thirds of the hash's cost
 * on a flood of short flows. Each thread keeps one digest context and
 * re-initialises it per flow (EVP_DigestInit_ex2 on the same digest keeps
 * the provider's state allocation), where EVP_Digest allocates and frees
 * a context and its state every call. The context is freed when its
 * thread exits. */
#include "features/community_id.h"

#include <stdbool.h>
#include <string.h>

#include <pthread.h>

#include <openssl/evp.h>

static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;
static const EVP_MD *sha1_md;

/* Kept for the process's life (a provider object, still reachable). */
static pthread_key_t ctx_key;
static bool ctx_key_ok;
static _Thread_local EVP_MD_CTX *tl_ctx;

static void ctx_free(void *p)
{
    EVP_MD_CTX_free(p);
}

static void sha1_fetch(void)
{
    sha1_md = EVP_MD_fetch(NULL, "SHA1", NULL);
    if (!sha1_md)
        sha1_md = EVP_sha1();
    ctx_key_ok = pthread_key_create(&ctx_key, ctx_free) == 0;
}

/* This thread's digest context, made on first use; NULL if out of memory
 * or no key (then the caller falls back to EVP_Digest). */
static EVP_MD_CTX *thread_ctx(void)
{
    if (tl_ctx || !ctx_key_ok)
        return tl_ctx;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c)
        return NULL;
    if (pthread_setspecific(ctx_key, c) != 0) {
        EVP_MD_CTX_free(c);
        return NULL;
    }
    tl_ctx = c;
    return c;
}

enum { PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17, PROTO_ICMP6 = 58, PROTO_SCTP = 132 };

/* Counterpart of a two-way ICMP type, or -1 if the type is one-way. */
static int icmp4_counterpart(uint16_t type)
{
    switch (type) {
    case 8: return 0; /* echo -> echo reply */
    case 0: return 8;
    case 13: return 14; /* timestamp -> timestamp reply */
    case 14: return 13;
    case 15: return 16; /* information request -> reply */
    case 16: return 15;
    case 10: return 9; /* router solicitation -> advertisement */
    case 9: return 10;
    case 17: return 18; /* address mask request -> reply */
    case 18: return 17;
    default: return -1;
    }
}

static int icmp6_counterpart(uint16_t type)
{
    switch (type) {
    case 128: return 129; /* echo request -> reply */
    case 129: return 128;
    case 130: return 131; /* MLD listener query -> report */
    case 131: return 130;
    case 133: return 134; /* router solicitation -> advertisement */
    case 134: return 133;
    case 135: return 136; /* neighbor solicitation -> advertisement */
    case 136: return 135;
    case 139: return 140; /* node information ("who are you") query -> reply */
    case 140: return 139;
    case 144: return 145; /* home agent address discovery request -> reply */
    case 145: return 144;
    default: return -1;
    }
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void wkp_community_id(uint8_t family, const uint8_t *src, const uint8_t *dst, uint16_t sport,
                      uint16_t dport, uint8_t proto, uint16_t seed, char out[WKP_COMMUNITY_ID_MAX])
{
    out[0] = '\0';
    size_t alen = family == 4 ? 4 : family == 6 ? 16 : 0;
    if (alen == 0)
        return;

    bool ports = proto == PROTO_TCP || proto == PROTO_UDP || proto == PROTO_SCTP ||
                 proto == PROTO_ICMP || proto == PROTO_ICMP6;
    bool one_way = false;
    if (proto == PROTO_ICMP || proto == PROTO_ICMP6) {
        int peer = proto == PROTO_ICMP ? icmp4_counterpart(sport) : icmp6_counterpart(sport);
        if (peer >= 0)
            dport = (uint16_t)peer; /* the code is not hashed */
        else
            one_way = true;
    }
    if (!ports)
        sport = dport = 0;

    if (!one_way) {
        int c = memcmp(src, dst, alen);
        if (c > 0 || (c == 0 && sport > dport)) {
            const uint8_t *t = src;
            src = dst;
            dst = t;
            uint16_t tp = sport;
            sport = dport;
            dport = tp;
        }
    }

    uint8_t in[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    put16(in, seed);
    n += 2;
    memcpy(in + n, src, alen);
    n += alen;
    memcpy(in + n, dst, alen);
    n += alen;
    in[n++] = proto;
    in[n++] = 0;
    if (ports) {
        put16(in + n, sport);
        put16(in + n + 2, dport);
        n += 4;
    }

    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    pthread_once(&sha1_once, sha1_fetch);
    EVP_MD_CTX *c = thread_ctx();
    int ok = c ? EVP_DigestInit_ex2(c, sha1_md, NULL) && EVP_DigestUpdate(c, in, n) &&
                     EVP_DigestFinal_ex(c, md, &mdlen)
               : EVP_Digest(in, n, md, &mdlen, sha1_md, NULL);
    if (!ok || mdlen != 20)
        return;
    out[0] = '1';
    out[1] = ':';
    /* 20 bytes -> 28 characters with padding, then a NUL: 31 bytes. */
    EVP_EncodeBlock((unsigned char *)out + 2, md, 20);
}
