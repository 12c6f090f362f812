/* rcluster_cli.c - common/rcluster.h's handle driven from stdin, for tests/it/it_rcluster.sh.
 *
 *   rcluster_cli SEEDS     (SEEDS as REDIS_CLUSTER: host:port,host:port,...)
 *
 * Reads one command a line, its words split on blanks, and prints one line per command (then
 * flushes, so a script can drive it as a coprocess across a failover):
 *   WORD...            sent through one handle; word 1 is the key (none when there is one word)
 *   k=I,J,... WORD...  the words numbered I, J, ... (0: the command's name) are its keys
 *   k=- WORD...        no key (any master)
 *   @slot KEY          the module's slot of KEY, computed here (nothing is sent)
 *   @node KEY          host:port of the master the map sends KEY to (the map loaded first)
 *   @refreshes         how many times the map has been loaded
 * A reply prints as its value (an array's elements joined by blanks, nil as "(nil)", an error
 * as "(error) TEXT"); a command that got no reply as "(failed) CODE TEXT" (CODE from
 * common/err.h). Control characters print as blanks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcluster.h"

#define MAX_WORDS 64

static void
print_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        putchar((unsigned char)s[i] < ' ' ? ' ' : s[i]);
    }
}

static void
print_reply(const redisReply *r)
{
    switch (r->type) {
    case REDIS_REPLY_INTEGER:
        printf("%lld", r->integer);
        break;
    case REDIS_REPLY_NIL:
        fputs("(nil)", stdout);
        break;
    case REDIS_REPLY_ARRAY:
        for (size_t i = 0; i < r->elements; i++) {
            if (i > 0) {
                putchar(' ');
            }
            print_reply(r->element[i]);
        }
        break;
    case REDIS_REPLY_ERROR:
        fputs("(error) ", stdout);
        print_text(r->str, r->len);
        break;
    default:
        print_text(r->str, r->len);
    }
}

/* k=I,J,...: the indexes into keys[]; -1 when malformed. */
static int
key_words(const char *spec, int nwords, int *idx)
{
    int n = 0;

    if (strcmp(spec, "-") == 0) {
        return 0;
    }
    while (*spec != '\0') {
        char *end;
        long i = strtol(spec, &end, 10);
        if (end == spec || i < 0 || i >= nwords || n == MAX_WORDS) {
            return -1;
        }
        idx[n++] = (int)i;
        spec = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0') {
            return -1;
        }
    }
    return n;
}

static void
run_line(rcluster_t *c, char *line)
{
    const char *words[MAX_WORDS], *keys[MAX_WORDS];
    size_t lens[MAX_WORDS], keylens[MAX_WORDS];
    int idx[MAX_WORDS], nwords = 0, nkeys;
    const char *kspec = NULL;
    char *save = NULL;
    struct app_err err = {0, ""};
    redisReply *r;

    for (char *w = strtok_r(line, " \t\r\n", &save); w != NULL && nwords < MAX_WORDS;
         w = strtok_r(NULL, " \t\r\n", &save)) {
        if (nwords == 0 && kspec == NULL && strncmp(w, "k=", 2) == 0) {
            kspec = w + 2;
            continue;
        }
        words[nwords] = w;
        lens[nwords++] = strlen(w);
    }
    if (nwords == 0) {
        puts("(failed) 1 no command");
        return;
    }
    if (strcmp(words[0], "@slot") == 0 && nwords == 2) {
        printf("%u\n", rcluster_key_slot(words[1], lens[1]));
        return;
    }
    if (strcmp(words[0], "@refreshes") == 0) {
        printf("%lu\n", rcluster_refreshes(c));
        return;
    }
    if (strcmp(words[0], "@node") == 0 && nwords == 2) {
        const struct rcluster_addr *a = rcluster_node_of(c, rcluster_key_slot(words[1], lens[1]));
        if (a == NULL && rcluster_refresh(c, &err) == 0) {
            a = rcluster_node_of(c, rcluster_key_slot(words[1], lens[1]));
        }
        if (a != NULL) {
            printf("%s:%d\n", a->host, a->port);
        } else {
            printf("(failed) %d %s\n", err.code, err.msg);
        }
        return;
    }
    nkeys = kspec != NULL ? key_words(kspec, nwords, idx) : (nwords > 1 ? (idx[0] = 1) : 0);
    if (nkeys < 0) {
        puts("(failed) 1 bad k=");
        return;
    }
    for (int i = 0; i < nkeys; i++) {
        keys[i] = words[idx[i]];
        keylens[i] = lens[idx[i]];
    }
    r = rcluster_command_argv(c, &err, (size_t)nkeys, keys, keylens, nwords, words, lens);
    if (r == NULL) {
        printf("(failed) %d %s\n", err.code, err.msg);
        return;
    }
    print_reply(r);
    putchar('\n');
    freeReplyObject(r);
}

int
main(int argc, char **argv)
{
    struct rcluster_opts o = {NULL, "", 1000, 0, NULL};
    struct app_err err = {0, ""};
    char *line = NULL;
    size_t cap = 0;
    rcluster_t *c;

    if (argc != 2) {
        fprintf(stderr, "usage: rcluster_cli host:port[,host:port...] <commands\n");
        return 2;
    }
    o.seeds = argv[1];
    c = rcluster_new(&o, &err);
    if (c == NULL) {
        fprintf(stderr, "rcluster_cli: %s\n", err.msg);
        return 2;
    }
    while (getline(&line, &cap, stdin) >= 0) {
        run_line(c, line);
        fflush(stdout);
    }
    free(line);
    rcluster_free(c);
    return 0;
}
