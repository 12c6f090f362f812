/* assigner.c - the processor's visit assignment alone (processor/assign.h), for the tests that
 * read what it gives each envelope (tests/it/it_visits.sh), with no MongoDB:
 *
 *   assigner REDIS_PORT QUEUE_KEY K TIMEOUT_S
 *
 * claims everything pending on each of the K shards of QUEUE_KEY as the consumer "it-assigner"
 * (queue_claim(), the processor's own claim), and leaves it in that consumer's processing lists,
 * "<shard>:processing:it-assigner", newest first, where the test reads it. Prints the number
 * claimed; exits 1 on an error. */
#include <stdio.h>
#include <stdlib.h>

#include "qset.h"
#include "queue.h"
#include "rconn.h"

int
main(int argc, char **argv)
{
    struct rconn_opts opts = {.host = "127.0.0.1", .timeout_ms = 5000};
    struct queue_set qs = {0};
    struct app_err err = {0};
    long total = 0;
    int rc = 0;
    rconn_t *c;

    if (argc != 5) {
        fprintf(stderr, "usage: assigner REDIS_PORT QUEUE_KEY K TIMEOUT_S\n");
        return 2;
    }
    opts.port = atoi(argv[1]);
    if ((c = rconn_new(&opts)) == NULL ||
        queue_set_init(&qs, argv[2], (unsigned)atoi(argv[3]), "it-assigner") != 0) {
        fprintf(stderr, "assigner: out of memory\n");
        return 1;
    }
    for (unsigned s = 0; s < qs.n && rc == 0; s++) {
        for (;;) {
            struct queue_batch b;
            queue_batch_init(&b);
            int n = queue_claim(qs.q[s], c, 1000, 0, atol(argv[4]), &b, &err);
            queue_batch_clear(&b);
            if (n < 0) {
                fprintf(stderr, "assigner: %s\n", err.msg);
                rc = 1;
                break;
            }
            if (n == 0) {
                break;
            }
            total += n;
        }
    }
    printf("%ld\n", total);
    queue_set_free(&qs);
    rconn_free(c);
    return rc;
}
