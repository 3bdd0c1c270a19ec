// ConfigLayers on a small CLI11 app of its own: the order flags > CORSAIR_* > --config file >
// defaults, the file's types and errors (FILE:LINE: KEY: why), --print-config and [[tables]].
#include "corsair/options/config_file.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "corsair/options/flags.hpp"
#include "scratch_dir.hpp"

using corsair::options::ConfigLayers;
using corsair::options::SettingSource;

namespace {

// The variables of this app's keys, set for one test and removed after it.
class Environment {
public:
    void set(const std::string& name, const std::string& value) {
        ::setenv(name.c_str(), value.c_str(), 1);
        names_.push_back(name);
    }
    ~Environment() {
        for (const auto& name : names_) ::unsetenv(name.c_str());
    }

private:
    std::vector<std::string> names_;
};

// An app with one setting of each kind, its keys prefixed so that no real CORSAIR_* variable
// of the machine running the tests can reach them.
struct TestApp {
    CLI::App app{"test", "cfgtest"};
    std::string endpoint = "tcp://127.0.0.1:5555";
    std::chrono::milliseconds interval{1000};
    std::uint64_t memory = 256 << 20;
    unsigned count = 3;
    double ratio = 4.0;
    bool insecure = false;
    std::vector<std::string> names;
    bool salvage = false;
    std::unique_ptr<ConfigLayers> layers;
    std::ostringstream out;
    std::ostringstream err;

    TestApp() {
        app.add_option("--cfgtest-endpoint", endpoint, "an endpoint")->capture_default_str()->type_name("ENDPOINT");
        corsair::options::add_duration_flag(app, "--cfgtest-interval", interval, "an interval",
                                            std::chrono::milliseconds(10), std::chrono::seconds(60));
        corsair::options::add_size_flag(app, "--cfgtest-memory", memory, "a size", 1, SIZE_MAX);
        app.add_option("--cfgtest-count", count, "a count")->capture_default_str()->check(CLI::Range(1, 100));
        app.add_option("--cfgtest-ratio", ratio, "a ratio")->capture_default_str();
        app.add_flag("--cfgtest-insecure", insecure, "a flag");
        app.add_option("--cfgtest-name", names, "names")->take_all();
        app.add_flag("--cfgtest-salvage", salvage, "an action, not a setting");
        layers = std::make_unique<ConfigLayers>(app, "cfgtest", std::set<std::string>{"cfgtest-salvage"},
                                                std::set<std::string>{"handler"});
    }

    std::optional<int> parse(std::vector<std::string> args) {
        args.insert(args.begin(), "cfgtest");
        std::vector<const char*> argv;
        for (const auto& arg : args) argv.push_back(arg.c_str());
        return layers->parse(static_cast<int>(argv.size()), argv.data(), out, err);
    }

