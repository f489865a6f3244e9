// A backtest-shaped, allocation-heavy program used to measure tidemark's overhead.
//
// It imitates how a typical C++ research backtest allocates: an event loop
// hands every bar of every asset to strategies through std::function, the
// strategies run templated indicator chains that build feature maps and
// temporary vectors, a bounded LRU cache holds per-asset history windows, and
// orders live only for the bar in which they are created.  Nothing here is
// pooled or tuned: the code is written the way such code usually is, so the
// allocator sees many small, short-lived blocks under deep call stacks.
//
// Usage: tidemark-bench-workload [days]
// Output: a stats line and a checksum line; both depend only on `days`.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

// A real backtest spreads the event loop, strategies and indicators over many
// translation units and libraries, so these layers stay separate frames.  In a
// single file the optimiser would fold them together and produce stacks far
// shallower than the ones a profiler meets in practice.
#define LAYER __attribute__((noinline))

namespace bt {

constexpr int kDefaultDays = 75;
constexpr std::size_t kAssets = 48;
constexpr int kBarsPerDay = 78;  // 5-minute bars over a 6.5 hour session
constexpr std::size_t kHistoryCacheCapacity = 96;
constexpr std::size_t kCloseHistoryDepth = 1024;
constexpr double kMaxPosition = 5000;

// FNV-1a over raw bytes: stable across runs of the same binary, which is all
// the comparison between instrumented and plain runs needs.
class Checksum {
 public:
  void add_bytes(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
      h_ ^= p[i];
      h_ *= 0x100000001b3ULL;
    }
  }
  template <typename T>
  void add(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    add_bytes(&v, sizeof v);
  }
  void add(std::string_view s) { add_bytes(s.data(), s.size()); }
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

struct Bar {
  std::int64_t ts;
  double open, high, low, close, volume;
};

struct BarEvent {
  std::string symbol;
  std::size_t asset;
  Bar bar;
};

using BarEventPtr = std::shared_ptr<const BarEvent>;

// ---------------------------------------------------------------- market data

class MarketFeed {
 public:
  explicit MarketFeed(std::uint64_t seed) : rng_(seed) {
    for (std::size_t a = 0; a < kAssets; ++a) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "XNAS.EQUITY.SYM%04zu.USD", a);
      symbols_.emplace_back(buf);
      price_.push_back(20.0 + 5.0 * static_cast<double>(a % 17));
      vol_.push_back(0.0008 + 0.0002 * static_cast<double>(a % 5));
    }
  }

  const std::vector<std::string>& symbols() const { return symbols_; }

  LAYER BarEventPtr next(std::size_t asset, std::int64_t ts) {
    std::normal_distribution<double> ret(0.0, vol_[asset]);
    const double open = price_[asset];
    double hi = open, lo = open, px = open;
    for (int tick = 0; tick < 4; ++tick) {
      px *= std::exp(ret(rng_));
      hi = std::max(hi, px);
      lo = std::min(lo, px);
    }
    price_[asset] = px;
    std::uniform_real_distribution<double> vol(1e4, 5e5);
    auto ev = std::make_shared<BarEvent>();
    ev->symbol = symbols_[asset];
    ev->asset = asset;
    ev->bar = Bar{ts, open, hi, lo, px, vol(rng_)};
    return ev;
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  std::vector<std::string> symbols_;
  std::vector<double> price_;
  std::vector<double> vol_;
};

// Events are ordered by time, then by asset, before anyone sees them; the
// queue is what lets an engine merge several feeds.
class EventQueue {
 public:
  void push(BarEventPtr ev) { heap_.push(std::move(ev)); }
  bool empty() const { return heap_.empty(); }
  BarEventPtr pop() {
    BarEventPtr ev = heap_.top();
    heap_.pop();
    return ev;
  }

 private:
  struct Later {
    bool operator()(const BarEventPtr& a, const BarEventPtr& b) const {
      return a->bar.ts != b->bar.ts ? a->bar.ts > b->bar.ts : a->asset > b->asset;
    }
  };
  std::priority_queue<BarEventPtr, std::vector<BarEventPtr>, Later> heap_;
};

class EventBus {
 public:
  using Handler = std::function<void(const BarEventPtr&)>;
  void subscribe(Handler h) { handlers_.push_back(std::move(h)); }
  LAYER void publish(const BarEventPtr& ev) {
    for (auto& h : handlers_) h(ev);
  }

