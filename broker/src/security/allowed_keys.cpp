#include "allowed_keys.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include "corsair/protocol/curve.hpp"

namespace corsair::broker {

namespace fs = std::filesystem;
using protocol::KeyFileError;

namespace {

std::string key_name_of(const fs::path& file) {
    std::string name = file.filename().string();
    constexpr std::string_view kSuffix = ".key";
    if (name.size() > kSuffix.size() && name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0) {
        name.resize(name.size() - kSuffix.size());
    }
    return name;
}

// The files to read, sorted so that errors and duplicates are reported the same way every time.
std::vector<fs::path> key_files(const fs::path& dir) {
    std::error_code error;
    if (!fs::is_directory(dir, error)) {
        throw KeyFileError(dir.string() + ": --allowed-keys must name a directory of public key files");
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const auto name = entry.path().filename().string();
        if (name.empty() || name.front() == '.' || !entry.is_regular_file()) continue;
        files.push_back(entry.path());
        if (files.size() > AllowedKeys::kMaxKeys) {
            throw KeyFileError(dir.string() + ": more than " + std::to_string(AllowedKeys::kMaxKeys) +
                               " key files; is --allowed-keys the right directory?");
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

AllowedKey read_allowed_key(const fs::path& file, std::string& public_key) {
    const std::string origin = file.string();
    const auto certificate = protocol::parse_certificate(protocol::read_key_file_text(origin), origin);
    if (certificate.find("curve", "secret-key") != nullptr) {
        throw KeyFileError(origin + ": holds a secret key; --allowed-keys takes public key files only (move it out, "
                           "and treat that key as exposed)");
    }
    public_key = protocol::public_key_of(certificate, origin);
    const std::string* role_text = certificate.find("metadata", "role");
    if (role_text == nullptr) {
        throw KeyFileError(origin + ": no role; add `role = \"producer\"` (or worker, admin) under its `metadata` section");
    }
    const auto role = parse_key_role(*role_text);
    if (!role) {
        throw KeyFileError(origin + ":" + std::to_string(certificate.line_of("metadata", "role")) + ": unknown role '" +
                           *role_text + "' (producer, worker, admin)");
    }
    return {key_name_of(file), *role};
}

}  // namespace

AllowedKeys AllowedKeys::load(const fs::path& dir) {
    AllowedKeys keys;
    std::map<std::string, std::string> file_of_name;
    for (const auto& file : key_files(dir)) {
        std::string public_key;
        AllowedKey key = read_allowed_key(file, public_key);
        auto [named, is_new_name] = file_of_name.emplace(key.name, file.string());
        if (!is_new_name) {
            throw KeyFileError(file.string() + ": names the key '" + key.name + "' as " + named->second + " does");
        }
        auto [it, is_new] = keys.by_public_key_.emplace(public_key, key);
        if (!is_new) {
            throw KeyFileError(file.string() + ": the same public key as '" + it->second.name +
                               "'; each client needs its own key");
        }
    }
    return keys;
}

const AllowedKey* AllowedKeys::find(std::string_view public_key) const {
    auto it = by_public_key_.find(public_key);
    return it == by_public_key_.end() ? nullptr : &it->second;
}

std::size_t AllowedKeys::count(KeyRole role) const noexcept {
    return static_cast<std::size_t>(std::count_if(by_public_key_.begin(), by_public_key_.end(),
                                                  [role](const auto& entry) { return entry.second.role == role; }));
}

}  // namespace corsair::broker
