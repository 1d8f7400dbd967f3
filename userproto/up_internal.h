/* The compiled form of a set of user protocols, shared by the files of
 * userproto/ only. Everything is in flat arrays indexed by 32-bit
 * integers, built at load time and read-only afterwards. */
#ifndef WKP_UP_INTERNAL_H
#define WKP_UP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "userproto/userproto.h"

/* Operations: one per field of a definition. */
enum up_op_type {
    UP_OP_FIXED,
    UP_OP_BITFIELD,
    UP_OP_LP,     /* length_prefixed: text or bytes */
    UP_OP_LP_SUB, /* length_prefixed with sub_protocol */
    UP_OP_COMPUTED,
    UP_OP_TLV,
    UP_OP_COUNTED,
    UP_OP_REST,
    UP_OP_DNS_NAME,
    UP_OP_BSD_AF,
    UP_OP_NFLOG,
    UP_OP_PLIST,     /* prefixed_list of text or bytes items */
    UP_OP_PLIST_TLV, /* prefixed_list of typed entries parsed as sub-protocols */
    UP_OP_REPEAT,
    UP_OP_REPEAT_TLS,
};

struct up_op {
    uint8_t type;       /* enum up_op_type */
    uint8_t kind;       /* enum wkp_up_kind of the value written */
    uint8_t little;     /* fixed integers: little-endian */
    uint8_t a, b, c;    /* sizes: fixed/length/group/item; type/item length; list length */
    uint16_t name;      /* the field's interned name */
    uint16_t name2;     /* counted_list: the count field */
    uint32_t size;      /* fixed: bytes */
    int32_t sub;        /* sub-protocol program, -1 */
    uint32_t aux, naux; /* bits, rpn or type-map range */
};

struct up_bits {
    uint16_t name;
    uint8_t bits;
};

/* A mapping entry: sorted by key in each range. */
struct up_map {
    uint64_t key;
    int32_t target; /* a program (type_mapping) or a protocol (next_protocol) */
};

enum up_cond_kind { UP_C_EQ, UP_C_LE, UP_C_IN, UP_C_PREFIX };
struct up_cond {
    uint32_t offset;
    uint8_t kind, value;
    uint32_t aux, n; /* IN: n bytes in blob; PREFIX: n prefixes, each [len][bytes] in blob */
};
struct up_heur {
    int32_t target;
    uint32_t min_length;
    uint32_t cond, ncond;
};

/* Expression code, reverse Polish. */
enum up_rpn_op { UP_R_LIT, UP_R_NAME, UP_R_ADD, UP_R_SUB, UP_R_MUL, UP_R_DIV, UP_R_NEG };
struct up_rpn {
    uint8_t op;
    int64_t v; /* literal, or name id */
};
#define UP_RPN_MAX   64 /* operations in one expression */
#define UP_RPN_STACK 32 /* its evaluation depth */

/* A program: one protocol's fields, compiled in one naming context (its
 * own names, or "<sub>.<field>" inside a prefixed list). */
struct up_prog {
    uint32_t op, nop;
    int32_t header_size; /* name id or -1 */
    int32_t total_length;
    /* next protocol: layer programs only */
    uint16_t next_field[8];
    uint8_t nnext;
    uint32_t map, nmap;
    uint32_t heur, nheur;
    int32_t deflt; /* protocol or -1 */
};

struct up_proto {
    char *name;
    char *upper;
    int32_t prog; /* its own-name program */
    bool builtin; /* a layer the engine parses in C: validated, never run */
    int32_t col;  /* output column, -1 for built-ins */
};

struct wkp_up_set {
    struct up_proto *proto;
    uint32_t nproto;
    struct up_prog *prog;
    uint32_t nprog;
    struct up_op *op;
    uint32_t nop;
    struct up_bits *bits;
    uint32_t nbits;
    struct up_map *map;
    uint32_t nmap;
    struct up_heur *heur;
    uint32_t nheur;
    struct up_cond *cond;
    uint32_t ncond;
    uint8_t *blob;
    uint32_t nblob;
    struct up_rpn *rpn;
    uint32_t nrpn;
    char **names;
    uint32_t nnames;
    uint16_t *ports[2]; /* [0] TCP, [1] UDP: protocol + 1 per port, 0 none; NULL: no route */
    unsigned cols[WKP_UP_MAX_PROTOS];
    unsigned ncols;
};

/* A growable array: grow(&p, &n, &cap, size) makes room for one more. */
int wkp__up_grow(void **p, uint32_t n, uint32_t *cap, size_t size);

/* expr.c: compile text into rpn entries appended to the set (names
 * interned through intern(ctx, name, len)); 0, or -1 with the byte
 * offset of the fault in *at and a message in msg. */
int wkp__up_expr_compile(const char *text, struct up_rpn *out, uint32_t *nout,
                         int (*intern)(void *ctx, const char *name, size_t len), void *ctx,
                         size_t *at, const char **msg);
/* Evaluate n operations; look(ctx, name) gives a name's integer value. */
int64_t wkp__up_expr_eval(const struct up_rpn *r, uint32_t n,
                          int64_t (*look)(const void *ctx, uint16_t name), const void *ctx);

#endif
