/* Payload signature rules: the YAML rules file read into memory
 * (docs/signatures.md, "File format").
 *
 * A file is a YAML sequence of mappings, one rule each:
 *   - {id: 7001, name: ssh-banner, pattern: "^SSH-2\\.0-", direction: up, label: SSH}
 * Keys: id (required, unique, 0..2^32-1), name (required), pattern
 * (required; the PCRE subset Hyperscan compiles), flags (a list of
 * caseless, dotall, multiline, single-match), direction (up, down or any;
 * default any), offset and depth (a match must end at or after / at or
 * before these byte offsets of its direction), label (the `app` a match
 * names). Anything else is an error naming file:line:column.
 *
 * Pure: no Hyperscan, no threads; the result belongs to the caller. */
#ifndef WKP_SIG_RULES_H
#define WKP_SIG_RULES_H

#include <stddef.h>
#include <stdint.h>

/* Rule flags (mapped to Hyperscan's in db.c). */
enum {
    WKP_SIG_CASELESS = 1u << 0,
    WKP_SIG_DOTALL = 1u << 1,
    WKP_SIG_MULTILINE = 1u << 2,
    WKP_SIG_SINGLEMATCH = 1u << 3,
};

/* Directions a rule applies to: bit 0 up (from the flow's first packet's
 * sender), bit 1 down. */
enum { WKP_SIG_UP = 1, WKP_SIG_DOWN = 2, WKP_SIG_ANY = 3 };

struct wkp_sig_rule {
    uint32_t id;
    char *name, *pattern; /* owned */
    char *label;          /* owned; NULL: the rule names no application */
    uint32_t flags;       /* WKP_SIG_* */
    uint8_t dir;          /* WKP_SIG_UP, _DOWN or _ANY */
    uint8_t has_offset, has_depth;
    uint64_t offset, depth;
    uint32_t line, column; /* where the rule starts in its file, 1-based */
};

struct wkp_sig_rules {
    struct wkp_sig_rule *v;
    size_t n;
};

/* Read the rules of `text` (len bytes; `name` is the file name used in
 * messages). 0 and *out filled (caller frees with wkp_sig_rules_free), or
 * -1 with one line in err ("rules.yaml:3:5: unknown key 'depht'") and
 * *out untouched. An empty sequence is valid (no rules). */
int wkp_sig_rules_parse(const char *name, const char *text, size_t len, struct wkp_sig_rules *out,
                        char *err, size_t errlen);

/* The same for a file on disk. */
int wkp_sig_rules_load(const char *path, struct wkp_sig_rules *out, char *err, size_t errlen);

/* Free what parse or load filled; r may be zeroed. */
void wkp_sig_rules_free(struct wkp_sig_rules *r);

#endif
