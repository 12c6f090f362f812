/* import_line.c - one line of an export as an event to queue again. */
#include "import_line.h"

#include <string.h>

#include "device.h"
#include "event_doc.h"
#include "sources.h"

/* Member name of obj when present and not null, else NULL. */
static json_t *
member(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    return json_is_null(v) ? NULL : v;
}

/* An optional time member into *ms (and *has 1) when present. */
static int
take_time(json_t *obj, const char *name, int64_t *ms, int *has, struct app_err *err)
{
    *has = member(obj, name) != NULL;
    return *has ? event_take_time(obj, name, ms, err) : 0;
}

/* The stored fields that ingest derives (visitor source, country, attribution, device):
 * each optional, by the envelope's rules. */
static int
take_derived(json_t *obj, struct event *ev, struct app_err *err)
{
    static const char *const attrs[EVENT_N_ATTRS] = EVDOC_ATTR_NAMES;
    json_t *v = member(obj, EVDOC_VISITOR_SOURCE);

    ev->visitor = EVENT_VISITOR_UNKNOWN; /* as stored: none before visitor_source existed */
    if (v != NULL) {
        if (!json_is_string(v) || ev->user_id == NULL || ev->user_id[0] == '\0' ||
            (ev->visitor = event_visitor_parse(json_string_value(v), json_string_length(v))) ==
                EVENT_VISITOR_UNKNOWN) {
            return err_set(err, ERR_INVALID,
                           "Field 'visitor_source' must be client, device or hash, with a "
                           "user_id");
        }
    }
    if ((v = member(obj, EVDOC_COUNTRY)) != NULL) {
        const char *s = json_string_value(v);
        if (!json_is_string(v) || json_string_length(v) != EVENT_COUNTRY_LEN || s[0] < 'A' ||
            s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z') {
            return err_set(err, ERR_INVALID, "Field 'country' must be two letters A-Z");
        }
        memcpy(ev->country, s, EVENT_COUNTRY_LEN + 1);
    }
    for (int a = 0; a < EVENT_N_ATTRS; a++) {
        if ((v = member(obj, attrs[a])) == NULL) {
            continue;
        }
        if (!json_is_string(v) || json_string_length(v) < 1 ||
            json_string_length(v) > EVENT_ATTR_MAX) {
            return err_set(err, ERR_INVALID, "Field '%s' must be a string of 1-%d bytes", attrs[a],
                           EVENT_ATTR_MAX);
        }
        ev->attr[a] = json_string_value(v);
    }
    for (int m = 0; m < DEVICE_N; m++) {
        const char *name = device_members[m].doc;
        if ((v = member(obj, name)) != NULL &&
            (!json_is_string(v) || !device_take(&ev->device, (enum device_member)m,
                                                json_string_value(v), json_string_length(v)))) {
            /* The rule of the envelope's reason, "envelope field 'br' is not <rule>". */
            return err_set(err, ERR_INVALID, "Field '%s' must be %s", name,
                           strstr(device_members[m].reason, " is not ") + 8);
        }
    }
    return 0;
}

int
import_line(const char *line, size_t len, struct event *ev, struct app_err *err)
{
    json_t *obj, *id;
    int has = 0;

    event_init(ev);
    if ((obj = event_parse_body(line, len, err)) == NULL) {
        return err->code == ERR_INVALID ? -2 : -1;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        err_set(err, ERR_INVALID, "Line is not a JSON object");
        return -2;
    }
    if (event_from_request(obj, ev, err) != 0 || sources_check(ev, err) != 0) {
        goto fail;
    }
    json_decref(obj); /* ev->src holds it */
    obj = NULL;
    ev->client_id = NULL;
    ev->screen_width = -1;
    id = member(ev->src, "id");
    if (id == NULL || !json_is_string(id) || json_string_length(id) > EVENT_DOC_ID_MAX ||
        !event_doc_id_valid(json_string_value(id), ev->site_id)) {
        err_set(err, ERR_INVALID,
                "Field 'id' must be the event's _id: a UUIDv7 or '<site_id>:<event_id>' of its "
                "site_id");
        goto fail;
    }
    memcpy(ev->id, json_string_value(id), json_string_length(id) + 1);
    ev->received_ms = -1;
    if (take_time(ev->src, EVDOC_RECEIVED_AT, &ev->received_ms, &has, err) != 0 ||
        take_time(ev->src, EVDOC_CLIENT_TIMESTAMP, &ev->client_ts_ms, &ev->has_client_ts, err) !=
            0 ||
        take_derived(ev->src, ev, err) != 0) {
        goto fail;
    }
    return 0;
fail:
    json_decref(obj);
    event_cleanup(ev);
    return -1;
}
