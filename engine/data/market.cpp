#include "data/market.h"

#include <string>

#include "error.h"

namespace tidemark::engine {

std::string_view fieldName(Field f) {
  switch (f) {
    case Field::Open:
      return "open";
    case Field::High:
      return "high";
    case Field::Low:
      return "low";
    case Field::Close:
      return "close";
    case Field::Volume:
      return "volume";
    case Field::Price:
      return "price";
  }
  return "?";
}

Field parseField(std::string_view name) {
  for (Field f : kAllFields)
    if (fieldName(f) == name) return f;
  throw EngineError("unknown field '" + std::string(name) + "' (open, high, low, close, volume, price)");
}

std::string_view frequencyName(Frequency f) { return f == Frequency::Minute ? "1m" : "1d"; }

Frequency parseFrequency(std::string_view name) {
  if (name == "1m" || name == "minute") return Frequency::Minute;
  if (name == "1d" || name == "daily") return Frequency::Daily;
  throw EngineError("unknown frequency '" + std::string(name) + "' (1m or 1d)");
}

}  // namespace tidemark::engine
