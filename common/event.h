/* event.h - the analytics event: a client's event, the fields an envelope shares, its id. */
#ifndef COMMON_EVENT_H
#define COMMON_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Field limits of the contract (docs/api.md), in bytes. */
#define EVENT_SITE_ID_MAX 256
#define EVENT_TYPE_MAX 64
#define EVENT_PATH_MAX 2048
#define EVENT_USER_ID_MAX 256
/* MongoDB refuses documents nested more than 100 levels; properties get a
 * generous share of that, and a clear 400 instead of a dead letter. */
#define EVENT_PROPERTIES_DEPTH_MAX 32
/* A request body may nest arrays and objects at most this deep, checked before it is
 * parsed: jansson's parser recurses once per level (up to its own limit of 2048), and
 * an HTTP worker thread has about 100 KiB of stack, which a body of 1,000 brackets
 * overflows. 64 leaves room for an /events array, its event objects and properties
 * at EVENT_PROPERTIES_DEPTH_MAX, so those still get their precise message. */
#define EVENT_BODY_DEPTH_MAX 64

/* An event id is a UUID version 7 in its 36-character text form: 48 bits of
 * millisecond time then 74 random bits from getrandom(), so ids from any
 * number of ingest instances do not collide (and sort by creation time). */
#define EVENT_ID_LEN 36

/* A client's own id for an event (its `event_id`, or POST /event's Idempotency-Key):
 * 1-64 characters of [A-Za-z0-9_-]. The event's _id is then "<site_id>:<event_id>"
 * (event_derive_id()), at most EVENT_DOC_ID_MAX characters; unambiguous, since an
 * event_id has no ':'. */
#define EVENT_CLIENT_ID_MAX 64
#define EVENT_DOC_ID_MAX (EVENT_SITE_ID_MAX + 1 + EVENT_CLIENT_ID_MAX)

/* The string members that a client's event and an envelope share. */
enum event_string { EVENT_SITE_ID, EVENT_EVENT_TYPE, EVENT_PATH, EVENT_USER_ID, EVENT_N_STRINGS };

/* True when len bytes is a length that string member m may have: site_id 1-256 bytes,
 * event_type 1-64, path at most 2048, user_id at most 256. The one statement of those rules,
 * read by event_take_fields() and by both fast paths (event_scan(), envelope_decode()). */
int event_string_fits(enum event_string m, size_t len);

/* The bytes of a path that are stored: those before its first '?' or '#'. A path is the
 * page's URL path; its query string and fragment (tokens, e-mail addresses, search terms)
 * are never stored, whoever sends them (the tracker sends location.pathname only). */
size_t event_path_len(const char *path);

/* For a fast path that found the string members s[m] (len[m] bytes; NULL when absent) as
 * strings that jansson would read as those same bytes: true when event_take_fields() accepts
 * them, that is when site_id and event_type are present and every one present fits. */
int event_plain_strings_valid(const char *const s[EVENT_N_STRINGS],
                              const size_t len[EVENT_N_STRINGS]);

/* How an event's visitor (its user_id) was known: the stored document's visitor_source
 * (common/event_doc.h) and the envelope's "vsrc". EVENT_VISITOR_UNKNOWN: no user_id, or an
 * event queued before visitor sources existed. */
enum event_visitor {
    EVENT_VISITOR_UNKNOWN = 0,
    EVENT_VISITOR_CLIENT, /* "client": user_id sent by the client (identify(), data-user-id) */
    EVENT_VISITOR_DEVICE, /* "device": the tracker's id stored on the device (data-storage) */
    EVENT_VISITOR_HASH,   /* "hash": derived by ingest, a keyed hash of the day (visitor.h) */
};

/* A country code: ISO 3166-1 alpha-2, two uppercase letters (the envelope's "cc"). */
#define EVENT_COUNTRY_LEN 2

