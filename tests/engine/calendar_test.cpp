// Dates and the trading calendar: weekends, the exchange's holidays, places in weeks and months.
#include "data/calendar.h"

#include <gtest/gtest.h>

#include "algo/schedule.h"
#include "error.h"

using namespace tidemark::engine;

namespace {

Date d(const char* s) { return Date::parse(s); }

TEST(Date, CivilRoundTrip) {
  EXPECT_EQ(d("1970-01-01").days(), 0);
  EXPECT_EQ(d("2000-03-01").days() - d("2000-02-28").days(), 2);  // 2000 is a leap year
  EXPECT_EQ(d("1900-03-01").days() - d("1900-02-28").days(), 1);  // 1900 is not
  // Years 1 to 9999: the range YYYY-MM-DD can spell.
  for (int32_t days = d("0001-01-01").days(); days <= d("9999-12-31").days(); days += 997) {
    Date x = Date::fromDays(days);
    EXPECT_EQ(Date::parse(x.str()), x) << x.str();
  }
  EXPECT_EQ(d("2024-02-29").str(), "2024-02-29");
}

TEST(Date, Weekdays) {
  EXPECT_EQ(d("2024-01-01").weekday(), 0u);  // Monday
  EXPECT_EQ(d("2024-01-06").weekday(), 5u);
  EXPECT_EQ(d("1969-12-31").weekday(), 2u);  // before the epoch too
  EXPECT_EQ(d("2024-01-01").weekNumber(), d("2024-01-07").weekNumber());
  EXPECT_EQ(d("2024-01-08").weekNumber(), d("2024-01-07").weekNumber() + 1);
}

TEST(Date, BadInputIsRefused) {
  for (const char* bad : {"2023-02-29", "2023-13-01", "2023-00-10", "2023-1-01", "yesterday", "", "2023-01-01x"})
    EXPECT_THROW(Date::parse(bad), EngineError) << bad;
}

TEST(Calendar, Holidays2024) {
  std::vector<std::string> got;
  for (Date h : exchangeHolidays(2024)) got.push_back(h.str());
  EXPECT_EQ(got, (std::vector<std::string>{"2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27",
                                           "2024-06-19", "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"}));
}

TEST(Calendar, WeekendHolidaysMove) {
  EXPECT_TRUE(isHoliday(d("2022-06-20")));   // Juneteenth on a Sunday: the Monday
  EXPECT_TRUE(isHoliday(d("2020-07-03")));   // Independence Day on a Saturday: the Friday
  EXPECT_FALSE(isHoliday(d("2021-12-31")));  // New Year's Day 2022 on a Saturday: not observed
  EXPECT_FALSE(isHoliday(d("2021-06-18")));  // Juneteenth only from 2022
}

TEST(Calendar, SessionsPerYear) {
  auto count = [](int year) {
    int n = 0;
    for (Date x = Date::fromCivil(year, 1, 1); x < Date::fromCivil(year + 1, 1, 1); x = x + 1) n += isTradingDay(x);
    return n;
  };
  // NYSE's published session counts.
  EXPECT_EQ(count(2022), 251);
  EXPECT_EQ(count(2023), 250);
  EXPECT_EQ(count(2024), 252);
}

TEST(Calendar, SessionsSkipWeekendsAndHolidays) {
  std::vector<std::string> got;
  for (Date x : tradingSessions(d("2024-03-28"), 4)) got.push_back(x.str());
  EXPECT_EQ(got, (std::vector<std::string>{"2024-03-28", "2024-04-01", "2024-04-02", "2024-04-03"}));
  EXPECT_EQ(tradingSessions(d("2024-01-01"), 1).front().str(), "2024-01-02");
}

TEST(Calendar, PlacesInWeeksAndMonthsDriveScheduleRules) {
  std::vector<int32_t> days;
  for (Date x : tradingSessions(d("2024-03-25"), 10)) days.push_back(x.days());
  TradingCalendar cal(days);
  // 2024-03-25 .. 03-28 is a four-session week (Good Friday).
  EXPECT_EQ(cal.indexInWeek(0), 0u);
  EXPECT_EQ(cal.sessionsInWeek(0), 4u);
  EXPECT_TRUE(DateRule::weekStart().matches(cal, 0));
  EXPECT_TRUE(DateRule::weekEnd().matches(cal, 3));
  EXPECT_FALSE(DateRule::weekEnd().matches(cal, 2));
  EXPECT_TRUE(DateRule::weekStart(1).matches(cal, 1));
  EXPECT_EQ(cal.session(4).str(), "2024-04-01");
  EXPECT_TRUE(DateRule::monthStart().matches(cal, 4));
  EXPECT_TRUE(DateRule::monthEnd().matches(cal, 3));
  EXPECT_EQ(cal.firstOnOrAfter(d("2024-03-29")), 4u);
  EXPECT_EQ(cal.lastOnOrBefore(d("2024-03-29")), 3);
  EXPECT_EQ(TimeRule::marketOpen(30).minuteOfSession(), 30u);
  EXPECT_EQ(TimeRule::marketClose(5).minuteOfSession(), 384u);
}

}  // namespace
