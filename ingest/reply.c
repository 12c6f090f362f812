/* reply.c - ingest's 202 texts, written without jansson. */
#include "reply.h"

#include <stdlib.h>
#include <string.h>

/* Whether id is written in JSON as it is: printable ASCII, no '"' or '\\'. */
static int
plain_id(const char *id)
{
    for (; *id != '\0'; id++) {
        unsigned char c = (unsigned char)*id;
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            return 0;
        }
    }
    return 1;
}

char *
reply_accepted(const struct event *evs, size_t n_evs, int single)
{
    static const char many[] = "{\"status\":\"accepted\",\"ids\":[";
    static const char one[] = "{\"status\":\"accepted\",\"id\":";
    size_t n = single ? 1 : n_evs, len = sizeof many + 2, at;
    char *out;

    if (n == 0) {
        return NULL; /* no such reply: a batch has 1 to 500 events */
    }
    for (size_t i = 0; i < n; i++) {
        if (!plain_id(evs[i].id)) {
            return NULL;
        }
        len += strlen(evs[i].id) + 3;
    }
    if ((out = malloc(len)) == NULL) {
        return NULL;
    }
    at = single ? sizeof one - 1 : sizeof many - 1;
    memcpy(out, single ? one : many, at);
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(evs[i].id);
        out[at++] = '"';
        memcpy(out + at, evs[i].id, k);
        at += k;
        out[at++] = '"';
        out[at++] = ',';
    }
    at--; /* the last comma */
    if (!single) {
        out[at++] = ']';
    }
    out[at++] = '}';
    out[at] = '\0';
    return out;
}
