// GET /metrics: the broker's STATS through the protocol, this process's resource use and the
// HTTP side's own counters, in the Prometheus text format.
#include <prometheus/counter.h>

#include "corsair/producer/producer.hpp"
#include "http_context.hpp"
#include "metrics_exposition.hpp"
#include "route_groups.hpp"

namespace corsair::http {

namespace {

void add_http_metrics(prometheus::Registry& registry, const HttpCounters& counters) {
    auto& family = prometheus::BuildCounter()
                       .Name("corsair_http_requests_total")
                       .Help("HTTP requests received, and those refused, by why")
                       .Register(registry);
    family.Add({{"outcome", "received"}}).Increment(static_cast<double>(counters.requests.load()));
    family.Add({{"outcome", "bad_request"}}).Increment(static_cast<double>(counters.bad_requests.load()));
    family.Add({{"outcome", "auth_refused"}}).Increment(static_cast<double>(counters.auth_refusals.load()));
    family.Add({{"outcome", "overloaded"}}).Increment(static_cast<double>(counters.overload_refusals.load()));
    family.Add({{"outcome", "server_error"}}).Increment(static_cast<double>(counters.server_errors.load()));
}

}  // namespace

void add_metrics_route(httplib::Server& server, HttpContext& context) {
    add_route(server, context, "GET", "/metrics", kAnyRole,
              [&context](const httplib::Request&, httplib::Response& response) {
                  prometheus::Registry registry;
                  add_broker_metrics(registry, broker_session().stats(std::chrono::seconds(5)));
                  add_process_metrics(registry, sample_process());
                  add_http_metrics(registry, context.counters);
                  response.set_content(serialize_metrics(registry), "text/plain; version=0.0.4; charset=utf-8");
              });
}

}  // namespace corsair::http
