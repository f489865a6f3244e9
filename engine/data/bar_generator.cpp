#include "data/bar_generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "data/bundle_writer.h"
#include "data/calendar.h"
#include "data/random.h"
#include "error.h"

namespace tidemark::engine {

namespace {

// What stays fixed for an asset over the whole bundle.
struct AssetModel {
  double price;         // first session's opening price, dollars
  double daily_sigma;   // standard deviation of a daily return
  double daily_mu;      // mean daily return
  double daily_volume;  // shares on an average session
  uint32_t first_session, last_session;
};

AssetModel drawModel(Rng& rng, uint32_t sessions) {
  AssetModel m{};
  m.price = std::exp(rng.uniform(std::log(5.0), std::log(300.0)));
  m.daily_sigma = rng.uniform(0.01, 0.035);
  m.daily_mu = 0.0002 + 0.0006 * rng.normal();
  m.daily_volume = std::exp(rng.uniform(std::log(2e4), std::log(2e7)));
  uint32_t half = sessions / 2;
  m.first_session = rng.uniform() < 0.10 ? static_cast<uint32_t>(rng.below(half)) : 0;
  m.last_session = rng.uniform() < 0.05 ? half + static_cast<uint32_t>(rng.below(sessions - half)) : sessions - 1;
  return m;
}

// Prices are quoted in whole cents, as on a US exchange.
uint32_t toTicks(double dollars) {
  double cents = std::clamp(std::round(dollars * 100.0), 1.0, 4.0e7);
  return static_cast<uint32_t>(cents) * (bundle::kPriceScale / 100);
}

uint32_t toVolume(double shares) { return static_cast<uint32_t>(std::clamp(std::round(shares), 1.0, 2.0e9)); }

constexpr double kMinPrice = 0.5;

void generateDaily(BundleWriter& w, AssetId a, const AssetModel& m, Rng& rng) {
  auto o = w.daily(Field::Open, a), h = w.daily(Field::High, a), l = w.daily(Field::Low, a);
  auto c = w.daily(Field::Close, a), v = w.daily(Field::Volume, a);
  double close = m.price;
  for (uint32_t s = m.first_session; s <= m.last_session; ++s) {
    double open = std::max(kMinPrice, close * (1.0 + 0.25 * m.daily_sigma * rng.normal()));
    close = std::max(kMinPrice, close * (1.0 + m.daily_mu + m.daily_sigma * rng.normal()));
    double high = std::max(open, close) * (1.0 + 0.5 * m.daily_sigma * rng.uniform());
    double low = std::max(kMinPrice * 0.5, std::min(open, close) * (1.0 - 0.5 * m.daily_sigma * rng.uniform()));
    o[s] = toTicks(open);
    h[s] = toTicks(high);
    l[s] = toTicks(low);
    c[s] = toTicks(close);
    v[s] = toVolume(m.daily_volume * (0.5 + rng.uniform()));
  }
}

// Relative volume of each minute: heavy at the open and the close, light at midday; mean 1.
const std::array<double, kMinutesPerSession>& intradayProfile() {
  static const auto profile = [] {
    std::array<double, kMinutesPerSession> p{};
    double sum = 0;
    for (uint32_t m = 0; m < kMinutesPerSession; ++m) {
      double x = (m - 194.5) / 194.5;
      p[m] = 1.0 + 2.0 * x * x;
      sum += p[m];
    }
    for (double& x : p) x *= kMinutesPerSession / sum;
    return p;
  }();
  return profile;
}

void generateMinutes(BundleWriter& w, AssetId a, const AssetModel& m, Rng& rng) {
  auto o = w.minute(Field::Open, a), h = w.minute(Field::High, a), l = w.minute(Field::Low, a);
  auto c = w.minute(Field::Close, a), v = w.minute(Field::Volume, a);
  const auto& profile = intradayProfile();
  // Per minute of the day: expected shares, and the chance that nothing trades at all (an
  // illiquid name has many empty minutes, a liquid one none).
  std::array<double, kMinutesPerSession> expected{}, empty_chance{};
  for (uint32_t i = 0; i < kMinutesPerSession; ++i) {
    expected[i] = m.daily_volume / kMinutesPerSession * profile[i];
    empty_chance[i] = std::exp(-expected[i] / 100.0);
  }
  const double sigma = m.daily_sigma / std::sqrt(double{kMinutesPerSession});
  const double mu = m.daily_mu / kMinutesPerSession;
  double price = m.price;
  for (uint32_t s = m.first_session; s <= m.last_session; ++s) {
    price = std::max(kMinPrice, price * (1.0 + 0.25 * m.daily_sigma * rng.normal()));  // overnight gap
    size_t bar = size_t{s} * kMinutesPerSession;
    for (uint32_t i = 0; i < kMinutesPerSession; ++i, ++bar) {
      double open = price;
      price = std::max(kMinPrice, price * (1.0 + mu + sigma * rng.normal()));
      double up = rng.uniform(), down = rng.uniform(), size = rng.uniform(), empty = rng.uniform();
      if (empty < empty_chance[i]) continue;  // the bar stays all zeros
      o[bar] = toTicks(open);
      c[bar] = toTicks(price);
      h[bar] = std::max({toTicks(std::max(open, price) * (1.0 + 0.7 * sigma * up)), o[bar], c[bar]});
      l[bar] = std::min({toTicks(std::min(open, price) * (1.0 - 0.7 * sigma * down)), o[bar], c[bar]});
      v[bar] = toVolume(expected[i] * (0.25 + 1.5 * size));
    }
  }
  w.deriveDailyBars(a);
}

}  // namespace

std::string syntheticSymbol(uint32_t asset, uint32_t asset_count) {
  uint32_t letters = 3, space = 26 * 26 * 26;
  while (space < asset_count) {
    ++letters;
    space *= 26;
  }
  // 7919 is prime, hence coprime with 26^k: the map below is a permutation of [0, space).
  uint64_t code = (uint64_t{asset} * 7919 + 1234) % space;
  std::string s(letters, 'A');
  for (uint32_t i = letters; i-- > 0; code /= 26) s[i] = static_cast<char>('A' + code % 26);
  return s;
}

void generateBundle(const GeneratorConfig& config, const std::string& path) {
  if (config.assets == 0 || config.sessions == 0) throw EngineError("--assets and --days must be at least 1");
  if (config.assets > 200000) throw EngineError("--assets must be at most 200000");
  std::vector<Date> sessions = tradingSessions(config.start, config.sessions);
  BundleWriter writer(path, sessions, config.assets, config.minute_bars, config.seed);
  for (uint32_t i = 0; i < config.assets; ++i) {
    AssetId a = assetId(i);
    // Each asset draws from its own stream, so an asset's bars do not depend on how many came before.
    Rng rng(mix(config.seed ^ mix(i + 1)));
    AssetModel model = drawModel(rng, config.sessions);
    writer.setAsset(a, syntheticSymbol(i, config.assets), model.first_session, model.last_session);
    if (config.minute_bars)
      generateMinutes(writer, a, model, rng);
    else
      generateDaily(writer, a, model, rng);
  }
  writer.commit();
}

}  // namespace tidemark::engine
