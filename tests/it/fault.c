/* fault.c - fault injection for the test variants of the programs (<program>-fault, built
 * with -DFAULT_INJECTION and linked with --wrap for each function below): the N-th
 * allocation, Redis call or MongoDB call of the process fails, once, as it would for real.
 *
 *   FAULT_INJECT=alloc:N   the N-th malloc/calloc/realloc/strdup of our own code, or of
 *                          jansson (which allocates through common/jsonmem.c), returns
 *                          NULL (other libraries' allocations are not counted)
 *   FAULT_INJECT=redis:N   the N-th Redis call (connect, command, reply read) fails as a
 *                          lost connection: the context gets REDIS_ERR_IO
 *   FAULT_INJECT=mongo:N   the N-th MongoDB call (write, command, count, cursor read)
 *                          fails as a socket error, with no effect on the server
 *   FAULT_INJECT=alloc:N+redis:K
 *                          the N-th allocation fails, and then the K Redis calls after it
 *                          (a failed batch whose hand-back fails too)
 *   FAULT_INJECT=slow:N    every insert_many of more than N documents times out (as a
 *                          server too slow for that many within socketTimeoutMS), with
 *                          no effect on the server
 *   FAULT_INJECT=json:N    the N-th of jansson's allocations fails (the libraries' block
 *   FAULT_INJECT=bson:N    below); or the N-th of libbson's, and libbson aborts
 *
 * Production builds link none of this: the --wrap flags and this file are only in the
 * -fault variants (see the Makefile). */
#include <hiredis/hiredis.h>
#include <mongoc/mongoc.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { KIND_NONE, KIND_ALLOC, KIND_REDIS, KIND_MONGO, KIND_SLOW };

static atomic_int configured; /* 0: not read yet, 1: read */
static enum kind fault_kind;
static long fault_nth;
static long then_redis;           /* +redis:K: Redis calls to fail after the fault */
static atomic_long redis_to_fail; /* what is left of them once the fault has fired */
static atomic_long calls[5];

/* Read FAULT_INJECT once. No allocation here: this runs inside malloc. */
static void
configure(void)
{
    const char *v = getenv("FAULT_INJECT");
    int expected = 0;

    if (atomic_load(&configured)) {
        return;
    }
    if (v != NULL) {
        const char *colon = strchr(v, ':');
        long n = colon ? strtol(colon + 1, NULL, 10) : 0;
        const char *plus = strstr(v, "+redis:");
        if (plus != NULL) {
            then_redis = strtol(plus + 7, NULL, 10);
        }
        if (colon && n > 0) {
            size_t len = (size_t)(colon - v);
            fault_nth = n;
            fault_kind = len == 5 && strncmp(v, "alloc", 5) == 0   ? KIND_ALLOC
                         : len == 5 && strncmp(v, "redis", 5) == 0 ? KIND_REDIS
                         : len == 5 && strncmp(v, "mongo", 5) == 0 ? KIND_MONGO
                         : len == 4 && strncmp(v, "slow", 4) == 0  ? KIND_SLOW
                                                                   : KIND_NONE;
        }
    }
    atomic_compare_exchange_strong(&configured, &expected, 1);
}

/* Count a call of this kind; 1 when it is the one to fail. */
static int
hit(enum kind k)
{
    long n;

    configure();
    n = atomic_fetch_add(&calls[k], 1) + 1;
    if (k == KIND_REDIS && atomic_load(&redis_to_fail) > 0 &&
        atomic_fetch_sub(&redis_to_fail, 1) > 0) {
        static const char line[] = "FAULT: failing a Redis call after the fault\n";
        fwrite(line, 1, sizeof line - 1, stderr);
        return 1;
    }
    if (k == fault_kind && n == fault_nth) {
        atomic_store(&redis_to_fail, then_redis);
        static const char *const names[] = {"", "allocation", "Redis call", "MongoDB call"};
        char line[96];
        int len = snprintf(line, sizeof line, "FAULT: failing %s %ld\n", names[k], n);
        fwrite(line, 1, (size_t)len, stderr);
        return 1;
    }
    return 0;
}

/* At exit, how many calls of each kind the process made, so that a test can tell which
 * N reach past its last call. */
