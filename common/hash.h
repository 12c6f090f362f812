/* hash.h - FNV-1a 64, the one byte-string hash of the programs.
 *
 * Hash tables (the rate limiter's, the rollup planner's, reporting's hosts), the events
 * explorer's cursor check and the stored user hash of a site-hour (rollup_user_hash(),
 * common/rollup_doc.h) all hash with it. The function is fixed: rollup_user_hash() is a
 * stored format and tests/unit/test_rollup_doc.c pins its values; a table that wants
 * another spread changes its seed, not this function. */
#ifndef COMMON_HASH_H
#define COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_BASIS 14695981039346656037ULL
#define HASH_FNV1A_PRIME 1099511628211ULL

/* FNV-1a 64 of the len bytes at p, continued from h: HASH_FNV1A_BASIS starts a hash, a
 * previous result continues it over more bytes (so hashing "ab" equals hashing "b" from the
 * hash of "a"); a table seeds it with HASH_FNV1A_BASIS ^ seed. */
static inline uint64_t
hash_fnv1a(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < len; i++) {
        h = (h ^ b[i]) * HASH_FNV1A_PRIME;
    }
    return h;
}

#endif
