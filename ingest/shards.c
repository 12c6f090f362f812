/* shards.c - ingest's queue shards: each event to its visitor's shard (shards.h). */
#include "shards.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "qshard.h"

unsigned
shards_of_event(const struct event *ev, unsigned k)
{
    const char *visitor = ev->user_id != NULL && ev->user_id[0] != '\0' ? ev->user_id : ev->id;

    return qshard_pick(ev->site_id, strlen(ev->site_id), visitor, strlen(visitor), k);
}

unsigned
shards_of_client(const char *site, const char *client, const char *user_agent, unsigned k)
{
    const char *ua = user_agent != NULL ? user_agent : "";
    uint64_t h = hash_fnv1a(HASH_FNV1A_BASIS, site, strlen(site));

    if (k <= 1) {
        return 0;
    }
    h = hash_fnv1a(h, "", 1);
    h = hash_fnv1a(h, client, strlen(client));
    h = hash_fnv1a(h, "", 1);
    h = hash_fnv1a(h, ua, strlen(ua));
    return (unsigned)(h % k);
}

int
shards_push(pusher_t *const *pushers, unsigned k, const struct event *evs,
            const struct shards_extra *extra, char *const *envelopes, const size_t *lens, size_t n,
            size_t *maybe, struct app_err *err)
{
    unsigned *shard = NULL;
    const char **group = NULL;
    size_t *group_lens = NULL, done = 0;
    int rc = 0;

    *maybe = 0;
    if (k <= 1) {
        rc = pusher_push(pushers[0], (const char *const *)envelopes, lens, n, err);
        *maybe = rc != 0 && err->code == ERR_UNKNOWN ? n : 0;
        return rc;
    }
    shard = malloc(n * sizeof *shard);
    group = malloc(n * sizeof *group);
    group_lens = malloc(n * sizeof *group_lens);
    if (shard == NULL || group == NULL || group_lens == NULL) {
        rc = err_set(err, ERR_TRANSIENT, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        shard[i] =
            extra != NULL && extra[i].shard < k ? extra[i].shard : shards_of_event(&evs[i], k);
    }
    /* Shard by shard, in the order the request names them; each group in request order. */
    for (size_t first = 0; first < n && done < n; first++) {
        unsigned s = shard[first];
        size_t m = 0;
        if (s >= k) {
            continue; /* pushed with an earlier group */
        }
        for (size_t i = first; i < n; i++) {
            if (shard[i] == s) {
                group[m] = envelopes[i];
                group_lens[m++] = lens[i];
                shard[i] = k;
            }
        }
        done += m;
        if (pusher_push(pushers[s], group, group_lens, m, err) != 0) {
            /* Stop at the first failure: the shards after it are not tried. */
            *maybe += err->code == ERR_UNKNOWN ? m : 0;
            rc = -1;
            break;
        }
        *maybe += m;
    }
out:
    if (rc == 0) {
        *maybe = 0;
    } else if (*maybe > 0) {
        err->code = ERR_UNKNOWN;
    }
    free(shard);
    free(group);
    free(group_lens);
    return rc;
}
