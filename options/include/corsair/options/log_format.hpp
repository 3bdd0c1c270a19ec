// The one shape of a log line in every program: the time in UTC with its zone (Z), so lines from
// hosts in different zones sort and compare; the logger's name; the level; the message, which
// is fixed text plus key=value fields with peer text quoted (protocol/text.hpp quoted()).
//   2026-12-03T17:30:00.123Z broker info worker joined worker="host-7:311" capacity=4 queues=emails
// With --log-format json, the same line as one JSON object (json_log_formatter.hpp).
#pragma once

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/details/os.h>
#include <spdlog/logger.h>

#include "corsair/options/flags.hpp"
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

inline constexpr const char* kLogLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
inline constexpr const char* kLogFormats[] = {"text", "json"};

// --log-level and --log-format as the command line (the last of each before `--`, as `--flag V`
// or `--flag=V`) or else CORSAIR_LOG_LEVEL/CORSAIR_LOG_FORMAT give them, before parsing: so that
// a usage error is already told in the format asked for. A value not in the lists is ignored
// here (parsing refuses it); a config file's values are not known yet.
inline LogSettings log_settings_before_parsing(int argc, const char* const* argv) {
    auto is_one_of = [](std::string_view value, const auto& names) {
        return std::find(std::begin(names), std::end(names), value) != std::end(names);
    };
    LogSettings settings;
    if (const char* level = std::getenv("CORSAIR_LOG_LEVEL"); level != nullptr && is_one_of(level, kLogLevels)) {
        settings.level = level;
    }
    if (const char* format = std::getenv("CORSAIR_LOG_FORMAT"); format != nullptr && is_one_of(format, kLogFormats)) {
        settings.format = format;
    }
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--") break;
        auto take = [&](std::string_view name, std::string& into, const auto& names) {
            std::string_view value;
            if (arg == name && i + 1 < argc) {
                value = argv[i + 1];
            } else if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=') {
                value = arg.substr(name.size() + 1);
            } else {
                return;
            }
            if (is_one_of(value, names)) into = std::string(value);
        };
        take("--log-level", settings.level, kLogLevels);
        take("--log-format", settings.format, kLogFormats);
    }
    return settings;
}

// A usage error as `settings` ask: text is options::usage_error's two lines; json is one object
// {"time","level":"error","logger":LOGGER,"message":MESSAGE,"code":"usage","help":"PROGRAM --help"}
// plus "command" when PROGRAM names a command ("corsair submit"). Nothing under `off`.
// Returns the usage exit code.
inline int usage_error_as(std::ostream& err, const LogSettings& settings, std::string_view logger,
                          std::string_view program, std::string_view message) {
    if (settings.level == "off") return exit_status(ExitCode::usage);
    if (settings.format != "json") return usage_error(err, program, message);
    using Field = JsonLogFormatter::Field;
    std::vector<Field> fields;
    if (program.find(' ') != std::string_view::npos) fields.push_back({"command", std::string(program), false});
    fields.push_back({"code", "usage", false});
    fields.push_back({"help", std::string(program) + " --help", false});
    err << JsonLogFormatter::line(spdlog::details::os::now(), spdlog::level::err, logger, message, fields) << std::flush;
    return exit_status(ExitCode::usage);
}

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
        ->check(CLI::IsMember(std::vector<std::string>(std::begin(kLogLevels), std::end(kLogLevels))));
    app.add_option("--log-format", settings.format, format_help + " (env CORSAIR_LOG_FORMAT)")
        ->envname("CORSAIR_LOG_FORMAT")
        ->capture_default_str()
        ->check(CLI::IsMember(std::vector<std::string>(std::begin(kLogFormats), std::end(kLogFormats))));
}

inline void use_log_settings(spdlog::logger& log, const LogSettings& settings) {
    use_log_format(log, settings.format == "json" ? LogFormat::json : LogFormat::text);
    log.set_level(spdlog::level::from_str(settings.level));
}

}  // namespace corsair::options
