#include "access_tokens.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace corsair::http {

namespace {

std::optional<Role> role_named(std::string_view name) {
    if (name == "admin") return Role::admin;
    if (name == "producer") return Role::producer;
    if (name == "worker") return Role::worker;
    return std::nullopt;
}

bool is_token_character(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("._~+/=-").find(c) != std::string_view::npos;
}

// Compares every byte of the longer text, so the time taken does not tell how much matched.
bool same_text(std::string_view a, std::string_view b) {
    const std::size_t length = std::max(a.size(), b.size());
    unsigned difference = a.size() == b.size() ? 0U : 1U;
    for (std::size_t i = 0; i < length; ++i) {
        const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
        const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
        difference |= static_cast<unsigned>(x ^ y);
    }
    return difference == 0;
}

}  // namespace

std::string_view to_string(Role role) noexcept {
    switch (role) {
        case Role::admin: return "admin";
        case Role::producer: return "producer";
        case Role::worker: return "worker";
    }
    return "unknown";
}

AccessTokens AccessTokens::load(const std::string& path) {
    std::ifstream file(path);
    if (!file) throw std::runtime_error(path + ": cannot read the token file");
    AccessTokens tokens;
    std::string line;
    for (int number = 1; std::getline(file, line); ++number) {
        const std::string where = path + ":" + std::to_string(number);
        if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        std::istringstream words(line);
        std::string role_name, token, extra;
        if (!(words >> role_name)) continue;
        if (!(words >> token) || (words >> extra)) {
            throw std::runtime_error(where + ": write ROLE TOKEN (roles admin, producer, worker)");
        }
        const auto role = role_named(role_name);
        if (!role) throw std::runtime_error(where + ": unknown role '" + role_name + "' (admin, producer, worker)");
        if (token.size() < kMinTokenBytes) {
            throw std::runtime_error(where + ": the token is shorter than " + std::to_string(kMinTokenBytes) +
                                     " characters (e.g. `openssl rand -hex 24`)");
        }
        for (char c : token) {
            if (!is_token_character(c)) throw std::runtime_error(where + ": the token may hold only A-Z a-z 0-9 . _ ~ + / = -");
        }
        for (const auto& known : tokens.tokens_) {
            if (known.token == token) throw std::runtime_error(where + ": the same token as " + known.name);
        }
        tokens.tokens_.push_back({*role, token, where});
    }
    if (file.bad()) throw std::runtime_error(path + ": read failed");
    return tokens;
}

std::optional<AccessToken> AccessTokens::find(std::string_view presented) const {
    std::optional<AccessToken> found;
    for (const auto& known : tokens_) {
        if (same_text(known.token, presented) && !found) found = known;
    }
    return found;
}

}  // namespace corsair::http
