/* cmdlog.c - the command log of the test variants of the programs (<program>-fault, see the
 * Makefile): with MONGO_COMMAND_LOG=<file>, every command the main client pool of a store
 * sends (libmongoc's APM command-started event) is appended to <file> as one line of JSON,
 *
 *   {"db": <database>, "cmd": <command name>, "command": <the command, relaxed extended JSON>}
 *
 * (an insert's documents and an update's or delete's statements included), with one write()
 * per line on a file opened O_APPEND, so that several processes and threads may share a file.
 * tests/it/it_shardkeys.sh reads it (tests/tools/shardkeys.py) to check that every command
 * carries its collection's shard key (docs/scaling.md). The probe pool of store_ping() is not
 * recorded. Production builds link none of this. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static int log_fd = -1;

static void
on_command_started(const mongoc_apm_command_started_t *event)
{
    size_t len = 0;
    char *cmd = bson_as_relaxed_extended_json(mongoc_apm_command_started_get_command(event), &len);
    char *line;

    if (cmd == NULL) {
        return;
    }
    line = bson_strdup_printf("{\"db\":\"%s\",\"cmd\":\"%s\",\"command\":%s}\n",
                              mongoc_apm_command_started_get_database_name(event),
                              mongoc_apm_command_started_get_command_name(event), cmd);
    if (line != NULL && write(log_fd, line, strlen(line)) < 0) {
        /* A test reading the log finds the command missing; nothing to do here. */
    }
    bson_free(line);
    bson_free(cmd);
}

void
store_cmdlog_callbacks(mongoc_apm_callbacks_t *cbs)
{
    const char *path = getenv("MONGO_COMMAND_LOG");

    if (path == NULL || *path == '\0') {
        return;
    }
    if (log_fd < 0) { /* store_new() runs before the program's threads */
        log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }
    if (log_fd >= 0) {
        mongoc_apm_set_command_started_cb(cbs, on_command_started);
    }
}
