/* qnames.c - the shard names of a queue (common/qshard.h), for the test scripts
 * (tests/it/lib.sh's q_names) and the benchmark:
 *
 *   qnames QUEUE_KEY K     one name a line, shard 0 first, each followed by a blank and
 *                          its Redis Cluster slot
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qshard.h"
#include "rcluster.h"

int
main(int argc, char **argv)
{
    char *end = NULL;
    unsigned long k = argc == 3 ? strtoul(argv[2], &end, 10) : 0;

    if (argc != 3 || *end != '\0' || k < 1 || k > QSHARD_MAX) {
        fprintf(stderr, "usage: qnames QUEUE_KEY K (K from 1 to %d)\n", QSHARD_MAX);
        return 2;
    }
    for (unsigned i = 0; i < k; i++) {
        char *n = qshard_name(argv[1], (unsigned)k, i);
        if (n == NULL) {
            return 1;
        }
        printf("%s %u\n", n, rcluster_key_slot(n, strlen(n)));
        free(n);
    }
    return 0;
}
