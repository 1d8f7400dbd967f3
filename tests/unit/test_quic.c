/* The QUIC dissector (dissectors/quic.c) and its packet protection
 * (dissectors/quic_crypto.c), called directly.
 *
 * Expected values: the keys and packets of RFC 9001 appendix A and RFC
 * 9369 appendix A (the protected packets are the RFCs' bytes, each opened
 * here), and, for the dissector, the ClientHello those appendices carry:
 * server_name example.com, ALPN "alpn", suites 0x1301 0x1302 (list
 * length 0004), groups x25519 secp256r1 secp384r1 (29, 23, 24), as their
 * hex dump reads. Packets built here are sealed with the RFC-checked keys. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <openssl/evp.h>

#include "dissectors/dissector.h"
#include "dissectors/quic_crypto.h"

extern const struct wkp_dissector wkp_dissector_quic;
static const struct wkp_dissector *D = &wkp_dissector_quic;

/* counters, in the order of counter_names */
enum { OPENED, OPEN_FAILED, MALFORMED, CRYPTO_CAPPED, BAD_HELLO, SHORT_UNMATCHED, NOMEM };

static const char RFC9001_CLIENT_INITIAL[] = "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd"
                                             "7689fb8ec11d242b123dc9bd8bab936b47d92ec356c"
                                             "0bab7df5976d27cd449f63300099f3991c260ec4c60d17b31f842"
                                             "9157bb35a1282a643a8d2262cad67500cadb8e7378c"
                                             "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f8"
                                             "0fcb7df621230c83711b39343fa028cea7f7fb5ff89"
                                             "eac2308249a02252155e2347b63d58c5457afd84d05dfffdb2039"
                                             "2844ae812154682e9cf012f9021a6f0be17ddd0c208"
                                             "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3"
                                             "948838a3aec4e15daf8500a6ef69ec4e3feb6b1d98e"
                                             "610ac8b7ec3faf6ad760b7bad1db4ba3485e8a94dc250ae3fdb41"
                                             "ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
                                             "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabda"
                                             "e053060ae6c7b4378e846d29f37ed7b4ea9ec5d82e7"
                                             "961b7f25a9323851f681d582363aa5f89937f5a67258bf63ad6f1"
                                             "a0b1d96dbd4faddfcefc5266ba6611722395c906556"
                                             "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c74"
                                             "68d54119c7468449a13d8e3b95811a198f3491de3e7"
                                             "fe942b330407abf82a4ed7c1b311663ac69890f4157015853d91e"
                                             "923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
                                             "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9"
                                             "c5927726632291d6a418211cc2962e20fe47feb3edf"
                                             "330f2c603a9d48c0fcb5699dbfe5896425c5bac4aee82e57a85aa"
                                             "f4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
                                             "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28f"
                                             "f18f58891ffef132eef2fa09346aee33c28eb130ff2"
                                             "8f5b766953334113211996d20011a198e3fc433f9f2541010ae17"
                                             "c1bf202580f6047472fb36857fe843b19f5984009dd"
                                             "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b0"
                                             "61085349d73203a4a13e96f5432ec0fd4a1ee65accd"
                                             "d5e3904df54c1da510b0ff20dcc0c77fcb2c0e0eb605cb0504db8"
                                             "7632cf3d8b4dae6e705769d1de354270123cb11450e"
                                             "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33"
                                             "bd801b03adea2e1fbc5aa463d08ca19896d2bf59a07"
                                             "1b851e6c239052172f296bfb5e72404790a2181014f3b94a4e97d"
                                             "117b438130368cc39dbb2d198065ae3986547926cd2"
                                             "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cd"
                                             "a721984b6f440591f355e12d439ff150aab7613499d"
                                             "bd49adabc8676eef023b15b65bfc5ca06948109f23f350db82123"
                                             "535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
                                             "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1"
                                             "a8e308f76f0be79e2fb8f5d5fbbe2e30ecadd220723"
                                             "c8c0aea8078cdfcb3868263ff8f0940054da48781893a7e49ad5a"
                                             "ff4af300cd804a6b6279ab3ff3afb64491c85194aab"
                                             "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259"
                                             "ff2b19c41b9f96f3ca9ec1dde434da7d2d392b905dd"
                                             "f3d1f9af93d1af5950bd493f5aa731b4056df31bd267b6b90a079"
                                             "831aaf579be0a39013137aac6d404f518cfd4684064"
                                             "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a"
                                             "9a7f9474241e221af44860018ab0856972e194cd934";

