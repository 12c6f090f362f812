/* params.c - reading reporting's query parameters. */
#include "params.h"

#include <string.h>

#include "framing.h"
#include "text.h"

int
params_find(const char *qs, const char *name, char *out, size_t outsz)
{
    return params_find_nth(qs, name, 0, out, outsz);
}

int
params_has(const char *qs, const char *name)
{
    char none[1];

    /* With no room, a present parameter never fits: -2; absent is -1. */
    return params_find(qs, name, none, 0) != -1;
}

int
params_find_nth(const char *qs, const char *name, int nth, char *out, size_t outsz)
{
    size_t nlen = strlen(name);
    const char *p = qs;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, '&');
        const char *stop = end ? end : p + strlen(p);
        if ((size_t)(stop - p) >= nlen && strncmp(p, name, nlen) == 0 &&
            (p + nlen == stop || p[nlen] == '=') && nth-- == 0) {
            const char *v = p + nlen + (p + nlen < stop ? 1 : 0);
            size_t o = 0;
            while (v < stop) {
                char c = *v++;
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    int hi = v < stop ? framing_hex_digit(v[0]) : -1;
                    int lo = v + 1 < stop ? framing_hex_digit(v[1]) : -1;
                    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                        return -2;
                    }
                    c = (char)(hi * 16 + lo);
                    v += 2;
                }
                if (o + 1 >= outsz) {
                    return -2;
                }
                out[o++] = c;
            }
            if (o >= outsz) {
                return -2;
            }
            out[o] = '\0';
            return (int)o;
        }
        p = end ? end + 1 : NULL;
    }
    return -1;
}

int
reporting_param(const char *qs, const char *name, char *out, size_t max)
{
    int n = qs ? params_find(qs, name, out, max + 1) : -1;

    if (n == -1) {
        out[0] = '\0';
        return 0;
    }
    return n == -2 || !text_is_utf8(out, (size_t)n) ? -1 : n;
}