/* A page view's attribution (ingest/sources.h): its source, medium and channel, and its
 * campaign's utm_* parameters; the envelope's "att" member and the stored document's fields
 * of the names EVDOC_ATTR_NAMES lists (common/event_doc.h). Each at most EVENT_ATTR_MAX bytes of
 * UTF-8. */
enum event_attr {
    EVENT_ATTR_SOURCE,
    EVENT_ATTR_MEDIUM,
    EVENT_ATTR_CHANNEL,
    EVENT_ATTR_UTM_SOURCE,
    EVENT_ATTR_UTM_MEDIUM,
    EVENT_ATTR_UTM_CAMPAIGN,
    EVENT_ATTR_UTM_TERM,
    EVENT_ATTR_UTM_CONTENT,
    EVENT_N_ATTRS
};
#define EVENT_ATTR_MAX 256
/* The longest referrer host kept: a DNS name. */
#define EVENT_HOST_MAX 253
/* A derived visitor id: 32 lowercase hex characters (128 bits of HMAC-SHA-256). */
#define EVENT_VISITOR_ID_LEN 32

/* An event's device (ingest/ua.h; the envelope's "br", "brv", "os", "osv", "dev"): each
 * member "" when unknown, else 1 to its maximum of printable ASCII without '"' or '\\'.
 * browser and os are uap-core's families ("Chrome", "Mobile Safari", "Windows", "iOS"),
 * the versions their major version ("120", "10"), device "mobile", "tablet" or "desktop". */
#define EVENT_DEVICE_NAME_MAX 48
#define EVENT_DEVICE_VERSION_MAX 16
struct event_device {
    char browser[EVENT_DEVICE_NAME_MAX + 1];
    char browser_version[EVENT_DEVICE_VERSION_MAX + 1];
    char os[EVENT_DEVICE_NAME_MAX + 1];
    char os_version[EVENT_DEVICE_VERSION_MAX + 1];
    char device[sizeof "desktop"];
};

/* The event member of a page's screen width in CSS pixels (the tracker's screen.width), an
 * integer 0-EVENT_SCREEN_WIDTH_MAX, and the reason given for anything else. */
#define EVENT_SCREEN_WIDTH "screen_width"
#define EVENT_SCREEN_WIDTH_MAX 100000
#define EVENT_SCREEN_WIDTH_MSG "Field 'screen_width' must be an integer 0-100000 (or absent)"

/* The name of v ("client", "device", "hash"), or NULL for EVENT_VISITOR_UNKNOWN. */
const char *event_visitor_name(enum event_visitor v);

/* The visitor source named s[0..n), or EVENT_VISITOR_UNKNOWN when it names none. */
enum event_visitor event_visitor_parse(const char *s, size_t n);

/* The member of a client's event that says its user_id is the device's stored id, and
 * the reason given for any value of it but "device" (event_from_request()). */
#define EVENT_USER_ID_SOURCE "user_id_source"
#define EVENT_USER_ID_SOURCE_MSG "Field 'user_id_source' must be \"device\" (or absent)"

/* A visit's attribution, device and country: those of its first event, which every later event
 * of the visit carries (the envelope's visit.va, docs/design.md "Visits") and is stored with, so
 * that a breakdown by source, campaign, device or country counts each visit by how it began. */
struct event_visit_attr {
    const char *attr[EVENT_N_ATTRS];     /* enum event_attr; each NULL when absent */
    struct event_device device;          /* members "" when unknown */
    char country[EVENT_COUNTRY_LEN + 1]; /* "" when unknown */
};

/* An event's visit (the envelope member "visit", written by ingest: docs/design.md, Visits):
 * which visit it belongs to and the changes it makes to its visit's figures, which summed over
 * the visit's events give the visit's figures. The strings point into the event's src. */
