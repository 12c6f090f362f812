/* test_rcluster.c - unit tests for common/rcluster_map.c (the pure half of common/rcluster.h):
 * key slots against the cluster specification's vectors, addresses, seeds, MOVED and ASK,
 * the slot map from CLUSTER SLOTS replies, the redirect decisions; and what the handle of
 * common/rcluster.c refuses before it sends anything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "rcluster.h"

/* --- replies written as text ----------------------------------------------------------------
 * nil, :123 (integer), "text" (bulk string), +"text" (status), -"text" (error), [a, b, ...]
 * (array). No escapes: a string runs to the next '"'. Built with malloc, as hiredis builds
 * them, so freeReplyObject() frees them. */

static redisReply *parse_reply(const char **p);

static redisReply *
new_reply(int type)
{
    redisReply *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->type = type;
    return r;
}

static void
skip_blanks(const char **p)
{
    while (**p == ' ' || **p == ',') {
        (*p)++;
    }
}

static redisReply *
parse_string(const char **p, int type)
{
    const char *end;
    redisReply *r = new_reply(type);

    assert_int_equal(**p, '"');
    end = strchr(*p + 1, '"');
    assert_non_null(end);
    r->len = (size_t)(end - (*p + 1));
    r->str = malloc(r->len + 1);
    assert_non_null(r->str);
    memcpy(r->str, *p + 1, r->len);
    r->str[r->len] = '\0';
    *p = end + 1;
    return r;
}

static redisReply *
parse_array(const char **p)
{
    redisReply *r = new_reply(REDIS_REPLY_ARRAY);

    (*p)++;
    skip_blanks(p);
    while (**p != ']') {
        assert_int_not_equal(**p, '\0');
        r->element = realloc(r->element, (r->elements + 1) * sizeof *r->element);
        assert_non_null(r->element);
        r->element[r->elements++] = parse_reply(p);
        skip_blanks(p);
    }
    (*p)++;
    return r;
}

static redisReply *
parse_reply(const char **p)
{
    redisReply *r;
    char *end;

    skip_blanks(p);
    switch (**p) {
    case '[':
        return parse_array(p);
    case '"':
        return parse_string(p, REDIS_REPLY_STRING);
    case '+':
        (*p)++;
        return parse_string(p, REDIS_REPLY_STATUS);
    case '-':
        (*p)++;
        return parse_string(p, REDIS_REPLY_ERROR);
    case ':':
        r = new_reply(REDIS_REPLY_INTEGER);
        r->integer = strtoll(*p + 1, &end, 10);
        assert_true(end > *p + 1);
        *p = end;
        return r;
    default:
        assert_int_equal(strncmp(*p, "nil", 3), 0);
        *p += 3;
        return new_reply(REDIS_REPLY_NIL);
    }
}

static redisReply *
reply_of(const char *text)
{
    redisReply *r;

    if (text == NULL) {
        return NULL;
    }
    r = parse_reply(&text);
    skip_blanks(&text);
    assert_int_equal(*text, '\0');
    return r;
}

/* --- CRC16 and key slots ----------------------------------------------------------------- */

static void
test_crc16(void **state)
{
    (void)state;
    assert_int_equal(rcluster_crc16("123456789", 9), 0x31C3);
    assert_int_equal(rcluster_crc16("", 0), 0);
}

/* Each key's slot is the slot of `hashed` (what the specification says is hashed), and,
 * where known from the Redis documentation, a number (-1: not given). */
static const struct {
    const char *key, *hashed;
    int slot;
} slot_rows[] = {
    {"123456789", "123456789", 0x31C3},
    {"somekey", "somekey", 11058},
    {"foo{hash_tag}", "hash_tag", 2515},
    {"{user1000}.following", "user1000", -1},
    {"{user1000}.followers", "user1000", -1},
    {"foo{}{bar}", "foo{}{bar}", -1},
    {"foo{{bar}}zap", "{bar", -1},
    {"foo{bar}{zap}", "bar", -1},
    {"{}", "{}", -1},
    {"{", "{", -1},
    {"}{", "}{", -1},
    {"a{b", "a{b", -1},
    {"a}b{c}", "c", -1},
    {"{a}", "a", -1},
    {"", "", 0},
};

