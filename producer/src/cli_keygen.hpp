// `corsair keygen NAME`: makes a CURVE key pair as two files, NAME.key (public) and
// NAME.key_secret (mode 0600), in czmq's certificate format (docs/security.md). Used on the CLI
// thread only.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli_app.hpp"

namespace corsair::producer::cli {

struct KeygenOptions {
    std::string name;        // NAME: the files' stem, and the key's name in the broker's logs and stats
    std::string directory = ".";
    std::string role;        // written into the public file's metadata, as --allowed-keys reads it
    bool overwrites = false;  // --force
};

// Registers `keygen` on `app`; the returned subcommand is set once parsed.
CLI::App* add_keygen_command(CLI::App& app, KeygenOptions& options, const std::string& footer);

// Writes the two files, refusing to replace existing ones without --force. Exit code 0, 2 (a
// bad NAME), or 6 (the files cannot be written).
int run_keygen(const KeygenOptions& options, CliStreams& streams);

}  // namespace corsair::producer::cli
