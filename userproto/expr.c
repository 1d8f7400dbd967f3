/* The `computed` field's expressions: integers, + - * /, unary minus,
 * parentheses, decimal literals and field names, compiled at load time
 * into reverse Polish code and evaluated per packet on a fixed stack.
 *
 * Arithmetic is 64-bit two's complement and wraps (computed in unsigned);
 * division truncates toward zero, x / 0 is 0, and INT64_MIN / -1 wraps to
 * INT64_MIN. A name not read in the current layer counts as 0. Load-time
 * only for the parser; the evaluator runs in workers and allocates nothing. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "userproto/up_internal.h"

struct pstate {
    const char *s;
    size_t i;
    struct up_rpn *out;
    uint32_t n;
    int depth, max_depth;
    int (*intern)(void *ctx, const char *name, size_t len);
    void *ctx;
    const char *msg;
};

static void skip_ws(struct pstate *p)
{
    while (p->s[p->i] == ' ' || p->s[p->i] == '\t')
        p->i++;
}

/* Append one operation and track the stack depth it leaves. */
static int emit(struct pstate *p, uint8_t op, int64_t v)
{
    if (p->n >= UP_RPN_MAX) {
        p->msg = "expression too long (at most 64 operations)";
        return -1;
    }
    p->out[p->n++] = (struct up_rpn){op, v};
    if (op == UP_R_LIT || op == UP_R_NAME)
        p->depth++;
    else if (op != UP_R_NEG)
        p->depth--;
    if (p->depth > p->max_depth)
        p->max_depth = p->depth;
    if (p->max_depth > UP_RPN_STACK) {
        p->msg = "expression nests too deep";
        return -1;
    }
    return 0;
}

static int expr(struct pstate *p, int level);

static int primary(struct pstate *p)
{
    skip_ws(p);
    char c = p->s[p->i];
    if (c == '(') {
        p->i++;
        if (expr(p, 1) != 0)
            return -1;
        skip_ws(p);
        if (p->s[p->i] != ')') {
            p->msg = "expected ')'";
            return -1;
        }
        p->i++;
        return 0;
    }
    if (c == '-') {
        p->i++;
        if (primary(p) != 0)
            return -1;
        return emit(p, UP_R_NEG, 0);
    }
    if (isdigit((unsigned char)c)) {
        uint64_t v = 0;
        while (isdigit((unsigned char)p->s[p->i])) {
            uint64_t d = (uint64_t)(p->s[p->i] - '0');
            if (v > (UINT64_MAX - d) / 10) {
                p->msg = "number too large";
                return -1;
            }
            v = v * 10 + d;
            p->i++;
        }
        if (isalpha((unsigned char)p->s[p->i]) || p->s[p->i] == '_') {
            p->msg = "bad number";
            return -1;
        }
        return emit(p, UP_R_LIT, (int64_t)v);
    }
    if (isalpha((unsigned char)c) || c == '_') {
        size_t b = p->i;
        while (isalnum((unsigned char)p->s[p->i]) || p->s[p->i] == '_' || p->s[p->i] == '.')
            p->i++;
        int id = p->intern(p->ctx, p->s + b, p->i - b);
        if (id < 0) {
            p->msg = "out of memory";
            return -1;
        }
        return emit(p, UP_R_NAME, id);
    }
    p->msg = c ? "unexpected character" : "unexpected end of expression";
    return -1;
}

/* level 1: + and -, level 2: * and /, left-associative. */
static int expr(struct pstate *p, int level)
{
    if ((level == 1 ? expr(p, 2) : primary(p)) != 0)
        return -1;
    for (;;) {
        skip_ws(p);
        char c = p->s[p->i];
        uint8_t op;
        if (level == 1 && (c == '+' || c == '-'))
            op = c == '+' ? UP_R_ADD : UP_R_SUB;
        else if (level == 2 && (c == '*' || c == '/'))
            op = c == '*' ? UP_R_MUL : UP_R_DIV;
        else
            return 0;
        p->i++;
        if ((level == 1 ? expr(p, 2) : primary(p)) != 0 || emit(p, op, 0) != 0)
            return -1;
    }
}

int wkp__up_expr_compile(const char *text, struct up_rpn *out, uint32_t *nout,
                         int (*intern)(void *ctx, const char *name, size_t len), void *ctx,
                         size_t *at, const char **msg)
{
    struct pstate p = {.s = text, .out = out, .intern = intern, .ctx = ctx};
    int rc = expr(&p, 1);
    if (rc == 0) {
        skip_ws(&p);
        if (p.s[p.i]) {
            p.msg = p.s[p.i] == ')' ? "unbalanced ')'" : "unexpected character";
            rc = -1;
        }
    }
    *at = p.i;
    *msg = p.msg;
    *nout = p.n;
    return rc;
}

int64_t wkp__up_expr_eval(const struct up_rpn *r, uint32_t n,
                          int64_t (*look)(const void *ctx, uint16_t name), const void *ctx)
{
    uint64_t st[UP_RPN_STACK + 1];
    int sp = 0;
    for (uint32_t k = 0; k < n; k++) {
        switch (r[k].op) {
        case UP_R_LIT: st[sp++] = (uint64_t)r[k].v; break;
        case UP_R_NAME: st[sp++] = (uint64_t)look(ctx, (uint16_t)r[k].v); break;
        case UP_R_NEG: st[sp - 1] = 0 - st[sp - 1]; break;
        case UP_R_ADD: sp--, st[sp - 1] += st[sp]; break;
        case UP_R_SUB: sp--, st[sp - 1] -= st[sp]; break;
        case UP_R_MUL: sp--, st[sp - 1] *= st[sp]; break;
        case UP_R_DIV: {
            sp--;
            int64_t a = (int64_t)st[sp - 1], b = (int64_t)st[sp];
            if (b == 0)
                st[sp - 1] = 0;
            else if (b == -1)
                st[sp - 1] = 0 - (uint64_t)a; /* INT64_MIN / -1 wraps */
            else
                st[sp - 1] = (uint64_t)(a / b);
            break;
        }
        }
    }
    return sp == 1 ? (int64_t)st[0] : 0;
}