static void
test_key_slot(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof slot_rows / sizeof slot_rows[0]; i++) {
        const char *k = slot_rows[i].key, *h = slot_rows[i].hashed;
        unsigned got = rcluster_key_slot(k, strlen(k));
        if (got != rcluster_crc16(h, strlen(h)) % RCLUSTER_SLOTS ||
            (slot_rows[i].slot >= 0 && got != (unsigned)slot_rows[i].slot)) {
            fail_msg("slot of \"%s\": %u (expected that of \"%s\", %d)", k, got, h,
                     slot_rows[i].slot);
        }
    }
    assert_int_equal(rcluster_key_slot("{user1000}.following", 20),
                     rcluster_key_slot("{user1000}.followers", 20));
    /* The length counts, not a NUL: "{a}" cut to "{a" hashes whole. */
    assert_int_equal(rcluster_key_slot("{a}", 2), rcluster_crc16("{a", 2) % RCLUSTER_SLOTS);
}

static void
test_keys_slot(void **state)
{
    const char *same[] = {"{q:1}:pending", "{q:1}:processing:x", "{q:1}:dead"};
    const size_t same_len[] = {13, 18, 10};
    const char *cross[] = {"foo", "bar"};
    const size_t cross_len[] = {3, 3};

    (void)state;
    assert_int_equal(rcluster_keys_slot(3, same, same_len), rcluster_key_slot("q:1", 3));
    assert_int_equal(rcluster_keys_slot(1, cross, cross_len), 12182);
    assert_int_equal(rcluster_keys_slot(2, cross, cross_len), -1);
    assert_int_equal(rcluster_keys_slot(0, NULL, NULL), -2);
}

/* --- MOVED and ASK ----------------------------------------------------------------------- */

static const struct {
    const char *msg;
    int kind; /* 0: refused */
    unsigned slot;
    const char *host;
    int port;
} redirect_rows[] = {
    {"MOVED 3999 127.0.0.1:6381", RCLUSTER_REDIRECT_MOVED, 3999, "127.0.0.1", 6381},
    {"ASK 3999 127.0.0.1:6381", RCLUSTER_REDIRECT_ASK, 3999, "127.0.0.1", 6381},
    {"MOVED 0 10.0.0.1:1", RCLUSTER_REDIRECT_MOVED, 0, "10.0.0.1", 1},
    {"MOVED 16383 redis-0.redis.svc:65535", RCLUSTER_REDIRECT_MOVED, 16383, "redis-0.redis.svc",
     65535},
    {"MOVED 3999 ::1:6381", RCLUSTER_REDIRECT_MOVED, 3999, "::1", 6381},
    {"ASK 7 2001:db8::7:30001", RCLUSTER_REDIRECT_ASK, 7, "2001:db8::7", 30001},
    {"MOVED 3999 [::1]:6381", RCLUSTER_REDIRECT_MOVED, 3999, "::1", 6381},
    {"MOVED 3999 :6381", RCLUSTER_REDIRECT_MOVED, 3999, "", 6381},
    {"MOVED 03999 h:06381", RCLUSTER_REDIRECT_MOVED, 3999, "h", 6381},
    {"MOVED", 0, 0, NULL, 0},
    {"MOVED ", 0, 0, NULL, 0},
    {"MOVED 3999", 0, 0, NULL, 0},
    {"MOVED 3999 ", 0, 0, NULL, 0},
    {"MOVED 3999 h", 0, 0, NULL, 0},
    {"MOVED 3999 h:", 0, 0, NULL, 0},
    {"MOVED 3999 h:0", 0, 0, NULL, 0},
    {"MOVED 3999 h:65536", 0, 0, NULL, 0},
    {"MOVED 3999 h:123456", 0, 0, NULL, 0},
    {"MOVED 3999 h:63a1", 0, 0, NULL, 0},
    {"MOVED 3999 h:+6381", 0, 0, NULL, 0},
    {"MOVED 3999 h:6381 x", 0, 0, NULL, 0},
    {"MOVED 3999 h:6381\n", 0, 0, NULL, 0},
    {"MOVED 3999  h:6381", 0, 0, NULL, 0},
    {"MOVED 16384 h:6381", 0, 0, NULL, 0},
    {"MOVED 123456 h:6381", 0, 0, NULL, 0},
    {"MOVED -1 h:6381", 0, 0, NULL, 0},
    {"MOVED x h:6381", 0, 0, NULL, 0},
    {"MOVED 3999 [::1:6381", 0, 0, NULL, 0},
    {"MOVED 3999 [::1]6381", 0, 0, NULL, 0},
    {"MOVED 3999 []:6381", 0, 0, NULL, 0},
    {"MOVED 3999 a,b:6381", 0, 0, NULL, 0},
    {"moved 3999 h:6381", 0, 0, NULL, 0},
    {"ASKING 3999 h:6381", 0, 0, NULL, 0},
    {"ERR MOVED 3999 h:6381", 0, 0, NULL, 0},
    {"", 0, 0, NULL, 0},
};

