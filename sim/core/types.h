// Basic vocabulary types shared by every kvsim module. Units are part of the names:
// simulated time is integer nanoseconds, memory is bytes, token counts are plain integers.
#pragma once

#include <cstdint>

namespace kvsim {

using SimTimeNs = std::int64_t;   // simulated time, nanoseconds since the first arrival
using RequestId = std::int64_t;   // index of a request in arrival order (0-based)
using BlockId = std::uint32_t;    // index of a KV block in a block pool
using TokenCount = std::int64_t;  // a number of tokens
using Bytes = std::int64_t;       // a number of bytes (signed so that differences are safe)

}  // namespace kvsim