struct event_visit {
    const char *id;   /* the visit id: the envelope id of its first event */
    int64_t seq;      /* 1-based, in arrival order */
    int64_t start_ms; /* ts of its first event: every visit figure's day and hour */
    int n;            /* 1 when this event starts the visit */
    int b;            /* the bounce change: -1, 0, 1 */
    int64_t d;        /* the duration change, ms, >= 0 */
    const char *e;    /* the entry path, or NULL */
    int en;           /* 1: +1 visit on entry e */
    int eb;           /* with e: the bounce change on entry e, -1, 0, 1 (0 without e) */
    const char *x;    /* the exit path after this event, or NULL */
    int xn;           /* 1: the exit moved to x */
    int xb;           /* the bounce change on exit x: -1, 0, 1 */
    const char *xo;   /* the exit path before, when the exit moved from one path to another */
    int xob;          /* with xo: the bounce before, 0 or 1 (0 without xo) */
    /* 1 when va holds the visit's attribution, device and country (an event that does not start
     * its visit); 0 when they are the event's own (its first event, and envelopes written before
     * va existed). va's strings point into the event's src too; all zero without it. */
    int has_va;
    struct event_visit_attr va;
};

/* A validated event. The string fields point into `src`, which the event
 * holds a reference to; they live until event_cleanup(). path, user_id and
 * properties are NULL when the client did not send them. */
struct event {
    char id[EVENT_DOC_ID_MAX + 1]; /* the _id: a UUIDv7, or "<site_id>:<event_id>" */
    /* The delivery id: ingest's UUIDv7 for this one envelope, so that the processor tells a
     * redelivered envelope (same delivery) from a client's second send of one event_id
     * (another delivery). "" when it is the id itself (event_delivery()). */
    char delivery[EVENT_ID_LEN + 1];
    const char *client_id; /* the client's event_id (event_from_request()), or NULL */
    const char *site_id;
    const char *event_type;
    const char *path;
    const char *user_id;
    json_t *properties;         /* borrowed from src: a JSON object or NULL */
    const char *request_id;     /* for following the event in logs, or NULL; not owned */
    int64_t ts_ms;              /* event time, UTC milliseconds */
    int64_t received_ms;        /* when ingest accepted it, UTC milliseconds */
    int64_t client_ts_ms;       /* the client's own timestamp, when ts_ms is corrected for skew */
    int has_client_ts;          /* client_ts_ms is set: ts_ms was corrected (event_correct_ts()) */
    enum event_visitor visitor; /* how user_id was known; UNKNOWN without one */
    /* The client's country (ingest/geo.h): an ISO 3166-1 alpha-2 code, two letters A-Z, or ""
     * when unknown (no GEOIP_DB, a private address, not in the database). */
    char country[EVENT_COUNTRY_LEN + 1];
    /* The attribution (enum event_attr), each NULL when absent; into src, or static, or into
     * source_host (ingest: sources_attribute()). */
    const char *attr[EVENT_N_ATTRS];
    char source_host[EVENT_HOST_MAX + 1]; /* a source that is its referrer's host */
    struct event_device device;           /* from the User-Agent and screen_width (ingest/ua.h) */
    long screen_width; /* the client's screen_width, -1 when absent; not stored */
    /* The derived user_id (ingest: visitor_derive()), which user_id then points to. */
    char visitor_id[EVENT_VISITOR_ID_LEN + 1];
    /* a hashed visitor's id under yesterday's salt, "" when none (envelope "vy") */
    char prev_visitor[EVENT_VISITOR_ID_LEN + 1];
    int has_visit;            /* visit is set (an envelope with a "visit" member) */
    struct event_visit visit; /* zero without one */
    json_t *src;              /* owned reference */
};

/* Zero an event so event_cleanup() is safe on it. */
void event_init(struct event *ev);

/* The attribution, device and country that stand for an event's visit. */
struct event_attr_view {
    const char *const *attr; /* [EVENT_N_ATTRS], enum event_attr; each NULL when absent */
    const struct event_device *device;
    const char *country;
};

