// The one shape of a log line in every program: the time in UTC with its zone (Z), so lines from
// hosts in different zones sort and compare; the logger's name; the level; the message, which
// is fixed text plus key=value fields with peer text quoted (protocol/text.hpp quoted()).
//   2026-12-03T17:30:00.123Z broker info worker joined worker="host-7:311" capacity=4 queues=emails
// With --log-format json, the same line as one JSON object (json_log_formatter.hpp).
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/logger.h>

#include "corsair/options/json_log_formatter.hpp"

namespace corsair::options {

inline constexpr const char* kLogPattern = "%Y-%m-%dT%H:%M:%S.%eZ %n %^%l%$ %v";

enum class LogFormat { text, json };

inline void use_log_format(spdlog::logger& log, LogFormat format = LogFormat::text) {
    if (format == LogFormat::json) {
        log.set_formatter(std::make_unique<JsonLogFormatter>());
    } else {
        log.set_pattern(kLogPattern, spdlog::pattern_time_type::utc);
    }
}

// --log-level and --log-format, the same in all three programs.
struct LogSettings {
    std::string level = "info";
    std::string format = "text";
};

inline constexpr const char* kLogLevelHelp =
    "How much to log on stderr: trace, debug, info (lifecycle, never a line per job), warn, error or off";
inline constexpr const char* kLogFormatHelp =
    "text (one line per event: time, logger, level, text, key=value fields) or json (one JSON object per line "
    "with time, level, logger, message and the fields, for journald or a log shipper)";

// The help texts are the daemons'; `corsair` words its own (its stderr is diagnostics, not a log).
inline void add_log_flags(CLI::App& app, LogSettings& settings, const std::string& level_help = kLogLevelHelp,
                          const std::string& format_help = kLogFormatHelp) {
    app.add_option("--log-level", settings.level, level_help + " (env CORSAIR_LOG_LEVEL)")
        ->envname("CORSAIR_LOG_LEVEL")
        ->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    app.add_option("--log-format", settings.format, format_help + " (env CORSAIR_LOG_FORMAT)")
        ->envname("CORSAIR_LOG_FORMAT")
        ->capture_default_str()
        ->check(CLI::IsMember({"text", "json"}));
}

inline void use_log_settings(spdlog::logger& log, const LogSettings& settings) {
    use_log_format(log, settings.format == "json" ? LogFormat::json : LogFormat::text);
    log.set_level(spdlog::level::from_str(settings.level));
}

}  // namespace corsair::options
