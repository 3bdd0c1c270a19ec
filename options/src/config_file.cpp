#include "corsair/options/config_file.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cerrno>
#include <iomanip>
#include <istream>
#include <ostream>
#include <sstream>
#include <utility>

#include <unistd.h>

#include <toml++/toml.h>

#include "corsair/options/flags.hpp"

namespace corsair::options {

namespace {

// CLI11 calls Config::from_config() once the command line is parsed and before it reads the
// environment and checks requirements: the one moment where a file value can lose to a flag and
// to a variable, yet count for --threads excludes --inline and the like. The reader applies the
// file itself there (so it can name the line of a refused value) and hands CLI11 nothing.
class TomlReader : public CLI::Config {
public:
    explicit TomlReader(std::function<void(std::istream&)> read) : read_(std::move(read)) {}
    std::string to_config(const CLI::App*, bool, bool, std::string) const override { return {}; }
    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
        read_(input);
        return {};
    }

private:
    std::function<void(std::istream&)> read_;
};

enum class Expected { boolean, integer, number, size, string };

// As CLI11 itself tells a flag in a config file.
bool is_flag(const CLI::Option& option) { return option.get_expected_min() == 0 && option.nonpositional(); }
bool takes_many(const CLI::Option& option) { return option.get_items_expected_max() > 1; }

Expected expected_of(const CLI::Option& option) {
    if (is_flag(option)) return Expected::boolean;
    // CLI11 appends its validators' descriptions ("UINT:INT in [1 - 100]"): the type comes first.
    const auto full = option.get_type_name();
    const auto type = full.substr(0, full.find(':'));
    if (type == "INT" || type == "UINT" || type == "N" || type == "NUMBER") return Expected::integer;
    if (type == "FLOAT") return Expected::number;
    if (type == "SIZE") return Expected::size;
    return Expected::string;
}

const char* wording(Expected expected) {
    switch (expected) {
        case Expected::boolean: return "true or false";
        case Expected::integer: return "a whole number";
        case Expected::number: return "a number";
        case Expected::size: return "a size (\"64MiB\") or a number of bytes";
        case Expected::string: return "a string in quotes";
    }
    return "";
}

std::string format_float(double value) {
    std::ostringstream out;
    out << std::setprecision(15) << value;
    return out.str();
}

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_string(const std::string& text) {
    std::string out = "\"";
    for (const unsigned char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
                    out += escaped;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

bool is_true_text(const std::string& text) {
    return text == "true" || text == "1" || text == "on" || text == "yes" || text == "enable";
}

std::string where_of(const std::string& file, const toml::source_region& region) {
    return file + ":" + std::to_string(region.begin.line);
}

// A scalar node as text, or nullopt when it is a table, an array or a date.
std::optional<std::pair<ConfigValue::Kind, std::string>> scalar_text(const toml::node& node) {
    if (auto v = node.as_string()) return std::pair{ConfigValue::Kind::string, v->get()};
    if (auto v = node.as_integer()) return std::pair{ConfigValue::Kind::integer, std::to_string(v->get())};
    if (auto v = node.as_floating_point()) return std::pair{ConfigValue::Kind::floating, format_float(v->get())};
    if (auto v = node.as_boolean()) return std::pair{ConfigValue::Kind::boolean, std::string(v->get() ? "true" : "false")};
    return std::nullopt;
}

const char* kind_wording(ConfigValue::Kind kind) {
    switch (kind) {
        case ConfigValue::Kind::string: return "a string";
        case ConfigValue::Kind::integer: return "a whole number";
        case ConfigValue::Kind::floating: return "a number";
        case ConfigValue::Kind::boolean: return "true or false";
        case ConfigValue::Kind::array: return "an array";
    }
    return "";
}

bool fits(Expected expected, ConfigValue::Kind kind) {
    switch (expected) {
        case Expected::boolean: return kind == ConfigValue::Kind::boolean;
        case Expected::integer: return kind == ConfigValue::Kind::integer;
        case Expected::number: return kind == ConfigValue::Kind::integer || kind == ConfigValue::Kind::floating;
        case Expected::size: return kind == ConfigValue::Kind::integer || kind == ConfigValue::Kind::string;
        case Expected::string: return kind == ConfigValue::Kind::string;
    }
    return false;
}

// CLI11's "--heartbeat: must be ..." without the flag's name, which the caller puts first.
std::string without_flag_name(std::string message, const std::string& key) {
    for (const auto& prefix : {"--" + key + ": ", key + ": "}) {
        if (message.rfind(prefix, 0) == 0) return message.substr(prefix.size());
    }
    return message;
}

}  // namespace

ConfigFileError::ConfigFileError(const std::string& message)
    : CLI::ParseError("ConfigFileError", message, CLI::ExitCodes::ValidationError) {}

std::string environment_name(const std::string& key) {
    std::string name = "CORSAIR_";
    for (const char c : key) name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
}

std::string config_key(const CLI::Option& option) {
    if (!option.get_lnames().empty()) return option.get_lnames().front();
    return option.get_single_name();
}

struct ConfigLayers::State {
    State(CLI::App& app_, std::string program_, std::set<std::string> not_configurable_, std::set<std::string> table_names_)
        : app(app_),
          program(std::move(program_)),
          not_configurable(std::move(not_configurable_)),
          table_names(std::move(table_names_)) {}

    CLI::App& app;
    std::string program;
    std::set<std::string> not_configurable;
    std::set<std::string> table_names;
    CLI::Option* config_option = nullptr;
    bool print_config = false;
    std::string file;
    bool file_from_environment = false;
    std::map<const CLI::Option*, std::string> file_places;  // "FILE:LINE" of each value the file set
    std::set<const CLI::Option*> given_as_flags;
    std::map<std::string, std::vector<ConfigTable>> tables;

    // The options a file may set: the program's own, then those of the command given (corsair's
    // subcommands), each key once.
    std::vector<CLI::Option*> settings() const {
        std::vector<CLI::Option*> found;
        std::set<std::string> keys;
        auto add_from = [&](CLI::App& from) {
            for (auto* option : from.get_options()) {
                if (!is_setting(*option)) continue;
                if (keys.insert(config_key(*option)).second) found.push_back(option);
            }
        };
        add_from(app);
        // The command given (corsair submit, corsair queue create), then, for a key no command
        // given has (corsair --print-config alone), the first command that has it.
        for_each_command(app, true, add_from);
        for_each_command(app, false, add_from);
        return found;
    }

    // Every command under `from`, depth first; only those given on the command line if `given`.
    template <class Visit>
    static void for_each_command(CLI::App& from, bool given, const Visit& visit) {
        const auto commands = given ? from.get_subcommands() : from.get_subcommands([](CLI::App*) { return true; });
        for (auto* command : commands) {
            visit(*command);
            for_each_command(*command, given, visit);
        }
    }

    bool is_setting(const CLI::Option& option) const {
        if (!option.get_configurable() || &option == config_option) return false;
        const auto key = config_key(option);
        return !key.empty() && key != "help" && key != "help-all" && key != "version" && key != "print-config" &&
               not_configurable.count(key) == 0;
    }

    CLI::Option* setting_named(const std::string& key) const {
        for (auto* option : settings()) {
            if (config_key(*option) == key) return option;
        }
        return nullptr;
    }

    [[noreturn]] void fail(const std::string& where, const std::string& key, const std::string& why) const {
        throw ConfigFileError(where + ": " + key + ": " + why);
    }

    std::string unknown_key_hint(const std::string& key) const {
        std::string dashed = key;
        std::replace(dashed.begin(), dashed.end(), '_', '-');
        if (dashed != key && setting_named(dashed) != nullptr) return "unknown key: did you mean " + dashed + "?";
        std::string known;
        for (auto* option : settings()) known += (known.empty() ? "" : ", ") + config_key(*option);
        for (const auto& table : table_names) known += ", [[" + table + "]]";
        return "unknown key (" + program + " takes: " + known + ")";
    }

    // The texts of `node` for `option`, checked against the option's kind.
    std::vector<std::string> texts_for(const CLI::Option& option, const std::string& key, const toml::node& node,
                                       const std::string& where) const {
        const auto expected = expected_of(option);
        std::vector<std::string> texts;
        auto add = [&](const toml::node& element) {
            const auto scalar = scalar_text(element);
            if (!scalar || !fits(expected, scalar->first)) {
                fail(where, key, std::string("expects ") + wording(expected) + ", not " +
                                     (scalar ? kind_wording(scalar->first) : "a table or a date"));
            }
            texts.push_back(scalar->second);
        };
        if (const auto* array = node.as_array()) {
            if (!takes_many(option)) fail(where, key, std::string("takes one value (") + wording(expected) + "), not an array");
            for (const auto& element : *array) add(element);
        } else {
            add(node);
        }
        return texts;
    }

    void apply(CLI::Option& option, const std::string& key, const toml::node& node, const std::string& where) {
        const auto texts = texts_for(option, key, node, where);
        // Flags and the environment were read first: they win.
        if (option.count() > 0) return;
        const char* variable = option.get_envname().empty() ? nullptr : std::getenv(option.get_envname().c_str());
        if (variable != nullptr && *variable != '\0') return;
        try {
            if (is_flag(option)) {
                option.add_result(option.get_flag_value(key, texts.front()));
            } else {
                option.add_result(texts);
            }
            option.run_callback();
        } catch (const CLI::Error& e) {
            option.clear();
            fail(where, key, without_flag_name(e.what(), key));
        }
        file_places[&option] = where;
    }

    ConfigTable table_of(const toml::table& from, const std::string& name, const std::string& where) const {
        ConfigTable table;
        table.where = where;
        for (const auto& [key, node] : from) {
            const auto place = where_of(file, key.source());
            ConfigValue value;
            value.where = place;
            if (const auto* array = node.as_array()) {
                value.kind = ConfigValue::Kind::array;
                for (const auto& element : *array) {
                    const auto scalar = scalar_text(element);
                    if (!scalar) fail(place, "[[" + name + "]] " + std::string(key.str()), "an array of plain values only");
                    value.texts.push_back(scalar->second);
                }
            } else if (const auto scalar = scalar_text(node)) {
                value.kind = scalar->first;
                value.texts.push_back(scalar->second);
            } else {
                fail(place, "[[" + name + "]] " + std::string(key.str()), "a plain value or an array, not a table");
            }
            table.values.emplace(std::string(key.str()), std::move(value));
        }
        return table;
    }

    void read(std::istream& input) {
        toml::table root;
        try {
            root = toml::parse(input, file);
        } catch (const toml::parse_error& e) {
            const auto& begin = e.source().begin;
            throw ConfigFileError(file + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column) +
                                  ": not valid TOML: " + std::string(e.description()));
        }
        // In the file's order, so that the first problem reported is the first in the file.
        std::vector<std::pair<std::string, const toml::node*>> entries;
        std::map<std::string, toml::source_region> places;
        for (const auto& [key, node] : root) {
            entries.emplace_back(std::string(key.str()), &node);
            places[std::string(key.str())] = key.source();
        }
        std::sort(entries.begin(), entries.end(), [&](const auto& a, const auto& b) {
            return places[a.first].begin.line < places[b.first].begin.line;
        });
        for (const auto& [key, node] : entries) {
            const auto where = where_of(file, places[key]);
            if (const auto* array = node->as_array(); array != nullptr && array->is_array_of_tables() &&
                                                      !array->empty() && table_names.count(key) != 0) {
                for (const auto& element : *array) {
                    tables[key].push_back(table_of(*element.as_table(), key, where_of(file, element.source())));
                }
                continue;
            }
            if (node->is_table()) {
                fail(where, "[" + key + "]", "sections are not used: write each key at the top of the file");
            }
            auto* option = setting_named(key);
            if (option == nullptr) fail(where, key, unknown_key_hint(key));
            apply(*option, key, *node, where);
        }
    }

    std::string value_text(const CLI::Option& option, bool& is_set) const {
        std::vector<std::string> texts = option.results();
        if (texts.empty() && !option.get_default_str().empty()) texts.push_back(option.get_default_str());
        is_set = !texts.empty() || is_flag(option);
        if (is_flag(option)) return texts.empty() || !is_true_text(texts.back()) ? "false" : "true";
        const auto expected = expected_of(option);
        auto one = [&](const std::string& text) {
            const bool bare = (expected == Expected::integer || expected == Expected::number) &&
                              !text.empty() && text.find_first_not_of("0123456789.-+eE") == std::string::npos;
            return bare ? text : toml_string(text);
        };
        if (takes_many(option)) {
            std::string out = "[";
            for (std::size_t i = 0; i < texts.size(); ++i) out += (i ? ", " : "") + one(texts[i]);
            return out + "]";
        }
        return texts.empty() ? "" : one(texts.back());
    }
};

ConfigLayers::ConfigLayers(CLI::App& app, std::string program, const std::set<std::string>& not_configurable,
                           std::set<std::string> table_names)
    : state_(std::make_unique<State>(app, std::move(program), not_configurable, std::move(table_names))) {
    auto* state = state_.get();
    app.config_formatter(std::make_shared<TomlReader>([state](std::istream& input) { state->read(input); }));
    state->config_option = app.set_config("--config", "",
                                          "TOML file of settings, one key per flag (docs/configuration.md); flags "
                                          "and CORSAIR_* variables win over it (env CORSAIR_CONFIG)");
    state->config_option->type_name("FILE");
    app.add_flag("--print-config", state->print_config,
                 "Print the settings in force as TOML, each with where it came from (flag, env, file:line, "
                 "default), and exit");
    auto name_variables = [state](CLI::App& from) {
        for (auto* option : from.get_options()) {
            if (!state->is_setting(*option) || option->get_positional() || !option->get_envname().empty()) continue;
            option->envname(environment_name(config_key(*option)));
        }
    };
    name_variables(app);
    State::for_each_command(app, false, name_variables);
}

ConfigLayers::~ConfigLayers() = default;

std::optional<int> ConfigLayers::parse(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    return parse(argc, argv, out,
                 [&err](std::string_view program, std::string_view message) { return usage_error(err, program, message); });
}

std::optional<int> ConfigLayers::parse(int argc, const char* const* argv, std::ostream& out,
                                       const UsageReporter& usage) {
    auto& state = *state_;
    // What an earlier parse of the same app learnt (a program or a fuzz target that parses many
    // command lines with one app): CLI11 clears its own results, these are ours.
    state.print_config = false;
    state.file.clear();
    state.file_from_environment = false;
    state.file_places.clear();
    state.given_as_flags.clear();
    state.tables.clear();
    std::vector<std::string> args(argv + 1, argv + argc);
    // Which settings the command line names (before `--`), to tell a flag from its variable.
    bool names_config = false;
    for (const auto& arg : args) {
        if (arg == "--") break;
        if (arg == "--config" || arg.rfind("--config=", 0) == 0) names_config = true;
    }
    // CLI11 reads a file before the environment, so CORSAIR_CONFIG is handed to it as the flag.
    if (const char* file = std::getenv(kConfigVariable); file != nullptr && *file != '\0' && !names_config) {
        args.insert(args.begin(), {"--config", file});
        state.file_from_environment = true;
    }
    for (const auto& arg : args) {
        if (arg == "--") break;
        if (arg.rfind("--", 0) != 0 || arg.size() < 3) continue;
        const auto name = arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
        if (auto* option = state.setting_named(name)) state.given_as_flags.insert(option);
    }
    // The name of the file, for the reader's messages.
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--") break;
        if (args[i] == "--config" && i + 1 < args.size()) state.file = args[i + 1];
        if (args[i].rfind("--config=", 0) == 0) state.file = args[i].substr(9);
    }
    if (!state.file.empty() && ::access(state.file.c_str(), R_OK) != 0) {
        const auto from = state.file_from_environment ? std::string(" (from ") + kConfigVariable + ")" : "";
        return usage(state.app.get_name(),
                           "--config: cannot read " + state.file + from + ": " + std::strerror(errno));
    }
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
        state.app.parse(reversed);
    } catch (const CLI::CallForHelp&) {
        out << with_newline(state.app.help());
        return exit_status(ExitCode::ok);
    } catch (const CLI::CallForAllHelp&) {
        out << with_newline(state.app.help("", CLI::AppFormatMode::All));
        return exit_status(ExitCode::ok);
    } catch (const CLI::CallForVersion& e) {
        out << e.what() << '\n';
        return exit_status(ExitCode::ok);
    } catch (const CLI::FileError& e) {
        const auto from = state.file_from_environment ? std::string(" (from ") + kConfigVariable + ")" : "";
        return usage(state.app.get_name(), "--config: cannot read " + state.file + from + ": " + e.what());
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return exit_status(ExitCode::ok);
        return usage(state.app.get_name(), e.what());
    }
    return std::nullopt;
}

