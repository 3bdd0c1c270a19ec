// Umbrella header: everything a worker or producer in C++ needs to speak the wire protocol.
#pragma once

#include "corsair/protocol/codec.hpp"
#include "corsair/protocol/command.hpp"
#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/error_code.hpp"
#include "corsair/protocol/limits.hpp"
#include "corsair/protocol/messages.hpp"
#include "corsair/protocol/msgpack_map.hpp"
#include "corsair/protocol/result.hpp"
#include "corsair/protocol/wire.hpp"
