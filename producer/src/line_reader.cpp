#include "line_reader.hpp"

namespace corsair::producer::cli {

std::optional<std::string> LineReader::next() {
    std::string line;
    while (std::getline(input_, line)) {
        ++line_number_;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) return line;
    }
    return std::nullopt;
}

std::uint64_t count_jobs(std::istream& input) {
    LineReader reader(input);
    std::uint64_t count = 0;
    while (reader.next()) ++count;
    return count;
}

}  // namespace corsair::producer::cli
