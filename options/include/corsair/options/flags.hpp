// CLI11 glue every program uses, so a duration, a size, --version and a usage error read the
// same in corsair-broker, corsair-worker and corsair. Used on the main thread, before any other.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "corsair/options/exit_code.hpp"
#include "corsair/options/size.hpp"
#include "corsair/protocol/duration.hpp"

#ifndef CORSAIR_VERSION
#define CORSAIR_VERSION "unknown"
#endif

namespace corsair::options {

// The version of every program: the CMake project version.
inline constexpr const char* kVersion = CORSAIR_VERSION;

inline constexpr const char* kDurationHelp =
    "Durations: a number and a unit (us, ms, s, m, h, d), terms adding up: 250ms, 1.5s, 90s, 1h30m, 1d.";
inline constexpr const char* kSizeHelp =
    "Sizes: bytes, or a number with a binary unit (k, M, G, T or KiB, MiB, GiB, TiB): 65536, 64k, 8MiB, 256MiB.";

// "'5x' is not a duration: write a number and a unit (us, ms, s, m, h, d), e.g. 250ms, 90s, 1h30m, 1d"
inline std::string duration_problem(std::string_view text) {
    return "'" + std::string(text) +
           "' is not a duration: write a number and a unit (us, ms, s, m, h, d), e.g. 250ms, 90s, 1h30m, 1d";
}

// "'8MB' is not a size: write bytes or a number with a binary unit (k, M, G, T or KiB, MiB, GiB, TiB), e.g. ..."
inline std::string size_problem(std::string_view text) {
    return "'" + std::string(text) +
           "' is not a size: write bytes or a number with a binary unit (k, M, G, T or KiB, MiB, GiB, TiB), e.g. "
           "65536, 64k, 8MiB, 256MiB";
}

// "must be from 10ms to 60s (got '5m')"
inline std::string range_problem(std::string_view low, std::string_view high, std::string_view text) {
    return "must be from " + std::string(low) + " to " + std::string(high) + " (got '" + std::string(text) + "')";
}

// Why `text` is not a duration within [min, max], or an empty string. A value under 1ms but
// above 0 is refused, never rounded to 0 (which often means "none").
inline std::string duration_check(const std::string& text, std::chrono::milliseconds min,
                                  std::chrono::milliseconds max) {
    const auto parsed = protocol::parse_duration(text);
    if (!parsed) return duration_problem(text);
    const auto value = std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
    if ((parsed->count() > 0 && value.count() == 0) || value < min || value > max) {
        return range_problem(protocol::format_duration(min), protocol::format_duration(max), text);
    }
    return {};
}

// A flag taking a duration in [min, max] into `target` (whole milliseconds); its --help shows
// the default.
inline CLI::Option* add_duration_flag(CLI::App& app, const std::string& name, std::chrono::milliseconds& target,
                                      const std::string& help, std::chrono::milliseconds min,
                                      std::chrono::milliseconds max) {
    auto* option = app.add_option_function<std::string>(
        name,
        [&target](const std::string& text) {
            target = std::chrono::duration_cast<std::chrono::milliseconds>(*protocol::parse_duration(text));
        },
        help + " (default " + protocol::format_duration(target) + ")");
    option->type_name("DURATION");
    option->default_str(protocol::format_duration(target));  // for --print-config
    option->check(CLI::Validator([min, max](std::string& text) { return duration_check(text, min, max); }, "", ""));
    return option;
}

// A flag taking a size in [min, max] bytes into `target`; its --help shows the default.
template <class Bytes>
CLI::Option* add_size_flag(CLI::App& app, const std::string& name, Bytes& target, const std::string& help,
                           std::uint64_t min, std::uint64_t max) {
    auto* option = app.add_option_function<std::string>(
        name, [&target](const std::string& text) { target = static_cast<Bytes>(*parse_size(text)); },
        help + " (default " + format_size(static_cast<std::uint64_t>(target)) + ")");
    option->type_name("SIZE");
    option->default_str(format_size(static_cast<std::uint64_t>(target)));  // for --print-config
    option->check(CLI::Validator(
        [min, max](std::string& text) -> std::string {
            const auto value = parse_size(text);
            if (!value) return size_problem(text);
            if (*value < min || *value > max) return range_problem(format_size(min), format_size(max), text);
            return {};
        },
        "", ""));
    return option;
}

// CLI11's own formatter lists an option's Needs and Excludes in the order of their addresses in
// memory, so that `--help` could read otherwise from one run to the next; this one lists them by
// name. The rest is CLI11's Formatter::make_option_opts as it is.
class StableHelpFormatter : public CLI::Formatter {
public:
    std::string make_option_opts(const CLI::Option* option) const override {
        if (!option->get_option_text().empty()) return " " + option->get_option_text();
        std::string out;
        if (option->get_type_size() != 0) {
            if (!option->get_type_name().empty()) out += " " + get_label(option->get_type_name());
            if (!option->get_default_str().empty()) out += "=" + option->get_default_str();
            if (option->get_expected_max() == CLI::detail::expected_max_vector_size) {
                out += " ...";
            } else if (option->get_expected_min() > 1) {
                out += " x " + std::to_string(option->get_expected());
            }
            if (option->get_required()) out += " " + get_label("REQUIRED");
        }
        if (!option->get_envname().empty()) out += " (" + get_label("Env") + ":" + option->get_envname() + ")";
        out += names_of("Needs", option->get_needs());
        out += names_of("Excludes", option->get_excludes());
        return out;
    }

private:
    std::string names_of(const std::string& label, const std::set<CLI::Option*>& options) const {
        if (options.empty()) return {};
        std::vector<std::string> names;
        for (const auto* option : options) names.push_back(option->get_name());
        std::sort(names.begin(), names.end());
        std::string out = " " + get_label(label) + ":";
        for (const auto& name : names) out += " " + name;
        return out;
    }
};

// Call on a program's app before adding its subcommands, which take their parent's formatter.
inline void use_stable_help(CLI::App& app) { app.formatter(std::make_shared<StableHelpFormatter>()); }

// --version prints "PROGRAM VERSION" and exits 0.
inline void add_version_flag(CLI::App& app, const std::string& program) {
    app.set_version_flag("--version", program + " " + kVersion, "Print the version and exit");
}

inline std::string with_newline(std::string text) {
    if (text.empty() || text.back() != '\n') text += '\n';
    return text;
}

// Prints a usage error found after parsing, the same way parse_or_exit() prints CLI11's, and
// returns exit code 2.
inline int usage_error(std::ostream& err, std::string_view program, std::string_view message) {
    err << program << ": " << message << "\nRun with --help for more information.\n";
    return exit_status(ExitCode::usage);
}

// Parses argv. Returns nullopt to go on, or the exit code to stop with: 0 after --help or
// --version (printed to `out`), 2 after a usage error, printed to `err` as
// "PROGRAM: MESSAGE\nRun with --help for more information." (never CLI11's own codes).
inline std::optional<int> parse_or_exit(CLI::App& app, int argc, const char* const* argv, std::ostream& out,
                                        std::ostream& err) {
    try {
        app.parse(argc, argv);
        return std::nullopt;
    } catch (const CLI::CallForHelp&) {
        out << with_newline(app.help());
    } catch (const CLI::CallForAllHelp&) {
        out << with_newline(app.help("", CLI::AppFormatMode::All));
    } catch (const CLI::CallForVersion& e) {
        out << e.what() << '\n';
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return exit_status(ExitCode::ok);
        return usage_error(err, app.get_name(), e.what());
    }
    return exit_status(ExitCode::ok);
}

}  // namespace corsair::options
