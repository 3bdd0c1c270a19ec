#include "cli_output.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

#include "base64.hpp"
#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/text.hpp"
#include "progress_meter.hpp"
#include "timestamp.hpp"

namespace corsair::producer::cli {

namespace {

using Row = std::vector<std::string>;

// Left-aligns the first column and right-aligns numbers: a plain fixed-width table.
std::string table(const Row& header, const std::vector<Row>& rows, const std::vector<bool>& is_numeric) {
    std::vector<std::size_t> widths(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        widths[c] = header[c].size();
        for (const auto& row : rows) widths[c] = std::max(widths[c], row[c].size());
    }
    std::ostringstream out;
    auto write_row = [&](const Row& row) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            const std::string padding(widths[c] - row[c].size(), ' ');
            if (c > 0) line += "  ";
            line += is_numeric[c] ? padding + row[c] : row[c] + padding;
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out << line << '\n';
    };
    write_row(header);
    for (const auto& row : rows) write_row(row);
    return out.str();
}

std::string join(const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
    return text;
}

// A peer's text in one table cell or line: escaped (protocol::printable) and cut at `max_bytes`.
std::string one_line(std::string_view text, std::size_t max_bytes) { return protocol::printable(text, max_bytes); }

std::string shown(std::string_view text) { return protocol::printable(text); }

template <class T>
nlohmann::json or_null(const std::optional<T>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json text_or_null(std::string_view text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(json_text(text));
}

nlohmann::json errors_json(const std::vector<protocol::AttemptError>& errors) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : errors) list.push_back({{"attempt", e.attempt}, {"error", json_text(e.error)}});
    return list;
}

std::string ago(std::uint64_t ms) { return human_duration(std::chrono::milliseconds(ms)) + " ago"; }

std::string duration_text(const std::optional<std::uint64_t>& ms, const char* zero = "0s") {
    if (!ms) return "-";
    if (*ms == 0) return zero;
    return protocol::format_duration(std::chrono::milliseconds(*ms));
}

template <class T>
std::string text_or_dash(const std::optional<T>& value) {
    return value ? std::to_string(*value) : "-";
}

// A worker's leases past its capacity: jobs it holds ready (READY prefetch), not started as far
// as the broker knows (protocol.md §5.7).
std::uint32_t held_ready(const protocol::WorkerStats& w) { return w.in_flight > w.capacity ? w.in_flight - w.capacity : 0; }

// "4", or "4+8" for a worker that may hold 8 more ready.
std::string capacity_text(const protocol::WorkerStats& w) {
    return std::to_string(w.capacity) + (w.prefetch != 0 ? "+" + std::to_string(w.prefetch) : "");
}

// "3", or "12 (8 ready)" when some of its leases are held ready, not running.
std::string in_flight_text(const protocol::WorkerStats& w) {
    const auto ready = held_ready(w);
    return std::to_string(w.in_flight) + (ready != 0 ? " (" + std::to_string(ready) + " ready)" : "");
}

}  // namespace

std::string json_text(std::string_view text) {
    if (protocol::is_valid_utf8(text)) return std::string(text);
    std::string out;
    for (std::size_t at = 0; at < text.size();) {
        const auto point = protocol::detail::next_code_point(text, at);
        if (point) {
            out.append(text.substr(at, point->length));
            at += point->length;
        } else {
            protocol::detail::append_hex(out, "\\x", static_cast<unsigned char>(text[at]), 2, "");
            ++at;
        }
    }
    return out;
}

void put_bytes(nlohmann::json& object, const std::string& key, std::string_view bytes) {
    if (protocol::is_valid_utf8(bytes)) {
        object[key] = std::string(bytes);
    } else {
        object[key] = nullptr;
        object[key + "_base64"] = to_base64(bytes);
    }
}

nlohmann::json accepted_json(const Event& accepted, const std::string& queue) {
    const std::string& job_id = accepted.job_id.empty() ? accepted.id : accepted.job_id;
    return nlohmann::json{{"id", json_text(job_id)}, {"queue", json_text(queue)}, {"existed", accepted.existed}};
}

