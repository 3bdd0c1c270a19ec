#include "cli_diagnostics.hpp"

#include <cstdlib>
#include <ostream>

#include <spdlog/details/os.h>

#include "corsair/options/exit_code.hpp"
#include "corsair/options/flags.hpp"

namespace corsair::producer::cli {

namespace {

bool is_level_name(std::string_view text) {
    return text == "trace" || text == "debug" || text == "info" || text == "warn" || text == "error" ||
           text == "critical" || text == "off";
}

bool is_format_name(std::string_view text) { return text == "text" || text == "json"; }

}  // namespace

void Diagnostics::configure(const options::LogSettings& settings) {
    threshold_ = spdlog::level::from_str(settings.level);
    is_json_ = settings.format == "json";
}

void Diagnostics::configure_from_arguments(int argc, const char* const* argv) {
    options::LogSettings settings;
    if (const char* level = std::getenv("CORSAIR_LOG_LEVEL"); level != nullptr && is_level_name(level)) {
        settings.level = level;
    }
    if (const char* format = std::getenv("CORSAIR_LOG_FORMAT"); format != nullptr && is_format_name(format)) {
        settings.format = format;
    }
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--") break;
        auto take = [&](std::string_view name, std::string& into, bool (*is_valid)(std::string_view)) {
            std::string_view value;
            if (arg == name && i + 1 < argc) {
                value = argv[i + 1];
            } else if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=') {
                value = arg.substr(name.size() + 1);
            } else {
                return;
            }
            if (is_valid(value)) into = std::string(value);
        };
        take("--log-level", settings.level, is_level_name);
        take("--log-format", settings.format, is_format_name);
    }
    configure(settings);
}

void Diagnostics::say(Level level, std::string_view text, const std::vector<Field>& fields, std::string_view who) {
    if (!shows(level)) return;
    if (is_json_) {
        if (who.empty() || who == "corsair") {
            *err_ << options::JsonLogFormatter::line(spdlog::details::os::now(), level, "corsair", text, fields);
        } else {
            std::vector<Field> with_command{text_field("command", std::string(who))};
            with_command.insert(with_command.end(), fields.begin(), fields.end());
            *err_ << options::JsonLogFormatter::line(spdlog::details::os::now(), level, "corsair", text, with_command);
        }
    } else {
        if (!who.empty()) *err_ << who << ": ";
        *err_ << text << '\n';
    }
    err_->flush();
}

int Diagnostics::usage(std::string_view program, std::string_view message) {
    if (!is_json_) {
        // The usage error's two lines, unless --log-level off.
        if (shows(Level::err)) options::usage_error(*err_, program, message);
        return options::exit_status(options::ExitCode::usage);
    }
    say(Level::err, message,
        {text_field("code", "usage"), text_field("help", std::string(program) + " --help")}, program);
    return options::exit_status(options::ExitCode::usage);
}

}  // namespace corsair::producer::cli
