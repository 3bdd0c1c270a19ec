#include "cli_diagnostics.hpp"

#include <ostream>

#include <spdlog/details/os.h>

namespace corsair::producer::cli {

void Diagnostics::configure(const options::LogSettings& settings) {
    settings_ = settings;
    threshold_ = spdlog::level::from_str(settings.level);
    is_json_ = settings.format == "json";
}

void Diagnostics::configure_from_arguments(int argc, const char* const* argv) {
    configure(options::log_settings_before_parsing(argc, argv));
}

void Diagnostics::say(Level level, std::string_view text, const std::vector<Field>& fields, std::string_view who) {
    if (!shows(level)) return;
    if (is_json_) {
        std::vector<Field> all;
        if (!who.empty() && who != "corsair") all.push_back(text_field("command", std::string(who)));
        all.insert(all.end(), fields.begin(), fields.end());
        *err_ << options::JsonLogFormatter::line(spdlog::details::os::now(), level, "corsair", text, all);
    } else {
        if (!who.empty()) *err_ << who << ": ";
        *err_ << text << '\n';
    }
    err_->flush();
}

int Diagnostics::usage(std::string_view program, std::string_view message) {
    return options::usage_error_as(*err_, settings_, "corsair", program, message);
}

}  // namespace corsair::producer::cli