__attribute__((destructor)) static void
report(void)
{
    char line[160];
    int len;

    if (getenv("FAULT_INJECT") == NULL) {
        return;
    }
    len = snprintf(line, sizeof line, "FAULT: calls: alloc %ld redis %ld mongo %ld slow %ld\n",
                   atomic_load(&calls[KIND_ALLOC]), atomic_load(&calls[KIND_REDIS]),
                   atomic_load(&calls[KIND_MONGO]), atomic_load(&calls[KIND_SLOW]));
    fwrite(line, 1, (size_t)len, stderr);
}

/* The races and lost replies of the protocol tests, defined at the end of the file. */
static void *race_reply(redisContext *c, void *reply);
static int race_bulk(bson_t *reply, bson_error_t *error);

/* --- allocations ---------------------------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static _Thread_local int json_fails_next; /* set by the libraries' block below */

void *
__wrap_malloc(size_t n)
{
    int json_fails = json_fails_next;

    json_fails_next = 0;
    return hit(KIND_ALLOC) || json_fails ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
    return hit(KIND_ALLOC) ? NULL : __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
    return hit(KIND_ALLOC) ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
    return hit(KIND_ALLOC) ? NULL : __real_strdup(s);
}

/* --- Redis ---------------------------------------------------------------------------- */

redisContext *__real_redisConnectWithTimeout(const char *ip, int port, const struct timeval tv);
void *__real_redisCommandArgv(redisContext *c, int argc, const char **argv, const size_t *argvlen);
int __real_redisGetReply(redisContext *c, void **reply);
redisContext *__wrap_redisConnectWithTimeout(const char *ip, int port, const struct timeval tv);
void *__wrap_redisCommandArgv(redisContext *c, int argc, const char **argv, const size_t *argvlen);
void *__wrap_redisCommand(redisContext *c, const char *format, ...);
int __wrap_redisGetReply(redisContext *c, void **reply);

/* What hiredis does to a context whose connection broke. */
static void
break_context(redisContext *c)
{
    c->err = REDIS_ERR_IO;
    snprintf(c->errstr, sizeof c->errstr, "fault injection: connection lost");
}

redisContext *
__wrap_redisConnectWithTimeout(const char *ip, int port, const struct timeval tv)
{
    redisContext *c = __real_redisConnectWithTimeout(ip, port, tv);

    if (c != NULL && hit(KIND_REDIS)) {
        break_context(c);
    }
    return c;
}

void *
__wrap_redisCommandArgv(redisContext *c, int argc, const char **argv, const size_t *argvlen)
{
    if (hit(KIND_REDIS)) {
        break_context(c);
        return NULL;
    }
    return race_reply(c, __real_redisCommandArgv(c, argc, argv, argvlen));
}

void *
__wrap_redisCommand(redisContext *c, const char *format, ...)
{
    va_list ap;
    void *r;

    if (hit(KIND_REDIS)) {
        break_context(c);
        return NULL;
    }
    va_start(ap, format);
    r = redisvCommand(c, format, ap);
    va_end(ap);
    return race_reply(c, r);
}

int
__wrap_redisGetReply(redisContext *c, void **reply)
{
    if (hit(KIND_REDIS)) {
        break_context(c);
        return REDIS_ERR;
    }
    if (__real_redisGetReply(c, reply) != REDIS_OK) {
        return REDIS_ERR;
    }
    if (*reply != NULL && (*reply = race_reply(c, *reply)) == NULL) {
        return REDIS_ERR;
    }
    return REDIS_OK;
}

/* --- MongoDB -------------------------------------------------------------------------- */

/* What a call that lost its connection reports. */
static void
socket_error(bson_t *reply, bson_error_t *error)
{
    if (reply != NULL) {
        bson_init(reply);
    }
    if (error != NULL) {
        bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET,
                       "fault injection: socket error");
    }
}

#define WRAP_BOOL(name, params, args, reply, error)                                                \
    bool __real_##name params;                                                                     \
    bool __wrap_##name params;                                                                     \
    bool __wrap_##name params                                                                      \
    {                                                                                              \
        if (hit(KIND_MONGO)) {                                                                     \
            socket_error(reply, error);                                                            \
            return false;                                                                          \
        }                                                                                          \
        return __real_##name args;                                                                 \
    }