static void
test_parse_redirect(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof redirect_rows / sizeof redirect_rows[0]; i++) {
        struct rcluster_redirect r;
        const char *m = redirect_rows[i].msg;
        int rc = rcluster_parse_redirect(m, strlen(m), &r);
        if (redirect_rows[i].kind == 0) {
            if (rc != -1) {
                fail_msg("\"%s\": accepted", m);
            }
            continue;
        }
        if (rc != 0 || r.kind != redirect_rows[i].kind || r.slot != redirect_rows[i].slot ||
            strcmp(r.to.host, redirect_rows[i].host) != 0 || r.to.port != redirect_rows[i].port) {
            fail_msg("\"%s\": rc %d kind %d slot %u %s port %d", m, rc, r.kind, r.slot, r.to.host,
                     r.to.port);
        }
    }
}

/* --- REDIS_CLUSTER ----------------------------------------------------------------------- */

static const struct {
    const char *spec;
    size_t n; /* 0: refused */
    const char *last_host;
    int last_port;
} seed_rows[] = {
    {"127.0.0.1:7000", 1, "127.0.0.1", 7000},
    {"a:1,b:2,c:3", 3, "c", 3},
    {"redis-0.redis:6379,redis-1.redis:6379", 2, "redis-1.redis", 6379},
    {"[::1]:7000,::1:7001", 2, "::1", 7001},
    {"", 0, NULL, 0},
    {",", 0, NULL, 0},
    {"a:1,", 0, NULL, 0},
    {",a:1", 0, NULL, 0},
    {"a:1,,b:2", 0, NULL, 0},
    {"a:1, b:2", 0, NULL, 0},
    {" a:1", 0, NULL, 0},
    {"a", 0, NULL, 0},
    {"a:", 0, NULL, 0},
    {":1", 0, NULL, 0},
    {"a:0", 0, NULL, 0},
    {"a:70000", 0, NULL, 0},
    {"a:1;b:2", 0, NULL, 0},
    {"a:1,b:2,c:3,d:4", 0, NULL, 0}, /* more than max (3) */
};

static void
test_parse_seeds(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof seed_rows / sizeof seed_rows[0]; i++) {
        struct rcluster_addr seeds[3];
        struct app_err err = {0, ""};
        size_t n = 99;
        int rc = rcluster_parse_seeds(seed_rows[i].spec, seeds, 3, &n, &err);
        if (seed_rows[i].n == 0) {
            if (rc != -1 || err.code != ERR_INVALID || err.msg[0] == '\0') {
                fail_msg("\"%s\": not refused (rc %d, %zu seeds)", seed_rows[i].spec, rc, n);
            }
            continue;
        }
        if (rc != 0 || n != seed_rows[i].n || strcmp(seeds[n - 1].host, seed_rows[i].last_host) ||
            seeds[n - 1].port != seed_rows[i].last_port) {
            fail_msg("\"%s\": rc %d, %zu seeds (%s)", seed_rows[i].spec, rc, n, err.msg);
        }
    }
    assert_int_equal(rcluster_parse_seeds(NULL, NULL, 3, &(size_t){0}, NULL), -1);
}

