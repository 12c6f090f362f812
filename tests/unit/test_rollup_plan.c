/* test_rollup_plan.c - table tests of processor/rollup_plan.c: the rollup protocol's
 * decisions for each crash and redelivery interleaving, run against a store described by the
 * row (which batches have applied, which are voided, who owns what), not against MongoDB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rollup_doc.h"
#include "rollup_plan.h"
#include "ts.h"

#define ME "bbbbbbbbbbbbbbbb:7" /* the batch planned */
#define V "vvvvvvvvvvvvvvvv:3"  /* an earlier batch */
#define W "wwwwwwwwwwwwwwww:5"  /* another processor's batch */
#define T_DAY 1763202600000LL   /* 2025-11-15T10:30:00Z */
#define MAX_EVS 4

/* One event of the batch: its fields, its insert outcome and, for a duplicate, the owner
 * that the store reports in each of its figures; its envelope's delivery (NULL: its id, an
 * envelope without "dlv") and the delivery of the stored document (NULL: none recorded). */
struct row_event {
    const char *id, *type, *path, *user;
    enum insert_outcome outcome;
    const char *owner;
    const char *dlv, *stored_dlv;
    const char *referrer; /* properties.referrer (NULL: no properties) */
};

/* One visit: a page view of /a (starts it: a bounce, entry and exit /a), a page view of /b
 * 5 s later (no bounce any more, the exit moves from /a to /b), a click 1 s later. */
#define VISIT_ID "0190163d-8694-7abc-8def-0123456789ab"
static const struct event_visit VISIT_1 = {.id = VISIT_ID,
                                           .seq = 1,
                                           .start_ms = T_DAY,
                                           .n = 1,
                                           .b = 1,
                                           .e = "/a",
                                           .en = 1,
                                           .eb = 1,
                                           .x = "/a",
                                           .xn = 1,
                                           .xb = 1};
static const struct event_visit VISIT_2 = {.id = VISIT_ID,
                                           .seq = 2,
                                           .start_ms = T_DAY,
                                           .b = -1,
                                           .d = 5000,
                                           .e = "/a",
                                           .eb = -1,
                                           .x = "/b",
                                           .xn = 1,
                                           .xo = "/a",
                                           .xob = 1};
static const struct event_visit VISIT_3 = {.id = VISIT_ID, .seq = 3, .start_ms = T_DAY, .d = 1000};
/* An event that changes nothing (a scroll at the same ms); and, against the contract, an exit
 * that "moves" from /a to /a with a bounce before and none after. */
static const struct event_visit VISIT_NONE = {.id = VISIT_ID, .seq = 4, .start_ms = T_DAY};
static const struct event_visit VISIT_SAME_EXIT = {
    .id = VISIT_ID, .seq = 5, .start_ms = T_DAY, .x = "/a", .xn = 1, .xo = "/a", .xob = 1};
/* Another visit: a page view without a path starts it (a bounce, but no entry nor exit yet),
 * then a page view of /a 5 s later is its entry and exit and ends the bounce (b -1): the entry
 * page gets eb 0 (its bounce after), not b, so it ends with 0 bounces, as the visit. */
static const struct event_visit VISIT_NOPATH_1 = {
    .id = VISIT_ID, .seq = 1, .start_ms = T_DAY, .n = 1, .b = 1};
static const struct event_visit VISIT_NOPATH_2 = {.id = VISIT_ID,
                                                  .seq = 2,
                                                  .start_ms = T_DAY,
                                                  .b = -1,
                                                  .d = 5000,
                                                  .e = "/a",
                                                  .en = 1,
                                                  .eb = 0,
                                                  .x = "/a",
                                                  .xn = 1,
                                                  .xb = 0};

/* What the store holds when the batch runs. */
struct row_store {
    const char *applied[3];  /* batches that have applied on every document they touch */
    const char *cas_lost_to; /* the first takeover of each pair loses to this batch */
    const char *user_owner;  /* b of every user document that exists already (NULL: none) */
    const char *voided[3];   /* batches in the voided list of the site-days */
    const char *days_only;   /* a batch that applied on the site-days and paths, and crashed
                              * before the site-hours: voided there once asked */
    int void_race;           /* the first void of each question answers a duplicate key and
                              * changes nothing: another processor created the document then */
};

/* What the plan must decide, on the site-day (all types) document and overall. */
struct row_want {
    int64_t views, users;    /* added to the site-day document */
    int64_t path_views;      /* added to its "/a" path document */
    size_t taken_over;       /* (event, figure) pairs */
    size_t users_taken_over; /* user documents */
    size_t questions;        /* (document, owner) pairs resolved in the first round */
    int rounds;
    size_t client_dups;             /* redelivered events found to be a client's duplicates */
    int64_t hour_views, hour_users; /* added to the site-hour (all types); -1: the views as
                                     * the day's, the users 0 (site-hours have none) */
    int64_t ref_views;              /* added to the site-day's "news.example.com" document */
    const char *hour_set; /* the users added to the site-hour's (all types) set u, separated
                           * by spaces ("": none; NULL: not checked) */
};

struct row {
    const char *name;
    struct row_event evs[MAX_EVS];
    struct row_store store;
    struct row_want want;
};

/* A row whose events have visits (visit[i] of evs[i]; NULL: none), and the visit figures it
 * must add: visits, bounces, duration_ms to the visit site-day and site-hour of T_DAY; visits
 * and bounces to the entry page "/a" and to the exit pages "/a" and "/b". */
struct visit_row {
    struct row row;
    const struct event_visit *visit[MAX_EVS];
    int64_t visit_day[3], visit_hour[3], entry_a[2], exit_a[2], exit_b[2];
};

