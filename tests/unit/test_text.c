/* test_text.c - unit tests for common/text.c (UTF-8 validation and sanitizing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

/* Validate a string literal, embedded NULs included (its sizeof, not its strlen). */
#define IS_UTF8(lit) text_is_utf8((lit), sizeof(lit) - 1)

/* An oracle written from the Unicode standard's table of well-formed UTF-8 byte
 * sequences (Unicode 15, table 3-7), independent of text.c's decoder: the length of the
 * well-formed, non-NUL character at s[0..avail), or 0 when none starts there. */
static size_t
ref_char_len(const unsigned char *s, size_t avail)
{
    static const struct {
        unsigned char lead_lo, lead_hi, second_lo, second_hi;
        size_t n;
    } rows[] = {
        {0x01, 0x7f, 0, 0, 1},       {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3},
        {0xe1, 0xec, 0x80, 0xbf, 3}, {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3},
        {0xf0, 0xf0, 0x90, 0xbf, 4}, {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
    };

    if (avail == 0) {
        return 0;
    }
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        size_t n = rows[r].n;
        if (s[0] < rows[r].lead_lo || s[0] > rows[r].lead_hi) {
            continue;
        }
        if (n == 1) {
            return 1;
        }
        if (avail < n || s[1] < rows[r].second_lo || s[1] > rows[r].second_hi) {
            return 0;
        }
        for (size_t i = 2; i < n; i++) {
            if (s[i] < 0x80 || s[i] > 0xbf) {
                return 0;
            }
        }
        return n;
    }
    return 0;
}

static int
ref_is_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t n = ref_char_len(s + i, len - i);
        if (n == 0) {
            return 0;
        }
        i += n;
    }
    return 1;
}

/* Sanitize src[0..len) into a dstsz-byte window of a larger buffer filled with '#', then
 * check what holds for every call: the return value is the length of a NUL-terminated
 * result that fits, the result is valid UTF-8, and nothing is written past dstsz. */
static size_t
sanitize(char *dst, size_t dstsz, const char *src, size_t len)
{
    char buf[256];
    size_t n;

    assert_true(dstsz + 1 <= sizeof buf);
    memset(buf, '#', sizeof buf);
    n = text_sanitize(buf, dstsz, src, len);
    if (dstsz == 0) {
        assert_int_equal(n, 0);
    } else {
        assert_true(n < dstsz);
        assert_int_equal(buf[n], '\0');
        assert_int_equal(strlen(buf), n);
        assert_true(text_is_utf8(buf, n));
        assert_true(ref_is_utf8((const unsigned char *)buf, n));
    }
    for (size_t i = dstsz; i < sizeof buf; i++) {
        if (buf[i] != '#') {
            fail_msg("text_sanitize wrote byte %zu with dstsz %zu", i, dstsz);
        }
    }
    if (dst != NULL) {
        memcpy(dst, buf, dstsz);
    }
    return n;
}

static void
test_is_utf8_ascii(void **state)
{
    char all[127];

    (void)state;
    assert_true(IS_UTF8(""));
    assert_true(IS_UTF8("a"));
    assert_true(IS_UTF8("hello, world"));
    assert_true(IS_UTF8("{\"site_id\":\"site-abc-123\"}\t\r\n"));
    for (size_t i = 0; i < sizeof all; i++) {
        all[i] = (char)(i + 1);
    }
    assert_true(text_is_utf8(all, sizeof all));
    assert_false(IS_UTF8("\x80"));
    assert_false(IS_UTF8("\xff"));
    assert_false(IS_UTF8("abc\xfe"));
}

static void
test_is_utf8_multibyte(void **state)
{
    (void)state;
    /* Two bytes: the smallest (U+0080), e-acute, the largest (U+07FF). */
    assert_true(IS_UTF8("\xc2\x80"));
    assert_true(IS_UTF8("caf\xc3\xa9"));
    assert_true(IS_UTF8("\xdf\xbf"));
    /* Three bytes: U+0800, the euro sign, U+D7FF and U+E000 around the surrogates, U+FFFF. */
    assert_true(IS_UTF8("\xe0\xa0\x80"));
    assert_true(IS_UTF8("\xe2\x82\xac"));
    assert_true(IS_UTF8("\xed\x9f\xbf"));
    assert_true(IS_UTF8("\xee\x80\x80"));
    assert_true(IS_UTF8("\xef\xbf\xbf"));
    /* Four bytes: U+10000, an emoji, U+10FFFF. */
    assert_true(IS_UTF8("\xf0\x90\x80\x80"));
    assert_true(IS_UTF8("\xf0\x9f\x98\x80"));
    assert_true(IS_UTF8("\xf4\x8f\xbf\xbf"));
    /* Mixed. */
    assert_true(IS_UTF8("a\xc3\xa9"
                        "b\xe2\x82\xac"
                        "c\xf0\x9f\x98\x80"
                        "d"));
}

