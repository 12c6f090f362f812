/* device.c - an event's device members by name, and their rule (device.h). */
#include "device.h"

#include <stddef.h>
#include <string.h>

#include "event_doc.h"

#define MEMBER(key, doc, what)                                                                     \
    {                                                                                              \
        key, ",\"" key "\":", doc, "envelope field '" key "' is not " what                         \
    }
#define NAME "1-48 printable ASCII characters but '\"' and '\\'"
#define VERSION "1-16 printable ASCII characters but '\"' and '\\'"

const struct device_member_name device_members[DEVICE_N] = {
    [DEVICE_BROWSER] = MEMBER("br", EVDOC_BROWSER, NAME),
    [DEVICE_BROWSER_VERSION] = MEMBER("brv", EVDOC_BROWSER_VERSION, VERSION),
    [DEVICE_OS] = MEMBER("os", EVDOC_OS, NAME),
    [DEVICE_OS_VERSION] = MEMBER("osv", EVDOC_OS_VERSION, VERSION),
    [DEVICE_CLASS] = MEMBER("dev", EVDOC_DEVICE, "mobile, tablet or desktop"),
};

/* Where each member is in struct event_device, and its size with the NUL. */
#define AT(f)                                                                                      \
    {                                                                                              \
        offsetof(struct event_device, f), sizeof(((struct event_device *)0)->f)                    \
    }
static const struct {
    size_t off, cap;
} layout[DEVICE_N] = {AT(browser), AT(browser_version), AT(os), AT(os_version), AT(device)};

const char *
device_get(const struct event_device *d, enum device_member m)
{
    return (const char *)d + layout[m].off;
}

int
device_take(struct event_device *d, enum device_member m, const char *s, size_t n)
{
    char *out = (char *)d + layout[m].off;

    if (n == 0 || n >= layout[m].cap) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            return 0;
        }
    }
    if (m == DEVICE_CLASS &&
        !((n == 6 && memcmp(s, "mobile", 6) == 0) || (n == 6 && memcmp(s, "tablet", 6) == 0) ||
          (n == 7 && memcmp(s, "desktop", 7) == 0))) {
        return 0;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}
