// The ready line: the one stdout line corsair-broker prints once both sockets are bound,
// "corsair-broker ready producers=ENDPOINT workers=ENDPOINT", so that scripts and tests that bind
// port 0 can read the resolved endpoints back. Its format and its parser live here side by side.
// Header-only and dependency-free, so that a harness can include it without linking the broker.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace corsair::broker {

// Where a broker listens, as printed on its ready line.
struct BrokerEndpoints {
    std::string producers;
    std::string workers;
    std::string direct;  // direct://ADDR:PORT of the direct transport; empty when it is off
    std::string http;  // ADDR:PORT of the HTTP side; empty when it is off
};

// The program name that opens the broker's ready line. Another process that speaks for a broker
// (the bench's ceiling proxy) passes its own name to both functions below.
inline constexpr std::string_view kBrokerProgram = "corsair-broker";

// "PROGRAM ready producers=EP workers=EP[ direct=EP][ http=ADDR:PORT]", without the newline.
inline std::string format_ready_line(const BrokerEndpoints& endpoints, std::string_view program = kBrokerProgram) {
    std::string line(program);
    line += " ready producers=";
    line += endpoints.producers;
    line += " workers=";
    line += endpoints.workers;
    if (!endpoints.direct.empty()) {
        line += " direct=";
        line += endpoints.direct;
    }
    if (!endpoints.http.empty()) {
        line += " http=";
        line += endpoints.http;
    }
    return line;
}

// The endpoints on a line format_ready_line() wrote for `program`; nullopt for any other line.
inline std::optional<BrokerEndpoints> parse_ready_line(std::string_view line, std::string_view program = kBrokerProgram) {
    constexpr std::string_view producers_key = " ready producers=";
    constexpr std::string_view workers_key = " workers=";
    if (line.substr(0, program.size()) != program) return std::nullopt;
    line.remove_prefix(program.size());
    if (line.substr(0, producers_key.size()) != producers_key) return std::nullopt;
    line.remove_prefix(producers_key.size());
    const auto workers_at = line.find(workers_key);
    if (workers_at == std::string_view::npos) return std::nullopt;
    const auto producers = line.substr(0, workers_at);
    line.remove_prefix(workers_at + workers_key.size());
    BrokerEndpoints endpoints{std::string(producers), {}, {}, {}};
    // Each optional key ends the value before it; endpoints hold no spaces.
    constexpr std::string_view http_key = " http=";
    if (const auto http_at = line.find(http_key); http_at != std::string_view::npos) {
        endpoints.http = std::string(line.substr(http_at + http_key.size()));
        line = line.substr(0, http_at);
    }
    constexpr std::string_view direct_key = " direct=";
    if (const auto direct_at = line.find(direct_key); direct_at != std::string_view::npos) {
        endpoints.direct = std::string(line.substr(direct_at + direct_key.size()));
        line = line.substr(0, direct_at);
    }
    endpoints.workers = std::string(line);
    return endpoints;
}

}  // namespace corsair::broker
