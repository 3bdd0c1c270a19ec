// Settings in layers, the same way in corsair-broker, corsair-worker and corsair: a flag wins
// over its environment variable (CORSAIR_<FLAG>), which wins over the TOML file given with
// --config (or CORSAIR_CONFIG), which wins over the default. --print-config prints what is in
// force as TOML, each value with where it came from. docs/configuration.md has every key.
//
// A file's key is a flag's long name without the dashes (`data-dir = "/var/lib/corsair"`); an
// unknown key, a value of the wrong TOML type or a value the flag refuses stops the program with
// "FILE:LINE: KEY: why". A program may also read arrays of tables ([[handler]] in
// corsair-worker's file): those come back as ConfigTable, checked by the program.
#pragma once

#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace corsair::options {

inline constexpr const char* kConfigVariable = "CORSAIR_CONFIG";

// One value of a [[NAME]] table, as text (an array's elements one by one), with its place.
struct ConfigValue {
    enum class Kind { string, integer, floating, boolean, array };
    Kind kind = Kind::string;
    std::vector<std::string> texts;
    std::string where;  // "FILE:LINE"
};

// One [[NAME]] table of the file.
struct ConfigTable {
    std::string where;  // "FILE:LINE" of its [[NAME]] header
    std::map<std::string, ConfigValue> values;
};

// A problem in the file, already worded as "FILE:LINE: KEY: why".
class ConfigFileError : public CLI::ParseError {
public:
    explicit ConfigFileError(const std::string& message);
};

// Where the value in force came from.
enum class SettingSource { default_value, file, environment, flag };

class ConfigLayers {
public:
    // Adds --config and --print-config to `app` (call once every flag is added). Every option
    // of `app` that a file may set gets the environment variable CORSAIR_<FLAG> unless it has
    // one; `not_configurable` names flags that are actions, not settings (--salvage).
    // `table_names` are the [[NAME]] arrays of tables the program reads itself.
    ConfigLayers(CLI::App& app, std::string program, const std::set<std::string>& not_configurable = {},
                 std::set<std::string> table_names = {});
    ~ConfigLayers();
    ConfigLayers(const ConfigLayers&) = delete;
    ConfigLayers& operator=(const ConfigLayers&) = delete;

    // Parses argv, then the environment and the file. Returns nullopt to go on, or the exit
    // code to stop with: 0 after --help, --version or --print-config (printed to `out`), 2 after
    // a usage error or a bad file (printed to `err`, as options::parse_or_exit does). May be
    // called again for another argv: each parse starts from nothing any earlier one read, but
    // the values bound to the app's options are the caller's to reset.
    std::optional<int> parse(int argc, const char* const* argv, std::ostream& out, std::ostream& err);
    // The same, with usage errors told by `usage` (PROGRAM, MESSAGE; returns the exit code), for
    // a program that words them its own way (`corsair --log-format json`).
    using UsageReporter = std::function<int(std::string_view program, std::string_view message)>;
    std::optional<int> parse(int argc, const char* const* argv, std::ostream& out, const UsageReporter& usage);

    // True once --print-config asked for the configuration instead of a run; print_config()
    // then prints it (the program may first add what it alone knows, its tables).
    bool wants_print_config() const;
    void print_config(std::ostream& out) const;

    // The [[name]] tables of the file, in file order (none without a file).
    const std::vector<ConfigTable>& tables(const std::string& name) const;
    // The file in use, or empty.
    const std::string& file() const;
    SettingSource source_of(const CLI::Option& option) const;

    // The whole key table of a program, for docs/configuration.md and its test: one line per
    // key, "KEY\tENV\tDEFAULT\tHELP".
    std::string key_table() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

// "data-dir" for --data-dir; "CORSAIR_DATA_DIR" for the same.
std::string config_key(const CLI::Option& option);
std::string environment_name(const std::string& key);

// The value of a table's key as one text, or a ConfigFileError naming the file, line and key
// when it is missing (`required`) or of the wrong kind.
std::optional<std::string> table_text(const ConfigTable& table, const std::string& table_name,
                                      const std::string& key, ConfigValue::Kind kind, bool required = false);
// A list of texts: an array of strings, or one string.
std::vector<std::string> table_texts(const ConfigTable& table, const std::string& table_name, const std::string& key);
// "FILE:LINE: [[handler]] KEY: why"
std::string table_problem(const ConfigTable& table, const std::string& table_name, const std::string& key,
                          const std::string& why);

}  // namespace corsair::options