/* Those of ev: its visit's (the envelope's visit.va, its first event's) when it carries them,
 * else ev's own. What the processor stores with the event, and counts its visit's dimensions
 * by: one rule for both, so a stored event and its rollups never disagree. */
struct event_attr_view event_visit_attrs(const struct event *ev);

/* Release the reference to the source JSON and zero the event. */
void event_cleanup(struct event *ev);

/* Parse a request body as JSON (any value). Refuses, before parsing, a body whose
 * arrays and objects nest more than EVENT_BODY_DEPTH_MAX deep, so that no body can
 * exhaust a worker thread's stack. Returns a new reference, or NULL with err->code
 * ERR_INVALID and err->msg "Request body is nested more than 64 levels deep" or
 * "Invalid JSON: <reason> (line L, column C)", or ERR_INTERNAL when one of jansson's
 * allocations failed (jsonmem.h): the body may be fine. */
json_t *event_parse_body(const char *buf, size_t len, struct app_err *err);

/* The deepest nesting of arrays and objects in the JSON text buf[0..len), counting
 * only brackets outside strings, or max + 1 as soon as it exceeds max (so the scan
 * stops early). Not a validator: unbalanced text just counts what it sees. */
int event_json_depth(const char *buf, size_t len, int max);

/* Reads the event time of obj into ev->ts_ms, with whatever else the format keeps
 * beside it. Called with the time member present and not null. Returns 0, or -1 with
 * err set (ERR_INVALID). */
typedef int (*event_time_reader)(json_t *obj, struct event *ev, struct app_err *err);

/* Validate the fields that a client's event and a queue envelope share, and point ev's
 * site_id, event_type, path, user_id and properties into obj (a JSON object). Each
 * format names the member that carries its event time (time_name, required like
 * site_id and event_type) and reads it with read_time; the rest of a format is its
 * caller's. Zeroes ev first (so it must hold no reference) and takes no reference to
 * obj: the caller sets ev->src. On failure returns -1 with ev zeroed, err->code
 * ERR_INVALID and err->msg the first of these, in this order:
 * "Missing required fields: site_id, <time_name>" (exactly the missing ones, in the
 * order site_id, event_type, time_name; null counts as missing);
 * "Field 'site_id' must be a string"; "Field 'site_id' must be 1-256 bytes";
 * the same for event_type (1-64 bytes); read_time's reason;
 * "Field 'path' must be a string"; "Field 'path' must be at most 2048 bytes";
 * the same for user_id (256 bytes); "Field 'properties' must be an object";
 * "Field 'properties' is nested more than 32 levels deep".
 * Unknown members are ignored. */
int event_take_fields(json_t *obj, const char *time_name, event_time_reader read_time,
                      struct event *ev, struct app_err *err);

/* Read member `name` of obj, a client's RFC 3339 time, into *ms. Returns 0, or -1 with
 * err->code ERR_INVALID and err->msg "Field '<name>' must be a string" or "Field '<name>'
 * must be an RFC 3339 date-time with a time zone, e.g. 2025-11-15T10:00:00Z" (a missing
 * or null member is not a string). */
int event_take_time(json_t *obj, const char *name, int64_t *ms, struct app_err *err);

/* Validate a client's event (a request body, or one item of an /events array) and
 * fill ev, taking a new reference to obj; client_id is its event_id (NULL without one);
 * id, delivery, received_ms and request_id are left for the caller. On failure returns
 * -1 with err->code ERR_INVALID and err->msg the client-facing reason: "Request body
 * must be a JSON object", then those of event_take_fields() with time_name "timestamp",
 * whose reasons are event_take_time()'s, then EVENT_CLIENT_ID_MSG for event_id, then
 * EVENT_USER_ID_SOURCE_MSG for user_id_source. ev->visitor is EVENT_VISITOR_CLIENT when
 * user_id is not empty, EVENT_VISITOR_DEVICE when it is and user_id_source is "device",
 * else UNKNOWN (ingest then derives one: visitor.h). */