static void
test_is_utf8_rejects_nul(void **state)
{
    (void)state;
    assert_false(IS_UTF8("\0"));
    assert_false(IS_UTF8("a\0b"));
    assert_false(IS_UTF8("abc\0"));
    assert_false(IS_UTF8("\xc3\xa9\0"));
    /* The two-byte "modified UTF-8" NUL is overlong, so it is no way around this. */
    assert_false(IS_UTF8("\xc0\x80"));
}

static void
test_is_utf8_rejects_overlong(void **state)
{
    (void)state;
    assert_false(IS_UTF8("\xc0\x80"));
    assert_false(IS_UTF8("\xc0\xaf")); /* '/' */
    assert_false(IS_UTF8("\xc1\xbf"));
    assert_false(IS_UTF8("\xe0\x80\x80"));
    assert_false(IS_UTF8("\xe0\x80\xaf"));
    assert_false(IS_UTF8("\xe0\x9f\xbf")); /* U+07FF in three bytes */
    assert_false(IS_UTF8("\xf0\x80\x80\x80"));
    assert_false(IS_UTF8("\xf0\x80\x80\xaf"));
    assert_false(IS_UTF8("\xf0\x8f\xbf\xbf")); /* U+FFFF in four bytes */
    /* Five- and six-byte forms were removed from UTF-8. */
    assert_false(IS_UTF8("\xf8\x88\x80\x80\x80"));
    assert_false(IS_UTF8("\xfc\x84\x80\x80\x80\x80"));
}

static void
test_is_utf8_rejects_surrogates(void **state)
{
    (void)state;
    assert_false(IS_UTF8("\xed\xa0\x80"));             /* U+D800 */
    assert_false(IS_UTF8("\xed\xad\xbf"));             /* U+DB7F */
    assert_false(IS_UTF8("\xed\xb0\x80"));             /* U+DC00 */
    assert_false(IS_UTF8("\xed\xbf\xbf"));             /* U+DFFF */
    assert_false(IS_UTF8("\xed\xa0\xbd\xed\xb8\x80")); /* CESU-8 pair for U+1F600 */
    assert_false(IS_UTF8("ok\xed\xa0\x80ok"));
}

static void
test_is_utf8_rejects_above_max(void **state)
{
    (void)state;
    assert_false(IS_UTF8("\xf4\x90\x80\x80")); /* U+110000 */
    assert_false(IS_UTF8("\xf4\xbf\xbf\xbf"));
    assert_false(IS_UTF8("\xf5\x80\x80\x80"));
    assert_false(IS_UTF8("\xf7\xbf\xbf\xbf"));
    assert_false(IS_UTF8("\xfe"));
    assert_false(IS_UTF8("\xff\xff\xff\xff"));
}

static void
test_is_utf8_rejects_truncated(void **state)
{
    (void)state;
    assert_false(IS_UTF8("\xc3"));
    assert_false(IS_UTF8("\xe2"));
    assert_false(IS_UTF8("\xe2\x82"));
    assert_false(IS_UTF8("\xf0"));
    assert_false(IS_UTF8("\xf0\x9f"));
    assert_false(IS_UTF8("\xf0\x9f\x98"));
    assert_false(IS_UTF8("abc\xf0\x9f\x98"));
    /* Cut short by another character rather than by the end. */
    assert_false(IS_UTF8("\xc3"
                         "a"));
    assert_false(IS_UTF8("\xe2\x82"
                         "a"));
    assert_false(IS_UTF8("\xf0\x9f\x98"
                         "a"));
    assert_false(IS_UTF8("\xe2\xc3\xa9"));
    /* A continuation byte with no lead, and one too many. */
    assert_false(IS_UTF8("\x80"
                         "abc"));
    assert_false(IS_UTF8("\xc3\xa9\xa9"));
}

