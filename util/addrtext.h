/* An IPv4 or IPv6 address as glibc's inet_ntop() writes it, character for
 * character, without its sprintf per group (an address text is made for
 * every flow, and for every address a DNS answer or DHCPv6 option carries).
 * IPv6 follows glibc's inet_ntop6: the longest run of two or more zero
 * groups (the first of equal runs) becomes "::", and ::a.b.c.d and
 * ::ffff:a.b.c.d end in dotted IPv4. Pure function: any thread, no
 * allocation, no locale. tests/unit/test_addrtext.c compares it with
 * inet_ntop(). */
#ifndef WKP_ADDRTEXT_H
#define WKP_ADDRTEXT_H

#include <stdint.h>

/* Room for any text and its NUL: INET6_ADDRSTRLEN (the longest written is
 * 39 characters, eight groups of four hex digits). */
#define WKP_ADDR_TEXT_MAX 46

/* Writes the text of the 4-byte (family 4) or 16-byte (family 6) address a
 * and its NUL into out; returns out. */
char *wkp_addr_text(const uint8_t *a, int family, char out[WKP_ADDR_TEXT_MAX]);

/* The same, returning the end of the text (where its NUL is). */
char *wkp_addr_put(char *out, const uint8_t *a, int family);

#endif
