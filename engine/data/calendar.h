// The trading calendar: which days are sessions, and where a session sits in its week and month
// (what schedule rules such as "first session of the week" need).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/date.h"

namespace tidemark::engine {

// NYSE full-day holidays of a year, by rule: New Year's Day, Martin Luther King Jr. Day,
// Washington's Birthday, Good Friday, Memorial Day, Juneteenth (from 2022), Independence Day,
// Labor Day, Thanksgiving, Christmas; a Sunday holiday moves to Monday, a Saturday one to Friday
// (except New Year's Day, which is then not observed). One-off closures (2001-09-11, 2012's
// hurricane, days of mourning) are not in the list. Sorted.
std::vector<Date> exchangeHolidays(int year);

bool isHoliday(Date d);
bool isTradingDay(Date d);  // a weekday that is not a holiday

// `count` consecutive trading days, the first on or after `start`.
std::vector<Date> tradingSessions(Date start, uint32_t count);

// A list of sessions (the bundle's), with each one's place in its week and month.
class TradingCalendar {
 public:
  explicit TradingCalendar(std::span<const int32_t> session_days);

  uint32_t size() const { return static_cast<uint32_t>(sessions_.size()); }
  Date session(uint32_t i) const { return sessions_[i]; }
  // Index of the first session on or after d (size() when there is none).
  uint32_t firstOnOrAfter(Date d) const;
  // Index of the last session on or before d, or -1.
  int64_t lastOnOrBefore(Date d) const;

  // 0 for the week's first session; sessionsInWeek counts the sessions of that week.
  uint32_t indexInWeek(uint32_t s) const { return places_[s].in_week; }
  uint32_t sessionsInWeek(uint32_t s) const { return places_[s].week_size; }
  uint32_t indexInMonth(uint32_t s) const { return places_[s].in_month; }
  uint32_t sessionsInMonth(uint32_t s) const { return places_[s].month_size; }

 private:
  struct Place {
    uint32_t in_week, week_size, in_month, month_size;
  };
  std::vector<Date> sessions_;
  std::vector<Place> places_;
};

}  // namespace tidemark::engine
