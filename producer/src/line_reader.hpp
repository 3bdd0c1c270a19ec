// LineReader: the jobs of `corsair submit --file`, one per line. Used by the CLI thread only.
// A line's payload is its bytes without the newline ("\n" or "\r\n"); blank lines are skipped.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>

namespace corsair::producer::cli {

class LineReader {
public:
    explicit LineReader(std::istream& input) : input_(input) {}

    // The next non-blank line, or nullopt at end of input. Blocks on a pipe until a line arrives.
    std::optional<std::string> next();
    // 1-based number of the line last returned (counting blank lines).
    std::uint64_t line_number() const noexcept { return line_number_; }

private:
    std::istream& input_;
    std::uint64_t line_number_ = 0;
};

// How many jobs `input` holds (non-blank lines); reads it to the end.
std::uint64_t count_jobs(std::istream& input);

}  // namespace corsair::producer::cli
