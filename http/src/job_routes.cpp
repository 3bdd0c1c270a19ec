// /api/v1 jobs: submit (one job, a JSON array or NDJSON of them, or raw bytes), a job's status
// and result with an optional long poll, and cancel. A submit is answered once the broker's
// ACCEPTED comes, which the broker sends only once the job is durable: 202 means what ACCEPTED
// means.
#include <chrono>
#include <thread>

#include "base64.hpp"
#include "cli_output.hpp"
#include "corsair/producer/producer.hpp"
#include "corsair/protocol/limits.hpp"
#include "corsair/protocol/text.hpp"
#include "http_context.hpp"
#include "json_body.hpp"
#include "route_groups.hpp"

namespace corsair::http {

namespace cli = producer::cli;

namespace {

// How long a submit waits for ACCEPTED before it answers 504 (the job may or may not be queued;
// resubmitting with the same id is safe).
constexpr std::chrono::seconds kAcceptWithin{10};
// Most jobs one batch request may carry.
constexpr std::size_t kMaxBatchJobs = 10'000;
// A long poll asks STATUS this often at first, then less often, up to kPollEvery.
constexpr std::chrono::milliseconds kFirstPoll{5};
constexpr std::chrono::milliseconds kPollEvery{200};

nlohmann::json accepted_document(const protocol::Accepted& accepted, const std::string& queue) {
    producer::Event event;
    event.id = accepted.id;
    event.job_id = accepted.job_id;
    event.existed = accepted.existed;
    return cli::accepted_json(event, queue);
}

std::string media_type(const httplib::Request& request) {
    auto type = request.get_header_value("Content-Type");
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') type.pop_back();
    return type;
}

// The jobs of a batch body: a JSON array of job objects, or one job object per line (NDJSON).
std::vector<nlohmann::json> batch_entries(const httplib::Request& request, bool is_ndjson) {
    std::vector<nlohmann::json> entries;
    if (is_ndjson) {
        std::size_t line_number = 0;
        for (std::size_t begin = 0; begin < request.body.size();) {
            auto end = request.body.find('\n', begin);
            if (end == std::string::npos) end = request.body.size();
            ++line_number;
            const auto line = std::string_view(request.body).substr(begin, end - begin);
            begin = end + 1;
            if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
            auto entry = nlohmann::json::parse(line, nullptr, false);
            if (entry.is_discarded() || !entry.is_object()) {
                throw bad_request("NDJSON line " + std::to_string(line_number) + " is not a JSON object");
            }
            entries.push_back(std::move(entry));
        }
    } else {
        auto parsed = nlohmann::json::parse(request.body, nullptr, false);
        if (parsed.is_discarded() || !parsed.is_array()) throw bad_request("a batch is a JSON array of job objects");
        for (auto& entry : parsed) {
            if (!entry.is_object()) throw bad_request("each entry of a batch must be a JSON object");
            entries.push_back(std::move(entry));
        }
    }
    if (entries.empty()) throw bad_request("the batch holds no job");
    if (entries.size() > kMaxBatchJobs) throw bad_request("a batch holds at most " + std::to_string(kMaxBatchJobs) + " jobs");
    return entries;
}

nlohmann::json error_entry(std::string_view code, std::string_view message, std::string_view id) {
    return {{"error", std::string(code)},
            {"message", protocol::printable(message)},
            {"id", id.empty() ? nlohmann::json(nullptr) : nlohmann::json(cli::json_text(id))}};
}

// Sends every job pipelined, then collects the answers; answers[i] is job i's.
std::vector<nlohmann::json> submit_batch(const std::string& queue, std::vector<nlohmann::json> entries) {
    auto& session = broker_session();
    session.poll(std::chrono::milliseconds(0));  // leftovers of an earlier request on this thread
    std::vector<nlohmann::json> answers(entries.size());
    std::unordered_map<std::string, std::size_t> waiting;
    const auto now = std::chrono::system_clock::now();
    for (std::size_t i = 0; i < entries.size(); ++i) {
        try {
            auto job = job_request_from(entries[i], now);
            const auto id = session.submit_async(queue, job.payload, false, job.options, job.id);
            if (!waiting.emplace(id, i).second) answers[i] = error_entry("bad_request", "the batch names this id twice", id);
        } catch (const HttpError& error) {
            answers[i] = error_entry(error.code(), std::string("job ") + std::to_string(i) + ": " + error.what(), error.id());
        } catch (const producer::ProducerError& error) {
            answers[i] = error_entry(protocol::to_string(error.code()), error.what(), {});
        }
    }
    const auto deadline = std::chrono::steady_clock::now() + kAcceptWithin;
    while (!waiting.empty() && std::chrono::steady_clock::now() < deadline) {
        for (const auto& event : session.poll(std::chrono::milliseconds(100))) {
            const auto found = waiting.find(event.id);
            if (found == waiting.end()) continue;
            if (event.kind == producer::Event::Kind::accepted) {
                answers[found->second] = cli::accepted_json(event, queue);
            } else if (event.kind == producer::Event::Kind::error) {
                answers[found->second] = error_entry(protocol::to_string(event.error.code), event.error.message, event.id);
            } else {
                continue;
            }
            waiting.erase(found);
        }
    }
    for (const auto& [id, index] : waiting) {
        answers[index] = error_entry("timeout", "the broker did not accept the job within 10s; resubmitting it with "
                                                "the same id is safe", id);
    }
    return answers;
}

void answer_batch(const std::string& queue, std::vector<nlohmann::json> entries, httplib::Response& response) {
    const auto answers = submit_batch(queue, std::move(entries));
    bool all_accepted = true;
    for (const auto& answer : answers) all_accepted = all_accepted && !answer.contains("error");
    send_json(response, all_accepted ? 202 : 207, {{"jobs", answers}});
}

// The parameters of the URL's query alone: cpp-httplib also merges a form-encoded body into
// request.params, but a raw submit's body is the payload, whatever its type says.
std::multimap<std::string, std::string> url_query(const httplib::Request& request) {
    httplib::Params params;
    const auto question = request.target.find('?');
    if (question != std::string::npos) httplib::detail::parse_query_text(request.target.substr(question + 1), params);
    return params;
}

void answer_submit(const httplib::Request& request, httplib::Response& response) {
    const auto queue = queue_in_path(request);
    const auto type = media_type(request);
    if (type == "application/x-ndjson") return answer_batch(queue, batch_entries(request, true), response);
    JobRequest job;
    if (type == "application/json") {
        const auto first = request.body.find_first_not_of(" \t\r\n");
        if (first != std::string::npos && request.body[first] == '[') {
            return answer_batch(queue, batch_entries(request, false), response);
        }
        job = job_request_from(parse_object(request.body, false), std::chrono::system_clock::now());
    } else {
        job = job_request_from_query(url_query(request), request.body, std::chrono::system_clock::now());
    }
    const auto accepted = broker_session().submit(queue, job.payload, job.options, kAcceptWithin, job.id);
    send_json(response, 202, accepted_document(accepted, queue));
}

bool has_ended(protocol::JobState state) {
    return state == protocol::JobState::done || state == protocol::JobState::failed ||
           state == protocol::JobState::cancelled;
}

// STATUS now, or with ?wait= again until the job ends or the wait is over.
protocol::StatusReply status_waiting(HttpContext& context, const std::string& id, std::chrono::milliseconds wait,
                                     bool with_payload) {
    auto& session = broker_session();
    const auto deadline = std::chrono::steady_clock::now() + wait;
    auto pause = kFirstPoll;
    for (;;) {
        auto status = with_payload ? session.peek(id) : session.status(id);
        const auto now = std::chrono::steady_clock::now();
        if (has_ended(status.state) || now + pause > deadline || context.is_stopping) return status;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, kPollEvery);
    }
}

}  // namespace

void add_job_routes(httplib::Server& server, HttpContext& context) {
    add_route(server, context, "POST", "/api/v1/queues/([^/]+)/jobs", kProducers, answer_submit);
    add_route(server, context, "GET", "/api/v1/jobs/([^/]+)", kProducers,
              [&context](const httplib::Request& request, httplib::Response& response) {
                  const auto id = job_in_path(request);
                  const auto wait = duration_param(request.params, "wait", std::chrono::milliseconds(0), context.options.max_wait);
                  const bool with_payload = request.has_param("payload") && request.get_param_value("payload") != "false";
                  auto document = cli::status_json(status_waiting(context, id, wait, with_payload));
                  send_json(response, 200, document);
              });
    add_route(server, context, "POST", "/api/v1/jobs/([^/]+)/cancel", kAdminOnly,
              [](const httplib::Request& request, httplib::Response& response) {
                  const auto id = job_in_path(request);
                  broker_session().cancel(id);
                  send_json(response, 200, {{"id", cli::json_text(id)}, {"cancelled", true}});
              });
}

}  // namespace corsair::http
