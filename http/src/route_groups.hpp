// The HTTP routes, by group (docs/http.md lists every one). Each adds its routes with add_route.
#pragma once

#include <httplib.h>

namespace corsair::http {

struct HttpContext;

// GET /health, GET /ready.
void add_health_routes(httplib::Server& server, HttpContext& context);
// GET /metrics.
void add_metrics_route(httplib::Server& server, HttpContext& context);
// /api/v1: stats, queues and their settings, workers, the dead set, cancel/retry/purge/pause/resume.
void add_admin_routes(httplib::Server& server, HttpContext& context);
// /api/v1: jobs in (POST .../queues/Q/jobs, batches) and a job's status and result (long poll).
void add_job_routes(httplib::Server& server, HttpContext& context);
// /api/v1 workers over HTTP: POST .../queues/Q/claim and .../leases/TOKEN/{complete,fail,progress,extend}.
void add_worker_routes(httplib::Server& server, HttpContext& context);
// GET / and GET /dashboard/FILE: the dashboard, its files built into the binary.
void add_dashboard_routes(httplib::Server& server, HttpContext& context);

}  // namespace corsair::http
