// CURVE keys (docs/security.md): key pairs, their files, and the socket options that turn CURVE
// on. The files are czmq's certificate format (zcert: ZPL text, a `curve` section with
// `public-key` and, in the secret file, `secret-key`, both Z85), so keys made by
// `corsair keygen`, czmq's zcert_save or pyzmq's zmq.auth.create_certificates are interchangeable.
// A `metadata` section may carry `role` (read by the broker's --allowed-keys) and `name`.
#pragma once

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <zmq.hpp>

namespace corsair::protocol {

inline constexpr std::size_t kZ85KeyChars = 40;  // a 32-byte CURVE key in Z85
// The largest key file read (a certificate is about 300 bytes); a larger one is refused.
inline constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;

// A key file that cannot be used: the message names the file and, where it applies, the line.
class KeyFileError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Whether `text` is a 40-character Z85 encoding of a 32-byte key.
inline bool is_z85_key(std::string_view text) {
    if (text.size() != kZ85KeyChars) return false;
    std::string copy(text);
    std::array<std::uint8_t, 32> bytes{};
    return zmq_z85_decode(bytes.data(), copy.c_str()) != nullptr;
}

struct CurveKeyPair {
    std::string public_key;  // Z85, 40 characters
    std::string secret_key;  // Z85, 40 characters; empty in a public certificate
};

// A fresh key pair from libsodium's generator (through libzmq).
inline CurveKeyPair generate_curve_key_pair() {
    char public_key[kZ85KeyChars + 1] = {};
    char secret_key[kZ85KeyChars + 1] = {};
    if (zmq_curve_keypair(public_key, secret_key) != 0) {
        throw std::runtime_error(std::string("cannot make a CURVE key pair: ") + zmq_strerror(zmq_errno()) +
                                 " (is libzmq built with CURVE?)");
    }
    return {public_key, secret_key};
}

// The public key that belongs to `secret_key` (both Z85), or nothing if `secret_key` is not one.
inline std::optional<std::string> curve_public_of(const std::string& secret_key) {
    char public_key[kZ85KeyChars + 1] = {};
    if (!is_z85_key(secret_key) || zmq_curve_public(public_key, secret_key.c_str()) != 0) return std::nullopt;
    return std::string(public_key);
}

// One certificate file read: its sections' properties, e.g. values.at("curve").at("public-key").
struct Certificate {
    std::map<std::string, std::map<std::string, std::string>> values;
    std::map<std::string, std::map<std::string, int>> lines;  // where each property was, for errors

    const std::string* find(const std::string& section, const std::string& key) const {
        auto s = values.find(section);
        if (s == values.end()) return nullptr;
        auto k = s->second.find(key);
        return k == s->second.end() ? nullptr : &k->second;
    }
    int line_of(const std::string& section, const std::string& key) const {
        auto s = lines.find(section);
        if (s == lines.end()) return 0;
        auto k = s->second.find(key);
        return k == s->second.end() ? 0 : k->second;
    }
};

namespace curve_detail {

inline std::string trim(std::string_view text) {
    std::size_t begin = 0;
    std::size_t end = text.size();
    while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
    while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
    return std::string(text.substr(begin, end - begin));
}

inline std::string unquote(const std::string& value) {
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
        return value.substr(1, value.size() - 2);
    }
    return value;
}

}  // namespace curve_detail

// Reads the subset of ZPL that certificates use: `# comments`, a section name alone on an
// unindented line, and indented `key = value` lines (value optionally quoted) belonging to it.
// `origin` (the file's path) names the culprit in errors.
inline Certificate parse_certificate(std::string_view text, const std::string& origin) {
    Certificate certificate;
    std::string section;
    int line_number = 0;
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) {
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const std::string content = curve_detail::trim(line);
        if (content.empty() || content.front() == '#') continue;
        const auto where = origin + ":" + std::to_string(line_number);
        const bool is_indented = std::isspace(static_cast<unsigned char>(line.front())) != 0;
        const auto equals = content.find('=');
        if (!is_indented) {
            if (equals != std::string::npos) {
                throw KeyFileError(where + ": `" + content + "` must be indented under a section such as `curve`");
            }
            section = content;
            certificate.values[section];
            continue;
        }
        if (section.empty()) throw KeyFileError(where + ": a property before any section");
        if (equals == std::string::npos) throw KeyFileError(where + ": expected `name = value`, got `" + content + "`");
        const std::string key = curve_detail::trim(std::string_view(content).substr(0, equals));
        const std::string value = curve_detail::unquote(curve_detail::trim(std::string_view(content).substr(equals + 1)));
        if (key.empty()) throw KeyFileError(where + ": a property without a name");
        certificate.values[section][key] = value;
        certificate.lines[section][key] = line_number;
    }
    return certificate;
}

// Reads no more than one byte past the limit, so that a huge file, a device such as /dev/zero
// or a FIFO that never ends is refused at once instead of read whole.
inline std::string read_key_file_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw KeyFileError(path + ": cannot read: " + std::strerror(errno));
    std::string text(kMaxKeyFileBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxKeyFileBytes) throw KeyFileError(path + ": too large for a key file (over 64 KiB)");
    return text;
}

