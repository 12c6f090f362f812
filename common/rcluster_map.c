/* rcluster_map.c - the pure half of common/rcluster.h: key slots, addresses, seeds, MOVED and
 * ASK, the slot map from CLUSTER SLOTS, and what to do with each answer. No I/O. */
#include "rcluster.h"

#include <stdlib.h>
#include <string.h>

uint16_t
rcluster_crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;

    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((unsigned char)buf[i] << 8);
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

unsigned
rcluster_key_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);

    if (open != NULL) {
        size_t from = (size_t)(open - key) + 1;
        const char *close = memchr(key + from, '}', len - from);
        if (close != NULL && close > key + from) {
            return rcluster_crc16(key + from, (size_t)(close - (key + from))) % RCLUSTER_SLOTS;
        }
    }
    return rcluster_crc16(key, len) % RCLUSTER_SLOTS;
}

/* A host's bytes: a name's or an address's (letters, digits, "-._:", "%" of a zone). */
static int
host_ok(const char *h, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = h[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              (ch != '\0' && strchr("-._:%", ch) != NULL))) {
            return 0;
        }
    }
    return 1;
}

int
rcluster_parse_addr(const char *s, size_t len, int allow_empty_host, struct rcluster_addr *out)
{
    const char *host = s, *colon;
    size_t host_len;
    long port = 0;

    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL || close + 1 >= s + len || close[1] != ':') {
            return -1;
        }
        host = s + 1;
        host_len = (size_t)(close - host);
        if (host_len == 0) {
            return -1;
        }
        colon = close + 1;
    } else {
        colon = NULL;
        for (size_t i = len; i > 0; i--) {
            if (s[i - 1] == ':') {
                colon = s + i - 1;
                break;
            }
        }
        if (colon == NULL) {
            return -1;
        }
        host_len = (size_t)(colon - s);
    }
    if ((host_len == 0 && !allow_empty_host) || host_len >= RCLUSTER_HOST_MAX ||
        !host_ok(host, host_len)) {
        return -1;
    }
    size_t digits = (size_t)(s + len - (colon + 1));
    if (digits == 0 || digits > 5) {
        return -1;
    }
    for (size_t i = 0; i < digits; i++) {
        char ch = colon[1 + i];
        if (ch < '0' || ch > '9') {
            return -1;
        }
        port = port * 10 + (ch - '0');
    }
    if (port < 1 || port > 65535) {
        return -1;
    }
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';
    out->port = (int)port;
    return 0;
}

int
rcluster_parse_seeds(const char *spec, struct rcluster_addr *seeds, size_t max, size_t *n,
                     struct app_err *err)
{
    const char *p = spec;

    *n = 0;
    if (spec == NULL || spec[0] == '\0') {
        return err_set(err, ERR_INVALID, "no seed node (host:port,host:port,...)");
    }
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (*n == max) {
            return err_set(err, ERR_INVALID, "more than %zu seed nodes", max);
        }
        if (len == 0) {
            return err_set(err, ERR_INVALID, "seed %zu is empty", *n + 1);
        }
        if (rcluster_parse_addr(p, len, 0, &seeds[*n]) != 0) {
            return err_set(err, ERR_INVALID, "seed %zu (\"%.*s\") is not host:port", *n + 1,
                           (int)(len > 64 ? 64 : len), p);
        }
        (*n)++;
        if (end == NULL) {
            return 0;
        }
        p = end + 1;
    }
}

int
rcluster_parse_redirect(const char *msg, size_t len, struct rcluster_redirect *out)
{
    size_t at, digits = 0;
    unsigned slot = 0;

    if (len > 6 && memcmp(msg, "MOVED ", 6) == 0) {
        out->kind = RCLUSTER_REDIRECT_MOVED;
        at = 6;
    } else if (len > 4 && memcmp(msg, "ASK ", 4) == 0) {
        out->kind = RCLUSTER_REDIRECT_ASK;
        at = 4;
    } else {
        return -1;
    }
    while (at < len && msg[at] >= '0' && msg[at] <= '9' && digits < 5) {
        slot = slot * 10 + (unsigned)(msg[at] - '0');
        at++;
        digits++;
    }
    if (digits == 0 || slot >= RCLUSTER_SLOTS || at >= len || msg[at] != ' ') {
        return -1;
    }
    out->slot = slot;
    return rcluster_parse_addr(msg + at + 1, len - at - 1, 1, &out->to);
}

void
rcluster_map_clear(struct rcluster_map *m)
{
    free(m->nodes);
    m->nodes = NULL;
    m->n_nodes = 0;
    for (size_t i = 0; i < RCLUSTER_SLOTS; i++) {
        m->slot_node[i] = RCLUSTER_NO_NODE;
    }
}

const struct rcluster_addr *
rcluster_map_node(const struct rcluster_map *m, unsigned slot)
{
    if (slot >= RCLUSTER_SLOTS || m->slot_node[slot] == RCLUSTER_NO_NODE) {
        return NULL;
    }
    return &m->nodes[m->slot_node[slot]];
}