 private:
  std::vector<Handler> handlers_;
};

// ------------------------------------------------------------ history cache

// Last closes of every asset, kept for the cache to copy windows from.
class CloseHistory {
 public:
  CloseHistory() : closes_(kAssets) {}
  void record(std::size_t asset, double close) {
    auto& d = closes_[asset];
    d.push_back(close);
    if (d.size() > kCloseHistoryDepth) d.pop_front();
  }
  const std::deque<double>& of(std::size_t asset) const { return closes_[asset]; }

 private:
  std::vector<std::deque<double>> closes_;
};

struct WindowKey {
  std::size_t asset;
  std::size_t lookback;
  std::int64_t epoch;  // windows are rebuilt every few bars, like a cached resample
  bool operator==(const WindowKey& o) const {
    return asset == o.asset && lookback == o.lookback && epoch == o.epoch;
  }
};

struct WindowKeyHash {
  std::size_t operator()(const WindowKey& k) const {
    std::size_t h = std::hash<std::size_t>{}(k.asset);
    h ^= std::hash<std::size_t>{}(k.lookback) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= std::hash<std::int64_t>{}(k.epoch) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
  }
};

struct HistoryWindow {
  std::vector<double> closes;
  std::vector<double> log_returns;
  std::string label;
};

class HistoryCache {
 public:
  HistoryCache(const CloseHistory& source, std::size_t capacity) : source_(source), capacity_(capacity) {}

  LAYER const HistoryWindow& get(const WindowKey& key) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      ++hits_;
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
    ++misses_;
    lru_.emplace_front(key, build(key));
    index_.emplace(key, lru_.begin());
    if (lru_.size() > capacity_) {
      ++evictions_;
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    return lru_.front().second;
  }

  std::uint64_t hits() const { return hits_; }
  std::uint64_t misses() const { return misses_; }
  std::uint64_t evictions() const { return evictions_; }

 private:
  LAYER HistoryWindow build(const WindowKey& key) const {
    const auto& all = source_.of(key.asset);
    const std::size_t n = std::min(all.size(), key.lookback);
    HistoryWindow w;
    w.closes.assign(all.end() - static_cast<std::ptrdiff_t>(n), all.end());
    for (std::size_t i = 1; i < w.closes.size(); ++i)
      w.log_returns.push_back(std::log(w.closes[i] / w.closes[i - 1]));
    w.label = "hist/" + std::to_string(key.asset) + "/" + std::to_string(key.lookback) + "/" +
              std::to_string(key.epoch);
    return w;
  }

  const CloseHistory& source_;
  std::size_t capacity_;
  std::list<std::pair<WindowKey, HistoryWindow>> lru_;
  std::unordered_map<WindowKey, decltype(lru_)::iterator, WindowKeyHash> index_;
  std::uint64_t hits_ = 0, misses_ = 0, evictions_ = 0;
};

// ----------------------------------------------------------------- indicators

template <typename T>
using FeatureSet = std::map<std::string, T>;

template <typename T, std::size_t N>
class RollingWindow {
 public:
  void push(T v) {
    values_.push_back(v);
    if (values_.size() > N) values_.pop_front();
  }
  bool full() const { return values_.size() == N; }
  const std::deque<T>& values() const { return values_; }

 private:
  std::deque<T> values_;
};

// Every stage returns how many features it wrote, which the strategy checks
// to tell a warmed-up chain from one still filling its windows.

template <typename T, std::size_t N>
class Sma {
 public:
  static std::string name() { return "sma_" + std::to_string(N); }
  LAYER std::size_t update(const Bar& b, FeatureSet<T>& out) {
    win_.push(static_cast<T>(b.close));
    T sum = 0;
    for (T v : win_.values()) sum += v;
    out[name()] = sum / static_cast<T>(win_.values().size());
    return win_.full() ? 1 : 0;
  }

 private:
  RollingWindow<T, N> win_;
};