static const struct row rows[] = {
    {"a fresh batch: counts its events, a user once, no question",
     {{"e1", "page_view", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, NULL},
      {"e2", "page_view", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, NULL},
      {"e3", "click", "/b", "u2", INSERT_NEW, NULL, NULL, NULL, NULL}},
     {{NULL}, NULL, NULL, {NULL}, NULL, 0},
     {3, 2, 2, 0, 0, 0, 0, 0, -1, -1, 0, NULL}},
    {"its own retry after a crash between storing and counting",
     {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, ME, NULL, NULL, NULL},
      {"e2", "page_view", "/a", "u1", INSERT_DUPLICATE, ME, NULL, NULL, NULL}},
     {{NULL}, NULL, ME, {NULL}, NULL, 0},
     {2, 1, 2, 0, 0, 0, 1, 0, -1, -1, 0, NULL}},
    {"a rejected event is neither stored nor counted",
     {{"e1", "page_view", "/a", "u1", INSERT_REJECTED, NULL, NULL, NULL, NULL},
      {"e2", "page_view", "/b", "u2", INSERT_NEW, NULL, NULL, NULL, NULL}},
     {{NULL}, NULL, NULL, {NULL}, NULL, 0},
     {1, 1, 0, 0, 0, 0, 0, 0, -1, -1, 0, NULL}},
    {"an envelope reusing a stored event's id (a conflict): not counted, no question, no "
     "takeover",
     {{"e1", "page_view", "/a", "u1", INSERT_CONFLICT, V, NULL, NULL, NULL},
      {"e2", "page_view", "/a", "u2", INSERT_NEW, NULL, NULL, NULL, NULL}},
     {{NULL}, NULL, NULL, {V}, NULL, 0},
     {1, 1, 1, 0, 0, 0, 0, 0, -1, -1, 0, NULL}},
    {"redelivered, its first batch applied: counted there, not here",
     {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL}},
     {{V}, NULL, V, {NULL}, NULL, 0},
     {0, 0, 0, 0, 0, 7, 1, 0, -1, -1, 0, NULL}},
    {"redelivered, its first batch crashed before counting: voided, taken over",
     {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL}},
     {{NULL}, NULL, V, {V}, NULL, 0},
     {1, 1, 1, 7, 2, 7, 1, 0, -1, -1, 0, NULL}},
    {"redelivered, its first batch crashed, each void lost the race to create its document: "
     "voided again (the document says neither applied nor voided), taken over",
     {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL}},
     {{NULL}, NULL, V, {V}, NULL, 1},
     {1, 1, 1, 7, 2, 7, 1, 0, -1, -1, 0, NULL}},
    {"redelivered, its first batch applied, each void answered a duplicate key: applied (the "
     "document says so), counted there, not here",
     {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL}},
     {{V}, NULL, V, {NULL}, NULL, 1},
     {0, 0, 0, 0, 0, 7, 1, 0, -1, -1, 0, NULL}},
    {"redelivered while its first batch is live (frozen, not applied): voided, taken over",
     {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL},
      {"e2", "page_view", "/a", "u2", INSERT_NEW, NULL, NULL, NULL, NULL}},
     {{NULL}, NULL, V, {V}, NULL, 0},
     {2, 2, 2, 7, 4, 7, 1, 0, -1, -1, 0, NULL}},
    {"two owners: one applied, one voided",
     {{"e1", "page_view", "/a", NULL, INSERT_DUPLICATE, V, NULL, NULL, NULL},
      {"e2", "page_view", "/a", NULL, INSERT_DUPLICATE, W, NULL, NULL, NULL}},
     {{V}, NULL, NULL, {NULL}, NULL, 0},
     {1, 0, 1, 7, 0, 14, 1, 0, -1, -1, 0, NULL}},
    {"stored without an owner: taken over without a question",
     {{"e1", "page_view", "/a", NULL, INSERT_DUPLICATE, "", NULL, NULL, NULL}},
     {{NULL}, NULL, NULL, {NULL}, NULL, 0},
     {1, 0, 1, 7, 0, 0, 1, 0, -1, -1, 0, NULL}},
    {"a takeover lost to another processor, whose batch then applied",
     {{"e1", "page_view", "/a", NULL, INSERT_DUPLICATE, V, NULL, NULL, NULL}},
     {{W}, W, NULL, {NULL}, NULL, 0},
     {0, 0, 0, 0, 0, 7, 2, 0, -1, -1, 0, NULL}},
    {"a takeover lost to another processor that crashed too: taken from it",
     {{"e1", "page_view", "/a", NULL, INSERT_DUPLICATE, V, NULL, NULL, NULL}},
     {{NULL}, W, NULL, {NULL}, NULL, 0},
     {1, 0, 1, 7, 0, 7, 2, 0, -1, -1, 0, NULL}},
    {"a user document whose owner was voided: taken over, the user counted here",
     {{"e1", "page_view", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, NULL}},
     {{NULL}, NULL, V, {V}, NULL, 0},
     {1, 1, 1, 0, 2, 0, 0, 0, -1, -1, 0, NULL}},
    {"a user document of a live batch: it keeps its user",
     {{"e1", "page_view", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, NULL}},
     {{NULL}, NULL, W, {V}, NULL, 0},
     {1, 0, 1, 0, 0, 0, 0, 0, -1, -1, 0, NULL}},
    {"a client's duplicate in the batch itself: counted once",
     {{"e1", "page_view", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, NULL},
      {"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, ME, NULL, NULL, NULL}},
     {{NULL}, NULL, NULL, {NULL}, NULL, 0},
     {1, 1, 1, 0, 0, 0, 0, 0, -1, -1, 0, NULL}},
    /* Client ids: the same _id from two envelopes (deliveries d1 stored it, d2 the second). */
    {"a client's duplicate meeting a live batch: no question, not voided, not counted here",
     {{"s:e1", "page_view", "/a", "u1", INSERT_DUPLICATE, W, "d2", "d1", NULL},
      {"e2", "page_view", "/a", "u2", INSERT_NEW, NULL, NULL, NULL, NULL}},
     {{NULL}, NULL, NULL, {NULL}, NULL, 0},
     {1, 1, 1, 0, 0, 0, 0, 1, -1, -1, 0, NULL}},
    {"a client's duplicate meeting an applied batch: not counted again",
     {{"s:e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, "d2", "d1", NULL}},
     {{V}, NULL, V, {NULL}, NULL, 0},
     {0, 0, 0, 0, 0, 0, 0, 1, -1, -1, 0, NULL}},
    {"a client's duplicate meeting a crashed batch: not taken over by the duplicate",
     {{"s:e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, "d2", "d1", NULL}},
     {{NULL}, NULL, V, {V}, NULL, 0},
     {0, 0, 0, 0, 0, 0, 0, 1, -1, -1, 0, NULL}},
    {"the crashed batch's own redelivery (same delivery): voided, taken over",
     {{"s:e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, "d1", "d1", NULL}},
     {{NULL}, NULL, V, {V}, NULL, 0},
     {1, 1, 1, 7, 2, 7, 1, 0, -1, -1, 0, NULL}},
    {"a client's duplicate, then the genuine redelivery, in one batch: taken over once",
     {{"s:e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, "d2", "d1", NULL},
      {"s:e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, "d1", "d1", NULL}},
     {{NULL}, NULL, V, {V}, NULL, 0},
     {1, 1, 1, 7, 2, 7, 1, 1, -1, -1, 0, NULL}},
    {"the genuine redelivery, then a client's duplicate, in one batch: taken over once",
     {{"s:e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, "d1", "d1", NULL},
      {"s:e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, "d2", "d1", NULL}},
     {{NULL}, NULL, V, {V}, NULL, 0},
     {1, 1, 1, 7, 2, 7, 1, 1, -1, -1, 0, NULL}},
    {"stored and then sent again by the client in one batch: counted once, by the first",
     {{"s:e1", "page_view", "/a", "u1", INSERT_NEW, NULL, "d1", NULL, NULL},
      {"s:e1", "page_view", "/a", "u1", INSERT_DUPLICATE, ME, "d2", "d1", NULL}},
     {{NULL}, NULL, NULL, {NULL}, NULL, 0},
     {1, 1, 1, 0, 0, 0, 0, 1, -1, -1, 0, NULL}},
    {"a document without a delivery (stored before them) is its _id's: an old envelope's "
     "redelivery takes it over",
     {{"0190163d-8694-7abc-8def-0123456789ab", "page_view", "/a", NULL, INSERT_DUPLICATE, V, NULL,
       NULL, NULL}},
     {{NULL}, NULL, NULL, {NULL}, NULL, 0},
     {1, 0, 1, 7, 0, 7, 1, 0, -1, -1, 0, NULL}},
    {"a document without a delivery met by a new envelope with that _id: a client duplicate",
     {{"0190163d-8694-7abc-8def-0123456789ab", "page_view", "/a", NULL, INSERT_DUPLICATE, V, "d2",
       NULL, NULL}},
     {{NULL}, NULL, NULL, {NULL}, NULL, 0},
     {0, 0, 0, 0, 0, 0, 0, 1, -1, -1, 0, NULL}},
    {"page views with a referrer count under its host; a click's referrer counts nowhere",
     {{"e1", "page_view", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, "https://News.example.com/x"},
      {"e2", "page_view", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, "http://news.example.com:80"},
      {"e3", "click", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, "https://news.example.com/"},
      {"e4", "page_view", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, "news.example.com"}},
     {{NULL}, NULL, NULL, {NULL}, NULL, 0},
     {4, 1, 4, 0, 0, 0, 0, 0, -1, -1, 2, NULL}},
    {"a redelivered page view with a referrer, its batch crashed: taken over there too",
     {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, "https://news.example.com"}},
     {{NULL}, NULL, V, {V}, NULL, 0},
     {1, 1, 1, 8, 2, 8, 1, 0, -1, -1, 1, NULL}},
    {"a redelivered page view with a referrer, its batch applied: counted there, not here",
     {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, "https://news.example.com"}},
     {{V}, NULL, V, {NULL}, NULL, 0},
     {0, 0, 0, 0, 0, 8, 1, 0, -1, -1, 0, NULL}},
    {"redelivered, its batch crashed between the site-days and the site-hours: taken over "
     "on the site-hours only (views: they have no users)",
     {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL}},
     {{NULL}, NULL, V, {NULL}, V, 0},
     {0, 0, 0, 3, 0, 7, 1, 0, 1, 0, 0, NULL}},
    {"a batch crashed between the site-days and the site-hours, an event of its user: its "
     "user documents stay its own (not voided on the site-days)",
     {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL},
      {"e2", "click", "/b", "u1", INSERT_NEW, NULL, NULL, NULL, NULL}},
     {{NULL}, NULL, V, {NULL}, V, 0},
     {1, 0, 0, 3, 0, 7, 1, 0, 2, 0, 0, NULL}},
    /* The site-hour's set u: the users of the events counted there, each once. */
    {"hour set: the users of a fresh batch's events in the hour, each once; none without a user",
     {{"e1", "page_view", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, NULL},
      {"e2", "click", "/b", "u1", INSERT_NEW, NULL, NULL, NULL, NULL},
      {"e3", "page_view", "/a", "u2", INSERT_NEW, NULL, NULL, NULL, NULL},
      {"e4", "page_view", "/a", "", INSERT_NEW, NULL, NULL, NULL, NULL}},
     {{NULL}, NULL, NULL, {NULL}, NULL, 0},
     {4, 2, 3, 0, 0, 0, 0, 0, -1, -1, 0, "u1 u2"}},
    {"hour set: a takeover adds the user of the taken-over event",
     {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL},
      {"e2", "page_view", "/a", "u2", INSERT_NEW, NULL, NULL, NULL, NULL}},
     {{NULL}, NULL, V, {V}, NULL, 0},
     {2, 2, 2, 7, 4, 7, 1, 0, -1, -1, 0, "u1 u2"}},
    {"hour set: an event whose batch applied adds nothing (its batch added its user)",
     {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL}},
     {{V}, NULL, V, {NULL}, NULL, 0},
     {0, 0, 0, 0, 0, 7, 1, 0, -1, -1, 0, ""}},
    {"hour set: a client's duplicate adds nothing",
     {{"s:e1", "page_view", "/a", "u1", INSERT_DUPLICATE, W, "d2", "d1", NULL},
      {"e2", "page_view", "/a", "u2", INSERT_NEW, NULL, NULL, NULL, NULL}},
     {{NULL}, NULL, NULL, {NULL}, NULL, 0},
     {1, 1, 1, 0, 0, 0, 0, 1, -1, -1, 0, "u2"}},
    {"hour set: taken over on the site-hours only, the user added there (not on the day)",
     {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL}},
     {{NULL}, NULL, V, {NULL}, V, 0},
     {0, 0, 0, 3, 0, 7, 1, 0, 1, 0, 0, "u1"}},
    {"hour set: a user whose day document a live batch keeps is still in the hour's set",
     {{"e1", "page_view", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, NULL}},
     {{NULL}, NULL, W, {V}, NULL, 0},
     {1, 0, 1, 0, 0, 0, 0, 0, -1, -1, 0, "u1"}},
};

/* Visit rows: the contributions of one visit's page views /a and /b and a click (VISIT_1..3),
 * which sum to 1 visit, 0 bounces, 6 s, entry /a, exit /b. */
static const struct visit_row visit_rows[] = {
    {{"visits: a fresh batch counts each event's contributions once, vo subtracting",
      {{"e1", "page_view", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, NULL},
       {"e2", "page_view", "/b", "u1", INSERT_NEW, NULL, NULL, NULL, NULL},
       {"e3", "click", "/b", "u1", INSERT_NEW, NULL, NULL, NULL, NULL}},
      {{NULL}, NULL, NULL, {NULL}, NULL, 0},
      {3, 1, 1, 0, 0, 0, 0, 0, -1, -1, 0, NULL}},
     {&VISIT_1, &VISIT_2, &VISIT_3, NULL},
     {1, 0, 6000},
     {1, 0, 6000},
     {1, 0},
     {0, 0},
     {1, 0}},
    {{"visits: redelivered, its batch crashed before counting: voided and taken over on every "
      "visit figure too (e1: 7 + v vh vd ve vx, e2: 7 + v vh vd ve vx vo; 9 + 6 documents)",
      {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL},
       {"e2", "page_view", "/b", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL}},
      {{NULL}, NULL, V, {V}, NULL, 0},
      {2, 1, 1, 25, 2, 15, 1, 0, -1, -1, 0, NULL}},
     {&VISIT_1, &VISIT_2, NULL, NULL},
     {1, 0, 5000},
     {1, 0, 5000},
     {1, 0},
     {0, 0},
     {1, 0}},
    {{"visits: redelivered, its batch applied: counted there, not here",
      {{"e1", "page_view", "/a", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL},
       {"e2", "page_view", "/b", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL}},
      {{V}, NULL, V, {NULL}, NULL, 0},
      {0, 0, 0, 0, 0, 15, 1, 0, -1, -1, 0, NULL}},
     {&VISIT_1, &VISIT_2, NULL, NULL},
     {0, 0, 0},
     {0, 0, 0},
     {0, 0},
     {0, 0},
     {0, 0}},
    {{"visits: a takeover lost to another processor that crashed too: taken from it",
      {{"e2", "page_view", "/b", NULL, INSERT_DUPLICATE, V, NULL, NULL, NULL}},
      {{NULL}, W, NULL, {NULL}, NULL, 0},
      {1, 0, 0, 13, 0, 13, 2, 0, -1, -1, 0, NULL}},
     {&VISIT_2, NULL, NULL, NULL},
     {0, -1, 5000},
     {0, -1, 5000},
     {0, -1},
     {-1, -1},
     {1, 0}},
    {{"visits: a client's duplicate meeting a live batch is not counted (nor voided for)",
      {{"s:e2", "page_view", "/b", "u1", INSERT_DUPLICATE, W, "d2", "d1", NULL},
       {"e1", "page_view", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, NULL}},
      {{NULL}, NULL, NULL, {NULL}, NULL, 0},
      {1, 1, 1, 0, 0, 0, 0, 1, -1, -1, 0, NULL}},
     {&VISIT_2, &VISIT_1, NULL, NULL},
     {1, 1, 0},
     {1, 1, 0},
     {1, 1},
     {1, 1},
     {0, 0}},
    {{"visits: a client's duplicate meeting a crashed batch: not taken over by the duplicate",
      {{"s:e2", "page_view", "/b", "u1", INSERT_DUPLICATE, V, "d2", "d1", NULL}},
      {{NULL}, NULL, V, {V}, NULL, 0},
      {0, 0, 0, 0, 0, 0, 0, 1, -1, -1, 0, NULL}},
     {&VISIT_2, NULL, NULL, NULL},
     {0, 0, 0},
     {0, 0, 0},
     {0, 0},
     {0, 0},
     {0, 0}},
    {{"visits: its batch crashed between the site-days and the site-hours: taken over on the "
      "site-hours and every visit figure (applied after them)",
      {{"e2", "page_view", "/b", "u1", INSERT_DUPLICATE, V, NULL, NULL, NULL}},
      {{NULL}, NULL, V, {NULL}, V, 0},
      {0, 0, 0, 9, 0, 13, 1, 0, 1, 0, 0, NULL}},
     {&VISIT_2, NULL, NULL, NULL},
     {0, -1, 5000},
     {0, -1, 5000},
     {0, -1},
     {-1, -1},
     {1, 0}},
    {{"visits: an event that changes nothing counts in no visit figure; x == xo (never sent) "
      "counts both on one document",
      {{"e1", "scroll", "/a", NULL, INSERT_NEW, NULL, NULL, NULL, NULL},
       {"e2", "page_view", "/a", NULL, INSERT_NEW, NULL, NULL, NULL, NULL}},
      {{NULL}, NULL, NULL, {NULL}, NULL, 0},
      {2, 0, 2, 0, 0, 0, 0, 0, -1, -1, 0, NULL}},
     {&VISIT_NONE, &VISIT_SAME_EXIT, NULL, NULL},
     {0, 0, 0},
     {0, 0, 0},
     {0, 0},
     {0, -1},
     {0, 0}},
    {{"visits: the first page view has no path: the entry page (set by the second) ends with 0 "
      "bounces and 1 visit, as the visit (adding b there would leave it at -1)",
      {{"e1", "page_view", NULL, "u1", INSERT_NEW, NULL, NULL, NULL, NULL},
       {"e2", "page_view", "/a", "u1", INSERT_NEW, NULL, NULL, NULL, NULL}},
      {{NULL}, NULL, NULL, {NULL}, NULL, 0},
      {2, 1, 1, 0, 0, 0, 0, 0, -1, -1, 0, NULL}},
     {&VISIT_NOPATH_1, &VISIT_NOPATH_2, NULL, NULL},
     {1, 0, 5000},
     {1, 0, 5000},
     {1, 0},
     {1, 0},
     {0, 0}},
};

/* Check that the hashes the plan adds to site-hour hd's set are those of the users in
 * `want` (separated by spaces), in ascending order, each once. */
static void
check_hour_set(const struct rollup_plan *p, long hd, const char *want, const char *name)
{
    int64_t hashes[MAX_EVS];
    size_t n = 0;
    char buf[64];
    const struct plan_doc *d = hd >= 0 ? &p->docs[hd] : NULL;

    snprintf(buf, sizeof buf, "%s", want);
    for (char *save = NULL, *u = strtok_r(buf, " ", &save); u != NULL;
         u = strtok_r(NULL, " ", &save)) {
        int64_t h = rollup_user_hash(u);
        size_t at = n++;
        while (at > 0 && hashes[at - 1] > h) { /* keep them ascending */
            hashes[at] = hashes[at - 1];
            at--;
        }
        hashes[at] = h;
    }
    if ((d != NULL ? d->u_n : 0) != n) {
        fail_msg("%s: site-hour set of %zu users, want %zu", name, d != NULL ? d->u_n : 0, n);
    }
    for (size_t x = 0; x < n; x++) {
        if (p->uhash[d->u_at + x] != hashes[x]) {
            fail_msg("%s: site-hour set entry %zu differs", name, x);
        }
    }
}

/* What a document says of batch run:3, from its runs.<run> and voided list alone. */
static void
test_doc_state(void **state)
{
    static const struct {
        int64_t runs_seq;
        int voided;
        enum rollup_doc_state want;
    } cases[] = {
        {0, 0, ROLLUP_DOC_OPEN},    /* no such document, or the run never applied there */
        {2, 0, ROLLUP_DOC_OPEN},    /* an earlier batch of the run applied, not this one */
        {3, 0, ROLLUP_DOC_APPLIED}, /* it applied */
        {5, 0, ROLLUP_DOC_APPLIED}, /* it applied, then later batches of its run */
        {0, 1, ROLLUP_DOC_VOIDED},  /* voided before the document had its run */
        {5, 1, ROLLUP_DOC_VOIDED},  /* voided; later batches of its run applied since */
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(rollup_plan_doc_state(cases[i].runs_seq, cases[i].voided, 3),
                         cases[i].want);
    }
}

/* One try of a void settles its question only when the update matched (voided now) or the
 * document says applied or voided: a duplicate key on a document that says neither is an
 * upsert that lost the race to create it, to be run again. */
static void
test_answer(void **state)
{
    static const struct {
        int matched;
        enum rollup_doc_state st;
        int settled, voided;
    } cases[] = {
        {1, ROLLUP_DOC_OPEN, 1, 1},
        {0, ROLLUP_DOC_VOIDED, 1, 1},
        {0, ROLLUP_DOC_APPLIED, 1, 0},
        {0, ROLLUP_DOC_OPEN, 0, -1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct plan_question q = {0, "vvvvvvvvvvvvvvvv:3", -1};
        assert_int_equal(rollup_plan_answer(&q, cases[i].matched, cases[i].st), cases[i].settled);
        if (cases[i].settled) {
            assert_int_equal(q.voided, cases[i].voided);
        }
    }
}

static int
listed(const char *const *list, size_t n, const char *b)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i] != NULL && strcmp(list[i], b) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A compare-and-set of own.<kind> of event `id` from `from` to `to` in the store, where
 * stored[j] is the document of the plan's duplicate j (two duplicates of one id are one
 * document). */
static void
store_cas(const struct rollup_plan *p, char (*stored)[ROLLUP_KINDS][ROLLUP_BATCH_ID_MAX],
          const char *id, int kind, const char *from, const char *to)
{
    int found = 0;

    for (size_t j = 0; j < p->n_dups; j++) {
        if (strcmp(p->evs[p->dups[j]].id, id) == 0) {
            found = 1;
            if (strcmp(stored[j][kind], from) == 0) { /* else the owner moved */
                snprintf(stored[j][kind], ROLLUP_BATCH_ID_MAX, "%s", to);
            }
        }
    }
    if (!found) {
        fail_msg("a compare-and-set of %s, which is not redelivered", id);
    }
}

/* The index of document `id` of collection ns, or -1. */
static long
doc_named(const struct rollup_plan *p, const char *id, int ns)
{
    for (size_t d = 0; d < p->n_docs; d++) {
        if (p->docs[d].ns == ns && strcmp(p->docs[d].id, id) == 0) {
            return (long)d;
        }
    }
    return -1;
}

/* Check what document id of namespace ns gets (visits, bounces and, when want_d is not NULL,
 * duration_ms) against want; a document not planned gets nothing. */
static void
check_visit_doc(const struct rollup_plan *p, char *id, int ns, const int64_t *want,
                const char *what, const char *name)
{
    long d = doc_named(p, id, ns);
    int64_t got[3] = {0, 0, 0};

    if (d >= 0) {
        got[0] = p->docs[d].visits;
        got[1] = p->docs[d].bounces;
        got[2] = p->docs[d].duration_ms;
        assert_true(p->docs[d].views == 0);
    }
    int with_duration = ns == PLAN_VISIT || ns == PLAN_VDIMS;
    if (got[0] != want[0] || got[1] != want[1] || (with_duration && got[2] != want[2])) {
        fail_msg("%s: %s visits %lld bounces %lld duration %lld, want %lld %lld %lld", name, what,
                 (long long)got[0], (long long)got[1], (long long)got[2], (long long)want[0],
                 (long long)want[1], with_duration ? (long long)want[2] : 0LL);
    }
    free(id);
}

/* The dimensions key of events without any (rollup_dims_key()). */
#define NO_DIMS "-----------"

/* The row's visit figures: the visit site-day and site-hour of T_DAY, the entry page /a, the
 * exit pages /a and /b. */
static void
check_visits(const struct rollup_plan *p, const struct visit_row *r)
{
    char *day = rollup_scope_id("site", T_DAY, NULL);
    const char *name = r->row.name;

    check_visit_doc(p, rollup_scope_id("site", T_DAY, NULL), PLAN_VISIT, r->visit_day,
                    "visit site-day", name);
    check_visit_doc(p, rollup_hour_id("site", ts_floor(T_DAY, TS_HOUR_MS), NULL), PLAN_VISIT,
                    r->visit_hour, "visit site-hour", name);
    /* The visit's dimensions (none: every one absent) count as its start's site-day. */
    check_visit_doc(p, rollup_child_id(day, NO_DIMS), PLAN_VDIMS, r->visit_day, "visit dimensions",
                    name);
    check_visit_doc(p, rollup_child_id(day, "/a"), PLAN_ENTRY, r->entry_a, "entry /a", name);
    check_visit_doc(p, rollup_child_id(day, "/a"), PLAN_EXIT, r->exit_a, "exit /a", name);
    check_visit_doc(p, rollup_child_id(day, "/b"), PLAN_EXIT, r->exit_b, "exit /b", name);
    free(day);
}

/* Run the plan as rollup.c does, the row's store answering; with vr (NULL: none) its events
 * have vr's visits, and its visit figures are checked. */
static void
run_row(const struct row *r, const struct visit_row *vr)
{
    struct event evs[MAX_EVS];
    enum insert_outcome outcomes[MAX_EVS];
    char stored[MAX_EVS][ROLLUP_KINDS][ROLLUP_BATCH_ID_MAX]; /* own.<kind> in the store */
    char user_b[2 * MAX_EVS][ROLLUP_BATCH_ID_MAX];           /* b of the listed user docs */
    struct rollup_plan p;
    size_t n = 0, first_questions = 0, client_dups;
    int rounds = 0;

    for (; n < MAX_EVS && r->evs[n].id != NULL; n++) {
        const struct row_event *e = &r->evs[n];
        memset(&evs[n], 0, sizeof evs[n]);
        snprintf(evs[n].id, sizeof evs[n].id, "%s", e->id);
        snprintf(evs[n].delivery, sizeof evs[n].delivery, "%s", e->dlv ? e->dlv : "");
        evs[n].site_id = "site";
        evs[n].event_type = e->type;
        evs[n].path = e->path;
        evs[n].user_id = e->user;
        evs[n].ts_ms = T_DAY;
        evs[n].properties = e->referrer ? json_pack("{s:s}", "referrer", e->referrer) : NULL;
        if (vr != NULL && vr->visit[n] != NULL) {
            evs[n].has_visit = 1;
            evs[n].visit = *vr->visit[n];
        }
        outcomes[n] = e->outcome;
    }
    assert_int_equal(rollup_plan_init(&p, ME, evs, outcomes, n, NULL), 0);
    for (size_t j = 0; j < p.n_dups; j++) {
        for (int k = 0; k < ROLLUP_KINDS; k++) {
            snprintf(stored[j][k], ROLLUP_BATCH_ID_MAX, "%s", r->evs[p.dups[j]].owner);
            snprintf(p.own[j * ROLLUP_KINDS + (size_t)k], ROLLUP_BATCH_ID_MAX, "%s", stored[j][k]);
        }
        snprintf(p.dlv[j], sizeof p.dlv[j], "%s",
                 r->evs[p.dups[j]].stored_dlv ? r->evs[p.dups[j]].stored_dlv : "");
    }
    client_dups = rollup_plan_client_duplicates(&p);
    /* Redelivered events, round by round. */
    while (rollup_plan_pending(&p) > 0) {
        size_t n_q, n_cas;
        assert_true(rounds < ROLLUP_TAKEOVER_TRIES);
        n_q = rollup_plan_questions(&p);
        if (rounds == 0) {
            first_questions = n_q;
        }
        for (size_t i = 0; i < n_q; i++) {
            /* The executor's void, as the store answers it: no match where the owner has
             * applied (a duplicate key; the document says applied), else the owner voided
             * (matched), unless the row makes the first try lose the race to create the
             * document (a duplicate key; the document says neither). */
            /* days_only: applied on the site-days, paths and referrers; not on the site-hours
             * nor on the visit documents, which rollup.c writes after the site-hours. */
            const struct plan_doc *qd = &p.docs[p.q[i].doc];
            int day = !rollup_plan_is_hour(qd) &&
                      (qd->ns == PLAN_SCOPE || qd->ns == PLAN_PATH || qd->ns == PLAN_REF);
            int applied = listed(r->store.applied, 3, p.q[i].owner) ||
                          (day && listed(&r->store.days_only, 1, p.q[i].owner));
            int tries = 0, settled = 0;
            while (!settled) {
                int matched = !applied && !(r->store.void_race && tries == 0);
                assert_true(tries++ < ROLLUP_UPDATE_TRIES);
                settled = rollup_plan_answer(&p.q[i], matched,
                                             applied ? ROLLUP_DOC_APPLIED : ROLLUP_DOC_OPEN);
            }
        }
        n_cas = rollup_plan_takeovers(&p);
        for (size_t c = 0; c < n_cas; c++) {
            for (size_t x = 0; x < p.cas[c].n; x++) {
                store_cas(&p, stored, p.cas[c].ids[x], p.cas[c].kind, p.cas[c].from,
                          r->store.cas_lost_to != NULL && rounds == 0 ? r->store.cas_lost_to : ME);
            }
        }
        for (size_t j = 0; j < p.n_dups; j++) {
            for (int k = 0; k < ROLLUP_KINDS; k++) {
                snprintf(p.own[j * ROLLUP_KINDS + (size_t)k], ROLLUP_BATCH_ID_MAX, "%s",
                         stored[j][k]);
            }
        }
        rollup_plan_round_end(&p);
        rounds++;
    }
    /* Users: created with b = this batch unless they exist; read back; voided owners'. */
    rollup_plan_users(&p);
    for (size_t i = 0; i < p.n_users; i++) {
        snprintf(user_b[i], ROLLUP_BATCH_ID_MAX, "%s",
                 r->store.user_owner ? r->store.user_owner : ME);
        assert_int_equal(rollup_plan_user_owner(&p, p.docs[p.user_docs[i]].id, user_b[i]), 0);
    }
    for (size_t i = 0, n_q = rollup_plan_user_questions(&p); i < n_q; i++) {
        assert_int_equal(p.docs[p.q[i].doc].ns, PLAN_SCOPE);
        p.q[i].voided = listed(r->store.voided, 3, p.q[i].owner) ||
                        (rollup_plan_is_hour(&p.docs[p.q[i].doc]) &&
                         listed(&r->store.days_only, 1, p.q[i].owner));
    }
    size_t n_cas = rollup_plan_user_takeovers(&p);
    for (size_t c = 0; c < n_cas; c++) {
        assert_int_equal(p.cas[c].kind, -1);
        for (size_t x = 0; x < p.cas[c].n; x++) {
            for (size_t i = 0; i < p.n_users; i++) {
                if (strcmp(p.docs[p.user_docs[i]].id, p.cas[c].ids[x]) == 0 &&
                    strcmp(user_b[i], p.cas[c].from) == 0) {
                    snprintf(user_b[i], ROLLUP_BATCH_ID_MAX, "%s", ME);
                }
            }
        }
    }
    for (size_t i = 0; n_cas > 0 && i < p.n_users; i++) {
        rollup_plan_user_owner(&p, p.docs[p.user_docs[i]].id, user_b[i]);
    }
    assert_int_equal(rollup_plan_user_owner(&p, "no such document", ME), -1);
    rollup_plan_counts(&p);

    char *scope = rollup_scope_id("site", T_DAY, NULL);
    char *path = rollup_child_id(scope, "/a");
    long sd = doc_named(&p, scope, PLAN_SCOPE), pd = doc_named(&p, path, PLAN_PATH);
    int64_t views = sd >= 0 ? p.docs[sd].views : 0, users = sd >= 0 ? p.docs[sd].users : 0;
    int64_t path_views = pd >= 0 ? p.docs[pd].views : 0;
    char *hour = rollup_hour_id("site", ts_floor(T_DAY, TS_HOUR_MS), NULL);
    long hd = doc_named(&p, hour, PLAN_SCOPE);
    int64_t hour_views = hd >= 0 ? p.docs[hd].views : 0,
            hour_users = hd >= 0 ? p.docs[hd].users : 0;
    int64_t want_hv = r->want.hour_views >= 0 ? r->want.hour_views : r->want.views;
    int64_t want_hu = r->want.hour_users >= 0 ? r->want.hour_users : 0;
    if (hour_views != want_hv || hour_users != want_hu) {
        fail_msg("%s:\n  got  site-hour views %lld users %lld\n  want views %lld users %lld",
                 r->name, (long long)hour_views, (long long)hour_users, (long long)want_hv,
                 (long long)want_hu);
    }
    if (r->want.hour_set != NULL) {
        check_hour_set(&p, hd, r->want.hour_set, r->name);
    }
    /* The site-day's dimensions document (the rows' events have none) counts as the site-hour:
     * written after it, so taken over where the site-hour is, with the same set of users. */
    char *dims = rollup_child_id(scope, NO_DIMS);
    long dd = doc_named(&p, dims, PLAN_DIMS);
    int64_t dims_views = dd >= 0 ? p.docs[dd].views : 0;
    if (dims_views != want_hv) {
        fail_msg("%s: dimensions views %lld, want %lld", r->name, (long long)dims_views,
                 (long long)want_hv);
    }
    if (r->want.hour_set != NULL) {
        check_hour_set(&p, dd, r->want.hour_set, r->name);
    }
    free(dims);
    free(hour);
    char *ref = rollup_child_id(scope, "news.example.com");
    long rd = doc_named(&p, ref, PLAN_REF);
    int64_t ref_views = rd >= 0 ? p.docs[rd].views : 0;
    if (ref_views != r->want.ref_views) {
        fail_msg("%s: referrer views %lld, want %lld", r->name, (long long)ref_views,
                 (long long)r->want.ref_views);
    }
    free(ref);
    if (vr != NULL) {
        check_visits(&p, vr);
    }
    for (size_t i = 0; i < n; i++) {
        json_decref(evs[i].properties);
    }
    if (views != r->want.views || users != r->want.users || path_views != r->want.path_views ||
        p.taken_over != r->want.taken_over || p.users_taken_over != r->want.users_taken_over ||
        first_questions != r->want.questions || rounds != r->want.rounds ||
        client_dups != r->want.client_dups) {
        fail_msg("%s:\n  got  views %lld users %lld /a %lld taken %zu users taken %zu "
                 "questions %zu rounds %d client dups %zu\n  want views %lld users %lld /a %lld "
                 "taken %zu users taken %zu questions %zu rounds %d client dups %zu",
                 r->name, (long long)views, (long long)users, (long long)path_views, p.taken_over,
                 p.users_taken_over, first_questions, rounds, client_dups, (long long)r->want.views,
                 (long long)r->want.users, (long long)r->want.path_views, r->want.taken_over,
                 r->want.users_taken_over, r->want.questions, r->want.rounds, r->want.client_dups);
    }
    free(scope);
    free(path);
    rollup_plan_free(&p);
}

static void
test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        run_row(&rows[i], NULL);
    }
}

/* The visit figures: counted exactly once under the same protocol (visit_rows[]). */
static void
test_visit_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof visit_rows / sizeof visit_rows[0]; i++) {
        run_row(&visit_rows[i].row, &visit_rows[i]);
    }
}