bool __real_mongoc_collection_insert_many(mongoc_collection_t *c, const bson_t **docs, size_t n,
                                          const bson_t *opts, bson_t *reply, bson_error_t *error);
bool __wrap_mongoc_collection_insert_many(mongoc_collection_t *c, const bson_t **docs, size_t n,
                                          const bson_t *opts, bson_t *reply, bson_error_t *error);
bool
__wrap_mongoc_collection_insert_many(mongoc_collection_t *c, const bson_t **docs, size_t n,
                                     const bson_t *opts, bson_t *reply, bson_error_t *error)
{
    configure();
    if (fault_kind == KIND_SLOW && (long)n > fault_nth) {
        atomic_fetch_add(&calls[KIND_SLOW], 1);
        if (reply != NULL) {
            bson_init(reply);
        }
        /* libmongoc's words for a socket read that timed out. */
        bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET,
                       "Failed to read 4 bytes: socket error or timeout");
        return false;
    }
    if (hit(KIND_MONGO)) {
        socket_error(reply, error);
        return false;
    }
    return __real_mongoc_collection_insert_many(c, docs, n, opts, reply, error);
}
WRAP_BOOL(mongoc_collection_insert_one,
          (mongoc_collection_t * c, const bson_t *doc, const bson_t *opts, bson_t *reply,
           bson_error_t *error),
          (c, doc, opts, reply, error), reply, error)
WRAP_BOOL(mongoc_client_command_simple,
          (mongoc_client_t * c, const char *db, const bson_t *command,
           const mongoc_read_prefs_t *read_prefs, bson_t *reply, bson_error_t *error),
          (c, db, command, read_prefs, reply, error), reply, error)
WRAP_BOOL(mongoc_database_write_command_with_opts,
          (mongoc_database_t * d, const bson_t *command, const bson_t *opts, bson_t *reply,
           bson_error_t *error),
          (d, command, opts, reply, error), reply, error)

uint32_t __real_mongoc_bulk_operation_execute(mongoc_bulk_operation_t *bulk, bson_t *reply,
                                              bson_error_t *error);
uint32_t __wrap_mongoc_bulk_operation_execute(mongoc_bulk_operation_t *bulk, bson_t *reply,
                                              bson_error_t *error);
uint32_t
__wrap_mongoc_bulk_operation_execute(mongoc_bulk_operation_t *bulk, bson_t *reply,
                                     bson_error_t *error)
{
    if (hit(KIND_MONGO)) {
        socket_error(reply, error);
        return 0;
    }
    if (race_bulk(reply, error)) {
        return 0;
    }
    return __real_mongoc_bulk_operation_execute(bulk, reply, error);
}

int64_t __real_mongoc_collection_count_documents(mongoc_collection_t *c, const bson_t *filter,
                                                 const bson_t *opts,
                                                 const mongoc_read_prefs_t *read_prefs,
                                                 bson_t *reply, bson_error_t *error);
int64_t __wrap_mongoc_collection_count_documents(mongoc_collection_t *c, const bson_t *filter,
                                                 const bson_t *opts,
                                                 const mongoc_read_prefs_t *read_prefs,
                                                 bson_t *reply, bson_error_t *error);
int64_t
__wrap_mongoc_collection_count_documents(mongoc_collection_t *c, const bson_t *filter,
                                         const bson_t *opts, const mongoc_read_prefs_t *read_prefs,
                                         bson_t *reply, bson_error_t *error)
{
    if (hit(KIND_MONGO)) {
        socket_error(reply, error);
        return -1;
    }
    return __real_mongoc_collection_count_documents(c, filter, opts, read_prefs, reply, error);
}

/* A cursor read that fails: its next returns false and its error says why. The cursor is
 * remembered per thread, as each is read by one thread. */
static _Thread_local const mongoc_cursor_t *failed_cursor;

bool __real_mongoc_cursor_next(mongoc_cursor_t *cursor, const bson_t **bson);
bool __real_mongoc_cursor_error(mongoc_cursor_t *cursor, bson_error_t *error);
bool __wrap_mongoc_cursor_next(mongoc_cursor_t *cursor, const bson_t **bson);
bool __wrap_mongoc_cursor_error(mongoc_cursor_t *cursor, bson_error_t *error);