namespace curve_detail {

inline std::string key_property(const Certificate& certificate, const std::string& origin, const char* key) {
    const std::string* value = certificate.find("curve", key);
    if (value == nullptr) throw KeyFileError(origin + ": no `" + key + "` in its `curve` section");
    if (!is_z85_key(*value)) {
        throw KeyFileError(origin + ":" + std::to_string(certificate.line_of("curve", key)) + ": `" + key +
                           "` is not a 40-character Z85 key");
    }
    return *value;
}

}  // namespace curve_detail

// A public certificate's key (a secret certificate's public half is read the same way).
inline std::string public_key_of(const Certificate& certificate, const std::string& origin) {
    return curve_detail::key_property(certificate, origin, "public-key");
}

// A secret certificate's key pair; its public key must be the one its secret key gives.
inline CurveKeyPair key_pair_of(const Certificate& certificate, const std::string& origin) {
    CurveKeyPair pair;
    pair.public_key = public_key_of(certificate, origin);
    pair.secret_key = curve_detail::key_property(certificate, origin, "secret-key");
    if (curve_public_of(pair.secret_key) != pair.public_key) {
        throw KeyFileError(origin + ": its public-key does not belong to its secret-key");
    }
    return pair;
}

// --curve-key FILE: this peer's own secret certificate.
inline CurveKeyPair read_secret_key_file(const std::string& path) {
    const auto certificate = parse_certificate(read_key_file_text(path), path);
    if (certificate.find("curve", "secret-key") == nullptr) {
        throw KeyFileError(path + ": no `secret-key`: this is a public key file; give the secret one (" +
                           "`corsair keygen` names it NAME.key_secret)");
    }
    return key_pair_of(certificate, path);
}

// --curve-server-key FILE: the broker's public certificate (its secret one works too; only the
// public key is read from it).
inline std::string read_public_key_file(const std::string& path) {
    return public_key_of(parse_certificate(read_key_file_text(path), path), path);
}

// The certificate text czmq's zcert_save writes; `secret` false gives the public file.
inline std::string format_certificate(const CurveKeyPair& pair, bool secret,
                                      const std::map<std::string, std::string>& metadata, const std::string& stamp) {
    std::string text = "#   ****  Generated on " + stamp + " by corsair keygen  ****\n";
    if (secret) {
        text += "#   ZeroMQ CURVE **Secret** Certificate\n"
                "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\n";
    } else {
        text += "#   ZeroMQ CURVE Public Certificate\n"
                "#   Exchange securely, or use a secure mechanism to verify the contents\n"
                "#   of this file after exchange. Store public certificates in your home\n"
                "#   directory, in the .curve subdirectory.\n\n";
    }
    text += "metadata\n";
    for (const auto& [key, value] : metadata) text += "    " + key + " = \"" + value + "\"\n";
    text += "curve\n    public-key = \"" + pair.public_key + "\"\n";
    if (secret) text += "    secret-key = \"" + pair.secret_key + "\"\n";
    return text;
}

// What a producer or worker needs to reach a broker with CURVE on. All empty: CURVE off.
struct CurveClientKeys {
    std::string server_public_key;  // the broker's public key (Z85)
    CurveKeyPair own;               // this peer's key pair (Z85)

    bool is_enabled() const noexcept { return !server_public_key.empty(); }

    // From the --curve-server-key and --curve-key files; both or neither must be given.
    static CurveClientKeys from_files(const std::string& server_key_file, const std::string& own_key_file) {
        CurveClientKeys keys;
        if (server_key_file.empty() && own_key_file.empty()) return keys;
        if (server_key_file.empty() || own_key_file.empty()) {
            throw KeyFileError("--curve-server-key and --curve-key go together: CURVE needs the broker's public key "
                               "and this peer's own key pair");
        }
        keys.server_public_key = read_public_key_file(server_key_file);
        keys.own = read_secret_key_file(own_key_file);
        return keys;
    }
};

// Turns CURVE on for a socket about to connect (before connect()). Does nothing when `keys` is
// empty; throws std::invalid_argument on keys that are not Z85.
inline void use_curve_client(zmq::socket_t& socket, const CurveClientKeys& keys) {
    if (!keys.is_enabled()) return;
    if (!is_z85_key(keys.server_public_key) || !is_z85_key(keys.own.public_key) || !is_z85_key(keys.own.secret_key)) {
        throw std::invalid_argument("CURVE keys must be 40-character Z85 strings");
    }
    socket.set(zmq::sockopt::curve_serverkey, keys.server_public_key);
    socket.set(zmq::sockopt::curve_publickey, keys.own.public_key);
    socket.set(zmq::sockopt::curve_secretkey, keys.own.secret_key);
}

// Turns CURVE on for a socket about to bind, as the server: every peer must then do CURVE, and
// the ZAP handler (inproc://zeromq.zap.01) in the same context decides which keys get in. The
// ZAP domain names the endpoint in the handler's log.
inline void use_curve_server(zmq::socket_t& socket, const CurveKeyPair& own, const std::string& zap_domain) {
    socket.set(zmq::sockopt::zap_domain, zap_domain);
    socket.set(zmq::sockopt::curve_server, 1);
    socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
    socket.set(zmq::sockopt::curve_publickey, own.public_key);
}

}  // namespace corsair::protocol
