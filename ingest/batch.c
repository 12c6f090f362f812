/* batch.c - the events of a POST /events body, validated together: all or nothing. */
#include "batch.h"

#include "sources.h"

/* Correct ev's timestamp for the client's clock skew (event_correct_ts()), keeping the
 * client's own. Returns 0, or -1 with err set when the result is out of range. */
static int
correct_skew(struct event *ev, int64_t sent_ms, int64_t now, struct app_err *err)
{
    int64_t t;

    if (event_correct_ts(ev->ts_ms, sent_ms, now, &t) != 0) {
        return err_set(err, ERR_INVALID,
                       "Field 'timestamp' corrected by 'sent_at' falls outside years 0001-9999");
    }
    ev->client_ts_ms = ev->ts_ms;
    ev->has_client_ts = 1;
    ev->ts_ms = t;
    return 0;
}

int
batch_validate(json_t *events, int has_sent, int64_t sent_ms, int64_t now, struct event *evs,
               json_t **errors)
{
    json_t *item;
    size_t i, invalid = 0;
    int lost = 0; /* an error that could not be recorded */

    if ((*errors = json_array()) == NULL) {
        return -1;
    }
    json_array_foreach(events, i, item)
    {
        struct app_err err = {0};
        if (event_from_request(item, &evs[i], &err) != 0 || sources_check(&evs[i], &err) != 0 ||
            (has_sent && correct_skew(&evs[i], sent_ms, now, &err) != 0)) {
            /* Counted apart from the list, which may have no room for it. */
            invalid++;
            lost |= json_array_append_new(*errors, json_pack("{s:I,s:s}", "index", (json_int_t)i,
                                                             "message", err.msg)) != 0;
        }
    }
    if (lost) {
        json_decref(*errors);
        *errors = NULL;
        return -1;
    }
    return invalid > 0 ? 1 : 0;
}
