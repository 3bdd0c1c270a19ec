// The one shape of a log line in every program: the time in UTC with its zone (Z), so lines from
// hosts in different zones sort and compare; the logger's name; the level; the message, which
// is fixed text plus key=value fields with peer text quoted (protocol/text.hpp quoted()).
//   2026-12-03T17:30:00.123Z broker info worker joined worker="host-7:311" capacity=4 queues=emails
#pragma once

#include <spdlog/logger.h>

namespace corsair::options {

inline constexpr const char* kLogPattern = "%Y-%m-%dT%H:%M:%S.%eZ %n %^%l%$ %v";

inline void use_log_format(spdlog::logger& log) { log.set_pattern(kLogPattern, spdlog::pattern_time_type::utc); }

}  // namespace corsair::options
