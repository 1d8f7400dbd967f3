/* An error message made safe to print as one line. Messages quote what a
 * user wrote (a YAML key, a field type, a file name), and that text may
 * hold line breaks or other control characters; a message must stay one
 * line (a caller prints it after "wa1kpcap: " and a test reads it so). Pure
 * function: any thread, no allocation. */
#ifndef WKP_ONELINE_H
#define WKP_ONELINE_H

#include <stddef.h>

/* Rewrites the text at s, NUL-terminated within cap bytes (cap > 0), in
 * place: each control character (below 0x20, and 0x7f) becomes a C escape
 * (\n, \r, \t, or \x followed by two hex digits); other bytes, UTF-8
 * included, are kept. When the escaped text does not fit in cap - 1 bytes,
 * the longest start of it that fits with "..." after it is kept (whole
 * escapes only), then "..."; with cap below 4 there is no room for "..."
 * and the start is kept alone. A text without control characters is left
 * as it is (a text not NUL-terminated within cap ends at cap - 1). */
void wkp_oneline(char *s, size_t cap);

#endif