static const char RFC9369_CLIENT_INITIAL[] = "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6ab"
                                             "cdb4298b485dd04de806071bf03dceebfa162e75d6c"
                                             "96058bdbfb127cdfcbf903388e99ad049f9a3dd4425ae4d0992cf"
                                             "ff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
                                             "250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b5"
                                             "5545243cf1a12834e3f249a78d395e0d18f4d766004"
                                             "f1a2674802a747eaa901c3f10cda5500cb9122faa9f1df66c3920"
                                             "79a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
                                             "18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8"
                                             "da58976ff3312ae50b187c1433c0f028edcc4c2838b"
                                             "6a9bfc226ca4b4530e7a4ccee1bfa2a3d396ae5a3fb512384b2fd"
                                             "d851f784a65e03f2c4fbe11a53c7777c023462239dd"
                                             "6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301"
                                             "c21801f6520bcfb7966fc49b393f0061d974a2706df"
                                             "8c4a9449f11d7f3d2dcbb90c6b877045636e7c0c0fe4eb0f69754"
                                             "5460c806910d2c355f1d253bc9d2452aaa549e27a1f"
                                             "ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a03"
                                             "26e07de7c1216ccce2d0193f958bb3850a833f7ae43"
                                             "2b65bc5a53975c155aa4bcb4f7b2c4e54df16efaf6ddea94e2c50"
                                             "b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
                                             "fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb0"
                                             "8b847741c3b8017c25ca9052ca1079d8b78aebd4787"
                                             "6d330a30f6a8c6d61dd1ab5589329de714d19d61370f8149748c7"
                                             "2f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
                                             "9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151a"
                                             "dfeceb51b91abfe43960977c87471cf9ad4074d30e1"
                                             "0d6a7f03c63bd5d4317f68ff325ba3bd80bf4dc8b52a0ba031758"
                                             "022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
                                             "848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb"
                                             "6b614eaed18d703dd84045a274ae8bfa73379661388"
                                             "d6991fe39b0d93debb41700b41f90a15c4d526250235ddcd6776f"
                                             "c77bc97e7a417ebcb31600d01e57f32162a8560cacc"
                                             "7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81"
                                             "193e8238e61f6b5b984d4d3dfa033c1bb7e4f0037fe"
                                             "bf406d91c0dccf32acf423cfa1e7071010d3f270121b493ce8505"
                                             "4ef58bada42310138fe081adb04e2bd901f2f13458b"
                                             "3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5"
                                             "bbcb80ee23e06ebfde206bfb0fcbc0edc4ebec30966"
                                             "1bdd908d532eb0c6adc38b7ca7331dce8dfce39ab71e7c32d318d"
                                             "136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
                                             "34b90c9058f8632c798d4490da4987307cba922d61c39805d072b"
                                             "589bd52fdf1e86215c2d54e6670e07383a27bbffb5a"
                                             "ddf47d66aa85a0c6f9f32e59d85a44dd5d3b22dc2be80919b4904"
                                             "37ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
                                             "8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d11"
                                             "1b2b4ae5f89d5974ee12e5cf7d5da4d6a31123041f3"
                                             "3e61407e76cffcdcfd7e19ba58cf4b536f4c4938ae79324dc4028"
                                             "94b44faf8afbab35282ab659d13c93f70412e85cb19"
                                             "9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745"
                                             "a262ccde96ba18b2faa745b6fe189cf772a9f84cbfc";

static const char RFC9001_SERVER_INITIAL[] =
    "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a1c69797554780b"
    "b3"
    "8cc5a99f5ede4cf73c3ec2493a1839b3dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb"
    "84"
    "022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc42158407dd074ee";