bool
__wrap_mongoc_cursor_next(mongoc_cursor_t *cursor, const bson_t **bson)
{
    if (failed_cursor == cursor) {
        return false;
    }
    if (hit(KIND_MONGO)) {
        failed_cursor = cursor;
        *bson = NULL;
        return false;
    }
    return __real_mongoc_cursor_next(cursor, bson);
}

bool
__wrap_mongoc_cursor_error(mongoc_cursor_t *cursor, bson_error_t *error)
{
    if (failed_cursor == cursor) {
        failed_cursor = NULL; /* the pointer may be reused by the next cursor */
        socket_error(NULL, error);
        return true;
    }
    return __real_mongoc_cursor_error(cursor, error);
}

/* --- the libraries' allocations: jansson's and libbson's --------------------------------
 *
 *   FAULT_INJECT=json:N    the N-th of jansson's allocations fails. jansson allocates
 *                          through common/jsonmem.c's allocator (which counts the failures
 *                          its callers check); this wraps it, and makes the malloc() it
 *                          calls return NULL, so that jsonmem counts this failure too.
 *                          (alloc:N counts these allocations with our own.)
 *   FAULT_INJECT=bson:N    the N-th of libbson's allocations (libmongoc's included) fails.
 *                          libbson then aborts the process, as it does whenever memory runs
 *                          out (bson_malloc() and the rest have no failure to return): so
 *                          this is a crash at that point, which the pipeline must survive.
 *
 * At exit, with FAULT_INJECT set, a line "FAULT: library calls: json N bson N". */
#include <jansson.h>

enum lib { LIB_JSON, LIB_BSON, LIB_N };

static const char *const lib_names[LIB_N] = {"json", "bson"};
static long lib_nth[LIB_N];
static atomic_long lib_calls[LIB_N];
static atomic_int lib_configured;

/* Read FAULT_INJECT for json:N or bson:N, once. No allocation: this runs inside them. */
static void
lib_configure(void)
{
    const char *v = getenv("FAULT_INJECT");
    int expected = 0;

    if (atomic_load(&lib_configured)) {
        return;
    }
    for (int k = 0; v != NULL && k < LIB_N; k++) {
        if (strncmp(v, lib_names[k], 4) == 0 && v[4] == ':') {
            lib_nth[k] = strtol(v + 5, NULL, 10);
        }
    }
    atomic_compare_exchange_strong(&lib_configured, &expected, 1);
}

/* Count an allocation of library k; 1 when it is the one to fail. */
static int
lib_hit(enum lib k)
{
    long n;

    lib_configure();
    n = atomic_fetch_add(&lib_calls[k], 1) + 1;
    if (n == lib_nth[k]) {
        char line[96];
        int len =
            snprintf(line, sizeof line, "FAULT: failing %s allocation %ld\n", lib_names[k], n);
        fwrite(line, 1, (size_t)len, stderr);
        return 1;
    }
    return 0;
}

__attribute__((destructor)) static void
lib_report(void)
{
    char line[96];
    int len;

    if (getenv("FAULT_INJECT") == NULL) {
        return;
    }
    len = snprintf(line, sizeof line, "FAULT: library calls: json %ld bson %ld\n",
                   atomic_load(&lib_calls[LIB_JSON]), atomic_load(&lib_calls[LIB_BSON]));
    fwrite(line, 1, (size_t)len, stderr);
}

static json_malloc_t json_inner; /* jsonmem's allocator */

static void *
json_fault_malloc(size_t n)
{
    if (lib_hit(LIB_JSON)) {
        json_fails_next = 1; /* the malloc() jsonmem's allocator calls: seen failing there */
    }
    return json_inner(n);
}

void __real_json_set_alloc_funcs(json_malloc_t malloc_fn, json_free_t free_fn);
void __wrap_json_set_alloc_funcs(json_malloc_t malloc_fn, json_free_t free_fn);

void
__wrap_json_set_alloc_funcs(json_malloc_t malloc_fn, json_free_t free_fn)
{
    json_inner = malloc_fn;
    __real_json_set_alloc_funcs(json_fault_malloc, free_fn);
}