/* The figures of an event: the site-day and its type always, the path documents only with
 * a non-empty path, the users only with a non-empty user id. */
static void
test_figures_of_an_event(void **state)
{
    struct event evs[2];
    enum insert_outcome outcomes[2] = {INSERT_NEW, INSERT_NEW};
    struct rollup_plan p;
    size_t scopes = 0, paths = 0;

    (void)state;
    memset(evs, 0, sizeof evs);
    snprintf(evs[0].id, sizeof evs[0].id, "a");
    snprintf(evs[1].id, sizeof evs[1].id, "b");
    evs[0].site_id = evs[1].site_id = "s";
    evs[0].event_type = "click";
    evs[1].event_type = "page_view";
    evs[0].path = "";
    evs[1].path = "/x";
    evs[0].user_id = "";
    evs[1].user_id = NULL;
    evs[0].ts_ms = evs[1].ts_ms = T_DAY;
    assert_int_equal(rollup_plan_init(&p, ME, evs, outcomes, 2, NULL), 0);
    assert_int_equal(rollup_plan_users(&p), 0);
    rollup_plan_counts(&p);
    for (size_t d = 0; d < p.n_docs; d++) {
        scopes += p.docs[d].ns == PLAN_SCOPE;
        paths += p.docs[d].ns == PLAN_PATH;
    }
    assert_int_equal(scopes, 6); /* all types, click, page_view: a day and an hour each */
    assert_int_equal(paths, 2);  /* /x in all types and in page_view, of the day */
    assert_int_equal(p.docs[p.doc_of[0][ROLLUP_KIND_HOUR_ALL]].views, 2);
    assert_int_equal(p.docs[p.doc_of[1][ROLLUP_KIND_HOUR_TYPE]].views, 1);
    assert_true(rollup_plan_is_hour(&p.docs[p.doc_of[1][ROLLUP_KIND_HOUR_TYPE]]));
    assert_false(rollup_plan_is_hour(&p.docs[p.doc_of[1][ROLLUP_KIND_TYPE]]));
    assert_int_equal(p.docs[p.doc_of[0][ROLLUP_KIND_ALL]].views, 2);
    assert_int_equal(p.doc_of[0][ROLLUP_KIND_PATH_ALL], -1);
    assert_int_equal(p.docs[p.doc_of[1][ROLLUP_KIND_PATH_TYPE]].views, 1);
    rollup_plan_free(&p);
}