/* --- the slot map ------------------------------------------------------------------------ */

#define M(a, b, port)                                                                              \
    "[:" #a ", :" #b ", [\"127.0.0.1\", :" #port ", \"id\"], [\"127.0.0.1\", :1, \"r\"]]"

static const struct {
    const char *reply;
    int rc;
    size_t nodes;
    const char *expect; /* "slot>host:port" or "slot>-" (served by no one), blank-separated */
} map_rows[] = {
    {"[" M(0, 5460, 7000) "," M(5461, 10922, 7001) "," M(10923, 16383, 7002) "]", 0, 3,
     "0>127.0.0.1:7000 5460>127.0.0.1:7000 5461>127.0.0.1:7001 10922>127.0.0.1:7001 "
     "10923>127.0.0.1:7002 16383>127.0.0.1:7002"},
    /* one master twice (a slot migrated away from the middle of its range) */
    {"[" M(0, 99, 7000) "," M(100, 100, 7001) "," M(101, 16383, 7000) "]", 0, 2,
     "99>127.0.0.1:7000 100>127.0.0.1:7001 101>127.0.0.1:7000"},
    /* slots served by no one; no replicas; more fields after the port */
    {"[[:10, :20, [\"10.0.0.9\", :6379]], [:30, :30, [\"h\", :1, \"id\", [\"hostname\"]]]]", 0, 2,
     "9>- 10>10.0.0.9:6379 20>10.0.0.9:6379 21>- 30>h:1 31>- 0>- 16383>-"},
    /* an empty host is the node that answered; "?" an unknown endpoint */
    {"[[:0, :1, [\"\", :7005]], [:2, :3, [\"?\", :7006]]]", 0, 1, "0>seed:7005 1>seed:7005 2>-"},
    {"[[:0, :0, [\"::1\", :7000]]]", 0, 1, "0>::1:7000 1>-"},
    {"[]", 0, 0, "0>- 16383>-"},
    {"-\"ERR This instance has cluster support disabled\"", -1, 0, ""},
    {"nil", -1, 0, ""},
    {"[[:0, :5]]", -1, 0, ""},
    {"[[:0, :5, \"127.0.0.1\"]]", -1, 0, ""},
    {"[[:5, :0, [\"h\", :1]]]", -1, 0, ""},
    {"[[:0, :16384, [\"h\", :1]]]", -1, 0, ""},
    {"[[:-1, :3, [\"h\", :1]]]", -1, 0, ""},
    {"[[\"0\", :3, [\"h\", :1]]]", -1, 0, ""},
    {"[[:0, :3, [\"h\"]]]", -1, 0, ""},
    {"[[:0, :3, [\"h\", \"7000\"]]]", -1, 0, ""},
    {"[[:0, :3, [\"h\", :0]]]", -1, 0, ""},
    {"[[:0, :3, [\"h\", :65536]]]", -1, 0, ""},
    {"[[:0, :3, [:1, :7000]]]", -1, 0, ""},
    {"[[:0, :3, [\"a b\", :7000]]]", -1, 0, ""},
    {"[[:0, :3, [\"h\", :1]], [:3, :4, [\"g\", :2]]]", -1, 0, ""},
    {"[[:0, :3, [\"h\", :1]], :5]", -1, 0, ""},
};

