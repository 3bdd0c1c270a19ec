#include "json_body.hpp"

#include <array>
#include <utility>

#include "base64.hpp"
#include "cli_flags.hpp"
#include "corsair/protocol/duration.hpp"
#include "http_context.hpp"

namespace corsair::http {

namespace {

// The CLI flags' names in the checkers' messages, and the JSON fields they stand for here;
// longer names first, so that --backoff-max is not read as --backoff.
constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kFieldOfFlag{{
    {"--dead-max-age", "dead_max_age"},
    {"--max-attempts", "max_attempts"},
    {"--backoff-max", "backoff_max"},
    {"--max-length", "max_length"},
    {"--dead-max", "dead_max"},
    {"--priority", "priority"},
    {"--timeout", "timeout"},
    {"--backoff", "backoff"},
    {"--jitter", "jitter"},
    {"--unique", "unique_key"},
    {"--delay", "delay"},
    {"--at", "at"},
}};

std::string with_field_names(std::string message) {
    for (const auto& [flag, field] : kFieldOfFlag) {
        for (auto at = message.find(flag); at != std::string::npos; at = message.find(flag, at + field.size())) {
            message.replace(at, flag.size(), field);
        }
    }
    return message;
}

// A field's value as the CLI flag's text: a JSON string as it is, a number as written.
std::optional<std::string> flag_text(const nlohmann::json& object, std::string_view field) {
    const auto found = object.find(std::string(field));
    if (found == object.end() || found->is_null()) return std::nullopt;
    if (found->is_string()) return found->get<std::string>();
    if (found->is_number_integer()) return found->dump();
    throw bad_request(std::string(field) + " must be a string or an integer");
}

// A duration field's text: "30s", or a number of milliseconds.
std::optional<std::string> duration_text(const nlohmann::json& object, std::string_view field) {
    const auto found = object.find(std::string(field));
    if (found == object.end() || found->is_null()) return std::nullopt;
    if (found->is_number_unsigned() || (found->is_number_integer() && found->get<std::int64_t>() >= 0)) {
        return found->dump() + "ms";
    }
    if (found->is_string()) return found->get<std::string>();
    throw bad_request(std::string(field) + " must be a duration such as \"30s\", or a number of milliseconds");
}

std::string string_field(const nlohmann::json& object, std::string_view field) {
    const auto found = object.find(std::string(field));
    if (found == object.end() || found->is_null()) return {};
    if (!found->is_string()) throw bad_request(std::string(field) + " must be a string");
    return found->get<std::string>();
}

producer::JobOptions checked_job_options(const producer::cli::JobFlags& flags, std::chrono::system_clock::time_point now) {
    auto options = producer::cli::job_options_from(flags, now);
    if (!options) throw bad_request(with_field_names(options.error()));
    return *options;
}

}  // namespace

nlohmann::json parse_object(std::string_view body, bool may_be_empty) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        if (may_be_empty) return nlohmann::json::object();
        throw bad_request("the request needs a JSON object as its body");
    }
    auto parsed = nlohmann::json::parse(body, nullptr, false);
    if (parsed.is_discarded()) throw bad_request("the body is not valid JSON");
    if (!parsed.is_object()) throw bad_request("the body must be a JSON object");
    return parsed;
}

void reject_unknown_fields(const nlohmann::json& object, std::initializer_list<std::string_view> known) {
    for (const auto& item : object.items()) {
        bool is_known = false;
        for (const auto field : known) is_known = is_known || item.key() == field;
        if (is_known) continue;
        std::string list;
        for (const auto field : known) list += (list.empty() ? "" : ", ") + std::string(field);
        throw bad_request("unknown field '" + item.key() + "' (known: " + list + ")");
    }
}