static void *
bson_fault_malloc(size_t n)
{
    return lib_hit(LIB_BSON) ? NULL : __real_malloc(n);
}

static void *
bson_fault_calloc(size_t n, size_t size)
{
    return lib_hit(LIB_BSON) ? NULL : __real_calloc(n, size);
}

static void *
bson_fault_realloc(void *p, size_t n)
{
    return lib_hit(LIB_BSON) ? NULL : __real_realloc(p, n);
}

static void *
bson_fault_aligned_alloc(size_t alignment, size_t n)
{
    return lib_hit(LIB_BSON) ? NULL : aligned_alloc(alignment, n);
}

/* Before main(), so before mongoc_init(): libbson's allocations through the counters. */
__attribute__((constructor)) static void
lib_install(void)
{
    static const bson_mem_vtable_t vtable = {
        .malloc = bson_fault_malloc,
        .calloc = bson_fault_calloc,
        .realloc = bson_fault_realloc,
        .free = free,
        .aligned_alloc = bson_fault_aligned_alloc,
    };

    bson_mem_set_vtable(&vtable);
}

/* --- races and lost replies (the processor's protocol tests) -------------------------------
 * Apart from FAULT_INJECT: these do not fail a call, they answer as a real server does that
 * lost a race to another client, or as a network that lost an answer.
 *
 *   FAULT_DUPKEY=void:N   the N-th update that voids a batch on a rollup document (an update
 *                         with $addToSet: {voided}) answers a duplicate key without running:
 *                         what MongoDB answers an upsert whose filter is not a plain equality
 *                         when another client created the document at that moment
 *   FAULT_DUPKEY=bulk:N   the N-th bulk write answers a duplicate key without running, and so
 *                         does the next single update of the same thread (the bulk's updates
 *                         rerun one by one, the first meeting the same race)
 *   FAULT_LOSE_REPLY=N    the N-th Redis reply is read and then lost with the connection:
 *                         Redis ran the command, and the caller never learns that it did
 *   FAULT_CAS_LOST=1      every multi-document update (the rollups' compare-and-sets of
 *                         an owner) succeeds without changing anything, as when another
 *                         processor takes every event over first, again and again
 */

static atomic_int race_configured;
static int dupkey_void; /* FAULT_DUPKEY names void updates (1) or bulk writes (0) */
static long dupkey_nth; /* 0: no FAULT_DUPKEY */
static long lose_nth;   /* 0: no FAULT_LOSE_REPLY */
static int cas_lost;    /* FAULT_CAS_LOST */
static atomic_long dupkey_seen, replies_seen;
static _Thread_local int dupkey_next_update; /* the rerun of a bulk answered a duplicate key */

/* Read FAULT_DUPKEY and FAULT_LOSE_REPLY once. */
static void
race_configure(void)
{
    const char *v = getenv("FAULT_DUPKEY");
    int expected = 0;

    if (atomic_load(&race_configured)) {
        return;
    }
    if (v != NULL && (strncmp(v, "void:", 5) == 0 || strncmp(v, "bulk:", 5) == 0)) {
        dupkey_void = v[0] == 'v';
        dupkey_nth = strtol(v + 5, NULL, 10);
    }
    v = getenv("FAULT_LOSE_REPLY");
    lose_nth = v != NULL ? strtol(v, NULL, 10) : 0;
    v = getenv("FAULT_CAS_LOST");
    cas_lost = v != NULL && strcmp(v, "1") == 0;
    atomic_compare_exchange_strong(&race_configured, &expected, 1);
}

/* What an update or a bulk write that lost the race to create its document answers. */
static void
duplicate_key(bson_t *reply, bson_error_t *error, int bulk)
{
    static const char msg[] = "E11000 duplicate key error (fault injection: a lost upsert race)";

    if (reply != NULL) {
        bson_init(reply);
        if (bulk) {
            BCON_APPEND(reply, "writeErrors", "[", "{", "index", BCON_INT32(0), "code",
                        BCON_INT32(11000), "errmsg", BCON_UTF8(msg), "}", "]");
        }
    }
    if (error != NULL) {
        bson_set_error(error, MONGOC_ERROR_SERVER, 11000, "%s", msg);
    }
    fprintf(stderr, "FAULT: %s answers a duplicate key\n", bulk ? "a bulk write" : "an update");
}

