#include "cli_keygen.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_output.hpp"
#include "corsair/options/exit_code.hpp"
#include "corsair/options/flags.hpp"
#include "corsair/protocol/curve.hpp"
#include "corsair/protocol/limits.hpp"

namespace corsair::producer::cli {

namespace {

using options::ExitCode;

constexpr const char* kKeygenDetails = R"(Make a CURVE key pair for a broker, a worker, a producer or an operator: NAME.key (the public
key, to give to the other side) and NAME.key_secret (the secret key, mode 0600, never to leave
this host). The files are czmq certificates (zcert): czmq's and pyzmq's tools read them, and
corsair reads theirs.

The broker: corsair keygen broker, then corsair-broker --curve-secret-key broker.key_secret
--allowed-keys DIR, and give broker.key to every client (--curve-server-key broker.key).
A client: corsair keygen host7 --role worker, copy host7.key into the broker's --allowed-keys
DIR (then SIGHUP the broker), and run the client with --curve-key host7.key_secret.
Roles: producer (submit, status, stats), worker (serve queues), admin (everything a producer
may, plus cancel, retry, purge, pause, resume, queue settings, dead, list, clear, delete).
See docs/security.md.)";

// A key's name ends up in file names, logs and stats: keep it to what needs no quoting.
std::string name_problem(const std::string& name) {
    if (name.empty() || name.size() > protocol::kMaxKeyNameBytes - 4) {
        return "NAME must be 1 to " + std::to_string(protocol::kMaxKeyNameBytes - 4) + " characters";
    }
    if (name.front() == '.' || name.front() == '-') return "NAME must not start with '.' or '-'";
    for (unsigned char c : name) {
        if (!std::isalnum(c) && c != '-' && c != '_' && c != '.' && c != '@') {
            return "NAME may hold letters, digits, '-', '_', '.' and '@' only (got '" + name + "')";
        }
    }
    return {};
}

// Creates `path` with `mode` (exclusively unless `overwrites`) and writes `text`; an errno on failure.
int write_file(const std::filesystem::path& path, const std::string& text, mode_t mode, bool overwrites) {
    const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrites ? O_TRUNC : O_EXCL);
    const int fd = ::open(path.c_str(), flags, mode);
    if (fd < 0) return errno;
    // An existing file kept its mode through O_TRUNC: set it, so a secret never stays readable.
    int error = ::fchmod(fd, mode) == 0 ? 0 : errno;
    std::size_t written = 0;
    while (error == 0 && written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno != EINTR) error = errno;
        if (n > 0) written += static_cast<std::size_t>(n);
    }
    if (error == 0 && ::fsync(fd) != 0) error = errno;
    ::close(fd);
    return error;
}

std::string timestamp() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &utc);
    return text;
}

}  // namespace

CLI::App* add_keygen_command(CLI::App& app, KeygenOptions& options, const std::string& footer) {
    auto* command = app.add_subcommand("keygen", "Make a CURVE key pair: NAME.key and NAME.key_secret");
    command->footer(std::string(kKeygenDetails) + "\n\n" + footer);
    command->add_option("NAME", options.name, "The key's name: its files' stem, shown in the broker's logs and stats")
        ->required();
    command->add_option("--dir,-d", options.directory, "Directory to write the two files into")
        ->type_name("DIR")
        ->capture_default_str();
    command->add_option("--role", options.role,
                        "Role written into the public file, read by the broker's --allowed-keys: producer, worker "
                        "or admin (leave out for the broker's own key)")
        ->check(CLI::IsMember({"producer", "worker", "admin"}));
    command->add_flag("--force", options.overwrites, "Replace existing files of that name");
    return command;
}

int run_keygen(const KeygenOptions& options, CliStreams& streams) {
    if (auto problem = name_problem(options.name); !problem.empty()) {
        return streams.log.usage("corsair keygen", problem);
    }
    const auto pair = protocol::generate_curve_key_pair();
    std::map<std::string, std::string> metadata{{"name", options.name}};
    if (!options.role.empty()) metadata["role"] = options.role;
    const auto stamp = timestamp();
    const std::filesystem::path dir(options.directory);
    const auto public_path = dir / (options.name + ".key");
    const auto secret_path = dir / (options.name + ".key_secret");
    for (const auto& [path, is_secret] : {std::pair{secret_path, true}, std::pair{public_path, false}}) {
        const int error = write_file(path, protocol::format_certificate(pair, is_secret, metadata, stamp),
                                     is_secret ? 0600 : 0644, options.overwrites);
        if (error != 0) {
            streams.log.say(Diagnostics::Level::err,
                            "cannot write " + path.string() + ": " + std::strerror(error) +
                                (error == EEXIST ? " (give --force to replace it)" : ""),
                            {Diagnostics::text_field("code", "io"), Diagnostics::text_field("file", path.string())},
                            "corsair keygen");
            return options::exit_status(error == EEXIST ? ExitCode::usage : ExitCode::fatal);
        }
    }
    streams.out << "public key " << pair.public_key << '\n'
                << "wrote " << public_path.string() << " (public: give it to the other side)\n"
                << "wrote " << secret_path.string() << " (secret, mode 0600: keep it on this host)\n";
    return options::exit_status(ExitCode::ok);
}

}  // namespace corsair::producer::cli
