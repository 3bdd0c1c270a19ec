// The keys the broker lets in (--allowed-keys DIR, docs/security.md): one public certificate per
// client, named by its file, each with its role. Immutable once loaded; a reload builds a new set.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "corsair/broker/peer.hpp"

namespace corsair::broker {

struct AllowedKey {
    std::string name;  // the file's name without a `.key` suffix: what logs and stats show
    KeyRole role = KeyRole::producer;
};

class AllowedKeys {
public:
    // Most keys one directory may hold: each costs a lookup entry, and a directory holding more
    // is a mistake (a key store pointed at the wrong folder) rather than a deployment.
    static constexpr std::size_t kMaxKeys = 10'000;

    // Reads every regular file of `dir` whose name does not start with '.': each must be a public
    // certificate (protocol/curve.hpp) whose `metadata` section says `role = "producer"`,
    // "worker" or "admin". Throws protocol::KeyFileError naming the file (and line) of the first
    // problem: an unreadable or malformed file, a missing or unknown role, a secret key (only
    // public keys belong there), a key listed twice, more than kMaxKeys files.
    static AllowedKeys load(const std::filesystem::path& dir);

    // The key with this Z85 public key, or nullptr.
    const AllowedKey* find(std::string_view public_key) const;
    std::size_t size() const noexcept { return by_public_key_.size(); }
    std::size_t count(KeyRole role) const noexcept;

private:
    // Transparent, so that find() looks a string_view up without building a string per message.
    struct KeyHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key); }
    };
    std::unordered_map<std::string, AllowedKey, KeyHash, std::equal_to<>> by_public_key_;
};

}  // namespace corsair::broker
