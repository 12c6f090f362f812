/* event_doc.h - the field names of an event's document in STORE_EVENTS_COLLECTION: the
 * processor writes them (processor/insert.c), reporting reads them (reporting/). */
#ifndef COMMON_EVENT_DOC_H
#define COMMON_EVENT_DOC_H

#define EVDOC_ID "_id"                            /* string: the event id */
#define EVDOC_SITE_ID "site_id"                   /* string */
#define EVDOC_EVENT_TYPE "event_type"             /* string */
#define EVDOC_PATH "path"                         /* string, or null when not sent */
#define EVDOC_USER_ID "user_id"                   /* string, or null when not sent */
#define EVDOC_TIMESTAMP "timestamp"               /* date: when the event happened */
#define EVDOC_CREATED_AT "createdAt"              /* date: when the processor stored it */
#define EVDOC_RECEIVED_AT "received_at"           /* date: when ingest accepted it */
#define EVDOC_CLIENT_TIMESTAMP "client_timestamp" /* date: the client's clock, when sent */
#define EVDOC_DELIVERY "delivery"                 /* string: the envelope that stored it */
#define EVDOC_PROPERTIES "properties"             /* document, when sent */
/* string: how the visitor (user_id) was known: "client" (sent by the client), "device"
 * (the tracker's id stored on the device), "hash" (derived by ingest from a daily salt).
 * Absent without a user_id, and in documents stored before it existed. */
#define EVDOC_VISITOR_SOURCE "visitor_source"
/* string: the client's country, ISO 3166-1 alpha-2 (ingest's GEOIP_DB). Absent when unknown
 * (no database, a private address, not in the database) and in documents stored before it. */
#define EVDOC_COUNTRY "country"
/* strings: a page view's attribution (ingest/sources.h, docs/api.md), in the order of enum
 * event_attr (common/event.h): its source (the referrer's host or its name in the referrer
 * list, or "Direct / None"), that source's medium, its channel, and its campaign's utm_source,
 * utm_medium, utm_campaign, utm_term and utm_content. Each absent when unknown (events of other
 * types, no campaign) and in documents stored before them. An initializer: a file that uses
 * it writes `static const char *const names[EVENT_N_ATTRS] = EVDOC_ATTR_NAMES;`. */
#define EVDOC_ATTR_NAMES                                                                           \
    {                                                                                              \
        "source", "medium", "channel", "utm_source", "utm_medium", "utm_campaign", "utm_term",     \
            "utm_content"                                                                          \
    }
/* strings: the client's browser and operating system (uap-core's families, e.g. "Chrome",
 * "iOS") and their major versions, and the device class, "mobile", "tablet" or "desktop"
 * (ingest/ua.h: from the User-Agent, which is not stored, and the screen width). Each absent
 * when unknown and in documents stored before them. */
#define EVDOC_BROWSER "browser"
#define EVDOC_BROWSER_VERSION "browser_version"
#define EVDOC_OS "os"
#define EVDOC_OS_VERSION "os_version"
#define EVDOC_DEVICE "device"
/* The event's visit (an envelope with a "visit" member; absent otherwise, and in documents
 * stored before visits existed): string, the visit id (the _id of its first event), int64,
 * the event's 1-based sequence number in it, and date, the visit's start (its first event's
 * timestamp; absent in documents stored before it existed), by which reporting selects visits
 * (index {site_id: 1, visit_start: 1}). An event with a visit stores its visit's attribution,
 * device and country (its first event's: the envelope's visit.va) under the fields above, not
 * its own. */
#define EVDOC_VISIT_ID "visit_id"
#define EVDOC_VISIT_SEQ "visit_seq"
#define EVDOC_VISIT_START "visit_start"

/* The index of reporting's GET /events, which the processor creates:
 * {site_id: 1, timestamp: -1, _id: -1}. */
#define EVENTS_INDEX_NAME "site_id_1_timestamp_-1__id_-1"

#endif