template <typename T, std::size_t N>
class Ema {
 public:
  static std::string name() { return "ema_" + std::to_string(N); }
  LAYER std::size_t update(const Bar& b, FeatureSet<T>& out) {
    constexpr T alpha = T(2) / T(N + 1);
    value_ = count_ > 0 ? alpha * static_cast<T>(b.close) + (1 - alpha) * value_ : static_cast<T>(b.close);
    ++count_;
    out.emplace(name(), value_);
    return count_ >= N ? 1 : 0;
  }

 private:
  T value_{};
  std::size_t count_ = 0;
};

template <typename T, std::size_t N>
class StdDev {
 public:
  static std::string name() { return "stddev_close_" + std::to_string(N); }
  LAYER std::size_t update(const Bar& b, FeatureSet<T>& out) {
    win_.push(static_cast<T>(b.close));
    std::vector<T> xs(win_.values().begin(), win_.values().end());
    T mean = 0;
    for (T x : xs) mean += x;
    mean /= static_cast<T>(xs.size());
    T var = 0;
    for (T x : xs) var += (x - mean) * (x - mean);
    out[name()] = std::sqrt(var / static_cast<T>(xs.size()));
    return win_.full() ? 1 : 0;
  }

 private:
  RollingWindow<T, N> win_;
};

template <typename T, std::size_t N>
class Bollinger {
 public:
  static std::string name() { return "bollinger_" + std::to_string(N); }
  LAYER std::size_t update(const Bar& b, FeatureSet<T>& out) {
    win_.push(static_cast<T>(b.close));
    const std::vector<T> bands = compute();
    out[name() + "_lower"] = bands[0];
    out[name() + "_mid"] = bands[1];
    out[name() + "_upper"] = bands[2];
    return win_.full() ? 3 : 0;
  }

 private:
  LAYER std::vector<T> compute() const {
    const auto& v = win_.values();
    T mean = 0;
    for (T x : v) mean += x;
    mean /= static_cast<T>(v.size());
    T var = 0;
    for (T x : v) var += (x - mean) * (x - mean);
    const T sd = std::sqrt(var / static_cast<T>(v.size()));
    return {mean - 2 * sd, mean, mean + 2 * sd};
  }
  RollingWindow<T, N> win_;
};

template <typename T, std::size_t N>
class Rsi {
 public:
  static std::string name() { return "rsi_" + std::to_string(N); }
  LAYER std::size_t update(const Bar& b, FeatureSet<T>& out) {
    const T px = static_cast<T>(b.close);
    if (has_prev_) {
      gains_.push_back(std::max<T>(px - prev_, 0));
      losses_.push_back(std::max<T>(prev_ - px, 0));
      if (gains_.size() > N) {
        gains_.erase(gains_.begin());
        losses_.erase(losses_.begin());
      }
    }
    prev_ = px;
    has_prev_ = true;
    T g = 0, l = 0;
    for (T x : gains_) g += x;
    for (T x : losses_) l += x;
    out[name()] = l == 0 ? T(100) : T(100) - T(100) / (1 + g / l);
    return gains_.size() == N ? 1 : 0;
  }

 private:
  std::vector<T> gains_, losses_;
  T prev_{};
  bool has_prev_ = false;
};

template <typename T, std::size_t N>
class RollingMedian {
 public:
  static std::string name() { return "median_volume_" + std::to_string(N); }
  LAYER std::size_t update(const Bar& b, FeatureSet<T>& out) {
    win_.push(static_cast<T>(b.volume));
    std::vector<T> xs(win_.values().begin(), win_.values().end());
    auto mid = xs.begin() + static_cast<std::ptrdiff_t>(xs.size() / 2);
    std::nth_element(xs.begin(), mid, xs.end());
    out[name()] = *mid;
    return win_.full() ? 1 : 0;
  }

 private:
  RollingWindow<T, N> win_;
};

// Decorates a stage with the z-score of its (first) output over the last N bars.
template <typename T, typename Inner, std::size_t N>
class ZScored {
 public:
  static std::string name() { return Inner::name() + "_zscore_" + std::to_string(N); }
  LAYER std::size_t update(const Bar& b, FeatureSet<T>& out) {
    const std::size_t written = inner_.update(b, out);
    const T x = out.at(Inner::name());
    hist_.push(x);
    std::vector<T> xs(hist_.values().begin(), hist_.values().end());
    T mean = 0, var = 0;
    for (T v : xs) mean += v;
    mean /= static_cast<T>(xs.size());
    for (T v : xs) var += (v - mean) * (v - mean);
    const T sd = std::sqrt(var / static_cast<T>(xs.size()));
    out[name()] = sd > 0 ? (x - mean) / sd : T(0);
    return written + (hist_.full() ? 1 : 0);
  }