static void
test_is_utf8_respects_len(void **state)
{
    static const char euro_then_bad[] = "x\xe2\x82\xac\xff";
    static const char emoji[] = "\xf0\x9f\x98\x80";
    char *p;

    (void)state;
    /* A valid prefix of an invalid buffer is valid; the bytes past len are not read. */
    assert_false(text_is_utf8(euro_then_bad, 5));
    assert_true(text_is_utf8(euro_then_bad, 4));
    assert_true(text_is_utf8(euro_then_bad, 1));
    assert_true(text_is_utf8(euro_then_bad, 0));
    assert_false(text_is_utf8(euro_then_bad, 3)); /* splits the euro sign */
    assert_false(text_is_utf8(euro_then_bad, 2));
    assert_true(text_is_utf8("ab\0cd", 2));
    assert_false(text_is_utf8("ab\0cd", 3));
    for (size_t n = 1; n < 4; n++) {
        assert_false(text_is_utf8(emoji, n));
    }
    assert_true(text_is_utf8(emoji, 4));
    /* A lead byte at the very end of an allocation: under ASan a read past len fails. */
    p = malloc(2);
    assert_non_null(p);
    memcpy(p, "a\xc3", 2);
    assert_false(text_is_utf8(p, 2));
    assert_true(text_is_utf8(p, 1));
    free(p);
}

/* Every string of one, two and three bytes, against the oracle. */
static void
test_is_utf8_exhaustive_short(void **state)
{
    unsigned char b[3];

    (void)state;
    for (unsigned int x = 0; x < 0x100; x++) {
        b[0] = (unsigned char)x;
        if (text_is_utf8((const char *)b, 1) != ref_is_utf8(b, 1)) {
            fail_msg("disagree on %02x", x);
        }
    }
    for (unsigned int x = 0; x < 0x10000; x++) {
        b[0] = (unsigned char)(x >> 8);
        b[1] = (unsigned char)x;
        if (text_is_utf8((const char *)b, 2) != ref_is_utf8(b, 2)) {
            fail_msg("disagree on %02x %02x", b[0], b[1]);
        }
    }
    for (unsigned long x = 0; x < 0x1000000UL; x++) {
        b[0] = (unsigned char)(x >> 16);
        b[1] = (unsigned char)(x >> 8);
        b[2] = (unsigned char)x;
        if (text_is_utf8((const char *)b, 3) != ref_is_utf8(b, 3)) {
            fail_msg("disagree on %02x %02x %02x", b[0], b[1], b[2]);
        }
    }
}

/* Four-byte strings whose first byte is a four-byte lead (or past one), with every second
 * byte and the interesting values of the last two, against the oracle. */
static void
test_is_utf8_exhaustive_four_byte_leads(void **state)
{
    static const unsigned char tail[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f,
                                         0xa0, 0xbf, 0xc0, 0xc3, 0xe2, 0xf0, 0xff};
    const size_t nt = sizeof tail;
    unsigned char b[4];

    (void)state;
    for (unsigned int lead = 0xf0; lead <= 0xff; lead++) {
        for (unsigned int second = 0; second < 0x100; second++) {
            for (size_t i = 0; i < nt; i++) {
                for (size_t j = 0; j < nt; j++) {
                    b[0] = (unsigned char)lead;
                    b[1] = (unsigned char)second;
                    b[2] = tail[i];
                    b[3] = tail[j];
                    if (text_is_utf8((const char *)b, 4) != ref_is_utf8(b, 4)) {
                        fail_msg("disagree on %02x %02x %02x %02x", b[0], b[1], b[2], b[3]);
                    }
                }
            }
        }
    }
}

static void
test_sanitize_valid_input_copied(void **state)
{
    static const char in[] = "caf\xc3\xa9 \xe2\x82\xac 5 \xf0\x9f\x98\x80!";
    char out[64];

    (void)state;
    assert_int_equal(sanitize(out, sizeof out, in, sizeof in - 1), sizeof in - 1);
    assert_memory_equal(out, in, sizeof in);
    assert_int_equal(sanitize(out, sizeof out, "", 0), 0);
    assert_string_equal(out, "");
    /* len is respected: the bytes after it are not copied. */
    assert_int_equal(sanitize(out, sizeof out, "abcdef", 3), 3);
    assert_string_equal(out, "abc");
}