    SettingSource source(const std::string& flag) { return layers->source_of(*app.get_option(flag)); }
};

std::string write_file(const corsair::test::ScratchDir& dir, const std::string& name, const std::string& text) {
    const auto path = (dir / name).string();
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST_CASE("a file sets what no flag or variable sets, a variable wins over the file and a flag over both",
          "[options][config]") {
    corsair::test::ScratchDir dir("corsair-config-test");
    const auto file = write_file(dir, "app.toml",
                                 "# settings\n"
                                 "cfgtest-endpoint = \"tcp://10.0.0.1:7000\"\n"
                                 "cfgtest-interval = \"250ms\"\n"
                                 "cfgtest-memory = \"64MiB\"\n"
                                 "cfgtest-count = 9\n"
                                 "cfgtest-ratio = 2.5\n"
                                 "cfgtest-insecure = true\n"
                                 "cfgtest-name = [\"a\", \"b\"]\n");
    Environment environment;
    environment.set("CORSAIR_CFGTEST_COUNT", "12");
    environment.set("CORSAIR_CFGTEST_INTERVAL", "2s");
    TestApp test;
    REQUIRE_FALSE(test.parse({"--config", file, "--cfgtest-interval", "5s"}));
    INFO(test.err.str());
    CHECK(test.endpoint == "tcp://10.0.0.1:7000");
    CHECK(test.interval == std::chrono::seconds(5));
    CHECK(test.memory == 64u << 20);
    CHECK(test.count == 12);
    CHECK(test.ratio == 2.5);
    CHECK(test.insecure);
    CHECK(test.names == std::vector<std::string>{"a", "b"});
    CHECK(test.source("--cfgtest-endpoint") == SettingSource::file);
    CHECK(test.source("--cfgtest-interval") == SettingSource::flag);
    CHECK(test.source("--cfgtest-count") == SettingSource::environment);
    CHECK(test.layers->file() == file);

    SECTION("without a file, each keeps its default") {
        TestApp bare;
        REQUIRE_FALSE(bare.parse({}));
        CHECK(bare.endpoint == "tcp://127.0.0.1:5555");
        CHECK(bare.count == 12);  // the variable still counts
        CHECK(bare.source("--cfgtest-endpoint") == SettingSource::default_value);
        CHECK(bare.source("--cfgtest-count") == SettingSource::environment);
    }
}

TEST_CASE("the settings in force print as TOML with their sources, and read back give the same settings",
          "[options][config]") {
    corsair::test::ScratchDir dir("corsair-config-test");
    const auto file = write_file(dir, "app.toml", "cfgtest-count = 9\ncfgtest-name = [\"x\"]\n");
    TestApp test;
    REQUIRE_FALSE(test.parse({"--config", file, "--print-config", "--cfgtest-ratio", "1.5"}));
    REQUIRE(test.layers->wants_print_config());
    std::ostringstream printed;
    test.layers->print_config(printed);
    const auto text = printed.str();
    INFO(text);
    CHECK_THAT(text, Catch::Contains("cfgtest-endpoint = \"tcp://127.0.0.1:5555\""));
    CHECK_THAT(text, Catch::Contains("cfgtest-interval = \"1s\""));
    CHECK_THAT(text, Catch::Contains("cfgtest-memory = \"256MiB\""));
    CHECK_THAT(text, Catch::Contains("cfgtest-count = 9") && Catch::Contains("# " + file + ":1"));
    CHECK_THAT(text, Catch::Contains("cfgtest-ratio = 1.5") && Catch::Contains("# flag --cfgtest-ratio"));
    CHECK_THAT(text, Catch::Contains("cfgtest-insecure = false"));
    CHECK_THAT(text, Catch::Contains("cfgtest-name = [\"x\"]"));
    CHECK_THAT(text, !Catch::Contains("salvage") && !Catch::Contains("print-config =") && !Catch::Contains("help"));

    // What it printed is a settings file that gives the same values.
    const auto reprinted = write_file(dir, "printed.toml", text);
    TestApp again;
    REQUIRE_FALSE(again.parse({"--config", reprinted}));
    INFO(again.err.str());
    CHECK(again.endpoint == test.endpoint);
    CHECK(again.interval == test.interval);
    CHECK(again.memory == test.memory);
    CHECK(again.count == 9);
    CHECK(again.ratio == 1.5);
    CHECK(again.insecure == test.insecure);
    CHECK(again.names == std::vector<std::string>{"x"});
}

TEST_CASE("a bad settings file is refused with its file, line and key, and nothing runs", "[options][config]") {
    corsair::test::ScratchDir dir("corsair-config-test");
    struct Case {
        const char* text;
        const char* message;
    };
    const std::vector<Case> cases = {
        {"cfgtest-count = 9\ncfgtest-bogus = 1\n", ":2: cfgtest-bogus: unknown key (cfgtest takes: cfgtest-endpoint"},
        {"cfgtest_count = 9\n", ":1: cfgtest_count: unknown key: did you mean cfgtest-count?"},
        {"\n\ncfgtest-count = \"9\"\n", ":3: cfgtest-count: expects a whole number, not a string"},
        {"cfgtest-interval = 5\n", ":1: cfgtest-interval: expects a string in quotes, not a whole number"},
        {"cfgtest-insecure = \"yes\"\n", ":1: cfgtest-insecure: expects true or false, not a string"},
        {"cfgtest-endpoint = [\"a\"]\n", ":1: cfgtest-endpoint: takes one value (a string in quotes), not an array"},
        {"cfgtest-count = 500\n", ":1: cfgtest-count: Value 500 not in range 1 to 100"},
        {"cfgtest-interval = \"5m\"\n", ":1: cfgtest-interval: must be from 10ms to 1m (got '5m')"},
        {"cfgtest-memory = \"8MB\"\n", ":1: cfgtest-memory: '8MB' is not a size"},
        {"cfgtest-salvage = true\n", ":1: cfgtest-salvage: unknown key"},
        {"[cfgtest]\ncount = 1\n", ":1: [cfgtest]: sections are not used"},
        {"cfgtest-count = 9\ncfgtest-endpoint = \"unterminated\n", ":2:"},
        {"cfgtest-count = 9\ncfgtest-count = 10\n", ":2:"},
    };
    for (const auto& [text, message] : cases) {
        const auto file = write_file(dir, "bad.toml", text);
        TestApp test;
        INFO(text);
        const auto exit_code = test.parse({"--config", file});
        REQUIRE(exit_code);
        CHECK(*exit_code == 2);
        CHECK_THAT(test.err.str(), Catch::StartsWith("cfgtest: " + file + message));
    }
}

TEST_CASE("CORSAIR_CONFIG names the file when --config does not, and an unreadable file is named with its cause",
          "[options][config]") {
    corsair::test::ScratchDir dir("corsair-config-test");
    const auto file = write_file(dir, "env.toml", "cfgtest-count = 7\n");
    const auto other = write_file(dir, "flag.toml", "cfgtest-count = 8\n");
    Environment environment;
    environment.set("CORSAIR_CONFIG", file);
    {
        TestApp test;
        REQUIRE_FALSE(test.parse({}));
        CHECK(test.count == 7);
    }
    {
        TestApp test;
        REQUIRE_FALSE(test.parse({"--config", other}));
        CHECK(test.count == 8);
    }
    environment.set("CORSAIR_CONFIG", (dir / "missing.toml").string());
    TestApp test;
    const auto exit_code = test.parse({});
    REQUIRE(exit_code);
    CHECK(*exit_code == 2);
    CHECK_THAT(test.err.str(), Catch::Contains("--config: cannot read " + (dir / "missing.toml").string() +
                                               " (from CORSAIR_CONFIG): No such file or directory"));
}

TEST_CASE("[[tables]] a program reads come back with their lines, other tables are unknown keys", "[options][config]") {
    corsair::test::ScratchDir dir("corsair-config-test");
    const auto file = write_file(dir, "tables.toml",
                                 "cfgtest-count = 2\n"
                                 "\n"
                                 "[[handler]]\n"
                                 "queue = \"thumbnails\"\n"
                                 "command = [\"convert\", \"-resize\", \"128\"]\n"
                                 "capacity = 4\n"
                                 "\n"
                                 "[[handler]]\n"
                                 "queue = [\"emails\", \"sms\"]\n");
    TestApp test;
    REQUIRE_FALSE(test.parse({"--config", file}));
    const auto& tables = test.layers->tables("handler");
    REQUIRE(tables.size() == 2);
    CHECK(tables[0].where == file + ":3");
    CHECK(corsair::options::table_text(tables[0], "handler", "queue", corsair::options::ConfigValue::Kind::string) ==
          "thumbnails");
    CHECK(corsair::options::table_texts(tables[0], "handler", "command") ==
          std::vector<std::string>{"convert", "-resize", "128"});
    CHECK(tables[0].values.at("capacity").where == file + ":6");
    CHECK(corsair::options::table_texts(tables[1], "handler", "queue") == std::vector<std::string>{"emails", "sms"});
    CHECK_THROWS_WITH(
        corsair::options::table_text(tables[0], "handler", "capacity", corsair::options::ConfigValue::Kind::string),
        file + ":6: [[handler]] capacity: expects a string, not a whole number");
    CHECK_THROWS_WITH(corsair::options::table_text(tables[1], "handler", "command",
                                                   corsair::options::ConfigValue::Kind::string, true),
                      file + ":8: [[handler]] command: missing");

    const auto other = write_file(dir, "other.toml", "[[jobs]]\nqueue = \"x\"\n");
    TestApp refused;
    REQUIRE(refused.parse({"--config", other}));
    CHECK_THAT(refused.err.str(), Catch::Contains(other + ":1: jobs: unknown key"));
}