 private:
  Inner inner_;
  RollingWindow<T, N> hist_;
};

template <typename T, typename... Stages>
class IndicatorChain;

template <typename T>
class IndicatorChain<T> {
 public:
  static constexpr std::size_t kStages = 0;
  std::size_t update(const Bar&, FeatureSet<T>&) { return 0; }
};

template <typename T, typename Head, typename... Tail>
class IndicatorChain<T, Head, Tail...> {
 public:
  static constexpr std::size_t kStages = 1 + sizeof...(Tail);
  LAYER std::size_t update(const Bar& b, FeatureSet<T>& out) {
    const std::size_t n = head_.update(b, out);
    return n + tail_.update(b, out);
  }

 private:
  Head head_;
  IndicatorChain<T, Tail...> tail_;
};

// ------------------------------------------------------------------- orders

enum class Side : std::uint8_t { Buy, Sell };

struct Fill {
  double qty;
  double price;
  std::int64_t ts;
};

struct Order {
  std::uint64_t id;
  std::string client_id;
  std::string symbol;
  std::size_t asset;
  Side side;
  double qty;
  double limit;
  std::vector<Fill> fills;
  std::vector<std::string> tags;
};

using OrderPtr = std::shared_ptr<Order>;

struct Position {
  double qty = 0;
  double cash = 0;
  std::uint64_t trades = 0;
};

// Every fill is kept until the end of the run for the final report, so the
// live heap grows with the length of the backtest, as it does in practice.
struct TradeRecord {
  std::string symbol;
  std::string client_id;
  double signed_qty;
  double price;
  std::int64_t ts;
};

class Portfolio {
 public:
  LAYER void apply(const Order& o, const Fill& f) {
    auto& p = positions_[o.symbol];
    const double signed_qty = o.side == Side::Buy ? f.qty : -f.qty;
    p.qty += signed_qty;
    p.cash -= signed_qty * f.price;
    ++p.trades;
    trades_.push_back(TradeRecord{o.symbol, o.client_id, signed_qty, f.price, f.ts});
  }
  const std::vector<TradeRecord>& trades() const { return trades_; }
  double exposure(const std::string& symbol) const {
    auto it = positions_.find(symbol);
    return it == positions_.end() ? 0.0 : it->second.qty;
  }
  double mark(const std::unordered_map<std::string, double>& prices) const {
    double equity = 0;
    for (const auto& [sym, p] : positions_) equity += p.cash + p.qty * prices.at(sym);
    return equity;
  }
  const std::map<std::string, Position>& positions() const { return positions_; }

 private:
  std::map<std::string, Position> positions_;
  std::vector<TradeRecord> trades_;
};

// Audit trail of fills, bounded like a log ring that is flushed every day.
class AuditLog {
 public:
  LAYER void record(const Order& o, const Fill& f) {
    std::ostringstream line;
    line << f.ts << ' ' << o.client_id << ' ' << (o.side == Side::Buy ? "BUY " : "SELL ") << f.qty << '@'
         << f.price;
    if (lines_.size() == kRing) {
      lines_[next_] = line.str();
      next_ = (next_ + 1) % kRing;
    } else {
      lines_.push_back(line.str());
    }
  }
  void flush(Checksum& sum) {
    for (const auto& l : lines_) sum.add(std::string_view(l));
    lines_.clear();
    next_ = 0;
  }

 private:
  static constexpr std::size_t kRing = 512;
  std::vector<std::string> lines_;
  std::size_t next_ = 0;
};

class OrderBook {
 public:
  LAYER void submit(OrderPtr o) {
    by_symbol_[o->symbol].push_back(o);
    open_.emplace(o->id, std::move(o));
  }

