/* Blocks kept by size for reuse (see spares.h). */
#include "util/spares.h"

#include <stdlib.h>
#include <string.h>

void *wkp_spare_take(struct wkp_spares *s, size_t size)
{
    int k = wkp_spare_class(size);
    if (s && k >= 0 && s->n[k]) {
        void *p = s->head[k];
        memcpy(&s->head[k], p, sizeof p);
        s->n[k]--;
        return p;
    }
    return malloc(size);
}

void wkp_spare_give(struct wkp_spares *s, void *p, size_t size)
{
    if (!p)
        return;
    int k = wkp_spare_class(size);
    if (s && k >= 0 && ((size_t)s->n[k] + 1) * size <= WKP_SPARE_KEEP) {
        memcpy(p, &s->head[k], sizeof p);
        s->head[k] = p;
        s->n[k]++;
        return;
    }
    free(p);
}

void wkp_spares_fini(struct wkp_spares *s)
{
    for (int k = 0; k < WKP_SPARE_CLASSES; k++) {
        while (s->head[k]) {
            void *p = s->head[k];
            memcpy(&s->head[k], p, sizeof p);
            free(p);
        }
        s->n[k] = 0;
    }
}
