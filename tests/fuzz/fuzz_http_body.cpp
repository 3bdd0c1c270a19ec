// What the HTTP side reads from a request without a socket (http/src/json_body.hpp,
// access_tokens.hpp, cpp-httplib's query parser as job_routes.cpp uses it). The first input
// byte picks the reader, the rest is its input. Each must end in an HttpError (400, a clear
// refusal) or a value the broker would take: a job whose options pass the producer's own
// validate(), queue settings that encode to a QUEUE message decode() accepts, a duration within
// its cap, a token table in which each token finds itself. A token file may also be refused with
// std::runtime_error, as access_tokens.hpp documents.
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "access_tokens.hpp"
#include "corsair/producer/job_options.hpp"
#include "corsair/producer/producer_error.hpp"
#include "corsair/protocol/protocol.hpp"
#include "fuzz_input.hpp"
#include "http_context.hpp"
#include "json_body.hpp"

namespace {

namespace h = corsair::http;
namespace p = corsair::protocol;
using corsair::fuzz::check;

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'750'000'000));
constexpr std::chrono::milliseconds kMaxWait{60'000};

void check_job(const h::JobRequest& job) {
    try {
        corsair::producer::validate(job.options, kNow);
    } catch (const corsair::producer::ProducerError& e) {
        corsair::fuzz::fail(std::string("the HTTP side took a job the producer refuses: ") + e.what());
    }
}

void json_job(std::string_view body) { check_job(h::job_request_from(h::parse_object(body, false), kNow)); }

// A batch as NDJSON: one object per line, blank lines skipped (job_routes.cpp's batch_entries).
void ndjson_jobs(std::string_view body) {
    for (std::size_t begin = 0; begin < body.size();) {
        auto end = body.find('\n', begin);
        if (end == std::string_view::npos) end = body.size();
        const auto line = body.substr(begin, end - begin);
        begin = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        auto entry = nlohmann::json::parse(line, nullptr, false);
        if (entry.is_discarded() || !entry.is_object()) continue;
        try {
            check_job(h::job_request_from(entry, kNow));
        } catch (const h::HttpError&) {
        }
    }
}

// A raw submit: "QUERY\0BODY", the query read as job_routes.cpp's url_query reads it.
void raw_job(std::string_view input) {
    const auto split = input.find('\0');
    httplib::Params params;
    httplib::detail::parse_query_text(std::string(input.substr(0, split)), params);
    const std::string body = split == std::string_view::npos ? std::string() : std::string(input.substr(split + 1));
    const auto job = h::job_request_from_query(params, body, kNow);
    check(job.payload == body, "a raw submit's payload is not its body");
    check_job(job);
}

void queue_settings(std::string_view body) {
    auto settings = h::queue_settings_from("q", h::parse_object(body, true));
    auto frames = p::encode(std::move(settings));
    const auto decoded = p::decode(frames);
    check(decoded.has_value(), "the HTTP side took queue settings the protocol refuses: " +
                                   (decoded ? std::string() : decoded.error().detail));
}

void wait_param(std::string_view query) {
    httplib::Params params;
    httplib::detail::parse_query_text(std::string(query), params);
    const auto wait = h::duration_param(params, "wait", std::chrono::milliseconds(0), kMaxWait);
    check(wait.count() >= 0 && wait <= kMaxWait, "?wait beyond its cap: " + std::to_string(wait.count()) + "ms");
}

void token_file(std::string_view text) {
    const int fd = ::memfd_create("tokens", MFD_CLOEXEC);
    check(fd >= 0, "memfd_create failed");
    check(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()), "writing the memfd failed");
    try {
        const auto tokens = h::AccessTokens::load("/proc/self/fd/" + std::to_string(fd));
        ::close(fd);
        check(!tokens.find("").has_value(), "the empty token is accepted");
        // A word of the file that is taken as a token is exactly that token.
        std::istringstream words{std::string(text)};
        for (std::string word; words >> word;) {
            if (const auto found = tokens.find(word)) check(found->token == word, "a token matches another text");
        }
    } catch (const std::runtime_error& e) {
        ::close(fd);
        if (dynamic_cast<const h::HttpError*>(&e) != nullptr) throw;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        switch (data[0] % 6) {
            case 0: json_job(input); break;
            case 1: ndjson_jobs(input); break;
            case 2: raw_job(input); break;
            case 3: queue_settings(input); break;
            case 4: wait_param(input); break;
            default: token_file(input); break;
        }
    } catch (const h::HttpError& e) {
        check(e.status() == 400, "an HttpError other than 400 for a body: " + std::to_string(e.status()));
    }
    return 0;
}