  // Fills what the bar's range allows, then drops every order: orders in this
  // backtest are immediate-or-cancel and never outlive their bar.
  LAYER void match_and_clear(const std::unordered_map<std::string, Bar>& bars, Portfolio& pf, AuditLog& log,
                             std::mt19937_64& rng, std::uint64_t& fills) {
    std::vector<std::uint64_t> ids;
    ids.reserve(open_.size());
    for (const auto& kv : open_) ids.push_back(kv.first);
    std::sort(ids.begin(), ids.end());  // hash order must not leak into results
    std::uniform_int_distribution<int> parts(1, 3);
    for (std::uint64_t id : ids) {
      Order& o = *open_.at(id);
      const Bar& b = bars.at(o.symbol);
      const bool crosses = o.side == Side::Buy ? b.low <= o.limit : b.high >= o.limit;
      if (!crosses) continue;
      const int n = parts(rng);
      for (int i = 0; i < n; ++i) {
        o.fills.push_back(Fill{o.qty / n, o.limit, b.ts});
        pf.apply(o, o.fills.back());
        log.record(o, o.fills.back());
        ++fills;
      }
    }
    by_symbol_.clear();
    open_.clear();
  }

 private:
  std::unordered_map<std::uint64_t, OrderPtr> open_;
  std::map<std::string, std::vector<std::weak_ptr<Order>>> by_symbol_;
};

// --------------------------------------------------------------- strategies

struct Context {
  HistoryCache& history;
  OrderBook& book;
  const Portfolio& portfolio;
  std::int64_t bar_index;
  std::uint64_t& next_order_id;
  std::uint64_t& orders_created;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual void on_bar(const BarEvent& ev, Context& ctx) = 0;
  virtual void end_of_bar(Context& ctx, std::vector<std::pair<std::string, double>>& scores) = 0;
};

// Per-asset indicator state plus the decision logic shared by the strategies.
template <typename Chain, typename Rule>
class IndicatorStrategy : public Strategy {
 public:
  explicit IndicatorStrategy(std::string name) : name_(std::move(name)), chains_(kAssets), last_(kAssets) {}

  LAYER void on_bar(const BarEvent& ev, Context& ctx) override {
    auto features = std::make_unique<FeatureSet<double>>();
    const bool warm = chains_[ev.asset].update(ev.bar, *features) == Rule::warm_features;
    const HistoryWindow& hist = ctx.history.get(WindowKey{ev.asset, pick_lookback(ev, ctx), ctx.bar_index / 6});
    const double score = Rule::score(*features, hist);
    last_[ev.asset] = std::make_pair(ev.symbol, score);
    if (warm) maybe_order(ev, score, ctx);
  }

  LAYER void end_of_bar(Context&, std::vector<std::pair<std::string, double>>& scores) override {
    for (const auto& s : last_)
      if (!s.first.empty()) scores.push_back(s);
  }

 private:
  // Long lookbacks are requested less often, as a slower signal would be.
  static std::size_t pick_lookback(const BarEvent& ev, const Context& ctx) {
    const auto phase = static_cast<std::size_t>(ctx.bar_index) + ev.asset;
    if (phase % 7 == 0) return 256;
    if (phase % 3 == 0) return 128;
    return 48;
  }

  LAYER void maybe_order(const BarEvent& ev, double score, Context& ctx) {
    if (std::fabs(score) < Rule::threshold) return;
    const Side side = score > 0 ? Side::Buy : Side::Sell;
    // A position limit: only orders that would grow an already large position are refused.
    const double exposure = ctx.portfolio.exposure(ev.symbol);
    if (std::fabs(exposure) > kMaxPosition && (exposure > 0) == (side == Side::Buy)) return;
    const std::uint64_t id = ctx.next_order_id++;
    ++ctx.orders_created;
    OrderPtr order;
    if (id % 4 == 0) {
      // Some order paths build the order first and share it later.
      std::unique_ptr<Order> owned(new Order{});
      order = std::shared_ptr<Order>(std::move(owned));
    } else {
      order = std::make_shared<Order>();
    }
    order->id = id;
    order->client_id = name_ + "-" + std::to_string(ctx.bar_index) + "-" + std::to_string(id);
    order->symbol = ev.symbol;
    order->asset = ev.asset;
    order->side = side;
    order->qty = std::round(10 + std::fabs(score) * 50);
    order->limit = side == Side::Buy ? ev.bar.close * 0.9995 : ev.bar.close * 1.0005;
    order->tags = {name_, score > 0 ? "long_entry" : "short_entry"};
    ctx.book.submit(std::move(order));
  }