/* A site with a time zone counts its local days and hours: Kolkata's event at 20:10Z is of
 * 2026-06-02 there (01:40 local), in the site-hour from 19:30Z; a visit started at 18:20Z is of
 * 2026-06-01 (23:50 local), its hour from 17:30Z; a site without one keeps UTC. */
static void
test_zones(void **state)
{
    struct event evs[2];
    enum insert_outcome outcomes[2] = {INSERT_NEW, INSERT_NEW};
    struct sitetz tzs;
    struct app_err err;
    struct rollup_plan p;
    static const struct {
        int ev, kind;
        const char *id, *date;
        int64_t hour_ms;
    } docs[] = {
        {0, ROLLUP_KIND_ALL, "2026-06-02|*|2:in", "2026-06-02", 0},
        {0, ROLLUP_KIND_HOUR_ALL, "2026-06-01T19:30|*|2:in", "2026-06-02", 1780342200000LL},
        {0, ROLLUP_KIND_VISIT, "2026-06-01|*|2:in", "2026-06-01", 0},
        {0, ROLLUP_KIND_VISIT_HOUR, "2026-06-01T17:30|*|2:in", "2026-06-01", 1780335000000LL},
        {1, ROLLUP_KIND_ALL, "2026-06-01|*|2:ut", "2026-06-01", 0},
        {1, ROLLUP_KIND_HOUR_ALL, "2026-06-01T20|*|2:ut", "2026-06-01", 1780344000000LL},
    };

    (void)state;
    assert_int_equal(sitetz_parse("in:Asia/Kolkata", &tzs, &err), 0);
    memset(evs, 0, sizeof evs);
    for (int i = 0; i < 2; i++) {
        snprintf(evs[i].id, sizeof evs[i].id, "e%d", i);
        evs[i].site_id = i == 0 ? "in" : "ut";
        evs[i].event_type = "page_view";
        evs[i].path = "/";
        evs[i].ts_ms = 1780344600000LL; /* 2026-06-01T20:10:00Z */
    }
    evs[0].has_visit = 1;
    evs[0].visit = (struct event_visit){.id = "e0", .seq = 2, .start_ms = 1780338000000LL, .d = 1};
    assert_int_equal(rollup_plan_init(&p, ME, evs, outcomes, 2, &tzs), 0);
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        long d = p.doc_of[docs[i].ev][docs[i].kind];
        char day[TS_FORMAT_LEN];
        assert_true(d >= 0);
        assert_string_equal(p.docs[d].id, docs[i].id);
        ts_format(p.docs[d].day * TS_DAY_MS, day);
        assert_memory_equal(day, docs[i].date, 10);
        if (rollup_plan_is_hour(&p.docs[d])) {
            assert_int_equal(p.docs[d].hour_ms, docs[i].hour_ms);
        }
    }
    rollup_plan_free(&p);
    sitetz_free(&tzs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zones),      cmocka_unit_test(test_rows),
        cmocka_unit_test(test_visit_rows), cmocka_unit_test(test_figures_of_an_event),
        cmocka_unit_test(test_doc_state),  cmocka_unit_test(test_answer),
    };

    return cmocka_run_group_tests_name("rollup_plan: the protocol's decisions", tests, NULL, NULL);
}
