// What the `corsair` commands print: JSON objects (--json) and readable text, in the shapes
// docs/cli.md documents (the HTTP API reuses them). Keys are snake_case; `id` is always a job
// id; absent values are null; bytes are `payload`/`result` when UTF-8, else `*_base64` beside a
// null text key. Text output passes everything a peer chose (queue names, ids, errors, worker
// names, messages) through protocol::printable(). Pure functions, for tests without a broker.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "corsair/producer/producer.hpp"
#include "corsair/protocol/messages.hpp"

namespace corsair::producer::cli {

// A peer's text for a JSON string: valid UTF-8 as it is; otherwise each byte that is not part
// of valid UTF-8 becomes the four characters \xNN, so no two texts collapse into U+FFFD.
std::string json_text(std::string_view text);
// Sets `key` to the bytes when they are UTF-8; otherwise `key` is null and `key`_base64 holds
// them in base64.
void put_bytes(nlohmann::json& object, const std::string& key, std::string_view bytes);

// {"id","queue","existed"}: the job a submit stands for (a unique key may name another job).
nlohmann::json accepted_json(const Event& accepted, const std::string& queue);
// {"id","queue","state","attempt","result"[,"result_base64"],"error"}: a job's end.
nlohmann::json outcome_json(const Outcome& outcome, const std::string& queue);
// {"id","queue","state":"running","attempt","progress","progress_message"}: one progress report.
nlohmann::json progress_json(const std::string& job_id, const std::string& queue, const JobProgress& progress);
// {"error":{"code","message","id"}}: a refused request (id null when it names no job).
nlohmann::json error_json(std::string_view code, std::string_view message, std::string_view id = {});
nlohmann::json error_json(const protocol::Error& error);
// {"id","queue","state","attempt","max_attempts","priority","ready_in_ms","worker","progress",
// "progress_message","error","errors":[{"attempt","error"}],"result"[,"result_base64"]}.
nlohmann::json status_json(const protocol::StatusReply& status);
// {"queues":[{"queue",...}],"workers":[{"worker",...}],"counters":{...}}.
nlohmann::json stats_json(const protocol::StatsReply& stats);
// {"queue","total","jobs":[{"id","queue","attempt","died_ago_ms","payload_bytes","priority",
// "error","errors"}]}: one document, also for an empty dead set.
nlohmann::json dead_json(const protocol::DeadReply& dead);
// {"id","queue","state","attempt","max_attempts","priority","payload_bytes","created_at_ms",
// "ready_at_ms","started_at_ms","worker","died_at_ms","error"}: one job of a LIST page.
nlohmann::json listed_job_json(const std::string& queue, protocol::ListedState state, const protocol::ListedJob& job);
// {"queue","state","total","next","jobs":[listed_job_json...]}: one LIST page.
nlohmann::json list_json(const protocol::ListReply& page);
// Every setting of a queue, named as on the wire; a setting the broker left out is null.
nlohmann::json queue_settings_json(const protocol::QueueSettings& settings);

// One line of JSON without the newline.
std::string json_line(const nlohmann::json& value);

// "code: message" of a broker ERROR, printable.
std::string error_text(const protocol::Error& error);
// "key: value" lines describing one job, then its error history.
std::string status_text(const protocol::StatusReply& status);
// Tables of queues, workers and counters.
std::string stats_table(const protocol::StatsReply& stats);
// A heading with the dead set's size, then a table: id, attempts, died ago, last error.
std::string dead_table(const protocol::DeadReply& dead);
// "key: value" lines of a queue's settings.
std::string queue_settings_text(const protocol::QueueSettings& settings);
// "job ID: 40% message": one progress report, as shown on stderr.
std::string progress_text(const std::string& id, const JobProgress& progress);

}  // namespace corsair::producer::cli