  std::string name_;
  std::vector<Chain> chains_;
  std::vector<std::pair<std::string, double>> last_;
};

struct MeanReversionRule {
  static constexpr double threshold = 2.2;
  static constexpr std::size_t warm_features = 10;
  static double score(const FeatureSet<double>& f, const HistoryWindow& h) {
    const double mid = f.at("bollinger_20_mid");
    const double sd = f.at("stddev_close_20");
    const double rsi_z = f.at("rsi_14_zscore_30");
    double drift = 0;
    for (double r : h.log_returns) drift += r;
    const double z = sd > 0 ? (mid - f.at("sma_5")) / sd : 0.0;
    return z - rsi_z / 2 - f.at("sma_30_zscore_20") / 4 - drift * 10;
  }
};

struct MomentumRule {
  static constexpr double threshold = 1.8;
  static constexpr std::size_t warm_features = 7;
  static double score(const FeatureSet<double>& f, const HistoryWindow& h) {
    if (std::fabs(f.at("ema_34_zscore_40")) < 0.5) return 0.0;  // no trend to follow
    const double fast = f.at("ema_8");
    const double slow = f.at("ema_34");
    const double vol = f.at("median_volume_15");
    double var = 0;
    for (double r : h.log_returns) var += r * r;
    const double sd = std::sqrt(var / std::max<std::size_t>(1, h.log_returns.size()));
    return sd > 0 ? (fast / slow - 1) / sd * (vol > 2e5 ? 1.2 : 0.8) : 0.0;
  }
};

using MeanReversion = IndicatorStrategy<
    IndicatorChain<double, Sma<double, 5>, ZScored<double, Sma<double, 30>, 20>, StdDev<double, 20>,
                   Bollinger<double, 20>, ZScored<double, Rsi<double, 14>, 30>, RollingMedian<double, 15>>,
    MeanReversionRule>;

using Momentum = IndicatorStrategy<
    IndicatorChain<double, Ema<double, 8>, ZScored<double, Ema<double, 34>, 40>, StdDev<double, 50>,
                   RollingMedian<double, 15>, Rsi<double, 28>, Sma<double, 60>>,
    MomentumRule>;

// ------------------------------------------------------------------- engine

struct RunStats {
  std::uint64_t events = 0;
  std::uint64_t orders = 0;
  std::uint64_t fills = 0;
};

class Backtest {
 public:
  explicit Backtest(std::uint64_t seed) : feed_(seed), cache_(closes_, kHistoryCacheCapacity) {
    strategies_.push_back(std::make_unique<MeanReversion>("meanrev"));
    strategies_.push_back(std::make_unique<Momentum>("momentum"));
    bus_.subscribe([this](const BarEventPtr& ev) { closes_.record(ev->asset, ev->bar.close); });
    bus_.subscribe([this](const BarEventPtr& ev) { bars_[ev->symbol] = ev->bar; });
    bus_.subscribe([this](const BarEventPtr& ev) { last_price_[ev->symbol] = ev->bar.close; });
    for (auto& s : strategies_) {
      Strategy* strat = s.get();
      bus_.subscribe([this, strat](const BarEventPtr& ev) { dispatch(*strat, ev); });
    }
  }

  LAYER void run(int days) {
    for (int d = 0; d < days; ++d) run_day(d);
  }

  const RunStats& stats() const { return stats_; }
  const HistoryCache& cache() const { return cache_; }
  std::uint64_t checksum() {
    final_report();
    sum_.add(stats_.events);
    sum_.add(stats_.orders);
    sum_.add(stats_.fills);
    sum_.add(cache_.hits());
    sum_.add(cache_.evictions());
    return sum_.value();
  }

 private:
  LAYER void run_day(int day) {
    // Per-day state that lives for the whole session and dies with it.
    std::unordered_map<std::string, std::vector<double>> intraday_scores;
    for (int b = 0; b < kBarsPerDay; ++b) {
      const std::int64_t bar_index = static_cast<std::int64_t>(day) * kBarsPerDay + b;
      run_bar(bar_index, intraday_scores);
    }
    end_of_day(day, intraday_scores);
  }

