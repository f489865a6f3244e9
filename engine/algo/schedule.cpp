#include "algo/schedule.h"

#include <algorithm>

#include "data/market.h"

namespace tidemark::engine {

bool DateRule::matches(const TradingCalendar& calendar, uint32_t s) const {
  switch (kind) {
    case Kind::EveryDay:
      return true;
    case Kind::WeekStart:
      return calendar.indexInWeek(s) == offset;
    case Kind::WeekEnd:
      return calendar.sessionsInWeek(s) == calendar.indexInWeek(s) + 1 + offset;
    case Kind::MonthStart:
      return calendar.indexInMonth(s) == offset;
    case Kind::MonthEnd:
      return calendar.sessionsInMonth(s) == calendar.indexInMonth(s) + 1 + offset;
  }
  return false;
}

uint32_t TimeRule::minuteOfSession() const {
  uint32_t last = kMinutesPerSession - 1;
  uint32_t o = std::min(offset, last);
  return kind == Kind::MarketOpen ? o : last - o;
}

void Scheduler::add(std::string name, ScheduledCallback fn, DateRule date, TimeRule time) {
  functions_.push_back({std::move(name), std::move(fn), date, time});
}

void Scheduler::startSession(const TradingCalendar& calendar, uint32_t session) {
  due_today_.clear();
  for (size_t i = 0; i < functions_.size(); ++i)
    if (functions_[i].date.matches(calendar, session)) due_today_.push_back(i);
}

void Scheduler::runDue(uint32_t minute, bool whole_session, TradingContext& context, DataPortal& data) {
  for (size_t i : due_today_)
    if (whole_session || functions_[i].time.minuteOfSession() == minute) functions_[i].fn(context, data);
}

}  // namespace tidemark::engine
