/* text.h - making arbitrary bytes safe to put in a JSON string. */
#ifndef COMMON_TEXT_H
#define COMMON_TEXT_H

#include <stddef.h>

/* True when s[0..len) is valid UTF-8 with no NUL byte. */
int text_is_utf8(const char *s, size_t len);

/* Copy at most len bytes of src into dst (dstsz bytes, always NUL-terminated), keeping
 * whole valid UTF-8 characters and writing '?' for each byte that is not part of one
 * (or is NUL). The copy stops before a character that would not fit, so the result is
 * always valid UTF-8. Returns the length written. */
size_t text_sanitize(char *dst, size_t dstsz, const char *src, size_t len);

#endif
