// add_route and the error documents every route shares.
#include "http_context.hpp"

#include "corsair/producer/producer.hpp"
#include "corsair/protocol/limits.hpp"
#include "corsair/protocol/text.hpp"

namespace corsair::http {

std::string presented_token(const httplib::Request& request) {
    const auto header = request.get_header_value("Authorization");
    constexpr std::string_view bearer = "Bearer ";
    if (header.size() > bearer.size() && header.compare(0, bearer.size(), bearer) == 0) return header.substr(bearer.size());
    const auto cookies = request.get_header_value("Cookie");
    constexpr std::string_view name = "corsair_token=";
    for (std::size_t at = cookies.find(name); at != std::string::npos; at = cookies.find(name, at + 1)) {
        if (at != 0 && cookies[at - 1] != ' ' && cookies[at - 1] != ';') continue;
        const auto begin = at + name.size();
        return cookies.substr(begin, cookies.find(';', begin) - begin);
    }
    return {};
}

namespace {

bool role_allowed(const Access& access, Role role) {
    switch (role) {
        case Role::admin: return access.admin;
        case Role::producer: return access.producer;
        case Role::worker: return access.worker;
    }
    return false;
}

// Whether the request may go on; otherwise it has been answered 401 or 403 and counted.
bool authorize(HttpContext& context, const httplib::Request& request, httplib::Response& response,
               const Access& access) {
    if (access.is_open) return true;
    const auto tokens = context.tokens();
    if (!tokens) return true;
    const auto token = presented_token(request);
    if (token.empty()) {
        ++context.counters.auth_refusals;
        response.set_header("WWW-Authenticate", "Bearer realm=\"corsair\"");
        send_error(response, 401, "unauthorized", "this broker needs a token: send `Authorization: Bearer TOKEN`");
        return false;
    }
    const auto found = tokens->find(token);
    if (!found) {
        ++context.counters.auth_refusals;
        response.set_header("WWW-Authenticate", "Bearer realm=\"corsair\", error=\"invalid_token\"");
        send_error(response, 401, "unauthorized", "the token is not one of --http-tokens");
        return false;
    }
    if (!role_allowed(access, found->role)) {
        ++context.counters.auth_refusals;
        send_error(response, 403, "forbidden",
                   "a " + std::string(to_string(found->role)) + " token may not " + request.method + " " + request.path);
        return false;
    }
    return true;
}

void answer_producer_error(HttpContext& context, const producer::ProducerError& error, httplib::Response& response) {
    using Kind = producer::ProducerError::Kind;
    switch (error.kind()) {
        case Kind::refused:
            send_error(response, http_status_of(error.code()), protocol::to_string(error.code()),
                       error.broker_message().empty() ? error.what() : error.broker_message());
            return;
        case Kind::invalid:
            ++context.counters.bad_requests;
            send_error(response, error.code() == protocol::ErrorCode::payload_too_large ? 413 : 400,
                       protocol::to_string(error.code()), error.what());
            return;
        case Kind::timeout:
        case Kind::broker_silent:
            ++context.counters.server_errors;
            send_error(response, 504, "timeout", error.what());
            return;
    }
}

}  // namespace

std::string queue_in_path(const httplib::Request& request, std::size_t match) {
    const std::string queue = request.matches[match];
    if (const auto problem = protocol::queue_name_problem(queue)) {
        throw bad_request("queue name " + protocol::quoted(queue) + ": " + std::string(*problem));
    }
    return queue;
}

std::string job_in_path(const httplib::Request& request, std::size_t match) {
    const std::string id = request.matches[match];
    if (id.empty() || id.size() > protocol::kMaxJobIdBytes) {
        throw bad_request("a job id has 1 to " + std::to_string(protocol::kMaxJobIdBytes) + " bytes");
    }
    return id;
}

int http_status_of(protocol::ErrorCode code) noexcept {
    using E = protocol::ErrorCode;
    switch (code) {
        case E::unknown_job:
        case E::unknown_queue: return 404;
        case E::wrong_state:
        case E::id_conflict: return 409;
        case E::payload_too_large: return 413;
        case E::queue_full:
        case E::too_many_queues:
        case E::too_many_in_flight:
        case E::too_many_workers: return 429;
        case E::shutting_down:
        case E::storage_unavailable: return 503;
        case E::internal: return 500;
        default: return 400;
    }
}

void send_json(httplib::Response& response, int status, const nlohmann::json& body) {
    response.status = status;
    response.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                         "application/json");
}

void send_error(httplib::Response& response, int status, std::string_view code, std::string_view message,
                std::string_view id) {
    nlohmann::json body{{"error", std::string(code)}, {"message", protocol::printable(message)}};
    body["id"] = id.empty() ? nlohmann::json(nullptr) : nlohmann::json(protocol::printable(id));
    if (status == 429 || status == 503) response.set_header("Retry-After", "1");
    send_json(response, status, body);
}

void add_route(httplib::Server& server, HttpContext& context, const std::string& method, const std::string& pattern,
               Access access, RouteHandler handler) {
    auto guarded = [&context, access, handler = std::move(handler)](const httplib::Request& request,
                                                                    httplib::Response& response) {
        if (!authorize(context, request, response, access)) return;
        try {
            handler(request, response);
        } catch (const HttpError& error) {
            if (error.status() == 400 || error.status() == 413 || error.status() == 422) ++context.counters.bad_requests;
            if (error.status() >= 500) ++context.counters.server_errors;
            send_error(response, error.status(), error.code(), error.what(), error.id());
        } catch (const producer::ProducerError& error) {
            answer_producer_error(context, error, response);
        } catch (const nlohmann::json::exception& error) {
            ++context.counters.bad_requests;
            send_error(response, 400, "bad_request", std::string("the body is not valid JSON: ") + error.what());
        } catch (const std::exception& error) {
            ++context.counters.server_errors;
            context.log->error("http request failed method={} path={} error={}", request.method,
                               protocol::printable(request.path), error.what());
            send_error(response, 500, "internal", error.what());
        }
    };
    if (method == "GET") server.Get(pattern, guarded);
    else if (method == "POST") server.Post(pattern, guarded);
    else if (method == "PUT") server.Put(pattern, guarded);
    else if (method == "PATCH") server.Patch(pattern, guarded);
    else if (method == "DELETE") server.Delete(pattern, guarded);
    else throw std::logic_error("add_route: unknown method " + method);
}

}  // namespace corsair::http
