#include "cli_output.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

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

// Keeps a table row on one line: control characters become spaces, and text over `max_bytes`
// is cut (never inside a UTF-8 sequence) and ends in "...".
std::string one_line(std::string text, std::size_t max_bytes) {
    for (auto& c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    }
    if (text.size() <= max_bytes) return text;
    std::size_t cut = max_bytes - 3;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return text.substr(0, cut) + "...";
}

nlohmann::json errors_json(const std::vector<protocol::AttemptError>& errors) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : errors) list.push_back({{"attempt", e.attempt}, {"error", e.error}});
    return list;
}

std::string ago(std::uint64_t ms) { return human_duration(std::chrono::milliseconds(ms)) + " ago"; }

std::string duration_text(const std::optional<std::uint64_t>& ms, const char* zero = "0s") {
    if (!ms) return "-";
    if (*ms == 0) return zero;
    return protocol::format_duration(std::chrono::milliseconds(*ms));
}

template <class T>
nlohmann::json or_null(const std::optional<T>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

template <class T>
std::string text_or_dash(const std::optional<T>& value) {
    return value ? std::to_string(*value) : "-";
}

}  // namespace

nlohmann::json outcome_json(const Outcome& outcome) {
    nlohmann::json j{{"id", outcome.id}, {"state", protocol::to_string(outcome.state)}, {"attempt", outcome.attempt}};
    if (outcome.state == protocol::JobState::done) {
        j["result"] = outcome.result;
    } else {
        j["error"] = outcome.error;
    }
    if (!outcome.job_id.empty() && outcome.job_id != outcome.id) j["job_id"] = outcome.job_id;
    return j;
}

nlohmann::json accepted_json(const Event& accepted) {
    nlohmann::json j{{"id", accepted.id}};
    if (accepted.existed) j["existed"] = true;
    if (!accepted.job_id.empty() && accepted.job_id != accepted.id) j["job_id"] = accepted.job_id;
    return j;
}

nlohmann::json progress_json(const std::string& id, const JobProgress& progress, const std::string& job_id) {
    nlohmann::json j{{"id", id}, {"state", "running"}, {"progress", progress.percent}, {"message", progress.message}};
    if (!job_id.empty() && job_id != id) j["job_id"] = job_id;
    return j;
}

nlohmann::json refused_json(const std::string& id, const protocol::Error& error) {
    return nlohmann::json{{"id", id}, {"state", "refused"}, {"error", error_text(error)}};
}

nlohmann::json status_json(const protocol::StatusReply& status) {
    nlohmann::json j{{"id", status.id},
                     {"queue", status.queue},
                     {"state", protocol::to_string(status.state)},
                     {"attempt", status.attempt},
                     {"max_attempts", status.max_attempts},
                     {"priority", status.priority},
                     {"ready_in_ms", status.ready_in_ms},
                     {"worker", status.worker},
                     {"progress", or_null(status.progress)},
                     {"progress_message", status.progress_message},
                     {"error", status.error},
                     {"errors", errors_json(status.errors)},
                     {"created_ms", or_null(status.created_ms)},
                     {"started_ms", or_null(status.started_ms)},
                     {"finished_ms", or_null(status.finished_ms)}};
    if (status.state == protocol::JobState::done) j["result"] = std::string(protocol::view_of(status.payload));
    return j;
}

nlohmann::json stats_json(const protocol::StatsReply& stats) {
    nlohmann::json queues = nlohmann::json::array();
    for (const auto& q : stats.queues) {
        queues.push_back({{"name", q.name},
                          {"pending", q.pending},
                          {"delayed", q.delayed},
                          {"in_flight", q.in_flight},
                          {"done", q.done},
                          {"failed", q.failed},
                          {"dead", q.dead},
                          {"paused", q.is_paused},
                          {"oldest_pending_ms", or_null(q.oldest_pending_ms)}});
    }
    nlohmann::json workers = nlohmann::json::array();
    for (const auto& w : stats.workers) {
        workers.push_back({{"name", w.name},
                           {"queues", w.queues},
                           {"capacity", w.capacity},
                           {"in_flight", w.in_flight},
                           {"last_heartbeat_ms", w.last_heartbeat_ms},
                           {"draining", w.is_draining},
                           {"done", w.done},
                           {"failed", w.failed}});
    }
    nlohmann::json counters = nlohmann::json::object();
    for (const auto& [name, value] : stats.counters) counters[name] = value;
    return nlohmann::json{{"queues", queues},
                          {"workers", workers},
                          {"counters", counters},
                          {"uptime_ms", stats.uptime_ms == 0 ? nlohmann::json() : nlohmann::json(stats.uptime_ms)},
                          {"version", stats.version.empty() ? nlohmann::json() : nlohmann::json(stats.version)}};
}

nlohmann::json dead_job_json(const std::string& queue, const protocol::DeadJob& job) {
    return nlohmann::json{{"queue", queue},
                          {"id", job.id},
                          {"attempts", job.attempts},
                          {"died_ms_ago", job.died_ms_ago},
                          {"died_ms", or_null(job.died_ms)},
                          {"payload_bytes", job.payload_bytes},
                          {"priority", job.priority},
                          {"errors", errors_json(job.errors)}};
}