static void
check_map_row(const struct rcluster_map *m, size_t row)
{
    char expect[512], *save = NULL;

    snprintf(expect, sizeof expect, "%s", map_rows[row].expect);
    for (char *t = strtok_r(expect, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
        unsigned slot = (unsigned)strtoul(t, NULL, 10);
        const char *want = strchr(t, '>') + 1;
        const struct rcluster_addr *a = rcluster_map_node(m, slot);
        char got[RCLUSTER_HOST_MAX + 8] = "-";
        if (a != NULL) {
            snprintf(got, sizeof got, "%s:%d", a->host, a->port);
        }
        if (strcmp(got, want) != 0) {
            fail_msg("row %zu: slot %u is %s, expected %s", row, slot, got, want);
        }
    }
}

static void
test_map_from_slots(void **state)
{
    struct rcluster_map *m = calloc(1, sizeof *m);

    (void)state;
    assert_non_null(m);
    for (size_t i = 0; i < sizeof map_rows / sizeof map_rows[0]; i++) {
        redisReply *r = reply_of(map_rows[i].reply);
        struct app_err err = {0, ""};
        int rc = rcluster_map_from_slots(m, r, "seed", &err);
        freeReplyObject(r);
        if (rc != map_rows[i].rc || m->n_nodes != map_rows[i].nodes) {
            fail_msg("row %zu: rc %d, %zu nodes (%s)", i, rc, m->n_nodes, err.msg);
        }
        if (rc != 0 &&
            (err.code != ERR_INVALID || m->nodes != NULL || rcluster_map_node(m, 0) != NULL)) {
            fail_msg("row %zu: refused, but the map is not empty or err is %d", i, err.code);
        }
        check_map_row(m, i);
    }
    assert_int_equal(rcluster_map_from_slots(m, NULL, "seed", NULL), -1);
    assert_null(rcluster_map_node(m, RCLUSTER_SLOTS));
    rcluster_map_clear(m);
    free(m);
}

/* --- the redirect decision --------------------------------------------------------------- */

static const struct {
    const char *reply; /* NULL: the node could not be reached */
    int redirects, max;
    enum rcluster_step step;
    int kind;
    unsigned slot;
    const char *host;
    int port;
} decide_rows[] = {
    {"+\"OK\"", 0, 5, RCLUSTER_DONE, 0, 0, NULL, 0},
    {":42", 5, 5, RCLUSTER_DONE, 0, 0, NULL, 0},
    {"nil", 0, 5, RCLUSTER_DONE, 0, 0, NULL, 0},
    {"[\"a\", :1]", 0, 5, RCLUSTER_DONE, 0, 0, NULL, 0},
    {"\"MOVED 1 h:1\"", 0, 5, RCLUSTER_DONE, 0, 0, NULL, 0}, /* a value, not an error */
    {"-\"WRONGTYPE Operation against a key holding the wrong kind of value\"", 0, 5, RCLUSTER_DONE,
     0, 0, NULL, 0},
    {"-\"CROSSSLOT Keys in request don't hash to the same slot\"", 0, 5, RCLUSTER_DONE, 0, 0, NULL,
     0},
    {"-\"MOVEDX 1 h:1\"", 0, 5, RCLUSTER_DONE, 0, 0, NULL, 0},
    {"-\"CLUSTERDOWNX\"", 0, 5, RCLUSTER_DONE, 0, 0, NULL, 0},
    {"-\"MOVED 3999 127.0.0.1:6381\"", 0, 5, RCLUSTER_MOVED, RCLUSTER_REDIRECT_MOVED, 3999,
     "127.0.0.1", 6381},
    {"-\"MOVED 3999 127.0.0.1:6381\"", 4, 5, RCLUSTER_MOVED, RCLUSTER_REDIRECT_MOVED, 3999,
     "127.0.0.1", 6381},
    {"-\"MOVED 3999 127.0.0.1:6381\"", 5, 5, RCLUSTER_GIVE_UP, 0, 0, NULL, 0},
    {"-\"ASK 3999 ::1:6381\"", 1, 5, RCLUSTER_ASK, RCLUSTER_REDIRECT_ASK, 3999, "::1", 6381},
    {"-\"ASK 3999 :6381\"", 1, 5, RCLUSTER_ASK, RCLUSTER_REDIRECT_ASK, 3999, "", 6381},
    {"-\"ASK 3999 127.0.0.1:6381\"", 5, 5, RCLUSTER_GIVE_UP, 0, 0, NULL, 0},
    {"-\"MOVED 3999\"", 0, 5, RCLUSTER_GIVE_UP, 0, 0, NULL, 0},
    {"-\"ASK x y\"", 0, 5, RCLUSTER_GIVE_UP, 0, 0, NULL, 0},
    {"-\"TRYAGAIN Multiple keys request during rehashing of slot\"", 0, 5, RCLUSTER_BACKOFF, 0, 0,
     NULL, 0},
    {"-\"CLUSTERDOWN The cluster is down\"", 2, 5, RCLUSTER_BACKOFF, 0, 0, NULL, 0},
    {"-\"CLUSTERDOWN\"", 5, 5, RCLUSTER_GIVE_UP, 0, 0, NULL, 0},
    {NULL, 0, 5, RCLUSTER_RECONNECT, 0, 0, NULL, 0},
    {NULL, 5, 5, RCLUSTER_GIVE_UP, 0, 0, NULL, 0},
    {NULL, 0, 0, RCLUSTER_GIVE_UP, 0, 0, NULL, 0},
};

static void
test_decide(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof decide_rows / sizeof decide_rows[0]; i++) {
        redisReply *r = reply_of(decide_rows[i].reply);
        struct rcluster_redirect to;
        enum rcluster_step step;

        memset(&to, 0, sizeof to);
        step = rcluster_decide(r, decide_rows[i].redirects, decide_rows[i].max, &to);
        if (step != decide_rows[i].step) {
            fail_msg("row %zu (%s after %d): step %d, expected %d", i,
                     decide_rows[i].reply ? decide_rows[i].reply : "no connection",
                     decide_rows[i].redirects, step, decide_rows[i].step);
        }
        if (decide_rows[i].kind != 0 &&
            (to.kind != decide_rows[i].kind || to.slot != decide_rows[i].slot ||
             strcmp(to.to.host, decide_rows[i].host) != 0 || to.to.port != decide_rows[i].port)) {
            fail_msg("row %zu: redirect %d %u %s:%d", i, to.kind, to.slot, to.to.host, to.to.port);
        }
        if (r != NULL) {
            freeReplyObject(r);
        }
    }
}

