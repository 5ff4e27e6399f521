// Times and durations as people write them. Thread rules: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace baton {

// "2026-11-23T10:00:00Z" (or .fff, or an offset like +01:00) -> ms since the epoch.
std::optional<int64_t> ParseDatetimeMs(std::string_view text);
// "1h30m", "250ms", "2d" -> ms.
std::optional<int64_t> ParseDurationMs(std::string_view text);

}  // namespace baton
