#include "data/date.h"

#include <charconv>

#include "error.h"

namespace tidemark::engine {

namespace {

bool isLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Days are counted in 400-year eras starting on March 1st, so the leap day is the last day of a
// year and month lengths follow a fixed 5-month pattern (153 days).
int32_t daysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned year_of_era = static_cast<unsigned>(y - era * 400);
  const unsigned day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<int>(day_of_era) - 719468;
}

}  // namespace

int daysInMonth(int year, unsigned month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && isLeap(year) ? 29 : kDays[month - 1];
}

Date Date::fromCivil(int year, unsigned month, unsigned day) { return fromDays(daysFromCivil(year, month, day)); }

CivilDate Date::civil() const {
  const int32_t z = days_ + 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned day_of_era = static_cast<unsigned>(z - era * 146097);
  const unsigned year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;
  const unsigned d = day_of_year - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(year_of_era) + era * 400 + (m <= 2), m, d};
}

unsigned Date::weekday() const {
  // 1970-01-01 was a Thursday (3 when Monday is 0).
  int32_t w = (days_ + 3) % 7;
  return static_cast<unsigned>(w < 0 ? w + 7 : w);
}

int32_t Date::weekNumber() const {
  int32_t shifted = days_ + 3;
  return shifted >= 0 ? shifted / 7 : (shifted - 6) / 7;
}

Date Date::parse(std::string_view text) {
  auto fail = [&] { return EngineError("bad date '" + std::string(text) + "' (expected YYYY-MM-DD)"); };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') throw fail();
  int y = 0;
  unsigned m = 0, d = 0;
  auto num = [&](size_t pos, size_t len, auto& out) {
    auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + len, out);
    if (ec != std::errc() || end != text.data() + pos + len) throw fail();
  };
  num(0, 4, y);
  num(5, 2, m);
  num(8, 2, d);
  if (m < 1 || m > 12 || d < 1 || static_cast<int>(d) > daysInMonth(y, m)) throw fail();
  return fromCivil(y, m, d);
}

void Date::format(char (&out)[11]) const {
  CivilDate c = civil();
  unsigned y = static_cast<unsigned>(c.year) % 10000;
  out[0] = static_cast<char>('0' + y / 1000);
  out[1] = static_cast<char>('0' + y / 100 % 10);
  out[2] = static_cast<char>('0' + y / 10 % 10);
  out[3] = static_cast<char>('0' + y % 10);
  out[4] = '-';
  out[5] = static_cast<char>('0' + c.month / 10);
  out[6] = static_cast<char>('0' + c.month % 10);
  out[7] = '-';
  out[8] = static_cast<char>('0' + c.day / 10);
  out[9] = static_cast<char>('0' + c.day % 10);
  out[10] = '\0';
}

std::string Date::str() const {
  char buf[11];
  format(buf);
  return buf;
}

}  // namespace tidemark::engine
