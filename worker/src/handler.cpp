#include "corsair/worker/handler.hpp"

#include <algorithm>

#include "corsair/protocol/limits.hpp"
#include "handler_pool.hpp"

namespace corsair::worker {

void JobContext::report_progress(std::uint32_t percent, std::string_view message) const {
    if (!progress_sink) return;
    std::string text(message.substr(0, protocol::kMaxProgressMessageBytes + 1));
    text = truncate_text(std::move(text), protocol::kMaxProgressMessageBytes);
    progress_sink(std::min<std::uint32_t>(percent, 100), text);
}

}  // namespace corsair::worker
