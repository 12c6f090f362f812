/* params.c - reading reporting's query parameters. */
#include "params.h"

#include "http.h"
#include "text.h"

int
reporting_param(const char *qs, const char *name, char *out, size_t max)
{
    int n = qs ? http_query_param(qs, name, out, max + 1) : -1;

    if (n == -1) {
        out[0] = '\0';
        return 0;
    }
    return n == -2 || !text_is_utf8(out, (size_t)n) ? -1 : n;
}
