// The vocabulary of market data: assets, bar fields, bar frequencies.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace tidemark::engine {

// An asset's position in the bundle's asset table.
enum class AssetId : uint32_t {};
constexpr uint32_t index(AssetId a) { return static_cast<uint32_t>(a); }
constexpr AssetId assetId(uint32_t i) { return static_cast<AssetId>(i); }

// The five stored columns, then `Price`: the close carried forward over bars without trades, the
// field a strategy prices a position with.
enum class Field : uint8_t { Open, High, Low, Close, Volume, Price };
inline constexpr size_t kStoredFieldCount = 5;
inline constexpr size_t kFieldCount = 6;
inline constexpr std::array<Field, kFieldCount> kAllFields = {Field::Open,  Field::High,   Field::Low,
                                                              Field::Close, Field::Volume, Field::Price};
constexpr size_t index(Field f) { return static_cast<size_t>(f); }

std::string_view fieldName(Field f);
Field parseField(std::string_view name);  // throws EngineError naming the valid fields

enum class Frequency : uint8_t { Minute, Daily };
std::string_view frequencyName(Frequency f);      // "1m", "1d"
Frequency parseFrequency(std::string_view name);  // "1m"/"minute", "1d"/"daily"

// Regular US equity session: 09:30 to 16:00, one bar per minute, the first bar ending 09:31.
inline constexpr uint32_t kMinutesPerSession = 390;

}  // namespace tidemark::engine