static void
test_sanitize_invalid_bytes_become_question_marks(void **state)
{
    char out[64];

    (void)state;
    /* One '?' per byte that is not part of a valid character. */
    assert_int_equal(sanitize(out, sizeof out,
                              "a\xff"
                              "b",
                              3),
                     3);
    assert_string_equal(out, "a?b");
    assert_int_equal(sanitize(out, sizeof out, "\x80\x80\x80", 3), 3);
    assert_string_equal(out, "???");
    assert_int_equal(sanitize(out, sizeof out, "\xc0\x80", 2), 2);
    assert_string_equal(out, "??");
    assert_int_equal(sanitize(out, sizeof out, "\xe0\x80\x80", 3), 3);
    assert_string_equal(out, "???");
    assert_int_equal(sanitize(out, sizeof out, "\xed\xa0\x80", 3), 3);
    assert_string_equal(out, "???");
    assert_int_equal(sanitize(out, sizeof out, "\xf4\x90\x80\x80", 4), 4);
    assert_string_equal(out, "????");
    /* A truncated character at the end. */
    assert_int_equal(sanitize(out, sizeof out, "ok\xe2\x82", 4), 4);
    assert_string_equal(out, "ok??");
    /* Valid characters around and between invalid bytes are kept whole. */
    assert_int_equal(sanitize(out, sizeof out, "\xc3\xc3\xa9\xe2\x82\xac\xff\xf0\x9f\x98\x80", 11),
                     11);
    assert_string_equal(out, "?\xc3\xa9\xe2\x82\xac?\xf0\x9f\x98\x80");
    /* A lead byte cut short by an ASCII character: the ASCII character survives. */
    assert_int_equal(sanitize(out, sizeof out, "\xe2\x82x", 3), 3);
    assert_string_equal(out, "??x");
}

static void
test_sanitize_nul_becomes_question_mark(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(sanitize(out, sizeof out, "a\0b", 3), 3);
    assert_string_equal(out, "a?b");
    assert_int_equal(sanitize(out, sizeof out, "\0\0", 2), 2);
    assert_string_equal(out, "??");
    assert_int_equal(sanitize(out, sizeof out, "\xc3\xa9\0", 3), 3);
    assert_string_equal(out, "\xc3\xa9?");
}

static void
test_sanitize_small_destinations(void **state)
{
    char out[4] = {'#', '#', '#', '#'};

    (void)state;
    /* dstsz 0: nothing at all is written, not even the NUL. */
    assert_int_equal(text_sanitize(out, 0, "abc", 3), 0);
    assert_int_equal(out[0], '#');
    assert_int_equal(text_sanitize(out, 0, "\xff", 1), 0);
    assert_int_equal(out[0], '#');
    assert_int_equal(sanitize(NULL, 0, "abc", 3), 0);
    /* dstsz 1: only the NUL fits. */
    assert_int_equal(sanitize(out, 1, "abc", 3), 0);
    assert_int_equal(out[0], '\0');
    assert_int_equal(sanitize(out, 1, "\xff", 1), 0);
    assert_int_equal(out[0], '\0');
    assert_int_equal(sanitize(out, 1, "", 0), 0);
    assert_int_equal(out[0], '\0');
    /* dstsz 2: one byte; a two-byte character does not fit and is not split. */
    assert_int_equal(sanitize(out, 2, "\xc3\xa9", 2), 0);
    assert_string_equal(out, "");
    assert_int_equal(sanitize(out, 2, "\xff\xff", 2), 1);
    assert_string_equal(out, "?");
}

