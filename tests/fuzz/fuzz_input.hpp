// How the fuzz targets cut libFuzzer's one byte string into the pieces their code takes: frames
// of a multipart message (a length-prefix scheme), an argv vector, lines. The seed generator
// (make_fuzz_seeds.cpp) writes its seeds with the same functions, so seeds and targets agree.
// Used by one fuzzing thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace corsair::fuzz {

// Frames as `u16 little-endian length, bytes` back to back; the last frame is cut at the end of
// the input, so every frame count and every frame size up to 64 KiB is reachable.
inline std::vector<std::string_view> split_frames(std::string_view input) {
    std::vector<std::string_view> frames;
    while (input.size() >= 2) {
        const std::size_t length =
            static_cast<std::uint8_t>(input[0]) | (static_cast<std::size_t>(static_cast<std::uint8_t>(input[1])) << 8);
        input.remove_prefix(2);
        frames.push_back(input.substr(0, length));
        input.remove_prefix(frames.back().size());
    }
    return frames;
}

inline std::string join_frames(const std::vector<std::string>& frames) {
    std::string out;
    for (const auto& frame : frames) {
        out.push_back(static_cast<char>(frame.size() & 0xFF));
        out.push_back(static_cast<char>((frame.size() >> 8) & 0xFF));
        out += frame;
    }
    return out;
}

// Arguments separated by NUL bytes, as the kernel lays out argv.
inline std::vector<std::string> split_arguments(std::string_view input, std::size_t max_arguments) {
    std::vector<std::string> arguments;
    while (!input.empty() && arguments.size() < max_arguments) {
        const auto end = input.find('\0');
        arguments.emplace_back(input.substr(0, end));
        if (end == std::string_view::npos) break;
        input.remove_prefix(end + 1);
    }
    return arguments;
}

inline std::string join_arguments(const std::vector<std::string>& arguments) {
    std::string out;
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        if (i > 0) out.push_back('\0');
        out += arguments[i];
    }
    return out;
}

// A broken invariant: print it and abort, which libFuzzer reports as a crash with its input.
[[noreturn]] inline void fail(const std::string& what) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

inline void check(bool holds, const std::string& what) {
    if (!holds) fail(what);
}

}  // namespace corsair::fuzz
