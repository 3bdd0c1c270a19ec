#include "cli_output.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

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

}  // namespace

nlohmann::json outcome_json(const Outcome& outcome) {
    nlohmann::json j{{"id", outcome.id}, {"state", protocol::to_string(outcome.state)}, {"attempt", outcome.attempt}};
    if (outcome.state == protocol::JobState::done) {
        j["result"] = outcome.result;
    } else {
        j["error"] = outcome.error;
    }
    return j;
}

nlohmann::json refused_json(const std::string& id, const protocol::Error& error) {
    return nlohmann::json{{"id", id}, {"state", "refused"}, {"error", error_text(error)}};
}

nlohmann::json status_json(const protocol::StatusReply& status) {
    nlohmann::json j{{"id", status.id},          {"queue", status.queue},   {"state", protocol::to_string(status.state)},
                     {"attempt", status.attempt}, {"worker", status.worker}, {"error", status.error}};
    if (status.state == protocol::JobState::done) j["result"] = std::string(protocol::view_of(status.payload));
    return j;
}

nlohmann::json stats_json(const protocol::StatsReply& stats) {
    nlohmann::json queues = nlohmann::json::array();
    for (const auto& q : stats.queues) {
        queues.push_back({{"name", q.name},
                          {"pending", q.pending},
                          {"in_flight", q.in_flight},
                          {"done", q.done},
                          {"failed", q.failed}});
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
    return nlohmann::json{{"queues", queues}, {"workers", workers}, {"counters", counters}};
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
    out << "id:      " << status.id << '\n'
        << "queue:   " << status.queue << '\n'
        << "state:   " << protocol::to_string(status.state) << '\n'
        << "attempt: " << status.attempt << '\n';
    if (!status.worker.empty()) out << "worker:  " << status.worker << '\n';
    if (!status.error.empty()) out << "error:   " << status.error << '\n';
    if (status.state == protocol::JobState::done) out << "result:  " << status.payload.size() << " bytes\n";
    return out.str();
}

std::string stats_table(const protocol::StatsReply& stats) {
    std::ostringstream out;
    std::vector<Row> rows;
    for (const auto& q : stats.queues) {
        rows.push_back({q.name, std::to_string(q.pending), std::to_string(q.in_flight), std::to_string(q.done),
                        std::to_string(q.failed)});
    }
    out << "Queues\n";
    if (rows.empty()) {
        out << "  (none)\n";
    } else {
        out << table({"QUEUE", "PENDING", "IN-FLIGHT", "DONE", "FAILED"}, rows, {false, true, true, true, true});
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

}  // namespace corsair::producer::cli
