// /api/v1 workers over HTTP: claim a job (long poll) and complete, fail, report progress on or
// extend its lease. The LeaseKeeper holds each lease as a worker connection of the broker, so
// the broker's lease rules (fencing, requeue of a silent worker, attempt + 1) hold unchanged.
#include <algorithm>

#include "base64.hpp"
#include "cli_output.hpp"
#include "corsair/protocol/limits.hpp"
#include "corsair/protocol/text.hpp"
#include "http_context.hpp"
#include "json_body.hpp"
#include "lease_keeper.hpp"
#include "route_groups.hpp"

namespace corsair::http {

namespace cli = producer::cli;

namespace {

constexpr std::size_t kMaxWorkerNameBytes = 128;

// A token is what a claim answered; anything else names no lease.
std::string token_in_path(const httplib::Request& request) {
    const std::string token = request.matches[1];
    const bool is_hex = std::all_of(token.begin(), token.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
    if (token.size() != 32 || !is_hex) throw HttpError(404, "unknown_lease", "no lease has this token");
    return token;
}

bool is_json(const httplib::Request& request) {
    const auto type = request.get_header_value("Content-Type");
    return type.substr(0, type.find(';')) == "application/json";
}

// The claim's settings from its JSON body, else from the query string (?wait=, ?lease=, ?worker=).
ClaimRequest claim_request_from(const httplib::Request& request, const HttpContext& context) {
    ClaimRequest claim;
    claim.queue = queue_in_path(request);
    claim.wait = duration_param(request.params, "wait", std::chrono::milliseconds(0), context.options.max_wait);
    claim.lease_time = duration_param(request.params, "lease", std::chrono::milliseconds(0), LeaseKeeper::kMaxLeaseTime);
    if (request.has_param("worker")) claim.worker = request.get_param_value("worker");
    const auto body = parse_object(request.body, true);
    reject_unknown_fields(body, {"wait", "lease", "worker"});
    if (body.contains("wait")) claim.wait = duration_value("wait", body["wait"], context.options.max_wait);
    if (body.contains("lease")) claim.lease_time = duration_value("lease", body["lease"], LeaseKeeper::kMaxLeaseTime);
    if (body.contains("worker")) {
        if (!body["worker"].is_string()) throw bad_request("worker must be a string");
        claim.worker = body["worker"].get<std::string>();
    }
    if (claim.worker.size() > kMaxWorkerNameBytes) {
        throw bad_request("worker may have at most " + std::to_string(kMaxWorkerNameBytes) + " bytes");
    }
    if (claim.worker.empty()) claim.worker = request.remote_addr + ":" + std::to_string(request.remote_port);
    // Escaping may lengthen it; the broker takes names of at most 256 bytes, "http:" and "#N" included.
    claim.worker = protocol::printable(claim.worker);
    if (claim.worker.size() > 2 * kMaxWorkerNameBytes - 32) claim.worker.resize(2 * kMaxWorkerNameBytes - 32);
    return claim;
}

void answer_claim(HttpContext& context, const httplib::Request& request, httplib::Response& response) {
    const auto claim = claim_request_from(request, context);
    const auto lease = context.lease_keeper->claim(claim);
    if (!lease) {
        response.status = 204;
        return;
    }
    nlohmann::json document{{"token", lease->token},
                            {"id", cli::json_text(lease->id)},
                            {"queue", cli::json_text(lease->queue)},
                            {"attempt", lease->attempt},
                            {"lease_ms", lease->lease_time.count()},
                            {"worker", cli::json_text(lease->worker)}};
    cli::put_bytes(document, "payload", lease->payload);
    send_json(response, 200, document);
}

std::string result_from(const httplib::Request& request) {
    if (!is_json(request)) return request.body;
    const auto body = parse_object(request.body, true);
    reject_unknown_fields(body, {"result", "result_base64"});
    if (body.contains("result") && body.contains("result_base64")) {
        throw bad_request("give result or result_base64, not both");
    }
    if (body.contains("result_base64")) {
        if (!body["result_base64"].is_string()) throw bad_request("result_base64 must be a string");
        auto bytes = producer::cli::from_base64(body["result_base64"].get<std::string>());
        if (!bytes) throw bad_request("result_base64 is not valid base64");
        return *bytes;
    }
    if (!body.contains("result") || body["result"].is_null()) return {};
    if (!body["result"].is_string()) throw bad_request("result must be a string (or use result_base64)");
    return body["result"].get<std::string>();
}

void answer_fail(HttpContext& context, const httplib::Request& request, httplib::Response& response) {
    const auto token = token_in_path(request);
    const auto body = parse_object(request.body, true);
    reject_unknown_fields(body, {"error", "permanent"});
    std::string error;
    bool is_permanent = false;
    if (body.contains("error")) {
        if (!body["error"].is_string()) throw bad_request("error must be a string");
        error = body["error"].get<std::string>();
    }
    if (body.contains("permanent")) {
        if (!body["permanent"].is_boolean()) throw bad_request("permanent must be true or false");
        is_permanent = body["permanent"].get<bool>();
    }
    context.lease_keeper->fail(token, std::move(error), is_permanent);
    send_json(response, 200, {{"token", token}, {"failed", true}, {"permanent", is_permanent}});
}

void answer_progress(HttpContext& context, const httplib::Request& request, httplib::Response& response) {
    const auto token = token_in_path(request);
    const auto body = parse_object(request.body, false);
    reject_unknown_fields(body, {"percent", "message"});
    if (!body.contains("percent") || !body["percent"].is_number_unsigned() || body["percent"].get<std::uint64_t>() > 100) {
        throw bad_request("percent must be an integer from 0 to 100");
    }
    std::string message;
    if (body.contains("message")) {
        if (!body["message"].is_string()) throw bad_request("message must be a string");
        message = body["message"].get<std::string>();
        if (message.size() > protocol::kMaxProgressMessageBytes) {
            throw bad_request("message may have at most " + std::to_string(protocol::kMaxProgressMessageBytes) + " bytes");
        }
    }
    const auto percent = static_cast<std::uint32_t>(body["percent"].get<std::uint64_t>());
    const auto lease_time = context.lease_keeper->progress(token, percent, std::move(message));
    send_json(response, 200, {{"token", token}, {"lease_ms", lease_time.count()}});
}

void answer_extend(HttpContext& context, const httplib::Request& request, httplib::Response& response) {
    const auto token = token_in_path(request);
    const auto body = parse_object(request.body, true);
    reject_unknown_fields(body, {"lease"});
    std::chrono::milliseconds lease_time{0};
    if (body.contains("lease")) lease_time = duration_value("lease", body["lease"], LeaseKeeper::kMaxLeaseTime);
    const auto granted = context.lease_keeper->extend(token, lease_time);
    send_json(response, 200, {{"token", token}, {"lease_ms", granted.count()}});
}

}  // namespace

void add_worker_routes(httplib::Server& server, HttpContext& context) {
    add_route(server, context, "POST", "/api/v1/queues/([^/]+)/claim", kWorkers,
              [&context](const httplib::Request& request, httplib::Response& response) {
                  answer_claim(context, request, response);
              });
    add_route(server, context, "POST", "/api/v1/leases/([^/]+)/complete", kWorkers,
              [&context](const httplib::Request& request, httplib::Response& response) {
                  const auto token = token_in_path(request);
                  auto result = result_from(request);
                  if (result.size() > context.link.max_payload_bytes) {
                      throw HttpError(413, "payload_too_large",
                                      "the result has " + std::to_string(result.size()) +
                                          " bytes, over the broker's limit of " +
                                          std::to_string(context.link.max_payload_bytes) + " (--max-payload)");
                  }
                  context.lease_keeper->complete(token, std::move(result));
                  send_json(response, 200, {{"token", token}, {"completed", true}});
              });
    add_route(server, context, "POST", "/api/v1/leases/([^/]+)/fail", kWorkers,
              [&context](const httplib::Request& request, httplib::Response& response) {
                  answer_fail(context, request, response);
              });
    add_route(server, context, "POST", "/api/v1/leases/([^/]+)/progress", kWorkers,
              [&context](const httplib::Request& request, httplib::Response& response) {
                  answer_progress(context, request, response);
              });
    add_route(server, context, "POST", "/api/v1/leases/([^/]+)/extend", kWorkers,
              [&context](const httplib::Request& request, httplib::Response& response) {
                  answer_extend(context, request, response);
              });
}

}  // namespace corsair::http
