/* nothing.c - the benchmark's baseline: the same civetweb server as ingest (common/http.c,
 * same options and thread count), whose POST /event and POST /events read the body and
 * answer 202 without looking at it. What ingest adds on top is what ingest costs.
 *
 *   PORT=0 HTTP_THREADS=64 nothing      prints "listening on 127.0.0.1:<port>", then
 *                                       serves until SIGTERM or SIGINT (svc_main, no probes) */
#include <stdlib.h>

#include "cfg.h"
#include "http.h"
#include "log.h"
#include "svc.h"

static int
handle_post(struct mg_connection *conn, void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    int status;

    (void)arg;
    if ((status = http_read_body(conn, 1024 * 1024, &buf, &len)) != 0) {
        return status;
    }
    free(buf);
    status = http_send_json(conn, 202, json_pack("{s:s}", "status", "accepted"));
    return status;
}

static const struct http_route routes[] = {
    {"POST", "/event", handle_post, 0},
    {"POST", "/events", handle_post, 0},
};

int
main(void)
{
    struct svc_program prog = {0};
    const struct cfg_var vars[] = {
        {"PORT", "0", CFG_LISTEN, &prog.cfg.port, 0, 0, 0, NULL},
        SVC_HTTP_VARS(&prog.cfg, "32", "0"),
        SVC_LOG_VARS(&prog.cfg),
    };

    prog.name = "nothing";
    prog.vars = vars;
    prog.n_vars = sizeof vars / sizeof vars[0];
    prog.cfg.bind_address = "127.0.0.1";
    prog.routes = routes;
    prog.n_routes = sizeof routes / sizeof routes[0];
    return svc_main(&prog);
}
