/* text.c - making arbitrary bytes safe to put in a JSON string. */
#include "text.h"

/* Length of the valid UTF-8 character at s (1-4), or 0 when s does not start one. */
static size_t
char_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned int cp;

    if (c == 0) {
        return 0;
    }
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF are invalid. */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

int
text_is_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t n = char_len(p + i, len - i);
        if (n == 0) {
            return 0;
        }
        i += n;
    }
    return 1;
}

size_t
text_sanitize(char *dst, size_t dstsz, const char *src, size_t len)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t i = 0, o = 0;

    if (dstsz == 0) {
        return 0;
    }
    while (i < len) {
        size_t n = char_len(p + i, len - i);
        if (n == 0) {
            if (o + 1 >= dstsz) {
                break;
            }
            dst[o++] = '?';
            i++;
            continue;
        }
        if (o + n >= dstsz) {
            break;
        }
        for (size_t k = 0; k < n; k++) {
            dst[o++] = (char)p[i + k];
        }
        i += n;
    }
    dst[o] = '\0';
    return o;
}