int event_from_request(json_t *obj, struct event *ev, struct app_err *err);

/* The fast path of event_parse_body() + event_from_request(), for plain events. Its
 * acceptance is a whitelist: a JSON object whose members are among site_id, event_type,
 * timestamp, path, user_id and event_id, each at most once and each a string of printable
 * ASCII without escapes, each checked by the jansson path's own rule for it. When
 * buf[0..len) is such an object and event_from_request() would accept it, returns 1 and
 * fills ev as that would, with the strings pointing into buf (each ended there with a NUL
 * written over its closing quote) and no src: buf must outlive ev. Anything else (another
 * member, properties included, another type, a repeated member) returns 0, buf untouched,
 * and the caller takes the jansson path, which gives the same answer for any input this
 * accepts and the precise reason for the rest. (user_id_source is not among the members:
 * a body that sends it takes the jansson path.) ev->visitor is set as event_from_request()
 * sets it. */
int event_scan(char *buf, size_t len, struct event *ev);

/* The same for a POST /events body that is a JSON array of 1 to max such events: returns
 * a malloc'd array of them (free() it after event_cleanup() of each) with *n their
 * number, or NULL (buf untouched, *n 0) for anything else, out of memory included. */
struct event *event_scan_batch(char *buf, size_t len, size_t max, size_t *n);

/* The reason given for a bad event_id (any JSON type but a string of the form below). */
#define EVENT_CLIENT_ID_MSG "Field 'event_id' must be 1-64 characters of A-Z, a-z, 0-9, '_' and '-'"

/* True when s[0..len) is a client event id: 1-EVENT_CLIENT_ID_MAX of [A-Za-z0-9_-]. */
int event_client_id_valid(const char *s, size_t len);

/* True when s[0..len) is a request id as ingest makes one (the client's X-Request-Id, or
 * else the delivery id): 1-LOG_REQUEST_ID_MAX characters of [A-Za-z0-9._:-]. */
int event_request_id_valid(const char *s, size_t len);

/* True when ms is an instant within years 0001-9999 (TS_MIN_MS..TS_MAX_MS), as every time
 * ingest accepts or makes is. */
int event_time_valid(int64_t ms);

/* Write the _id of the event with client id client_id (valid) on site site_id (at most
 * EVENT_SITE_ID_MAX bytes): "<site_id>:<client_id>". The one place ids are derived. */
void event_derive_id(const char *site_id, const char *client_id, char out[EVENT_DOC_ID_MAX + 1]);

/* True when id is an event's _id for site site_id: an id of the form event_new_id()
 * writes, or what event_derive_id() writes for that site. */
int event_doc_id_valid(const char *id, const char *site_id);

/* The event's delivery id: ev->delivery, or its id when that is "". */
const char *event_delivery(const struct event *ev);

/* Clock-skew correction (the Segment rule): the event time ts_ms of a client whose clock
 * read sent_ms when ingest's read received_ms, in ingest's clock: ts_ms + (received_ms -
 * sent_ms). Returns 0 with *out set, or -1 when that is outside TS_MIN_MS..TS_MAX_MS (or
 * does not fit in 64 bits): an absurd skew is refused, not clamped. Pure. */
int event_correct_ts(int64_t ts_ms, int64_t sent_ms, int64_t received_ms, int64_t *out);

/* Write a new event id (EVENT_ID_LEN chars and a NUL) for time now_ms. Thread-safe. */
void event_new_id(int64_t now_ms, char out[EVENT_ID_LEN + 1]);

/* Fill buf[0..n) with the kernel's random bytes (getrandom(), retried on EINTR and after a
 * short read), as event_new_id() and ingest's daily salt (ingest/salt.h) take them.
 * Returns 0, or -1 with errno set. */
int event_random(unsigned char *buf, size_t n);

/* True when s is an id of the form event_new_id() writes. */
int event_id_valid(const char *s);

#endif
