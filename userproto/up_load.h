/* Load-time state shared by load.c (files, documents, routes) and
 * compile.c (definitions into programs). Lives only while a set loads. */
#ifndef WKP_UP_LOAD_H
#define WKP_UP_LOAD_H

#include <yaml.h>

#include "userproto/up_internal.h"

struct up_doc {
    char *file; /* as named in messages */
    yaml_document_t doc;
};

struct up_def {
    struct up_doc *d;
    yaml_node_t *root;
    const char *name; /* points into the document */
    int dir;          /* which directory (or text batch) it came from */
};

/* A program being compiled or compiled: definition and naming context. */
struct up_inst {
    uint32_t def;
    char *prefix; /* NULL: the definition's own names */
    int32_t prog;
    bool busy; /* on the compile stack: a reference back to it is a cycle */
};

/* An extra next_protocol entry for a user protocol, from a route. */
struct up_extra {
    uint32_t proto;
    uint64_t key;
    uint32_t target;
};

struct up_loader {
    struct up_doc **docs;
    uint32_t ndocs, capdocs;
    struct up_def *defs; /* protocol i is defs[i] */
    uint32_t ndefs, capdefs;
    struct up_doc *link_types; /* its document, or NULL */
    struct up_inst *inst;
    uint32_t ninst, capinst;
    struct up_extra *extra;
    uint32_t nextra, capextra;
    const char *prefix; /* naming context of the program being compiled */
    int depth;          /* programs being compiled, one inside the other */
    struct wkp_up_set *s;
    uint32_t caps[16]; /* capacities of the set's arrays */
    char *err;
    size_t errlen;
    int rc; /* 0, -1 error, -2 out of memory */
    /* the next_protocol node of each protocol (cycle messages), or NULL */
    yaml_node_t **next_node;
    /* per protocol: used inside another's fields (sub_protocol, type_mapping, repeat) */
    uint8_t *sub_used;
};

/* "file:line:col: message" into the loader's error (the first one wins);
 * returns -1. node may be NULL (the file alone is named). */
int wkp__up_fail(struct up_loader *L, const struct up_doc *d, const yaml_node_t *node,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int wkp__up_oom(struct up_loader *L);
/* compile.c: the program of definition def in naming context prefix
 * (NULL: its own), compiled on first use; ref is the node that asked (for
 * a cycle's message). -1 on error. */
int32_t wkp__up_compile(struct up_loader *L, uint32_t def, const char *prefix,
                        const struct up_doc *refdoc, const yaml_node_t *ref);
/* Intern a field name in the current naming context: its id, or -1. */
int wkp__up_intern(struct up_loader *L, const char *name, size_t len, bool prefixed);
/* Is name a layer the engine parses itself? */
bool wkp__up_builtin_name(const char *name);
/* The protocol called name (n bytes), or -1. */
int wkp__up_def_find(const struct up_loader *L, const char *name);

/* yaml helpers */
yaml_node_t *wkp__up_get(yaml_document_t *doc, yaml_node_t *map, const char *key);
const char *wkp__up_scalar(const yaml_node_t *n); /* NULL if not a scalar */
#endif
