// What the `corsair` commands print: JSON objects (one per line, for --json) and readable text.
// Pure functions of their inputs, so tests can check them without a broker.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "corsair/producer/producer.hpp"
#include "corsair/protocol/messages.hpp"

namespace corsair::producer::cli {

// {"id","state","attempt","result"} for done, {"id","state","attempt","error"} for failed.
nlohmann::json outcome_json(const Outcome& outcome);
// {"id","state":"refused","error":"code: message"}: the broker refused the SUBMIT.
nlohmann::json refused_json(const std::string& id, const protocol::Error& error);
// {"id","queue","state","attempt","worker","error"} plus "result" when done.
nlohmann::json status_json(const protocol::StatusReply& status);
// {"queues":[...],"workers":[...],"counters":{...}}, field names as on the wire.
nlohmann::json stats_json(const protocol::StatsReply& stats);

// One line of JSON without the newline. Bytes that are not UTF-8 (binary results) become U+FFFD.
std::string json_line(const nlohmann::json& value);

// "code: message" of a broker ERROR.
std::string error_text(const protocol::Error& error);
// "key: value" lines describing one job.
std::string status_text(const protocol::StatusReply& status);
// Tables of queues, workers and counters.
std::string stats_table(const protocol::StatsReply& stats);

}  // namespace corsair::producer::cli