nlohmann::json outcome_json(const Outcome& outcome, const std::string& queue) {
    const std::string& job_id = outcome.job_id.empty() ? outcome.id : outcome.job_id;
    nlohmann::json j{{"id", json_text(job_id)},
                     {"queue", json_text(queue)},
                     {"state", protocol::to_string(outcome.state)},
                     {"attempt", outcome.attempt},
                     {"result", nullptr},
                     {"error", text_or_null(outcome.error)}};
    if (outcome.state == protocol::JobState::done) put_bytes(j, "result", outcome.result);
    return j;
}

nlohmann::json progress_json(const std::string& job_id, const std::string& queue, const JobProgress& progress) {
    return nlohmann::json{{"id", json_text(job_id)},
                          {"queue", json_text(queue)},
                          {"state", "running"},
                          {"attempt", progress.attempt},
                          {"progress", progress.percent},
                          {"progress_message", text_or_null(progress.message)}};
}

nlohmann::json error_json(std::string_view code, std::string_view message, std::string_view id) {
    return nlohmann::json{
        {"error", {{"code", std::string(code)}, {"message", json_text(message)}, {"id", text_or_null(id)}}}};
}

nlohmann::json error_json(const protocol::Error& error) {
    return error_json(protocol::to_string(error.code), error.message, error.id);
}

nlohmann::json status_json(const protocol::StatusReply& status) {
    const bool is_delayed = status.state == protocol::JobState::delayed;
    nlohmann::json j{{"id", json_text(status.id)},
                     {"queue", json_text(status.queue)},
                     {"state", protocol::to_string(status.state)},
                     {"attempt", status.attempt},
                     {"counted_attempts", status.counted_attempts.value_or(status.attempt)},
                     {"max_attempts", status.max_attempts == 0 ? nlohmann::json(nullptr) : nlohmann::json(status.max_attempts)},
                     {"priority", status.priority},
                     {"ready_in_ms", is_delayed ? nlohmann::json(status.ready_in_ms) : nlohmann::json(nullptr)},
                     {"worker", text_or_null(status.worker)},
                     {"held_ready", status.is_held_ready},
                     {"progress", or_null(status.progress)},
                     {"progress_message", text_or_null(status.progress_message)},
                     {"error", text_or_null(status.error)},
                     {"errors", errors_json(status.errors)},
                     {"created_at_ms", or_null(status.created_ms)},
                     {"started_at_ms", or_null(status.started_ms)},
                     {"finished_at_ms", or_null(status.finished_ms)},
                     {"result", nullptr}};
    if (status.state == protocol::JobState::done) put_bytes(j, "result", protocol::view_of(status.payload));
    return j;
}

nlohmann::json stats_json(const protocol::StatsReply& stats) {
    nlohmann::json queues = nlohmann::json::array();
    for (const auto& q : stats.queues) {
        queues.push_back({{"queue", json_text(q.name)},
                          {"pending", q.pending},
                          {"delayed", q.delayed},
                          {"in_flight", q.in_flight},
                          {"done", q.done},
                          {"failed", q.failed},
                          {"dead", q.dead},
                          {"submitted", q.submitted},
                          {"retried", q.retried},
                          {"requeued", q.requeued},
                          {"timed_out", q.timed_out},
                          {"cancelled", q.cancelled},
                          {"paused", q.is_paused},
                          {"oldest_pending_ms", or_null(q.oldest_pending_ms)}});
    }
    nlohmann::json workers = nlohmann::json::array();
    for (const auto& w : stats.workers) {
        nlohmann::json names = nlohmann::json::array();
        for (const auto& queue : w.queues) names.push_back(json_text(queue));
        workers.push_back({{"worker", json_text(w.name)},
                           {"queues", names},
                           {"capacity", w.capacity},
                           {"prefetch", w.prefetch},
                           {"ready_depth", w.ready_depth},
                           {"in_flight", w.in_flight},
                           {"held_ready", held_ready(w)},
                           {"last_heartbeat_ago_ms", w.last_heartbeat_ms},
                           {"draining", w.is_draining},
                           {"done", w.done},
                           {"failed", w.failed},
                           {"address", w.address.empty() ? nlohmann::json() : nlohmann::json(w.address)},
                           {"key", w.key.empty() ? nlohmann::json() : nlohmann::json(json_text(w.key))}});
    }
    nlohmann::json counters = nlohmann::json::object();
    for (const auto& [name, value] : stats.counters) counters[json_text(name)] = value;
    return nlohmann::json{{"queues", queues},
                          {"workers", workers},
                          {"counters", counters},
                          {"uptime_ms", stats.uptime_ms == 0 ? nlohmann::json() : nlohmann::json(stats.uptime_ms)},
                          {"version", stats.version.empty() ? nlohmann::json() : nlohmann::json(json_text(stats.version))},
                          {"max_payload_bytes", or_null(stats.max_payload_bytes)}};
}