/* For every dstsz, the result is the longest whole-character prefix of the full result. */
static void
test_sanitize_truncation_never_splits(void **state)
{
    static const char in[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff"
                             "b\0\xf0\x9f\x98";
    static const char full[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80?b????";
    /* Where each character of full ends. */
    static const size_t ends[] = {0, 1, 3, 6, 10, 11, 12, 13, 14, 15, 16};
    char out[64];

    (void)state;
    assert_int_equal(sizeof in, sizeof full);
    for (size_t dstsz = 1; dstsz <= sizeof full + 2; dstsz++) {
        size_t want = 0;
        for (size_t k = 0; k < sizeof ends / sizeof ends[0]; k++) {
            if (ends[k] < dstsz) {
                want = ends[k];
            }
        }
        size_t n = sanitize(out, dstsz, in, sizeof in - 1);
        if (n != want || memcmp(out, full, n) != 0) {
            fail_msg("dstsz %zu: got %zu bytes, want %zu", dstsz, n, want);
        }
    }
}

/* Exact fits: a character that fits with its NUL is kept. */
static void
test_sanitize_exact_fit(void **state)
{
    char out[8];

    (void)state;
    assert_int_equal(sanitize(out, 5, "\xf0\x9f\x98\x80", 4), 4);
    assert_string_equal(out, "\xf0\x9f\x98\x80");
    assert_int_equal(sanitize(out, 4, "\xf0\x9f\x98\x80", 4), 0);
    assert_string_equal(out, "");
    assert_int_equal(sanitize(out, 4, "\xe2\x82\xac", 3), 3);
    assert_string_equal(out, "\xe2\x82\xac");
    assert_int_equal(sanitize(out, 4, "ab\xc3\xa9", 4), 2);
    assert_string_equal(out, "ab");
    assert_int_equal(sanitize(out, 5, "ab\xc3\xa9", 4), 4);
    assert_string_equal(out, "ab\xc3\xa9");
}

/* The greedy reference: copy each well-formed character, '?' for any other byte. */
static size_t
ref_sanitize(char *dst, const unsigned char *src, size_t len)
{
    size_t i = 0, o = 0;

    while (i < len) {
        size_t n = ref_char_len(src + i, len - i);
        if (n == 0) {
            dst[o++] = '?';
            i++;
        } else {
            memcpy(dst + o, src + i, n);
            o += n;
            i += n;
        }
    }
    dst[o] = '\0';
    return o;
}

/* Every string of one and two bytes, and every three-byte string that starts with a
 * multibyte lead, against the reference, with room to spare. */
static void
test_sanitize_exhaustive_short(void **state)
{
    unsigned char b[3];
    char got[16], want[16];

    (void)state;
    for (unsigned long x = 0; x < 0x1000000UL; x++) {
        size_t len = x < 0x100 ? 1 : x < 0x10000 ? 2 : 3;
        b[0] = (unsigned char)(len == 3 ? x >> 16 : len == 2 ? x >> 8 : x);
        b[1] = (unsigned char)(len == 3 ? x >> 8 : x);
        b[2] = (unsigned char)x;
        if (len == 3 && b[0] < 0xc0) {
            x |= 0xffff; /* skip to the next first byte */
            continue;
        }
        size_t n = text_sanitize(got, sizeof got, (const char *)b, len);
        size_t m = ref_sanitize(want, b, len);
        if (n != m || strcmp(got, want) != 0) {
            fail_msg("disagree on %lx (len %zu)", x, len);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_utf8_ascii),
        cmocka_unit_test(test_is_utf8_multibyte),
        cmocka_unit_test(test_is_utf8_rejects_nul),
        cmocka_unit_test(test_is_utf8_rejects_overlong),
        cmocka_unit_test(test_is_utf8_rejects_surrogates),
        cmocka_unit_test(test_is_utf8_rejects_above_max),
        cmocka_unit_test(test_is_utf8_rejects_truncated),
        cmocka_unit_test(test_is_utf8_respects_len),
        cmocka_unit_test(test_is_utf8_exhaustive_short),
        cmocka_unit_test(test_is_utf8_exhaustive_four_byte_leads),
        cmocka_unit_test(test_sanitize_valid_input_copied),
        cmocka_unit_test(test_sanitize_invalid_bytes_become_question_marks),
        cmocka_unit_test(test_sanitize_nul_becomes_question_mark),
        cmocka_unit_test(test_sanitize_small_destinations),
        cmocka_unit_test(test_sanitize_truncation_never_splits),
        cmocka_unit_test(test_sanitize_exact_fit),
        cmocka_unit_test(test_sanitize_exhaustive_short),
    };

    return cmocka_run_group_tests_name("text: UTF-8 validation and sanitizing", tests, NULL, NULL);
}
