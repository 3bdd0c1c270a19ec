// Writes the seed corpora of the fuzz targets (corpus/<target>/) from the unit tests' tables:
// a valid message of every command (frame_builder.hpp), journals written by the real
// JournalWriter with one record of every type (journal_test_support.hpp), the durations and
// command lines the unit tests use, JSON bodies as docs/http.md shows them. Run by hand after a
// table changes; its output is committed:
//   build-fuzz/tests/fuzz/make_fuzz_seeds tests/fuzz/corpus
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include "frame_builder.hpp"
#include "fuzz_input.hpp"
#include "journal_test_support.hpp"
#include "journal_writer.hpp"

namespace {

namespace fs = std::filesystem;
namespace p = corsair::protocol;
namespace b = corsair::broker;

void write_seed(const fs::path& directory, const std::string& name, const std::string& bytes) {
    fs::create_directories(directory);
    std::ofstream(directory / name, std::ios::binary) << bytes;
}

std::vector<std::string> bytes_of(const p::Frames& frames) {
    std::vector<std::string> out;
    for (const auto& frame : frames) out.emplace_back(static_cast<const char*>(frame.data()), frame.size());
    return out;
}

void protocol_seeds(const fs::path& directory) {
    for (const auto command : p::test::kAllCommands) {
        const auto frames = p::test::message_with_fields(command, p::test::valid_fields(command));
        write_seed(directory, std::string(p::to_string(command)), corsair::fuzz::join_frames(bytes_of(frames)));
    }
    // Messages the encoder writes with every optional field, and a few broken ones.
    auto submit = p::make_submit("job-1", "emails", true, p::make_payload("hello"));
    submit.priority = -5;
    submit.delay_ms = 1000;
    submit.unique_key = "k";
    submit.retry = {5, 250, 60'000, 15};
    write_seed(directory, "SUBMIT-full", corsair::fuzz::join_frames(bytes_of(p::encode(std::move(submit)))));
    // The four batches packed (docs/protocol.md §3.1), and a packed frame whose sizes lie.
    p::Jobs jobs;
    jobs.is_packed = true;
    jobs.jobs.push_back(p::Job{"j1", "emails", 1, p::make_payload("hello")});
    jobs.jobs.push_back(p::Job{"j2", "emails", 2, zmq::message_t()});
    write_seed(directory, "JOBS-packed", corsair::fuzz::join_frames(bytes_of(p::encode(std::move(jobs)))));
    p::Dones dones;
    dones.is_packed = true;
    dones.done.push_back(p::Done{"j1", 1, p::make_payload("result")});
    dones.done.push_back(p::Done{"j2", 2, p::make_payload("r2")});
    write_seed(directory, "DONES-packed", corsair::fuzz::join_frames(bytes_of(p::encode(std::move(dones)))));
    p::Results results;
    results.is_packed = true;
    results.results.push_back(p::JobResult{"j1", p::JobState::done, 1, "", p::make_payload("result")});
    results.results.push_back(p::JobResult{"j2", p::JobState::failed, 3, "boom", zmq::message_t()});
    write_seed(directory, "RESULTS-packed", corsair::fuzz::join_frames(bytes_of(p::encode(std::move(results)))));
    p::Submits submits;
    submits.is_packed = true;
    submits.shared.queue = "emails";
    submits.shared.reads_packed = true;
    submits.entries.push_back(p::SubmitsEntry{"a", p::make_payload("one")});
    submits.entries.push_back(p::SubmitsEntry{"b", p::make_payload("two")});
    auto packed_submits = bytes_of(p::encode(std::move(submits)));
    write_seed(directory, "SUBMITS-packed", corsair::fuzz::join_frames(packed_submits));
    packed_submits.back()[0] = '\x7f';  // the first size now runs past the frame's end
    write_seed(directory, "SUBMITS-packed-bad-sizes", corsair::fuzz::join_frames(packed_submits));
    write_seed(directory, "bad-signature", corsair::fuzz::join_frames({"CSR\x09", "\x01", "\x80", "p"}));
    write_seed(directory, "too-few-frames", corsair::fuzz::join_frames({p::test::signature_bytes(), "\x06"}));
}

// A journal as JournalWriter writes it, holding `records`.
std::string journal_of(const std::vector<b::JournalRecord>& records, const fs::path& scratch) {
    const auto path = scratch / "journal.log";
    fs::remove(path);
    {
        auto log = std::make_shared<spdlog::logger>("seeds", std::make_shared<spdlog::sinks::null_sink_mt>());
        b::JournalWriter writer(path, b::JournalWriterOptions{b::FsyncPolicy::never, {}}, log);
        for (const auto& record : records) writer.append(record);
    }
    return b::test::read_bytes(path);
}

// One job's life as the broker journals it: submitted, leased, failed once, leased again, done.
std::vector<b::JournalRecord> a_job_life() {
    b::JournalSubmitted submitted;
    submitted.id = "j1";
    submitted.queue = "q";
    submitted.payload = "payload";
    submitted.sequence = 1;
    b::JournalSubmitted other = submitted;
    other.id = "j2";
    other.sequence = 2;
    return {submitted,
            other,
            b::JournalDispatched{"j1", 1},
            b::JournalAttemptFailed{"j1", 1, "flaky", false, 0},
            b::JournalDispatched{"j1", 2},
            b::JournalDone{"j1", 2, "result", 1'750'000'000'000, 1'749'999'999'000, "w1"},
            b::JournalDispatched{"j2", 1}};
}

void journal_seeds(const fs::path& directory, const fs::path& scratch) {
    const auto every_type = journal_of(b::test::one_record_of_each_type(), scratch);
    write_seed(directory, "every-record-type", every_type);
    const auto life = journal_of(a_job_life(), scratch);
    write_seed(directory, "a-job-life", life);
    write_seed(directory, "header-only", journal_of({}, scratch));
    write_seed(directory, "torn-tail", life.substr(0, life.size() - 5));
    std::string corrupt = life;
    corrupt[20] = static_cast<char>(corrupt[20] ^ 0x40);
    write_seed(directory, "corrupt-middle", corrupt);
}

void duration_seeds(const fs::path& directory) {
    const char* durations[] = {"250ms", "1s", "2m", "24h", "1d", "1d12h", "1h30m", "15us", "0s", "0",
                               "007ms", "1.5s", "0.25s", "1h2m3s4ms5us", "0.0000001s", "876000h", "1ms500us"};
    int n = 0;
    for (const char* text : durations) write_seed(directory, "duration-" + std::to_string(n++), text);
}

void command_line_seeds(const fs::path& directory) {
    using Args = std::vector<std::string>;
    const std::vector<std::pair<char, Args>> lines = {
        {0, {"--producers", "tcp://127.0.0.1:5555", "--workers", "tcp://127.0.0.1:5556", "--heartbeat", "1s"}},
        {0, {"--data-dir", "data", "--fsync", "interval", "--max-payload", "8MiB", "--http", "127.0.0.1:0"}},
        {0, {"--salvage", "--result-ttl", "24h", "--log-level", "debug", "--http-max-wait", "30s"}},
        {1, {"--broker", "tcp://127.0.0.1:5556", "--queue", "q", "--capacity", "4", "--builtin", "echo"}},
        {1, {"--queue", "a", "b", "--batch", "16", "--heartbeat", "500ms", "--", "cat"}},
        {1, {"--queue", "q", "--inline", "--builtin", "noop", "--drain-timeout", "0"}},
        {2, {"submit", "q", "hello", "--priority", "5", "--timeout", "30s", "--unique", "k", "--json"}},
        {2, {"submit", "q", "-", "--at", "2030-01-01T00:00:00Z", "--max-attempts", "3", "--jitter", "10"}},
        {2, {"queue", "q", "--max-length", "100", "--backoff", "1s", "--dead-max-age", "7d"}},
        {2, {"status", "job-1", "--broker", "tcp://broker:5555", "--wait-timeout", "2s"}},
        {2, {"dead", "q", "--limit", "10"}},
        {2, {"retry", "--all", "q"}},
        {2, {"purge", "q", "--pending"}},
        {2, {"list", "q", "--state", "running"}},
    };
    int n = 0;
    for (const auto& [program, args] : lines) {
        write_seed(directory, "argv-" + std::to_string(n++), std::string(1, program) + corsair::fuzz::join_arguments(args));
    }
    // Program + 3: the first argument is a --config file's text (docs/configuration.md's examples).
    const std::vector<std::pair<char, Args>> configs = {
        {3, {"producers = \"tcp://127.0.0.1:5555\"\nworkers = \"tcp://127.0.0.1:5556\"\ndata-dir = \"data\"\n"
             "heartbeat = \"1s\"\nmax-payload = \"8MiB\"\nlog-format = \"json\"\n",
             "--print-config"}},
        {4, {"broker = \"tcp://broker.internal:5556\"\nid = \"media-1\"\ntimeout = \"5m\"\n\n[[handler]]\n"
             "queue = \"thumbnails\"\ncommand = [\"cat\", \"-n\"]\ncapacity = 8\ntimeout = \"30s\"\n\n[[handler]]\n"
             "queue = [\"emails\", \"sms\"]\nbuiltin = \"echo\"\n"}},
        {4, {"broker = \"tcp://127.0.0.1:5556\"\nqueue = [\"a\", \"b\"]\ncapacity = 4\nprefetch = 2\ninline = true\n",
             "--builtin", "noop"}},
        {5, {"broker = \"tcp://broker:5555\"\njson = true\nwait-timeout = \"2s\"\n", "stats"}},
    };
    for (const auto& [program, args] : configs) {
        write_seed(directory, "config-" + std::to_string(n++),
                   std::string(1, program) + corsair::fuzz::join_arguments(args));
    }
}

void http_seeds(const fs::path& directory) {
    const std::vector<std::pair<char, std::string>> bodies = {
        {0, R"({"payload": "hello", "id": "job-1", "priority": 5, "timeout": "30s", "max_attempts": 3})"},
        {0, R"({"payload_base64": "aGVsbG8=", "delay": 1500, "unique_key": "k", "backoff": "1s", "jitter": 10})"},
        {0, R"({"payload": "x", "at": "2030-01-01T00:00:00Z", "backoff_max": "1m"})"},
        {1, "{\"payload\": \"a\"}\n{\"payload\": \"b\", \"priority\": -3}\n\n{\"payload_base64\": \"Yg==\"}\n"},
        {2, std::string("priority=5&timeout=30s&id=job-1&unique_key=a%20b") + '\0' + "raw bytes"},
        {3, R"({"max_length": 100, "max_attempts": 5, "timeout": "1m", "dead_max": 10, "dead_max_age": "7d", "paused": true})"},
        {3, R"({"backoff": "250ms", "backoff_max": "1h", "jitter": 20})"},
        {4, "wait=30s"},
        {4, "wait=1500&other=1"},
        {5, "# tokens\nadmin 0123456789abcdef0123\nproducer abcdefghijklmnop.-_~+/=\nworker  zyxwvutsrqponmlk  # w\n"},
    };
    int n = 0;
    for (const auto& [reader, body] : bodies) write_seed(directory, "body-" + std::to_string(n++), std::string(1, reader) + body);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: make_fuzz_seeds CORPUS_DIR\n";
        return 2;
    }
    const fs::path corpus = argv[1];
    const auto scratch = fs::temp_directory_path() / ("corsair-fuzz-seeds-" + std::to_string(::getpid()));
    fs::create_directories(scratch);
    protocol_seeds(corpus / "fuzz_protocol_decode");
    journal_seeds(corpus / "fuzz_journal", scratch);
    duration_seeds(corpus / "fuzz_duration");
    command_line_seeds(corpus / "fuzz_command_line");
    http_seeds(corpus / "fuzz_http_body");
    fs::remove_all(scratch);
    return 0;
}
