// The HTTP tokens of --http-tokens: which token may do what (docs/http.md §Tokens). A value type,
// read from its file on the main thread and on SIGHUP; HttpServer swaps it in under a mutex.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corsair::http {

// What a token may do. admin: everything; producer: submit jobs, read their status and results;
// worker: claim jobs and the lease calls; every role may read /metrics.
enum class Role { admin, producer, worker };

std::string_view to_string(Role role) noexcept;

struct AccessToken {
    Role role = Role::admin;
    std::string token;
    std::string name;  // "FILE:LINE", how logs name the token without showing it
};

class AccessTokens {
public:
    // Reads `path`: one token per line, `ROLE TOKEN`, blank lines and `#` comments ignored. Throws
    // std::runtime_error naming the file and line: an unknown role, a token shorter than
    // kMinTokenBytes or with characters outside [A-Za-z0-9._~+/=-], a token listed twice, or an
    // unreadable file.
    static AccessTokens load(const std::string& path);

    // The token `presented` matches, compared in time independent of where they differ.
    std::optional<AccessToken> find(std::string_view presented) const;
    std::size_t size() const noexcept { return tokens_.size(); }

    static constexpr std::size_t kMinTokenBytes = 16;

private:
    std::vector<AccessToken> tokens_;
};

}  // namespace corsair::http
