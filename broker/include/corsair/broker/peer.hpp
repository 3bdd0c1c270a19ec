// Who sent a message, as far as the broker's transport can tell: where it connected from and,
// with CURVE on, the key it proved it holds (docs/security.md). Filled by the loop per message.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace corsair::broker {

// What a key in --allowed-keys may do (docs/security.md, "Roles").
enum class KeyRole : std::uint8_t { producer, worker, admin };

constexpr std::string_view to_string(KeyRole role) noexcept {
    switch (role) {
        case KeyRole::producer: return "producer";
        case KeyRole::worker: return "worker";
        case KeyRole::admin: return "admin";
    }
    return "producer";
}

constexpr std::optional<KeyRole> parse_key_role(std::string_view text) noexcept {
    if (text == "producer") return KeyRole::producer;
    if (text == "worker") return KeyRole::worker;
    if (text == "admin") return KeyRole::admin;
    return std::nullopt;
}

struct Peer {
    std::string_view address;  // its IP over TCP; empty in-process or when not read
    // True when the connection did the CURVE handshake: every command is then checked against
    // `role`. False without CURVE and for the broker's own in-process connections (the HTTP
    // side, which checks its own tokens), which may send anything.
    bool is_keyed = false;
    std::string_view key_name;    // the key's file name in --allowed-keys
    std::optional<KeyRole> role;  // empty: the key has been removed from --allowed-keys since it connected
};

}  // namespace corsair::broker