static const uint8_t RFC_DCID[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; s[0] && s[1] && n < cap; s += 2) {
        unsigned v;
        cr_assert_eq(sscanf(s, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void expect_hex(const uint8_t *p, size_t n, const char *want)
{
    uint8_t w[64];
    size_t wn = unhex(want, w, sizeof w);
    cr_assert_eq(n, wn);
    cr_expect(memcmp(p, w, n) == 0, "bytes differ from %s", want);
}

static struct wkp_quic_crypto cx;

static void crypto_setup(void)
{
    cr_assert_eq(wkp_quic_crypto_init(&cx), 0);
}

static void crypto_teardown(void)
{
    wkp_quic_crypto_fini(&cx);
}

TestSuite(quic_crypto, .init = crypto_setup, .fini = crypto_teardown);

/* RFC 9001 A.1 */
Test(quic_crypto, v1_initial_keys)
{
    struct wkp_quic_keys k;
    uint8_t init[32], sec[32];
    cr_assert(wkp_quic_initial_keys(&cx, WKP_QUIC_V1, RFC_DCID, 8, false, &k, init, sec));
    expect_hex(init, 32, "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44");
    expect_hex(sec, 32, "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea");
    expect_hex(k.key, 16, "1f369613dd76d5467730efcbe3b1a22d");
    expect_hex(k.iv, 12, "fa044b2f42a3fd3b46fb255c");
    expect_hex(k.hp, 16, "9f50449e04a0e810283a1e9933adedd2");
    cr_assert(wkp_quic_initial_keys(&cx, WKP_QUIC_V1, RFC_DCID, 8, true, &k, NULL, sec));
    expect_hex(sec, 32, "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b");
    expect_hex(k.key, 16, "cf3a5331653c364c88f0f379b6067e37");
    expect_hex(k.iv, 12, "0ac1493ca1905853b0bba03e");
    expect_hex(k.hp, 16, "c206b8d9b9f0f37644430b490eeaa314");
}

/* RFC 9369 A.1: its own salt and the "quicv2" labels */
Test(quic_crypto, v2_initial_keys)
{
    struct wkp_quic_keys k;
    uint8_t init[32], sec[32];
    cr_assert(wkp_quic_initial_keys(&cx, WKP_QUIC_V2, RFC_DCID, 8, false, &k, init, sec));
    expect_hex(init, 32, "2062e8b3cd8d52092614b8071d0aa1fb7c2e3ac193f78b280e72d8f5751f6aba");
    expect_hex(sec, 32, "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b");
    expect_hex(k.key, 16, "8b1a0bc121284290a29e0971b5cd045d");
    expect_hex(k.iv, 12, "91f73e2351d8fa91660e909f");
    expect_hex(k.hp, 16, "45b95e15235d6f45a6b19cbcb0294ba9");
    cr_assert(wkp_quic_initial_keys(&cx, WKP_QUIC_V2, RFC_DCID, 8, true, &k, NULL, sec));
    expect_hex(sec, 32, "0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1");
    expect_hex(k.key, 16, "82db637861d55e1d011f19ea71d5d2a7");
    expect_hex(k.iv, 12, "dd13c276499c0249d3310652");
    expect_hex(k.hp, 16, "edf6d05c83121201b436e16877593c3a");
}

/* Drafts 29 to 32: the draft-29 salt with the v1 labels (the keys of
 * draft-ietf-quic-tls-29 appendix A.1, same DCID) */
Test(quic_crypto, draft29_initial_keys)
{
    struct wkp_quic_keys k;
    uint8_t sec[32];
    cr_assert(wkp_quic_initial_keys(&cx, 0xff00001d, RFC_DCID, 8, false, &k, NULL, sec));
    expect_hex(sec, 32, "0088119288f1d866733ceeed15ff9d50902cf82952eee27e9d4d4918ea371d87");
    expect_hex(k.key, 16, "175257a31eb09dea9366d8bb79ad80ba");
    expect_hex(k.iv, 12, "6b26114b9cba2b63a9e8dd4f");
}

Test(quic_crypto, versions_and_type_numbering)
{
    cr_expect_eq(wkp_quic_version_kind(1), WKP_QUIC_VK_V1);
    cr_expect_eq(wkp_quic_version_kind(0x6b3343cf), WKP_QUIC_VK_V2);
    cr_expect_eq(wkp_quic_version_kind(0xff00001d), WKP_QUIC_VK_DRAFT29);
    cr_expect_eq(wkp_quic_version_kind(0xff000020), WKP_QUIC_VK_DRAFT29);
    cr_expect_eq(wkp_quic_version_kind(0xff000021), WKP_QUIC_VK_V1);
    cr_expect_eq(wkp_quic_version_kind(0xff000022), WKP_QUIC_VK_V1);
    cr_expect_eq(wkp_quic_version_kind(0xff00001c), WKP_QUIC_VK_UNKNOWN);
    cr_expect_eq(wkp_quic_version_kind(0x51303433), WKP_QUIC_VK_UNKNOWN); /* gQUIC Q043 */
    /* v1: 0 Initial, 1 0-RTT, 2 Handshake, 3 Retry (bits 4-5 of byte 0) */
    cr_expect_eq(wkp_quic_long_type(1, 0xc3), WKP_QUIC_INITIAL);
    cr_expect_eq(wkp_quic_long_type(1, 0xe0), WKP_QUIC_HANDSHAKE);
    cr_expect_eq(wkp_quic_long_type(1, 0xf0), WKP_QUIC_RETRY);
    /* v2: 1 Initial, 2 0-RTT, 3 Handshake, 0 Retry */
    cr_expect_eq(wkp_quic_long_type(WKP_QUIC_V2, 0xd3), WKP_QUIC_INITIAL);
    cr_expect_eq(wkp_quic_long_type(WKP_QUIC_V2, 0xe0), WKP_QUIC_0RTT);
    cr_expect_eq(wkp_quic_long_type(WKP_QUIC_V2, 0xf0), WKP_QUIC_HANDSHAKE);
    cr_expect_eq(wkp_quic_long_type(WKP_QUIC_V2, 0xc0), WKP_QUIC_RETRY);
}

/* The unprotected header of RFC 9001 A.2 is c300000001088394c8f03e5157080000449e00000002:
 * byte 0 0xc3, packet number 2 in 4 bytes at offset 18; the payload is
 * 1162 bytes (1182 - 4 - 16), a CRYPTO frame (06 00 40f1) then PADDING. */
static void open_client(uint32_t version, const char *hex, uint8_t byte0)
{
    uint8_t pkt[1200], hdr[64], plain[1200];
    cr_assert_eq(unhex(hex, pkt, sizeof pkt), 1200);
    struct wkp_quic_keys k;
    cr_assert(wkp_quic_initial_keys(&cx, version, RFC_DCID, 8, false, &k, NULL, NULL));
    uint64_t pn = 0;
    int32_t n =
        wkp_quic_open(&cx, &k, pkt, 18, 1200, -1, hdr, sizeof hdr, plain, sizeof plain, &pn);
    cr_assert_eq(n, 1162);
    cr_expect_eq(pn, 2);
    cr_expect_eq(hdr[0], byte0);
    expect_hex(hdr + 18, 4, "00000002");
    expect_hex(plain, 10, "060040f1010000ed0303");
    for (int i = 245; i < n; i++)
        cr_assert_eq(plain[i], 0, "padding at %d", i);
    /* the server's keys do not open it; a flipped bit fails the tag */
    cr_assert(wkp_quic_initial_keys(&cx, version, RFC_DCID, 8, true, &k, NULL, NULL));
    cr_expect_lt(
        wkp_quic_open(&cx, &k, pkt, 18, 1200, -1, hdr, sizeof hdr, plain, sizeof plain, &pn), 0);
    cr_assert(wkp_quic_initial_keys(&cx, version, RFC_DCID, 8, false, &k, NULL, NULL));
    pkt[600] ^= 1;
    cr_expect_lt(
        wkp_quic_open(&cx, &k, pkt, 18, 1200, -1, hdr, sizeof hdr, plain, sizeof plain, &pn), 0);
}

Test(quic_crypto, rfc9001_client_initial_opens)
{
    open_client(WKP_QUIC_V1, RFC9001_CLIENT_INITIAL, 0xc3);
}

/* RFC 9369 A.2: unprotected header d36b3343cf088394c8f03e5157080000449e00000002 */
Test(quic_crypto, rfc9369_client_initial_opens)
{
    open_client(WKP_QUIC_V2, RFC9369_CLIENT_INITIAL, 0xd3);
}

/* RFC 9001 A.3: header c1000000010008f067a5502a4262b50040750001 (pn 1 in
 * 2 bytes at offset 18), payload 02000000000600405a020000560303ee... of
 * 117 - 2 - 16 = 99 bytes. */
Test(quic_crypto, rfc9001_server_initial_opens)
{
    uint8_t pkt[135], hdr[64], plain[135];
    cr_assert_eq(unhex(RFC9001_SERVER_INITIAL, pkt, sizeof pkt), 135);
    struct wkp_quic_keys k;
    cr_assert(wkp_quic_initial_keys(&cx, WKP_QUIC_V1, RFC_DCID, 8, true, &k, NULL, NULL));
    uint64_t pn = 0;
    int32_t n = wkp_quic_open(&cx, &k, pkt, 18, 135, -1, hdr, sizeof hdr, plain, sizeof plain, &pn);
    cr_assert_eq(n, 99);
    cr_expect_eq(pn, 1);
    cr_expect_eq(hdr[0], 0xc1);
    expect_hex(plain, 16, "02000000000600405a020000560303ee");
}

Test(quic_crypto, varints)
{
    /* RFC 9000 A.1's examples */
    static const uint8_t a[] = {0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c,
                                0x9d, 0x7f, 0x3e, 0x7d, 0x7b, 0xbd, 0x25, 0x40};
    uint32_t off = 0;
    uint64_t v;
    cr_assert(wkp_quic_varint(a, sizeof a, &off, &v));
    cr_expect_eq(v, 151288809941952652ull);
    cr_assert(wkp_quic_varint(a, sizeof a, &off, &v));
    cr_expect_eq(v, 494878333);
    cr_assert(wkp_quic_varint(a, sizeof a, &off, &v));
    cr_expect_eq(v, 15293);
    cr_assert(wkp_quic_varint(a, sizeof a, &off, &v));
    cr_expect_eq(v, 37);
    cr_expect(!wkp_quic_varint(a, sizeof a, &off, &v)); /* 0x40 wants 2 bytes */
    cr_expect_eq(off, 15);
}

/* ---- the dissector ---- */

static uint64_t counters[WKP_DIS_MAX_COUNTERS];
static void *ctx, *state;
static struct wkp_buf out;

static void dis_setup(void)
{
    crypto_setup();
    memset(counters, 0, sizeof counters);
    ctx = calloc(1, D->worker_ctx_size);
    state = calloc(1, D->flow_state_size);
    struct wkp_dis_env env = {.counters = counters};
    cr_assert_eq(D->worker_init(ctx, &env), 0);
    memset(&out, 0, sizeof out);
}

static void dis_teardown(void)
{
    D->release(ctx, state);
    D->worker_fini(ctx);
    free(ctx);
    free(state);
    wkp_buf_free(&out);
    crypto_teardown();
}

TestSuite(quic, .init = dis_setup, .fini = dis_teardown);

static enum wkp_dis_result feed(unsigned dir, const uint8_t *p, size_t n)
{
    struct wkp_dis_pkt pk = {
        .proto = IPPROTO_UDP, .dir = (uint8_t)dir, .payload = p, .payload_len = (uint32_t)n};
    struct wkp_cur c = {.p = p, .len = (uint32_t)n};
    return D->parse(ctx, state, &pk, &c);
}

static const char *json(void)
{
    D->finish(ctx, state);
    out.len = 0;
    D->write(state, &out);
    wkp_buf_putc(&out, 0);
    return out.p;
}

static void feed_hex(unsigned dir, const char *hex)
{
    static uint8_t pkt[1500];
    size_t n = unhex(hex, pkt, sizeof pkt);
    cr_assert_eq(feed(dir, pkt, n), WKP_DIS_MORE);
}

Test(quic, rfc_client_and_server_initials)
{
    feed_hex(0, RFC9001_CLIENT_INITIAL);
    feed_hex(1, RFC9001_SERVER_INITIAL);
    const char *j = json();
    cr_expect(strstr(j, "{\"version\":1,\"version_name\":\"QUICv1\",\"packet_types\":[\"Initial\"],"
                        "\"dcid_up\":\"8394c8f03e515708\",\"scid_up\":\"\",\"dcid_down\":\"\","
                        "\"scid_down\":\"f067a5502a4262b5\",\"original_dcid\":\"8394c8f03e515708\","
                        "\"spin_bit\":false,\"sni\":\"example.com\",\"alpn\":[\"alpn\"],"
                        "\"cipher_suites\":[4865,4866],\"supported_groups\":[29,23,24],") == j,
              "%s", j);
    /* transport parameters 0039 0032: 04 08 ffffffffffffffff (initial_max_data
     * 2^62 - 1), 05 04 8000ffff, 07 04 8000ffff, 08 01 10, 01 04 80007530
     * (max_idle_timeout 30000), 09 01 10, 0f 08 8394c8f03e515708, 06 04 8000ffff */
    cr_expect(strstr(j, "\"transport_parameters\":{\"initial_max_data\":4611686018427387903,"
                        "\"initial_max_stream_data_bidi_local\":65535,"
                        "\"initial_max_stream_data_uni\":65535,\"initial_max_streams_bidi\":16,"
                        "\"max_idle_timeout\":30000,\"initial_max_streams_uni\":16,"
                        "\"initial_source_connection_id\":\"8394c8f03e515708\","
                        "\"initial_max_stream_data_bidi_remote\":65535}") != NULL,
              "%s", j);
    /* ServerHello: cipher_suite 1301, supported_versions 0304 */
    cr_expect(strstr(j, ",\"server_cipher_suite\":4865,\"server_version\":772}") != NULL, "%s", j);
    cr_expect_eq(counters[OPENED], 2);
    cr_expect_eq(counters[OPEN_FAILED], 0);
    const char *names[4];
    cr_assert_eq(D->ext_protocol(state, names, 4), 1);
    cr_expect_str_eq(names[0], "QUIC");
}

Test(quic, rfc9369_client_initial)
{
    feed_hex(0, RFC9369_CLIENT_INITIAL);
    const char *j = json();
    cr_expect(strstr(j, "{\"version\":1798521807,\"version_name\":\"QUICv2\","
                        "\"packet_types\":[\"Initial\"],") == j,
              "%s", j);
    cr_expect(strstr(j, "\"sni\":\"example.com\"") != NULL, "%s", j);
}

/* ---- packets sealed here ---- */

/* The ClientHello of RFC 9001 A.2 (241 bytes with its header), taken
 * from the opened packet. */
static size_t rfc_client_hello(uint8_t *ch)
{
    uint8_t pkt[1200], hdr[64], plain[1200];
    unhex(RFC9001_CLIENT_INITIAL, pkt, sizeof pkt);
    struct wkp_quic_keys k;
    cr_assert(wkp_quic_initial_keys(&cx, WKP_QUIC_V1, RFC_DCID, 8, false, &k, NULL, NULL));
    uint64_t pn;
    cr_assert_eq(
        wkp_quic_open(&cx, &k, pkt, 18, 1200, -1, hdr, sizeof hdr, plain, sizeof plain, &pn), 1162);
    memcpy(ch, plain + 4, 241); /* after 06 00 40f1 */
    return 241;
}

/* Seal a v1 client Initial to RFC_DCID with packet number pn (4 bytes):
 * the payload is padded to 1162 bytes, as in RFC 9001 A.2. */
static size_t seal_initial(uint64_t pn, const uint8_t *payload, size_t plen, uint8_t *dst)
{
    struct wkp_quic_keys k;
    cr_assert(wkp_quic_initial_keys(&cx, WKP_QUIC_V1, RFC_DCID, 8, false, &k, NULL, NULL));
    uint8_t plain[1162] = {0};
    cr_assert_leq(plen, sizeof plain);
    memcpy(plain, payload, plen);
    size_t n = 0;
    dst[n++] = 0xc3;
    dst[n++] = 0, dst[n++] = 0, dst[n++] = 0, dst[n++] = 1;
    dst[n++] = 8;
    memcpy(dst + n, RFC_DCID, 8);
    n += 8;
    dst[n++] = 0; /* scid */
    dst[n++] = 0; /* token */
    size_t len = 4 + sizeof plain + 16;
    dst[n++] = (uint8_t)(0x40 | len >> 8);
    dst[n++] = (uint8_t)len;
    size_t pn_off = n;
    for (int i = 3; i >= 0; i--)
        dst[n++] = (uint8_t)(pn >> (8 * i));
    uint8_t nonce[12];
    memcpy(nonce, k.iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
    EVP_CIPHER_CTX *g = EVP_CIPHER_CTX_new();
    int ol = 0;
    cr_assert(EVP_EncryptInit_ex(g, EVP_aes_128_gcm(), NULL, k.key, nonce) == 1);
    cr_assert(EVP_EncryptUpdate(g, NULL, &ol, dst, (int)n) == 1);
    cr_assert(EVP_EncryptUpdate(g, dst + n, &ol, plain, (int)sizeof plain) == 1);
    n += (size_t)ol;
    cr_assert(EVP_EncryptFinal_ex(g, dst + n, &ol) == 1);
    cr_assert(EVP_CIPHER_CTX_ctrl(g, EVP_CTRL_GCM_GET_TAG, 16, dst + n) == 1);
    n += 16;
    EVP_CIPHER_CTX_free(g);
    uint8_t mask[16];
    EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
    cr_assert(EVP_EncryptInit_ex(e, EVP_aes_128_ecb(), NULL, k.hp, NULL) == 1);
    EVP_CIPHER_CTX_set_padding(e, 0);
    cr_assert(EVP_EncryptUpdate(e, mask, &ol, dst + pn_off + 4, 16) == 1);
    EVP_CIPHER_CTX_free(e);
    dst[0] ^= mask[0] & 0x0f;
    for (int i = 0; i < 4; i++)
        dst[pn_off + (size_t)i] ^= mask[1 + i];
    return n;
}

/* A CRYPTO frame: 06, offset and length as 2-byte varints, the bytes. */
static size_t crypto_frame(uint8_t *p, size_t off, const uint8_t *data, size_t len)
{
    p[0] = 6;
    p[1] = (uint8_t)(0x40 | off >> 8), p[2] = (uint8_t)off;
    p[3] = (uint8_t)(0x40 | len >> 8), p[4] = (uint8_t)len;
    memcpy(p + 5, data, len);
    return 5 + len;
}

/* Our own sealing opens to the RFC's packet, byte for byte: the helper
 * the split tests use is the RFC's construction. */
Test(quic, sealing_here_gives_the_rfc_packet)
{
    uint8_t ch[256], frame[300], pkt[1300], want[1200];
    size_t chn = rfc_client_hello(ch);
    frame[0] = 6, frame[1] = 0, frame[2] = 0x40, frame[3] = 0xf1; /* offset 0 in 1 byte */
    memcpy(frame + 4, ch, chn);
    /* the RFC's header has a 2-byte Length 449e (1182) as this one does */
    size_t n = seal_initial(2, frame, 4 + chn, pkt);
    cr_assert_eq(n, 1200);
    unhex(RFC9001_CLIENT_INITIAL, want, sizeof want);
    cr_expect(memcmp(pkt, want, 1200) == 0);
}

/* The ClientHello in `parts` CRYPTO frames, one per Initial (packet
 * numbers 0..parts-1), fed in order or reversed: the record is the one
 * of the whole hello in one packet. */
static char *split_run(int parts, bool reversed)
{
    uint8_t ch[256], frame[300], pkt[3][1300];
    size_t n[3];
    size_t chn = rfc_client_hello(ch);
    for (int i = 0; i < parts; i++) {
        size_t lo = chn * (size_t)i / (size_t)parts, hi = chn * (size_t)(i + 1) / (size_t)parts;
        size_t fl = crypto_frame(frame, lo, ch + lo, hi - lo);
        n[i] = seal_initial((uint64_t)i, frame, fl, pkt[i]);
    }
    for (int i = 0; i < parts; i++) {
        int k = reversed ? parts - 1 - i : i;
        cr_assert_eq(feed(0, pkt[k], n[k]), WKP_DIS_MORE);
    }
    cr_expect_eq(counters[OPENED], (uint64_t)parts);
    char *j = strdup(json());
    D->release(ctx, state);
    memset(state, 0, D->flow_state_size);
    memset(counters, 0, sizeof counters);
    return j;
}

Test(quic, client_hello_split_over_initials_in_any_order)
{
    char *whole = split_run(1, false);
    cr_expect(strstr(whole, "\"sni\":\"example.com\"") != NULL, "%s", whole);
    cr_expect(strstr(whole, "\"ja4\":\"q13") != NULL, "%s", whole);
    for (int parts = 2; parts <= 3; parts++)
        for (int rev = 0; rev < 2; rev++) {
            char *j = split_run(parts, rev);
            cr_expect_str_eq(j, whole, "%d parts%s", parts, rev ? " reversed" : "");
            free(j);
        }
    free(whole);
}

/* Only the first part: no hello yet, no sni; the header fields are there. */
Test(quic, half_a_client_hello_gives_no_hello_fields)
{
    uint8_t ch[256], frame[300], pkt[1300];
    size_t chn = rfc_client_hello(ch);
    size_t fl = crypto_frame(frame, 0, ch, chn / 2);
    size_t n = seal_initial(0, frame, fl, pkt);
    cr_assert_eq(feed(0, pkt, n), WKP_DIS_MORE);
    const char *j = json();
    cr_expect(strstr(j, "\"sni\"") == NULL, "%s", j);
    cr_expect(strstr(j, "\"original_dcid\":\"8394c8f03e515708\"") != NULL, "%s", j);
}

/* A datagram with a server Initial (its keys do not match the flow's, so
 * it only counts as seen), a coalesced Handshake packet behind it, then a
 * short-header packet whose DCID is the client's SCID from the up
 * direction; a Retry and a version negotiation are recognised. */
Test(quic, coalesced_packets_short_headers_retry_and_vn)
{
    uint8_t up[64] = {0xc0, 0, 0, 0, 1, 4, 1, 2, 3, 4, 2, 0xaa, 0xbb, 0, 0x14};
    memset(up + 15, 0x55, 20); /* unreadable Initial: Length 20 */
    cr_assert_eq(feed(0, up, 35), WKP_DIS_MORE);
    uint8_t down[80] = {0xe0, 0,    0,    0,    1,   2, 0xaa, 0xbb,
                        1,    9,    0x05, 1,    2,   3, 4,    5, /* Handshake */
                        0x60, 0xaa, 0xbb, 0x11, 0x22};           /* short header: spin bit set */
    cr_assert_eq(feed(1, down, 21), WKP_DIS_MORE);
    /* a short header whose DCID is not the peer's SCID: not counted */
    uint8_t bad[8] = {0x40, 0xcc, 0xdd, 1, 2, 3, 4, 5};
    cr_assert_eq(feed(0, bad, sizeof bad), WKP_DIS_MORE);
    uint8_t retry[40] = {0xf0, 0, 0, 0, 1, 2, 0xaa, 0xbb, 1, 9};
    cr_assert_eq(feed(1, retry, sizeof retry), WKP_DIS_MORE);
    uint8_t vn[20] = {0x80, 0, 0, 0, 0, 2, 0xaa, 0xbb, 4, 1, 2, 3, 4, 0, 0, 0, 1};
    cr_assert_eq(feed(1, vn, 17), WKP_DIS_MORE);
    const char *j = json();
    cr_expect(strstr(j, "{\"version\":1,\"version_name\":\"QUICv1\",\"packet_types\":[\"Initial\","
                        "\"Handshake\",\"Retry\",\"VersionNegotiation\",\"1-RTT\"],"
                        "\"dcid_up\":\"01020304\",\"scid_up\":\"aabb\",\"dcid_down\":\"aabb\","
                        "\"scid_down\":\"09\",\"spin_bit\":true}") == j,
              "%s", j);
    cr_expect_eq(counters[SHORT_UNMATCHED], 1);
}

/* Nothing QUIC in the first 8 packets of a claimed flow: given back. */
Test(quic, flow_without_long_headers_is_given_back)
{
    uint8_t p[20] = {0x41, 1, 2, 3};
    for (int i = 0; i < 7; i++)
        cr_assert_eq(feed(0, p, sizeof p), WKP_DIS_MORE);
    cr_expect_eq(feed(0, p, sizeof p), WKP_DIS_NOT_MINE);
    cr_expect_str_eq(json(), "");
}

Test(quic, probe_wants_a_known_version)
{
    uint8_t pkt[1200];
    unhex(RFC9001_CLIENT_INITIAL, pkt, sizeof pkt);
    struct wkp_dis_pkt pk = {.proto = IPPROTO_UDP, .payload = pkt, .payload_len = 1200};
    cr_expect(D->probe(ctx, &pk, WKP_APP_FULL, false));
    pkt[4] = 2; /* version 2 is no QUIC version */
    cr_expect(!D->probe(ctx, &pk, WKP_APP_FULL, true));
    pkt[4] = 1;
    pkt[5] = 21; /* a 21-byte DCID: not v1 */
    cr_expect(!D->probe(ctx, &pk, WKP_APP_FULL, true));
    uint8_t q043[16] = {0xc3, 'Q', '0', '4', '3', 8};
    pk.payload = q043;
    pk.payload_len = sizeof q043;
    cr_expect(!D->probe(ctx, &pk, WKP_APP_FULL, true));
}

/* Cost: once both hellos are read no packet is opened again; the flow is
 * then only looked at until its 32nd packet (or a spin bit), and parse
 * answers DONE. */
Test(quic, decryption_stops_once_both_hellos_are_read)
{
    feed_hex(0, RFC9001_CLIENT_INITIAL);
    feed_hex(1, RFC9001_SERVER_INITIAL);
    feed_hex(0, RFC9001_CLIENT_INITIAL); /* a retransmission */
    cr_expect_eq(counters[OPENED], 2);
    cr_expect_eq(counters[OPEN_FAILED], 0);
    /* a 1-RTT packet to the server's connection ID, spin bit 0 */
    uint8_t p[32] = {0x41, 0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5};
    for (int i = 4; i < 32; i++)
        cr_assert_eq(feed(0, p, sizeof p), WKP_DIS_MORE, "packet %d", i);
    cr_expect_eq(feed(0, p, sizeof p), WKP_DIS_DONE);
    cr_expect_eq(counters[OPENED], 2);
    const char *j = json();
    cr_expect(strstr(j, "\"packet_types\":[\"Initial\",\"1-RTT\"]") != NULL, "%s", j);
    cr_expect(strstr(j, "\"spin_bit\":false") != NULL, "%s", j);
}

Test(quic, a_spin_bit_after_the_hellos_ends_the_reading)
{
    feed_hex(0, RFC9001_CLIENT_INITIAL);
    feed_hex(1, RFC9001_SERVER_INITIAL);
    uint8_t p[32] = {0x61, 0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5};
    cr_expect_eq(feed(0, p, sizeof p), WKP_DIS_DONE);
    cr_expect(strstr(json(), "\"spin_bit\":true") != NULL);
}
