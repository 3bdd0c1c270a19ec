// Standard base64 (RFC 4648, with padding): how --json prints bytes that are not UTF-8
// (`payload_base64`, `result_base64`) and how NDJSON input carries them. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace corsair::producer::cli {

std::string to_base64(std::string_view bytes);
// The bytes, or nullopt when `text` is not padded standard base64.
std::optional<std::string> from_base64(std::string_view text);

}  // namespace corsair::producer::cli
