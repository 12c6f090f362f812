/* device.h - the members of an event's device (struct event_device, event.h) by name: the
 * envelope's ("br", "brv", "os", "osv", "dev") and the event document's, with the one rule
 * both envelope decoders check, so that envelope.c, processor/insert.c and the tests walk one
 * table instead of naming each member. */
#ifndef COMMON_DEVICE_H
#define COMMON_DEVICE_H

#include <stddef.h>

#include "event.h"

enum device_member {
    DEVICE_BROWSER,
    DEVICE_BROWSER_VERSION,
    DEVICE_OS,
    DEVICE_OS_VERSION,
    DEVICE_CLASS,
    DEVICE_N
};

/* One member: its envelope key, the text a scanner looks for before its value (,"key":),
 * its name in the event document (event_doc.h) and the reason an envelope decoder gives
 * for a bad value. In the order envelope_encode() writes them. */
struct device_member_name {
    const char *key;
    const char *scan;
    const char *doc;
    const char *reason;
};
extern const struct device_member_name device_members[DEVICE_N];

/* Member m of d: a NUL-terminated string, "" when unknown. */
const char *device_get(const struct event_device *d, enum device_member m);

/* The rule of member m: 1 to its maximum (EVENT_DEVICE_NAME_MAX, EVENT_DEVICE_VERSION_MAX)
 * bytes of printable ASCII without '"' and '\\', and for DEVICE_CLASS one of "mobile",
 * "tablet", "desktop". Copies s[0..n) into member m of d and returns 1 when it holds, else
 * returns 0 and leaves d alone. */
int device_take(struct event_device *d, enum device_member m, const char *s, size_t n);

#endif