  LAYER void run_bar(std::int64_t bar_index, std::unordered_map<std::string, std::vector<double>>& intraday) {
    ctx_bar_ = bar_index;
    const std::int64_t ts = 1'600'000'000LL + bar_index * 300;
    for (std::size_t a = 0; a < kAssets; ++a) queue_.push(feed_.next(a, ts));
    drain();
    cross_section(intraday);
    book_.match_and_clear(bars_, portfolio_, audit_, feed_.rng(), stats_.fills);
  }

  LAYER void drain() {
    while (!queue_.empty()) {
      const BarEventPtr ev = queue_.pop();
      bus_.publish(ev);
      ++stats_.events;
    }
  }

  LAYER void dispatch(Strategy& s, const BarEventPtr& ev) {
    Context ctx{cache_, book_, portfolio_, ctx_bar_, next_order_id_, stats_.orders};
    s.on_bar(*ev, ctx);
  }

  // Ranks every asset across strategies, the step where backtests usually copy
  // symbols into temporary containers.
  LAYER void cross_section(std::unordered_map<std::string, std::vector<double>>& intraday) {
    std::vector<std::pair<std::string, double>> scores;
    Context ctx{cache_, book_, portfolio_, ctx_bar_, next_order_id_, stats_.orders};
    for (auto& s : strategies_) s->end_of_bar(ctx, scores);
    std::sort(scores.begin(), scores.end(), [](const auto& x, const auto& y) {
      return x.second != y.second ? x.second > y.second : x.first < y.first;
    });
    std::map<std::string, double> combined;
    for (const auto& [sym, sc] : scores) combined[sym] += sc;
    for (const auto& [sym, sc] : combined) intraday[sym].push_back(sc);
  }

  LAYER void end_of_day(int day, std::unordered_map<std::string, std::vector<double>>& intraday) {
    std::vector<std::string> syms;
    for (const auto& kv : intraday) syms.push_back(kv.first);
    std::sort(syms.begin(), syms.end());
    for (const auto& s : syms) {
      double acc = 0;
      for (double x : intraday[s]) acc += x;
      sum_.add(acc);
    }
    const double equity = portfolio_.mark(last_price_);
    sum_.add(equity);
    sum_.add(day);
    audit_.flush(sum_);
  }

  LAYER void final_report() {
    std::map<std::string, std::pair<double, std::uint64_t>> turnover;
    for (const auto& t : portfolio_.trades()) {
      auto& [notional, count] = turnover[t.symbol];
      notional += std::fabs(t.signed_qty) * t.price;
      ++count;
    }
    for (const auto& [sym, tv] : turnover) {
      sum_.add(std::string_view(sym));
      sum_.add(tv.first);
      sum_.add(tv.second);
    }
  }

  MarketFeed feed_;
  CloseHistory closes_;
  HistoryCache cache_;
  EventQueue queue_;
  EventBus bus_;
  OrderBook book_;
  Portfolio portfolio_;
  AuditLog audit_;
  std::vector<std::unique_ptr<Strategy>> strategies_;
  std::unordered_map<std::string, Bar> bars_;
  std::unordered_map<std::string, double> last_price_;
  std::int64_t ctx_bar_ = 0;
  std::uint64_t next_order_id_ = 1;
  RunStats stats_;
  Checksum sum_;
};

}  // namespace bt

int main(int argc, char** argv) {
  int days = bt::kDefaultDays;
  if (argc > 1) {
    char* end = nullptr;
    const long v = std::strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || v < 1 || v > 1'000'000) {
      std::fprintf(stderr, "usage: %s [days >= 1]\n", argv[0]);
      return 2;
    }
    days = static_cast<int>(v);
  }
  auto bt = std::make_unique<bt::Backtest>(0x7469646D61726BULL);
  bt->run(days);
  const auto& s = bt->stats();
  std::printf("days=%d events=%llu orders=%llu fills=%llu cache_hits=%llu cache_misses=%llu cache_evictions=%llu\n",
              days, static_cast<unsigned long long>(s.events), static_cast<unsigned long long>(s.orders),
              static_cast<unsigned long long>(s.fills), static_cast<unsigned long long>(bt->cache().hits()),
              static_cast<unsigned long long>(bt->cache().misses()),
              static_cast<unsigned long long>(bt->cache().evictions()));
  std::printf("checksum=%016llx\n", static_cast<unsigned long long>(bt->checksum()));
  return 0;
}