nlohmann::json queue_settings_json(const protocol::QueueSettings& settings) {
    return nlohmann::json{{"queue", settings.queue},
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
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_text(const protocol::Error& error) {
    std::string text(protocol::to_string(error.code));
    if (!error.message.empty()) text += ": " + error.message;
    return text;
}

std::string status_text(const protocol::StatusReply& status) {
    std::ostringstream out;
    out << "id:        " << status.id << '\n'
        << "queue:     " << status.queue << '\n'
        << "state:     " << protocol::to_string(status.state) << '\n'
        << "attempt:   " << status.attempt;
    // A broker from before job lifecycles reports no max_attempts.
    if (status.max_attempts != 0) out << '/' << status.max_attempts;
    out << '\n' << "priority:  " << status.priority << '\n';
    if (status.state == protocol::JobState::delayed) {
        out << "ready in:  " << human_duration(std::chrono::milliseconds(status.ready_in_ms)) << '\n';
    }
    if (!status.worker.empty()) out << "worker:    " << protocol::printable(status.worker) << '\n';
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
    if (!status.error.empty()) out << "error:     " << status.error << '\n';
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
        rows.push_back({protocol::printable(q.name), std::to_string(q.pending), std::to_string(q.delayed),
                        std::to_string(q.in_flight), std::to_string(q.done), std::to_string(q.failed),
                        std::to_string(q.dead), q.is_paused ? "paused" : "active",
                        q.oldest_pending_ms ? human_duration(std::chrono::milliseconds(*q.oldest_pending_ms)) : "-"});
    }
    if (!stats.version.empty() || stats.uptime_ms != 0) {
        out << "Broker " << (stats.version.empty() ? "(version unknown)" : stats.version) << ", up "
            << human_duration(std::chrono::milliseconds(stats.uptime_ms)) << "\n\n";
    }
    out << "Queues\n";
    if (rows.empty()) {
        out << "  (none)\n";
    } else {
        out << table({"QUEUE", "PENDING", "DELAYED", "IN-FLIGHT", "DONE", "FAILED", "DEAD", "STATE", "OLDEST PENDING"},
                     rows, {false, true, true, true, true, true, true, false, true});
    }
    rows.clear();
    for (const auto& w : stats.workers) {
        rows.push_back({w.name, join(w.queues), std::to_string(w.capacity), std::to_string(w.in_flight),
                        std::to_string(w.done), std::to_string(w.failed), std::to_string(w.last_heartbeat_ms) + "ms ago",
                        w.is_draining ? "draining" : "active"});
    }
    out << "\nWorkers\n";
    if (rows.empty()) {
        out << "  (none)\n";
    } else {
        out << table({"WORKER", "QUEUES", "CAPACITY", "IN-FLIGHT", "DONE", "FAILED", "LAST HEARTBEAT", "STATE"}, rows,
                     {false, false, true, true, true, true, true, false});
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
    out << "Dead jobs in queue " << protocol::printable(dead.queue) << ": " << dead.total;
    if (dead.jobs.size() < dead.total) out << " (showing the newest " << dead.jobs.size() << ")";
    out << '\n';
    if (dead.jobs.empty()) return out.str();
    std::vector<Row> rows;
    for (const auto& job : dead.jobs) {
        const std::string last_error = job.errors.empty() ? "" : one_line(job.errors.back().error, 80);
        rows.push_back({job.id, std::to_string(job.attempts), ago(job.died_ms_ago), last_error});
    }
    out << table({"ID", "ATTEMPTS", "DIED", "LAST ERROR"}, rows, {false, true, true, false});
    return out.str();
}

std::string queue_settings_text(const protocol::QueueSettings& settings) {
    std::ostringstream out;
    const auto& retry = settings.retry;
    out << "queue:         " << settings.queue << '\n'
        << "paused:        " << (settings.is_paused ? (*settings.is_paused ? "yes" : "no") : "-") << '\n'
        << "max length:    "
        << (settings.max_length && *settings.max_length == 0 ? "unlimited" : text_or_dash(settings.max_length)) << '\n'
        << "max attempts:  " << text_or_dash(retry.max_attempts) << '\n'
        << "backoff:       " << duration_text(retry.backoff_ms) << '\n'
        << "backoff max:   " << duration_text(retry.backoff_max_ms) << '\n'
        << "jitter:        " << (retry.backoff_jitter_pct ? std::to_string(*retry.backoff_jitter_pct) + "%" : "-")
        << '\n'
        << "timeout:       " << duration_text(settings.timeout_ms, "none") << '\n'
        << "dead max:      " << text_or_dash(settings.dead_max_count) << '\n'
        << "dead max age:  " << duration_text(settings.dead_max_age_ms) << '\n';
    return out.str();
}

std::string progress_text(const std::string& id, const JobProgress& progress) {
    std::string text = "job " + id + ": " + std::to_string(progress.percent) + "%";
    if (!progress.message.empty()) text += " " + one_line(progress.message, 256);
    return text;
}

}  // namespace corsair::producer::cli
