// A calendar day, as days since 1970-01-01 in the proleptic Gregorian calendar.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace tidemark::engine {

struct CivilDate {
  int year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

class Date {
 public:
  constexpr Date() = default;
  static constexpr Date fromDays(int32_t days) {
    Date d;
    d.days_ = days;
    return d;
  }
  static Date fromCivil(int year, unsigned month, unsigned day);
  // "YYYY-MM-DD"; throws EngineError on anything else, or a day that does not exist.
  static Date parse(std::string_view text);

  constexpr int32_t days() const { return days_; }
  CivilDate civil() const;
  unsigned weekday() const;  // 0 = Monday ... 6 = Sunday
  // Monday-based week number, the same for every day from a Monday to the next Sunday.
  int32_t weekNumber() const;
  // Writes "YYYY-MM-DD" and a terminating NUL into out (11 bytes). Does not allocate, so the
  // simulation can mark a date without touching the heap it is being profiled for.
  void format(char (&out)[11]) const;
  std::string str() const;

  constexpr Date operator+(int32_t n) const { return fromDays(days_ + n); }
  constexpr auto operator<=>(const Date&) const = default;

 private:
  int32_t days_ = 0;
};

int daysInMonth(int year, unsigned month);

}  // namespace tidemark::engine
