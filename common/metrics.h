/* metrics.h - counters and histograms updated lock-free from any thread, rendered in the
 * Prometheus text exposition format (version 0.0.4). */
#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_MAX_BUCKETS 20

/* A growing text buffer. */
struct metrics_buf {
    char *data;
    size_t len, cap;
    int failed; /* out of memory: the text is incomplete */
};

void metrics_buf_init(struct metrics_buf *b);
void metrics_buf_free(struct metrics_buf *b);

/* Append printf-formatted text. */
void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Write the `# HELP` and `# TYPE` lines of a metric family. */
void metrics_family(struct metrics_buf *b, const char *name, const char *type, const char *help);

/* Append one sample line: `name{labels} value`; labels may be NULL or "". */
void metrics_sample(struct metrics_buf *b, const char *name, const char *labels, double value);

/* Escape value for use between the double quotes of a label: backslash, double quote
 * and newline become \\, \" and \n, as the exposition format requires. Writes a
 * NUL-terminated string to out. Returns 0, or -1 when it does not fit in outlen bytes
 * (out is then the empty string). */
int metrics_label_escape(const char *value, char *out, size_t outlen);

/* A histogram with fixed upper bounds (ascending, +Inf implied). Observations are
 * counted per bucket (non-cumulative; rendering accumulates) with their sum in
 * millionths of the unit, so a sum in seconds keeps microseconds. */
struct metrics_histogram {
    const double *bounds;
    size_t n_bounds;
    atomic_ullong buckets[METRICS_MAX_BUCKETS + 1];
    atomic_ullong sum_micros;
};

/* Latency bounds in seconds, 100 us to 10 s, and batch-size bounds (1 to 10000). */
extern const double metrics_latency_bounds[];
extern const size_t metrics_latency_n;
extern const double metrics_size_bounds[];
extern const size_t metrics_size_n;

void metrics_histogram_init(struct metrics_histogram *h, const double *bounds, size_t n);
void metrics_observe(struct metrics_histogram *h, double value);

/* Append the _bucket, _sum and _count lines of h (the family lines are the caller's). */
void metrics_histogram_render(struct metrics_buf *b, const char *name, const char *labels,
                              const struct metrics_histogram *h);

/* One sample of a /metrics page, a row of the table a program writes with metrics_table().
 * The first row of a family writes its # HELP and # TYPE lines; the rows right after it with
 * the same name add samples to it (their type and help are not read). A "histogram" row
 * writes hist's lines, a "counter" or "gauge" row the value. label_name="label_value" is the
 * sample's one label when label_name is not NULL (a value that needs no escaping). */
struct metrics_row {
    const char *name;
    const char *type; /* "counter", "gauge" or "histogram" */
    const char *help;
    const char *label_name, *label_value;
    double value;
    const struct metrics_histogram *hist;
    const char *label2_name, *label2_value; /* a second label, after the first, or NULL */
};

/* Write rows[0..n) in order. */
void metrics_table(struct metrics_buf *b, const struct metrics_row *rows, size_t n);
#define METRICS_TABLE(b, rows) metrics_table((b), (rows), sizeof(rows) / sizeof((rows)[0]))

#endif