bool ConfigLayers::wants_print_config() const { return state_->print_config; }

const std::vector<ConfigTable>& ConfigLayers::tables(const std::string& name) const {
    static const std::vector<ConfigTable> none;
    const auto found = state_->tables.find(name);
    return found == state_->tables.end() ? none : found->second;
}

const std::string& ConfigLayers::file() const { return state_->file; }

SettingSource ConfigLayers::source_of(const CLI::Option& option) const {
    if (state_->file_places.count(&option) != 0) return SettingSource::file;
    if (option.count() == 0) return SettingSource::default_value;
    if (state_->given_as_flags.count(&option) != 0) return SettingSource::flag;
    const char* variable = option.get_envname().empty() ? nullptr : std::getenv(option.get_envname().c_str());
    return variable != nullptr && *variable != '\0' ? SettingSource::environment : SettingSource::flag;
}

void ConfigLayers::print_config(std::ostream& out) const {
    const auto& state = *state_;
    out << "# " << state.program << " " << kVersion
        << ": the settings in force (flags win over CORSAIR_* variables, which win over --config, which wins over "
           "the defaults)\n";
    if (!state.file.empty()) {
        out << "# --config " << state.file << (state.file_from_environment ? " (from CORSAIR_CONFIG)" : "") << "\n";
    }
    for (const auto* option : state.settings()) {
        bool is_set = false;
        const auto key = config_key(*option);
        const auto value = state.value_text(*option, is_set);
        std::string where;
        switch (source_of(*option)) {
            case SettingSource::default_value: where = "default"; break;
            case SettingSource::file: where = state.file_places.at(option); break;
            case SettingSource::environment: where = "env " + option->get_envname(); break;
            case SettingSource::flag: where = "flag --" + key; break;
        }
        std::string line = is_set ? key + " = " + value : "# " + key + " =";
        if (!is_set) where = "not set";
        if (line.size() < 44) line.resize(44, ' ');
        out << line << "  # " << where << "\n";
    }
    for (const auto& [name, tables] : state.tables) {
        for (const auto& table : tables) {
            out << "\n[[" << name << "]]  # " << table.where << "\n";
            for (const auto& [key, value] : table.values) {
                std::string line = key + " = ";
                auto one = [&](const std::string& text, ConfigValue::Kind kind) {
                    return kind == ConfigValue::Kind::string || kind == ConfigValue::Kind::array ? toml_string(text)
                                                                                                : text;
                };
                if (value.kind == ConfigValue::Kind::array) {
                    line += "[";
                    for (std::size_t i = 0; i < value.texts.size(); ++i) {
                        line += (i ? ", " : "") + one(value.texts[i], value.kind);
                    }
                    line += "]";
                } else {
                    line += one(value.texts.front(), value.kind);
                }
                if (line.size() < 44) line.resize(44, ' ');
                out << line << "  # " << value.where << "\n";
            }
        }
    }
}

