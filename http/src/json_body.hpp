// Request bodies of the JSON API, read strictly: a wrong type, an unknown field or a bad value
// is an HttpError 400 naming the field. The job and queue fields are the `corsair` command's
// flags under their JSON names, checked by the very functions that check those flags, so the
// CLI and HTTP take the same values with the same limits. Pure functions.
#pragma once

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "corsair/producer/job_options.hpp"
#include "corsair/protocol/messages.hpp"

namespace corsair::http {

// The body as a JSON object; an empty body is {} when `may_be_empty`. Throws HttpError 400.
nlohmann::json parse_object(std::string_view body, bool may_be_empty);
// Throws HttpError 400 naming the first field of `object` not in `known`.
void reject_unknown_fields(const nlohmann::json& object, std::initializer_list<std::string_view> known);

// One job as POST /api/v1/queues/Q/jobs takes it.
struct JobRequest {
    std::string payload;
    std::string id;  // empty: the broker's session picks one
    producer::JobOptions options;
};

// From a JSON object: `payload` (a string) or `payload_base64`, `id`, and the job fields
// (priority, max_attempts, timeout, delay, at, unique_key, backoff, backoff_max, jitter).
JobRequest job_request_from(const nlohmann::json& object, std::chrono::system_clock::time_point now);
// The same fields from the query string of a raw-bytes submit (payload = the body).
JobRequest job_request_from_query(const std::multimap<std::string, std::string>& params, std::string body,
                                  std::chrono::system_clock::time_point now);

// A QUEUE request for `queue` setting the fields `object` holds (max_length, max_attempts,
// timeout, backoff, backoff_max, jitter, dead_max, dead_max_age, paused).
protocol::QueueSettings queue_settings_from(const std::string& queue, const nlohmann::json& object);

// A duration given as "30s" (the duration grammar) or a number of milliseconds, within [0, max].
std::chrono::milliseconds duration_value(std::string_view field, const nlohmann::json& value,
                                         std::chrono::milliseconds max);
// `?name=DURATION` of a query string, or `fallback` when absent; capped at `max`.
std::chrono::milliseconds duration_param(const std::multimap<std::string, std::string>& params, const std::string& name,
                                         std::chrono::milliseconds fallback, std::chrono::milliseconds max);

}  // namespace corsair::http