JobRequest job_request_from(const nlohmann::json& object, std::chrono::system_clock::time_point now) {
    reject_unknown_fields(object, {"payload", "payload_base64", "id", "priority", "max_attempts", "timeout", "delay",
                                   "at", "unique_key", "backoff", "backoff_max", "jitter"});
    JobRequest job;
    const bool has_text = object.contains("payload") && !object["payload"].is_null();
    const bool has_base64 = object.contains("payload_base64") && !object["payload_base64"].is_null();
    if (has_text && has_base64) throw bad_request("give payload or payload_base64, not both");
    if (has_text) {
        job.payload = string_field(object, "payload");
    } else if (has_base64) {
        auto bytes = producer::cli::from_base64(string_field(object, "payload_base64"));
        if (!bytes) throw bad_request("payload_base64 is not padded standard base64 (RFC 4648)");
        job.payload = std::move(*bytes);
    }
    job.id = string_field(object, "id");
    producer::cli::JobFlags flags;
    flags.priority = flag_text(object, "priority");
    flags.max_attempts = flag_text(object, "max_attempts");
    flags.timeout = duration_text(object, "timeout");
    flags.delay = duration_text(object, "delay");
    flags.at = flag_text(object, "at");
    flags.unique_key = flag_text(object, "unique_key");
    flags.backoff = duration_text(object, "backoff");
    flags.backoff_max = duration_text(object, "backoff_max");
    flags.jitter = flag_text(object, "jitter");
    job.options = checked_job_options(flags, now);
    return job;
}

JobRequest job_request_from_query(const std::multimap<std::string, std::string>& params, std::string body,
                                  std::chrono::system_clock::time_point now) {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& [name, value] : params) {
        if (object.contains(name)) throw bad_request("?" + name + " is given twice");
        object[name] = value;
    }
    if (object.contains("payload") || object.contains("payload_base64")) {
        throw bad_request("a raw body is the payload: give the payload in the body, not in the query");
    }
    auto job = job_request_from(object, now);
    job.payload = std::move(body);
    return job;
}

protocol::QueueSettings queue_settings_from(const std::string& queue, const nlohmann::json& object) {
    reject_unknown_fields(object, {"max_length", "max_attempts", "timeout", "backoff", "backoff_max", "jitter",
                                   "dead_max", "dead_max_age", "paused"});
    producer::cli::QueueFlags flags;
    flags.max_length = flag_text(object, "max_length");
    flags.max_attempts = flag_text(object, "max_attempts");
    flags.timeout = duration_text(object, "timeout");
    flags.backoff = duration_text(object, "backoff");
    flags.backoff_max = duration_text(object, "backoff_max");
    flags.jitter = flag_text(object, "jitter");
    flags.dead_max = flag_text(object, "dead_max");
    flags.dead_max_age = duration_text(object, "dead_max_age");
    auto settings = producer::cli::queue_settings_from(queue, flags);
    if (!settings) throw bad_request(with_field_names(settings.error()));
    if (object.contains("paused") && !object["paused"].is_null()) {
        if (!object["paused"].is_boolean()) throw bad_request("paused must be true or false");
        settings->is_paused = object["paused"].get<bool>();
    }
    return *settings;
}

std::chrono::milliseconds duration_value(std::string_view field, const nlohmann::json& value,
                                         std::chrono::milliseconds max) {
    std::chrono::milliseconds parsed{0};
    if (value.is_number_unsigned()) {
        parsed = std::chrono::milliseconds(value.get<std::uint64_t>() > static_cast<std::uint64_t>(max.count())
                                               ? max.count() + 1
                                               : static_cast<std::int64_t>(value.get<std::uint64_t>()));
    } else if (value.is_string()) {
        const auto duration = protocol::parse_duration(value.get<std::string>());
        if (!duration) throw bad_request(std::string(field) + ": '" + value.get<std::string>() + "' is not a duration (e.g. 250ms, 30s, 1m)");
        parsed = std::chrono::duration_cast<std::chrono::milliseconds>(*duration);
    } else {
        throw bad_request(std::string(field) + " must be a duration such as \"30s\", or a number of milliseconds");
    }
    if (parsed > max) {
        throw bad_request(std::string(field) + " may be at most " + protocol::format_duration(max) + " (--http-max-wait)");
    }
    return parsed;
}

std::chrono::milliseconds duration_param(const std::multimap<std::string, std::string>& params, const std::string& name,
                                         std::chrono::milliseconds fallback, std::chrono::milliseconds max) {
    const auto found = params.find(name);
    if (found == params.end()) return fallback;
    if (params.count(name) > 1) throw bad_request("?" + name + " is given twice");
    return duration_value("?" + name, nlohmann::json(found->second), max);
}

}  // namespace corsair::http
