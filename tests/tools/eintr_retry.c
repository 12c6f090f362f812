/* eintr_retry.c - LD_PRELOAD: a poll() that retries when a signal interrupts it. */
/* civetweb 1.16's mg_poll() retries on EINTR, 1.15's gives up: with this library a
 * program sees the former whatever civetweb it runs, so a test shows whether its bound on
 * a slow read depends on a signal ending a poll() (it_starvation.sh). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>

int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    static int (*real)(struct pollfd *, nfds_t, int);
    int r;

    if (real == NULL) {
        *(void **)&real = dlsym(RTLD_NEXT, "poll");
    }
    do {
        r = real(fds, nfds, timeout);
    } while (r < 0 && errno == EINTR);
    return r;
}