static int
race_bulk(bson_t *reply, bson_error_t *error)
{
    race_configure();
    if (dupkey_nth == 0 || dupkey_void || atomic_fetch_add(&dupkey_seen, 1) + 1 != dupkey_nth) {
        return 0;
    }
    dupkey_next_update = 1;
    duplicate_key(reply, error, 1);
    return 1;
}

/* Whether update voids a batch: {$addToSet: {voided: ...}}. */
static int
voids(const bson_t *update)
{
    bson_iter_t it, child;

    return bson_iter_init_find(&it, update, "$addToSet") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
           bson_iter_recurse(&it, &child) && bson_iter_find(&child, "voided");
}

/* The single update's race: a duplicate key where FAULT_DUPKEY says. Returns 1 with the
 * answer in *answer when it answers in the server's place, else 0. */
static int
race_update_one(const bson_t *update, bson_t *reply, bson_error_t *error, bool *answer)
{
    if (dupkey_next_update || (dupkey_nth > 0 && dupkey_void && voids(update) &&
                               atomic_fetch_add(&dupkey_seen, 1) + 1 == dupkey_nth)) {
        dupkey_next_update = 0;
        duplicate_key(reply, error, 0);
        *answer = false;
        return 1;
    }
    return 0;
}

/* The multi-document update's: with FAULT_CAS_LOST, it succeeds and changes nothing. */
static int
race_update_many(const bson_t *update, bson_t *reply, bson_error_t *error, bool *answer)
{
    (void)update;
    (void)error;
    if (!cas_lost) {
        return 0;
    }
    if (reply != NULL) {
        bson_init(reply);
        BCON_APPEND(reply, "matchedCount", BCON_INT32(0), "modifiedCount", BCON_INT32(0));
    }
    *answer = true;
    return 1;
}

/* An update's wrapper: FAULT_INJECT's lost connection, then the race of FAULT_DUPKEY or
 * FAULT_CAS_LOST. */
#define WRAP_UPDATE(name, race)                                                                    \
    bool __real_##name(mongoc_collection_t *c, const bson_t *selector, const bson_t *update,       \
                       const bson_t *opts, bson_t *reply, bson_error_t *error);                    \
    bool __wrap_##name(mongoc_collection_t *c, const bson_t *selector, const bson_t *update,       \
                       const bson_t *opts, bson_t *reply, bson_error_t *error);                    \
    bool __wrap_##name(mongoc_collection_t *c, const bson_t *selector, const bson_t *update,       \
                       const bson_t *opts, bson_t *reply, bson_error_t *error)                     \
    {                                                                                              \
        bool answer;                                                                               \
        if (hit(KIND_MONGO)) {                                                                     \
            socket_error(reply, error);                                                            \
            return false;                                                                          \
        }                                                                                          \
        race_configure();                                                                          \
        if (race(update, reply, error, &answer)) {                                                 \
            return answer;                                                                         \
        }                                                                                          \
        return __real_##name(c, selector, update, opts, reply, error);                             \
    }
WRAP_UPDATE(mongoc_collection_update_one, race_update_one)
WRAP_UPDATE(mongoc_collection_update_many, race_update_many)

/* The reply of a Redis call, or NULL when it is the one to lose (freed, the context broken). */
static void *
race_reply(redisContext *c, void *reply)
{
    race_configure();
    if (reply == NULL || atomic_fetch_add(&replies_seen, 1) + 1 != lose_nth) {
        return reply;
    }
    freeReplyObject(reply);
    break_context(c);
    fprintf(stderr, "FAULT: losing Redis reply %ld\n", lose_nth);
    return NULL;
}

/* At exit, how many Redis replies the process read, so that a test can tell which
 * FAULT_LOSE_REPLY reach past its last one. */
__attribute__((destructor)) static void
race_report(void)
{
    if (getenv("FAULT_LOSE_REPLY") != NULL) {
        fprintf(stderr, "FAULT: replies: %ld\n", atomic_load(&replies_seen));
    }
}
