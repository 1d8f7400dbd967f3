/* libFuzzer target: the signature rules loader (signatures/rules.h).
 *
 * Input: the text of a rules file. Invariants: the loader returns 0 or -1;
 * on -1 the message is one non-empty line beginning "f.yaml:"; on 0 every
 * rule has an id unique in the file, a non-empty name and pattern, a
 * direction among up/down/any, only known flags, offset <= depth when both
 * are given, and its position is inside the input's lines. */
#include "fuzz_common.h"

#include "signatures/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wkp_sig_rules r;
    char err[512];
    err[0] = '\0';
    int rc = wkp_sig_rules_parse("f.yaml", (const char *)data, size, &r, err, sizeof err);
    FZ_CHECK(rc == 0 || rc == -1);
    if (rc != 0) {
        FZ_CHECK(strncmp(err, "f.yaml:", 7) == 0 && !strchr(err, '\n'));
        return 0;
    }
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n' || data[i] == '\r';
    const uint32_t known =
        WKP_SIG_CASELESS | WKP_SIG_DOTALL | WKP_SIG_MULTILINE | WKP_SIG_SINGLEMATCH;
    for (size_t i = 0; i < r.n; i++) {
        const struct wkp_sig_rule *u = &r.v[i];
        FZ_CHECK(u->name && *u->name && u->pattern && *u->pattern);
        FZ_CHECK(!u->label || *u->label);
        FZ_CHECK(u->dir == WKP_SIG_UP || u->dir == WKP_SIG_DOWN || u->dir == WKP_SIG_ANY);
        FZ_CHECK((u->flags & ~known) == 0);
        FZ_CHECK(!(u->has_offset && u->has_depth) || u->offset <= u->depth);
        FZ_CHECK(u->line >= 1 && u->line <= lines && u->column >= 1);
        for (size_t j = 0; j < i; j++)
            FZ_CHECK(r.v[j].id != u->id);
    }
    wkp_sig_rules_free(&r);
    return 0;
}
