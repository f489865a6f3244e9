#include "data/calendar.h"

#include <algorithm>
#include <map>
#include <mutex>

namespace tidemark::engine {

namespace {

// The n-th (1-based) given weekday of a month, or the last one when n is 0.
Date nthWeekday(int year, unsigned month, unsigned weekday, unsigned n) {
  if (n == 0) {
    Date last = Date::fromCivil(year, month, static_cast<unsigned>(daysInMonth(year, month)));
    return last + -static_cast<int32_t>((last.weekday() + 7 - weekday) % 7);
  }
  Date first = Date::fromCivil(year, month, 1);
  return first + static_cast<int32_t>((weekday + 7 - first.weekday()) % 7 + 7 * (n - 1));
}

// Easter Sunday in the Gregorian calendar (the anonymous algorithm published in Nature, 1876).
Date easterSunday(int y) {
  int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
  int f = (b + 8) / 25, g = (b - f + 1) / 3;
  int h = (19 * a + b - d - g + 15) % 30;
  int i = c / 4, k = c % 4;
  int l = (32 + 2 * e + 2 * i - h - k) % 7;
  int m = (a + 11 * h + 22 * l) / 451;
  int month = (h + l - 7 * m + 114) / 31;
  int day = (h + l - 7 * m + 114) % 31 + 1;
  return Date::fromCivil(y, static_cast<unsigned>(month), static_cast<unsigned>(day));
}

// A fixed-date holiday moved off the weekend.
Date observed(Date d) {
  if (d.weekday() == 5) return d + -1;
  if (d.weekday() == 6) return d + 1;
  return d;
}

constexpr unsigned kMonday = 0, kThursday = 3;

}  // namespace

std::vector<Date> exchangeHolidays(int year) {
  std::vector<Date> h;
  Date new_year = Date::fromCivil(year, 1, 1);
  if (new_year.weekday() != 5) h.push_back(observed(new_year));
  if (year >= 1998) h.push_back(nthWeekday(year, 1, kMonday, 3));
  h.push_back(nthWeekday(year, 2, kMonday, 3));
  h.push_back(easterSunday(year) + -2);
  h.push_back(nthWeekday(year, 5, kMonday, 0));
  if (year >= 2022) h.push_back(observed(Date::fromCivil(year, 6, 19)));
  h.push_back(observed(Date::fromCivil(year, 7, 4)));
  h.push_back(nthWeekday(year, 9, kMonday, 1));
  h.push_back(nthWeekday(year, 11, kThursday, 4));
  h.push_back(observed(Date::fromCivil(year, 12, 25)));
  std::sort(h.begin(), h.end());
  return h;
}

bool isHoliday(Date d) {
  // Holidays are looked up once per calendar day of a generated bundle: a small memo per year.
  static std::mutex mutex;
  static std::map<int, std::vector<Date>> by_year;
  int year = d.civil().year;
  std::lock_guard lock(mutex);
  auto it = by_year.find(year);
  if (it == by_year.end()) it = by_year.emplace(year, exchangeHolidays(year)).first;
  return std::binary_search(it->second.begin(), it->second.end(), d);
}

bool isTradingDay(Date d) { return d.weekday() < 5 && !isHoliday(d); }

std::vector<Date> tradingSessions(Date start, uint32_t count) {
  std::vector<Date> out;
  out.reserve(count);
  for (Date d = start; out.size() < count; d = d + 1)
    if (isTradingDay(d)) out.push_back(d);
  return out;
}

TradingCalendar::TradingCalendar(std::span<const int32_t> session_days) {
  sessions_.reserve(session_days.size());
  for (int32_t d : session_days) sessions_.push_back(Date::fromDays(d));
  places_.resize(sessions_.size());
  // One pass per grouping: a run of sessions with the same week (month) number is one week (month).
  auto assign = [&](auto key, uint32_t Place::*index, uint32_t Place::*size) {
    size_t begin = 0;
    for (size_t i = 1; i <= sessions_.size(); ++i) {
      if (i < sessions_.size() && key(sessions_[i]) == key(sessions_[begin])) continue;
      for (size_t j = begin; j < i; ++j) {
        places_[j].*index = static_cast<uint32_t>(j - begin);
        places_[j].*size = static_cast<uint32_t>(i - begin);
      }
      begin = i;
    }
  };
  assign([](Date d) { return d.weekNumber(); }, &Place::in_week, &Place::week_size);
  assign(
      [](Date d) {
        CivilDate c = d.civil();
        return c.year * 12 + static_cast<int>(c.month);
      },
      &Place::in_month, &Place::month_size);
}

uint32_t TradingCalendar::firstOnOrAfter(Date d) const {
  return static_cast<uint32_t>(std::lower_bound(sessions_.begin(), sessions_.end(), d) - sessions_.begin());
}

int64_t TradingCalendar::lastOnOrBefore(Date d) const {
  return static_cast<int64_t>(std::upper_bound(sessions_.begin(), sessions_.end(), d) - sessions_.begin()) - 1;
}

}  // namespace tidemark::engine