nlohmann::json listed_job_json(const std::string& queue, protocol::ListedState state, const protocol::ListedJob& job) {
    return nlohmann::json{{"id", job.id},
                          {"queue", queue},
                          {"state", protocol::to_string(state)},
                          {"attempt", job.attempt},
                          {"counted_attempts", job.counted_attempts.value_or(job.attempt)},
                          {"max_attempts", job.max_attempts},
                          {"priority", job.priority},
                          {"payload_bytes", job.payload_bytes},
                          {"created_at_ms", or_null(job.created_ms)},
                          {"ready_at_ms", or_null(job.ready_at_ms)},
                          {"started_at_ms", or_null(job.started_ms)},
                          {"worker", job.worker.empty() ? nlohmann::json() : nlohmann::json(job.worker)},
                          {"held_ready", job.is_held_ready},
                          {"died_at_ms", or_null(job.died_ms)},
                          {"error", job.error.empty() ? nlohmann::json() : nlohmann::json(job.error)}};
}

nlohmann::json list_json(const protocol::ListReply& page) {
    nlohmann::json jobs = nlohmann::json::array();
    for (const auto& job : page.jobs) jobs.push_back(listed_job_json(page.queue, page.state, job));
    return nlohmann::json{{"queue", json_text(page.queue)},
                          {"state", protocol::to_string(page.state)},
                          {"total", page.total},
                          {"next", page.next.empty() ? nlohmann::json() : nlohmann::json(json_text(page.next))},
                          {"jobs", jobs}};
}

nlohmann::json dead_json(const protocol::DeadReply& dead) {
    nlohmann::json jobs = nlohmann::json::array();
    for (const auto& job : dead.jobs) {
        jobs.push_back({{"id", json_text(job.id)},
                        {"queue", json_text(dead.queue)},
                        {"attempt", job.attempts},
                        {"died_ago_ms", job.died_ms_ago},
                        {"died_at_ms", or_null(job.died_ms)},
                        {"payload_bytes", job.payload_bytes},
                        {"priority", job.priority},
                        {"error", job.errors.empty() ? nlohmann::json(nullptr) : text_or_null(job.errors.back().error)},
                        {"errors", errors_json(job.errors)}});
    }
    return nlohmann::json{{"queue", json_text(dead.queue)}, {"total", dead.total}, {"jobs", jobs}};
}

nlohmann::json queue_settings_json(const protocol::QueueSettings& settings) {
    return nlohmann::json{{"queue", json_text(settings.queue)},
                          {"paused", or_null(settings.is_paused)},
                          {"max_length", or_null(settings.max_length)},
                          {"max_attempts", or_null(settings.retry.max_attempts)},
                          {"backoff_ms", or_null(settings.retry.backoff_ms)},
                          {"backoff_max_ms", or_null(settings.retry.backoff_max_ms)},
                          {"backoff_jitter_pct", or_null(settings.retry.backoff_jitter_pct)},
                          {"timeout_ms", or_null(settings.timeout_ms)},
                          {"dead_max_count", or_null(settings.dead_max_count)},
                          {"dead_max_age_ms", or_null(settings.dead_max_age_ms)}};
}

