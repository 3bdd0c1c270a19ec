// What `corsair` says on stderr beside its output: a failed command's error, usage errors, a
// job's progress reports, submit --file's problems and summary, notes such as "listed 100 of 250".
// --log-level chooses which are said (default info; `off` leaves only the exit code), and
// --log-format how:
//   text: "corsair: TEXT" lines as a person reads them, and the progress bar on a terminal;
//   json: one object per line, {"time","level","logger":"corsair","message":TEXT, FIELDS...},
//         the same shape as corsair-broker's and corsair-worker's JSON logs (json_log_formatter.hpp),
//         with no progress bar, and a usage error folded into one object.
// stdout is not touched: --json output and results are the command's output, not diagnostics.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/common.h>

#include "corsair/options/json_log_formatter.hpp"
#include "corsair/options/log_format.hpp"

namespace corsair::producer::cli {

class Diagnostics {
public:
    using Level = spdlog::level::level_enum;
    using Field = options::JsonLogFormatter::Field;

    explicit Diagnostics(std::ostream& err) : err_(&err) {}

    // Settles the level and format from parsed settings (values the flags' checks accepted).
    void configure(const options::LogSettings& settings);
    // Before parsing, so that a usage error is already told in the format asked for
    // (options::log_settings_before_parsing).
    void configure_from_arguments(int argc, const char* const* argv);

    bool is_json() const { return is_json_; }
    bool shows(Level level) const { return level != Level::off && level >= threshold_; }
    // The progress bar: only on a terminal, as text, when info is shown.
    bool shows_progress_bar(bool is_err_terminal) const { return is_err_terminal && !is_json_ && shows(Level::info); }

    // "WHO: TEXT" (just TEXT when `who` is empty) or one JSON object with the fields; nothing
    // below the level. JSON always names the logger "corsair"; another `who` becomes "command".
    void say(Level level, std::string_view text, const std::vector<Field>& fields = {},
             std::string_view who = "corsair");
    void error(std::string_view text, const std::vector<Field>& fields = {}) { say(Level::err, text, fields); }
    void warn(std::string_view text, const std::vector<Field>& fields = {}) { say(Level::warn, text, fields); }
    void info(std::string_view text, const std::vector<Field>& fields = {}) { say(Level::info, text, fields); }
    void debug(std::string_view text, const std::vector<Field>& fields = {}) { say(Level::debug, text, fields); }

    // A usage error, as options::usage_error_as words it: two lines of text, or one JSON object
    // with "command", "code" and "help"; returns the usage exit code (2).
    int usage(std::string_view program, std::string_view message);

    // The stream itself, for the progress bar's carriage returns.
    std::ostream& stream() { return *err_; }

    static Field text_field(std::string key, std::string value) { return {std::move(key), std::move(value), false}; }
    static Field number_field(std::string key, std::int64_t value) {
        return {std::move(key), std::to_string(value), true};
    }
    static Field flag_field(std::string key, bool value) { return {std::move(key), value ? "true" : "false", true}; }

private:
    std::ostream* err_;
    options::LogSettings settings_;
    Level threshold_ = Level::info;
    bool is_json_ = false;
};

}  // namespace corsair::producer::cli
