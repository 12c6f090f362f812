/* test_visitor.c - unit tests for ingest/visitor.c and ingest/salt.c's pure half: the
 * derived visitor id (HMAC-SHA-256, pinned by RFC 4231's vectors) and the salt's key by
 * UTC day. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "salt.h"
#include "ts.h"
#include "visitor.h"

static void
hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", b[i]);
    }
}

/* RFC 4231, test cases 1, 2 and 6 (a key longer than the block): the primitive itself. */
static void
test_hmac_rfc4231(void **state)
{
    static const struct {
        const char *key; /* NULL: 20 bytes of 0x0b; "" + n: n bytes of 0xaa */
        size_t aa;
        const char *data;
        const char *mac;
    } cases[] = {
        {NULL, 0, "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", 0, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"", 131, "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    };
    unsigned char key[200], mac[32];
    char out[65];
    size_t klen;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].key == NULL) {
            klen = 20;
            memset(key, 0x0b, klen);
        } else if (cases[i].aa > 0) {
            klen = cases[i].aa;
            memset(key, 0xaa, klen);
        } else {
            klen = strlen(cases[i].key);
            memcpy(key, cases[i].key, klen);
        }
        assert_int_equal(visitor_hmac_sha256(key, klen, (const unsigned char *)cases[i].data,
                                             strlen(cases[i].data), mac),
                         0);
        hex(mac, sizeof mac, out);
        assert_string_equal(out, cases[i].mac);
    }
}

/* The derivation: its message's layout pinned by two values (computed with Python's hmac),
 * then which inputs change the id. */
static void
test_derive(void **state)
{
    unsigned char salt[SALT_LEN], other[SALT_LEN];
    char id[EVENT_VISITOR_ID_LEN + 1], id2[EVENT_VISITOR_ID_LEN + 1];
    static const char *const base[] = {"site-a", "203.0.113.7", "Mozilla/5.0 (X11)"};
    static const char *const changed[][3] = {
        {"site-b", "203.0.113.7", "Mozilla/5.0 (X11)"},   /* another site */
        {"site-a", "203.0.113.8", "Mozilla/5.0 (X11)"},   /* another address */
        {"site-a", "203.0.113.7", "Mozilla/5.0 (Mac)"},   /* another User-Agent */
        {"site-a", "203.0.113.7", NULL},                  /* none */
        {"site-a\0", "203.0.113.7", "Mozilla/5.0 (X11)"}, /* same bytes to strlen() */
        /* The NUL between the parts: moving bytes across them gives another id. */
        {"site-a2", "03.0.113.7", "Mozilla/5.0 (X11)"},
    };
    char big[3000];

    (void)state;
    for (size_t i = 0; i < SALT_LEN; i++) {
        salt[i] = (unsigned char)i;
        other[i] = (unsigned char)(i + 1);
    }
    assert_int_equal(visitor_derive(salt, sizeof salt, base[0], base[1], base[2], id), 0);
    assert_string_equal(id, "ffc9d50b44afba5ccd29eb237eb99a85");
    assert_int_equal(visitor_derive(salt, sizeof salt, "site-a", "203.0.113.7", NULL, id), 0);
    assert_string_equal(id, "684ad1a59cc519b8a290c1342503cea0");
    assert_int_equal(visitor_derive(salt, sizeof salt, "site-a", "203.0.113.7", "", id2), 0);
    assert_string_equal(id, id2); /* no header and an empty one: the same */

    assert_int_equal(visitor_derive(salt, sizeof salt, base[0], base[1], base[2], id), 0);
    assert_int_equal(visitor_derive(salt, sizeof salt, base[0], base[1], base[2], id2), 0);
    assert_string_equal(id, id2); /* same inputs, same id */
    for (size_t i = 0; i < sizeof changed / sizeof changed[0]; i++) {
        assert_int_equal(
            visitor_derive(salt, sizeof salt, changed[i][0], changed[i][1], changed[i][2], id2), 0);
        if (i == 4) {
            assert_string_equal(id, id2);
        } else if (strcmp(id, id2) == 0) {
            fail_msg("case %zu gives the same id %s", i, id);
        }
    }
    /* Another salt (another day): another id. */
    assert_int_equal(visitor_derive(other, sizeof other, base[0], base[1], base[2], id2), 0);
    assert_string_not_equal(id, id2);
    /* A User-Agent longer than the stack buffer: allocated, and still the id of its bytes. */
    memset(big, 'u', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(visitor_derive(salt, sizeof salt, base[0], base[1], big, id), 0);
    assert_int_equal(strlen(id), EVENT_VISITOR_ID_LEN);
    big[100] = 'v';
    assert_int_equal(visitor_derive(salt, sizeof salt, base[0], base[1], big, id2), 0);
    assert_string_not_equal(id, id2);
    for (size_t i = 0; i < EVENT_VISITOR_ID_LEN; i++) {
        assert_non_null(strchr("0123456789abcdef", id[i]));
    }
}

/* The salt's key names the UTC day: the same for every instant of one day, the next at
 * midnight UTC. */
static void
test_salt_key(void **state)
{
    static const struct {
        const char *at;
        const char *key;
    } cases[] = {
        {"2026-12-06T00:00:00Z", "events:salt:2026-12-06"},
        {"2026-12-06T23:59:59.999Z", "events:salt:2026-12-06"},
        {"2026-12-07T00:00:00Z", "events:salt:2026-12-07"},
        {"2026-12-07T00:30:00+01:00", "events:salt:2026-12-06"}, /* 23:30 UTC */
        {"2024-02-29T12:00:00Z", "events:salt:2024-02-29"},
        {"1969-12-31T23:00:00Z", "events:salt:1969-12-31"},
    };
    char key[SALT_KEY_MAX];
    int64_t ms;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(ts_parse_rfc3339(cases[i].at, strlen(cases[i].at), &ms), 0);
        assert_int_equal(salt_key("events", ms, key, sizeof key), 0);
        assert_string_equal(key, cases[i].key);
    }
    assert_int_equal(salt_key("{events}", 0, key, sizeof key), 0);
    assert_string_equal(key, "{events}:salt:1970-01-01");
    assert_int_equal(salt_key("events", 0, key, 10), -1); /* does not fit */
}

static void
test_salt_parse(void **state)
{
    unsigned char s[SALT_LEN];
    char v[2 * SALT_LEN + 1];

    (void)state;
    memset(v, 'a', 2 * SALT_LEN);
    v[2 * SALT_LEN] = '\0';
    v[0] = '0';
    v[1] = 'f';
    assert_int_equal(salt_parse(v, strlen(v), s), 0);
    assert_int_equal(s[0], 0x0f);
    assert_int_equal(s[1], 0xaa);
    assert_int_equal(salt_parse(v, strlen(v) - 1, s), -1); /* short */
    v[5] = 'A';                                            /* upper case: not what we write */
    assert_int_equal(salt_parse(v, strlen(v), s), -1);
    v[5] = 'g';
    assert_int_equal(salt_parse(v, strlen(v), s), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_derive),
        cmocka_unit_test(test_salt_key),
        cmocka_unit_test(test_salt_parse),
    };

    return cmocka_run_group_tests_name("visitor: derived visitor ids, the daily salt's key", tests,
                                       NULL, NULL);
}
