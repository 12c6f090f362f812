/* envelope.c - the queue envelope: how an event travels from ingest to the processor. */
#include "envelope.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

char *
envelope_encode(const struct event *ev, size_t *len)
{
    json_t *o = json_pack("{s:i,s:s,s:s,s:s,s:I,s:I}", "v", ENVELOPE_VERSION, "id", ev->id,
                          "site_id", ev->site_id, "event_type", ev->event_type, "ts",
                          (json_int_t)ev->ts_ms, "received", (json_int_t)ev->received_ms);
    char *out = NULL;

    if (o == NULL) {
        return NULL;
    }
    if ((ev->path && json_object_set_new(o, "path", json_string(ev->path)) != 0) ||
        (ev->user_id && json_object_set_new(o, "user_id", json_string(ev->user_id)) != 0) ||
        (ev->properties && json_object_set(o, "properties", ev->properties) != 0) ||
        (ev->request_id && json_object_set_new(o, "rid", json_string(ev->request_id)) != 0)) {
        goto done;
    }
    out = json_dumps(o, JSON_COMPACT);
    if (out != NULL && len != NULL) {
        *len = strlen(out);
    }
done:
    json_decref(o);
    return out;
}

int
envelope_decode(const char *buf, size_t len, struct event *ev, struct app_err *err)
{
    json_error_t jerr;
    json_t *o = json_loadb(buf, len, 0, &jerr);
    json_t *v, *id;
    int rc = -1;

    event_init(ev);
    if (o == NULL) {
        err_set(err, ERR_INVALID, "envelope is not JSON: %s", jerr.text);
        goto done;
    }
    v = json_object_get(o, "v");
    if (!json_is_integer(v) || json_integer_value(v) != ENVELOPE_VERSION) {
        err_set(err, ERR_INVALID, "envelope version is not %d", ENVELOPE_VERSION);
        goto done;
    }
    id = json_object_get(o, "id");
    if (!json_is_string(id) || !event_id_valid(json_string_value(id))) {
        err_set(err, ERR_INVALID, "envelope has no valid event id");
        goto done;
    }
    if (event_from_json(o, EVENT_FROM_QUEUE, ev, err) != 0) {
        goto done;
    }
    memcpy(ev->id, json_string_value(id), EVENT_ID_LEN + 1);
    rc = 0;
done:
    json_decref(o);
    return rc;
}
