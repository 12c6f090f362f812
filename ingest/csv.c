/* csv.c - the comma-separated lists of ingest's configuration (CORS_ORIGINS, SITE_IDS). */
#include "csv.h"

#include <string.h>

static int
blank(char c)
{
    return c == ' ' || c == '\t';
}

int
csv_each(const char *list, csv_item_fn fn, void *arg)
{
    const char *p = list;

    if (list[strspn(list, " \t")] == '\0') {
        return 0;
    }
    for (;;) {
        const char *end = strchr(p, ',');
        const char *stop = end ? end : p + strlen(p);
        while (p < stop && blank(*p)) {
            p++;
        }
        while (stop > p && blank(stop[-1])) {
            stop--;
        }
        if (fn(p, (size_t)(stop - p), arg) != 0) {
            return -1;
        }
        if (end == NULL) {
            return 0;
        }
        p = end + 1;
    }
}