/* The index of host:port in m->nodes, added when new; -1 when out of memory or full. */
static long
node_index(struct rcluster_map *m, const char *host, size_t host_len, int port)
{
    struct rcluster_addr *grown;

    for (size_t i = 0; i < m->n_nodes; i++) {
        if (m->nodes[i].port == port && strlen(m->nodes[i].host) == host_len &&
            memcmp(m->nodes[i].host, host, host_len) == 0) {
            return (long)i;
        }
    }
    if (m->n_nodes == RCLUSTER_MAX_NODES) {
        return -1;
    }
    grown = realloc(m->nodes, (m->n_nodes + 1) * sizeof *grown);
    if (grown == NULL) {
        return -1;
    }
    m->nodes = grown;
    memcpy(grown[m->n_nodes].host, host, host_len);
    grown[m->n_nodes].host[host_len] = '\0';
    grown[m->n_nodes].port = port;
    return (long)m->n_nodes++;
}

static int
slot_integer(const redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER && r->integer >= 0 && r->integer < RCLUSTER_SLOTS;
}

/* One range of a CLUSTER SLOTS reply into m. */
static int
add_range(struct rcluster_map *m, const redisReply *e, size_t i, const char *answered_by,
          struct app_err *err)
{
    const redisReply *master, *host, *port;
    const char *h;
    size_t h_len;
    long node;

    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 || !slot_integer(e->element[0]) ||
        !slot_integer(e->element[1]) || e->element[0]->integer > e->element[1]->integer) {
        return err_set(err, ERR_INVALID, "CLUSTER SLOTS: range %zu is not [start, end, master]", i);
    }
    master = e->element[2];
    if (master->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
        master->element[0]->type != REDIS_REPLY_STRING ||
        master->element[1]->type != REDIS_REPLY_INTEGER || master->element[1]->integer < 1 ||
        master->element[1]->integer > 65535) {
        return err_set(err, ERR_INVALID, "CLUSTER SLOTS: range %zu: master is not [host, port]", i);
    }
    host = master->element[0];
    port = master->element[1];
    h = host->str;
    h_len = host->len;
    if (h_len == 1 && h[0] == '?') {
        return 0; /* an unknown endpoint: its slots stay unserved */
    }
    if (h_len == 0) {
        h = answered_by;
        h_len = strlen(answered_by);
    }
    if (h_len >= RCLUSTER_HOST_MAX || !host_ok(h, h_len)) {
        return err_set(err, ERR_INVALID, "CLUSTER SLOTS: range %zu: bad host", i);
    }
    node = node_index(m, h, h_len, (int)port->integer);
    if (node < 0) {
        return err_set(err, ERR_INTERNAL, "CLUSTER SLOTS: out of memory or too many masters");
    }
    for (long long s = e->element[0]->integer; s <= e->element[1]->integer; s++) {
        if (m->slot_node[s] != RCLUSTER_NO_NODE) {
            return err_set(err, ERR_INVALID, "CLUSTER SLOTS: slot %lld is in two ranges", s);
        }
        m->slot_node[s] = (uint16_t)node;
    }
    return 0;
}

int
rcluster_map_from_slots(struct rcluster_map *m, const redisReply *r, const char *answered_by,
                        struct app_err *err)
{
    rcluster_map_clear(m);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        return err_set(err, ERR_INVALID, "CLUSTER SLOTS: not an array");
    }
    for (size_t i = 0; i < r->elements; i++) {
        if (add_range(m, r->element[i], i, answered_by, err) != 0) {
            rcluster_map_clear(m);
            return -1;
        }
    }
    return 0;
}

int
rcluster_keys_slot(size_t n, const char *const *keys, const size_t *lens)
{
    unsigned slot;

    if (n == 0) {
        return -2;
    }
    slot = rcluster_key_slot(keys[0], lens[0]);
    for (size_t i = 1; i < n; i++) {
        if (rcluster_key_slot(keys[i], lens[i]) != slot) {
            return -1;
        }
    }
    return (int)slot;
}

/* The error reply's first word is w (followed by a blank or the end). */
static int
first_word(const redisReply *r, const char *w)
{
    size_t n = strlen(w);
    return r->len >= n && memcmp(r->str, w, n) == 0 && (r->len == n || r->str[n] == ' ');
}

enum rcluster_step
rcluster_decide(const redisReply *reply, int redirects, int max_redirects,
                struct rcluster_redirect *to)
{
    enum rcluster_step step;

    if (reply == NULL) {
        step = RCLUSTER_RECONNECT;
    } else if (reply->type != REDIS_REPLY_ERROR || reply->str == NULL) {
        return RCLUSTER_DONE;
    } else if (first_word(reply, "MOVED") || first_word(reply, "ASK")) {
        if (rcluster_parse_redirect(reply->str, reply->len, to) != 0) {
            return RCLUSTER_GIVE_UP;
        }
        step = to->kind == RCLUSTER_REDIRECT_MOVED ? RCLUSTER_MOVED : RCLUSTER_ASK;
    } else if (first_word(reply, "TRYAGAIN") || first_word(reply, "CLUSTERDOWN")) {
        step = RCLUSTER_BACKOFF;
    } else {
        return RCLUSTER_DONE;
    }
    return redirects >= max_redirects ? RCLUSTER_GIVE_UP : step;
}

long
rcluster_backoff_ms(int redirects)
{
    if (redirects < 0) {
        redirects = 0;
    }
    return redirects >= 5 ? 800 : 25L << redirects;
}