std::string table_problem(const ConfigTable& table, const std::string& table_name, const std::string& key,
                          const std::string& why) {
    const auto found = table.values.find(key);
    const auto& where = found == table.values.end() ? table.where : found->second.where;
    return where + ": [[" + table_name + "]] " + key + ": " + why;
}

std::optional<std::string> table_text(const ConfigTable& table, const std::string& table_name, const std::string& key,
                                      ConfigValue::Kind kind, bool required) {
    const auto found = table.values.find(key);
    if (found == table.values.end()) {
        if (required) throw ConfigFileError(table_problem(table, table_name, key, "missing"));
        return std::nullopt;
    }
    if (found->second.kind != kind) {
        throw ConfigFileError(table_problem(table, table_name, key,
                                            std::string("expects ") + kind_wording(kind) + ", not " +
                                                kind_wording(found->second.kind)));
    }
    return found->second.texts.front();
}

std::vector<std::string> table_texts(const ConfigTable& table, const std::string& table_name, const std::string& key) {
    const auto found = table.values.find(key);
    if (found == table.values.end()) return {};
    if (found->second.kind != ConfigValue::Kind::array && found->second.kind != ConfigValue::Kind::string) {
        throw ConfigFileError(table_problem(table, table_name, key, "expects an array of strings"));
    }
    return found->second.texts;
}

}  // namespace corsair::options
