/* metrics.c - counters and histograms updated lock-free from any thread, rendered in the
 * Prometheus text exposition format (version 0.0.4). */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_latency_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
const size_t metrics_latency_n = sizeof metrics_latency_bounds / sizeof metrics_latency_bounds[0];
const double metrics_size_bounds[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
const size_t metrics_size_n = sizeof metrics_size_bounds / sizeof metrics_size_bounds[0];

void
metrics_buf_init(struct metrics_buf *b)
{
    memset(b, 0, sizeof *b);
}

void
metrics_buf_free(struct metrics_buf *b)
{
    free(b->data);
    metrics_buf_init(b);
}

static void metrics_vprintf(struct metrics_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
metrics_vprintf(struct metrics_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    int n;

    if (b->failed) {
        return;
    }
    va_copy(copy, ap);
    n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, copy);
    va_end(copy);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (b->data == NULL || b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *d;
        while (cap < b->len + (size_t)n + 1) {
            cap *= 2;
        }
        d = realloc(b->data, cap);
        if (d == NULL) {
            b->failed = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

void
metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    metrics_vprintf(b, fmt, ap);
    va_end(ap);
}

void
metrics_family(struct metrics_buf *b, const char *name, const char *type, const char *help)
{
    metrics_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_sample(struct metrics_buf *b, const char *name, const char *labels, double value)
{
    if (labels != NULL && labels[0] != '\0') {
        metrics_printf(b, "%s{%s} %.17g\n", name, labels, value);
    } else {
        metrics_printf(b, "%s %.17g\n", name, value);
    }
}

int
metrics_label_escape(const char *value, char *out, size_t outlen)
{
    size_t n = 0;
    int rc = 0;

    if (outlen == 0) {
        return -1;
    }
    for (const char *c = value; *c != '\0'; c++) {
        /* The letter after the backslash, or 0 for a character that stands as it is. */
        char e = *c == '\\' ? '\\' : *c == '"' ? '"' : *c == '\n' ? 'n' : 0;
        if (n + (e ? 2 : 1) >= outlen) {
            n = 0;
            rc = -1;
            break;
        }
        if (e) {
            out[n++] = '\\';
            out[n++] = e;
        } else {
            out[n++] = *c;
        }
    }
    out[n] = '\0';
    return rc;
}

void
metrics_table(struct metrics_buf *b, const struct metrics_row *rows, size_t n)
{
    char labels[128];

    for (size_t i = 0; i < n; i++) {
        const struct metrics_row *r = &rows[i];

        if (i == 0 || strcmp(r->name, rows[i - 1].name) != 0) {
            metrics_family(b, r->name, r->type, r->help);
        }
        labels[0] = '\0';
        if (r->label_name != NULL && r->label2_name != NULL) {
            snprintf(labels, sizeof labels, "%s=\"%s\",%s=\"%s\"", r->label_name, r->label_value,
                     r->label2_name, r->label2_value);
        } else if (r->label_name != NULL) {
            snprintf(labels, sizeof labels, "%s=\"%s\"", r->label_name, r->label_value);
        }
        if (r->hist != NULL) {
            metrics_histogram_render(b, r->name, labels, r->hist);
        } else {
            metrics_sample(b, r->name, labels, r->value);
        }
    }
}

void
metrics_histogram_init(struct metrics_histogram *h, const double *bounds, size_t n)
{
    h->bounds = bounds;
    h->n_bounds = n > METRICS_MAX_BUCKETS ? METRICS_MAX_BUCKETS : n;
    for (size_t i = 0; i <= METRICS_MAX_BUCKETS; i++) {
        atomic_init(&h->buckets[i], 0);
    }
    atomic_init(&h->sum_micros, 0);
}

void
metrics_observe(struct metrics_histogram *h, double value)
{
    size_t i = 0;

    while (i < h->n_bounds && value > h->bounds[i]) {
        i++;
    }
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_micros,
                              value > 0 ? (unsigned long long)(value * 1e6 + 0.5) : 0,
                              memory_order_relaxed);
}

void
metrics_histogram_render(struct metrics_buf *b, const char *name, const char *labels,
                         const struct metrics_histogram *h)
{
    const char *sep = labels != NULL && labels[0] != '\0' ? "," : "";
    const char *lab = labels != NULL ? labels : "";
    unsigned long long cumulative = 0;

    for (size_t i = 0; i <= h->n_bounds; i++) {
        cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        if (i < h->n_bounds) {
            metrics_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, lab, sep, h->bounds[i],
                           cumulative);
        } else {
            metrics_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, lab, sep, cumulative);
        }
    }
    metrics_printf(b, "%s_sum%s%s%s %.6f\n", name, lab[0] ? "{" : "", lab, lab[0] ? "}" : "",
                   (double)atomic_load_explicit(&h->sum_micros, memory_order_relaxed) / 1e6);
    metrics_printf(b, "%s_count%s%s%s %llu\n", name, lab[0] ? "{" : "", lab, lab[0] ? "}" : "",
                   cumulative);
}
