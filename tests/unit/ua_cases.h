/* ua_cases.h - uap-core's own test cases (test_ua.yaml, test_os.yaml in /usr/share/uap-core),
 * as the Makefile generates them into $(BUILD)/gen/uap_cases.c (ingest/uap_gen.py). */
#ifndef TESTS_UA_CASES_H
#define TESTS_UA_CASES_H

#include <stddef.h>

/* One case: a User-Agent, the family expected and its major version (NULL: none). */
struct ua_case {
    const char *ua;
    const char *family;
    const char *major;
};
extern const struct ua_case ua_cases_browser[];
extern const size_t ua_cases_browser_n;
extern const struct ua_case ua_cases_os[];
extern const size_t ua_cases_os_n;

#endif
