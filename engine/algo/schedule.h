// schedule_function's rules and the scheduler that runs the functions when they are due.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/calendar.h"

namespace tidemark::engine {

class TradingContext;
class DataPortal;

// Which sessions a function runs on.
struct DateRule {
  enum class Kind : uint8_t { EveryDay, WeekStart, WeekEnd, MonthStart, MonthEnd };
  Kind kind = Kind::EveryDay;
  uint32_t offset = 0;  // sessions after the first (WeekStart, MonthStart) or before the last

  static DateRule everyDay() { return {}; }
  static DateRule weekStart(uint32_t sessions_offset = 0) { return {Kind::WeekStart, sessions_offset}; }
  static DateRule weekEnd(uint32_t sessions_offset = 0) { return {Kind::WeekEnd, sessions_offset}; }
  static DateRule monthStart(uint32_t sessions_offset = 0) { return {Kind::MonthStart, sessions_offset}; }
  static DateRule monthEnd(uint32_t sessions_offset = 0) { return {Kind::MonthEnd, sessions_offset}; }

  // A week (month) with fewer sessions than offset + 1 has no matching session.
  bool matches(const TradingCalendar& calendar, uint32_t session) const;
};

// At which minute bar of the session a function runs (minute mode; in daily mode it runs at the
// session's one bar).
struct TimeRule {
  enum class Kind : uint8_t { MarketOpen, MarketClose };
  Kind kind = Kind::MarketOpen;
  uint32_t offset = 0;  // minutes after the first bar, or before the last

  static TimeRule marketOpen(uint32_t minutes = 0) { return {Kind::MarketOpen, minutes}; }
  static TimeRule marketClose(uint32_t minutes = 0) { return {Kind::MarketClose, minutes}; }
  uint32_t minuteOfSession() const;  // 0..389
};

using ScheduledCallback = std::function<void(TradingContext&, DataPortal&)>;

class Scheduler {
 public:
  void add(std::string name, ScheduledCallback fn, DateRule date, TimeRule time);
  // Picks the functions due today.
  void startSession(const TradingCalendar& calendar, uint32_t session);
  // Runs, in the order they were scheduled, today's functions due at `minute`; all of today's when
  // `whole_session` (daily mode).
  void runDue(uint32_t minute, bool whole_session, TradingContext& context, DataPortal& data);
  size_t size() const { return functions_.size(); }

 private:
  struct Scheduled {
    std::string name;
    ScheduledCallback fn;
    DateRule date;
    TimeRule time;
  };
  std::vector<Scheduled> functions_;
  std::vector<size_t> due_today_;
};

}  // namespace tidemark::engine