static void
test_backoff(void **state)
{
    static const long want[] = {25, 25, 50, 100, 200, 400, 800, 800, 800};

    (void)state;
    for (int i = -1; i <= 6; i++) {
        assert_int_equal(rcluster_backoff_ms(i), want[i + 1]);
    }
    assert_int_equal(rcluster_backoff_ms(1000), 800);
}

/* --- the handle, before it sends --------------------------------------------------------- */

static void
test_handle_refuses(void **state)
{
    struct rcluster_opts o = {"127.0.0.1:1", "", 200, 2, NULL};
    struct app_err err = {0, ""};
    const char *keys[] = {"foo", "bar"};
    const size_t lens[] = {3, 3};
    const char *argv[] = {"MSET", "foo", "1", "bar", "2"};
    const size_t argvlen[] = {4, 3, 1, 3, 1};
    rcluster_t *c;

    (void)state;
    o.seeds = "127.0.0.1:1,nonsense";
    assert_null(rcluster_new(&o, &err));
    assert_int_equal(err.code, ERR_INVALID);

    /* Port 1 on the loopback: nothing listens, every connect is refused at once. */
    o.seeds = "127.0.0.1:1";
    c = rcluster_new(&o, &err);
    assert_non_null(c);
    assert_null(rcluster_command_argv(c, &err, 2, keys, lens, 5, argv, argvlen));
    assert_int_equal(err.code, ERR_INVALID);
    assert_non_null(strstr(err.msg, "CROSSSLOT"));
    assert_null(rcluster_node_of(c, 0));

    err.code = 0;
    assert_null(rcluster_command(c, &err, "foo", "GET %s", "foo"));
    assert_int_equal(err.code, ERR_TRANSIENT);
    assert_int_equal(rcluster_refreshes(c), 0);
    assert_int_equal(rcluster_refresh(c, &err), -1);
    assert_int_equal(err.code, ERR_TRANSIENT);
    rcluster_free(c);
    rcluster_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16),          cmocka_unit_test(test_key_slot),
        cmocka_unit_test(test_keys_slot),      cmocka_unit_test(test_parse_redirect),
        cmocka_unit_test(test_parse_seeds),    cmocka_unit_test(test_map_from_slots),
        cmocka_unit_test(test_decide),         cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_handle_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