std::string json_line(const nlohmann::json& value) {
    // Every string went through json_text() or put_bytes(): a stray byte is a bug, not data.
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

std::string error_text(const protocol::Error& error) {
    std::string text(protocol::to_string(error.code));
    if (!error.message.empty()) text += ": " + shown(error.message);
    return text;
}

std::string status_text(const protocol::StatusReply& status) {
    std::ostringstream out;
    out << "id:        " << shown(status.id) << '\n'
        << "queue:     " << shown(status.queue) << '\n'
        << "state:     " << protocol::to_string(status.state) << '\n'
        << "attempt:   " << status.attempt << '\n';
    // protocol.md §1: `attempt` numbers leases; max_attempts limits the attempts charged, which
    // leases given back (a worker's DISCONNECT, a broker's restart) are not. A broker from before
    // job lifecycles reports no max_attempts.
    if (status.max_attempts != 0) {
        out << "charged:   " << status.counted_attempts.value_or(status.attempt) << " of " << status.max_attempts
            << " attempts\n";
    }
    out << "priority:  " << status.priority << '\n';
    if (status.state == protocol::JobState::delayed) {
        out << "ready in:  " << human_duration(std::chrono::milliseconds(status.ready_in_ms)) << '\n';
    }
    if (!status.worker.empty()) {
        out << "worker:    " << shown(status.worker) << (status.is_held_ready ? " (held ready, not started)" : "")
            << '\n';
    }
    const auto time_line = [&out](const char* label, const std::optional<std::uint64_t>& ms) {
        if (!ms) return;
        const auto at = std::chrono::system_clock::time_point(std::chrono::milliseconds(*ms));
        out << label << format_timestamp(std::chrono::time_point_cast<std::chrono::system_clock::duration>(at)) << '\n';
    };
    time_line("created:   ", status.created_ms);
    time_line("started:   ", status.started_ms);
    time_line("finished:  ", status.finished_ms);
    if (status.progress) {
        out << "progress:  " << *status.progress << '%';
        if (!status.progress_message.empty()) out << ' ' << one_line(status.progress_message, 256);
        out << '\n';
    }
    if (!status.error.empty()) out << "error:     " << shown(status.error) << '\n';
    if (status.state == protocol::JobState::done) out << "result:    " << status.payload.size() << " bytes\n";
    if (!status.errors.empty()) {
        out << "errors:\n";
        for (const auto& e : status.errors) out << "  attempt " << e.attempt << ": " << one_line(e.error, 400) << '\n';
    }
    return out.str();
}

std::string stats_table(const protocol::StatsReply& stats) {
    std::ostringstream out;
    std::vector<Row> rows;
    for (const auto& q : stats.queues) {
        rows.push_back({shown(q.name), std::to_string(q.pending), std::to_string(q.delayed),
                        std::to_string(q.in_flight), std::to_string(q.done), std::to_string(q.failed),
                        std::to_string(q.dead), q.is_paused ? "paused" : "active",
                        q.oldest_pending_ms ? human_duration(std::chrono::milliseconds(*q.oldest_pending_ms)) : "-"});
    }
    if (!stats.version.empty() || stats.uptime_ms != 0) {
        out << "Broker " << (stats.version.empty() ? "(version unknown)" : stats.version) << ", up "
            << human_duration(std::chrono::milliseconds(stats.uptime_ms));
        if (stats.max_payload_bytes) out << ", max payload " << *stats.max_payload_bytes << " bytes";
        out << "\n\n";
    }
    out << "Queues\n";
    if (rows.empty()) {
        out << "  (none)\n";
    } else {
        out << table({"QUEUE", "PENDING", "DELAYED", "IN-FLIGHT", "DONE", "FAILED", "DEAD", "STATE", "OLDEST PENDING"},
                     rows, {false, true, true, true, true, true, true, false, true});
    }
    rows.clear();
    // With CURVE on, each worker's key says which host it is (docs/security.md): a column of its own.
    const bool has_keys = std::any_of(stats.workers.begin(), stats.workers.end(), [](const auto& w) { return !w.key.empty(); });
    for (const auto& w : stats.workers) {
        std::vector<std::string> queues;
        for (const auto& queue : w.queues) queues.push_back(shown(queue));
        rows.push_back({shown(w.name), join(queues), capacity_text(w), in_flight_text(w),
                        std::to_string(w.done), std::to_string(w.failed), std::to_string(w.last_heartbeat_ms) + "ms ago",
                        w.is_draining ? "draining" : "active"});
        if (has_keys) rows.back().push_back(w.key.empty() ? "-" : shown(w.key));
    }
    out << "\nWorkers\n";
    if (rows.empty()) {
        out << "  (none)\n";
    } else {
        std::vector<std::string> headings{"WORKER", "QUEUES", "CAPACITY", "IN-FLIGHT", "DONE", "FAILED", "LAST HEARTBEAT", "STATE"};
        std::vector<bool> right{false, false, true, true, true, true, true, false};
        if (has_keys) {
            headings.push_back("KEY");
            right.push_back(false);
        }
        out << table(headings, rows, right);
    }
    rows.clear();
    for (const auto& [name, value] : stats.counters) rows.push_back({name, std::to_string(value)});
    out << "\nCounters\n";
    if (rows.empty()) {
        out << "  (none)\n";
    } else {
        out << table({"COUNTER", "VALUE"}, rows, {false, true});
    }
    return out.str();
}

std::string dead_table(const protocol::DeadReply& dead) {
    std::ostringstream out;
    out << "Dead jobs in queue " << shown(dead.queue) << ": " << dead.total;
    if (dead.jobs.size() < dead.total) out << " (showing the newest " << dead.jobs.size() << ")";
    out << '\n';
    if (dead.jobs.empty()) return out.str();
    std::vector<Row> rows;
    for (const auto& job : dead.jobs) {
        const std::string last_error = job.errors.empty() ? "" : one_line(job.errors.back().error, 80);
        rows.push_back({shown(job.id), std::to_string(job.attempts), ago(job.died_ms_ago), last_error});
    }
    out << table({"ID", "ATTEMPTS", "DIED", "LAST ERROR"}, rows, {false, true, true, false});
    return out.str();
}

std::string queue_settings_text(const protocol::QueueSettings& settings) {
    std::ostringstream out;
    const auto& retry = settings.retry;
    out << "queue:         " << shown(settings.queue) << '\n'
        << "paused:        " << (settings.is_paused ? (*settings.is_paused ? "yes" : "no") : "-") << '\n'
        << "max length:    "
        << (settings.max_length && *settings.max_length == 0 ? "unlimited" : text_or_dash(settings.max_length)) << '\n'
        << "max attempts:  " << text_or_dash(retry.max_attempts) << '\n'
        << "backoff:       " << duration_text(retry.backoff_ms) << '\n'
        << "backoff max:   " << duration_text(retry.backoff_max_ms) << '\n'
        << "jitter:        " << (retry.backoff_jitter_pct ? std::to_string(*retry.backoff_jitter_pct) + "%" : "-")
        << '\n'
        << "timeout:       " << duration_text(settings.timeout_ms, "none") << '\n'
        << "dead max:      "
        << (settings.dead_max_count && *settings.dead_max_count == 0 ? "unlimited" : text_or_dash(settings.dead_max_count))
        << '\n'
        << "dead max age:  " << duration_text(settings.dead_max_age_ms) << '\n';
    return out.str();
}

std::string progress_text(const std::string& id, const JobProgress& progress) {
    std::string text = "job " + shown(id) + ": " + std::to_string(progress.percent) + "%";
    if (!progress.message.empty()) text += " " + one_line(progress.message, 256);
    return text;
}

}  // namespace corsair::producer::cli
