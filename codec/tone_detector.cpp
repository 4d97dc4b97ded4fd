// Call-progress tones: our own block correlator and cadence matcher rather than
// spandsp's super_tone_rx, whose descriptors cannot tell dial tone from a
// ringback burst below 1.5 s and whose reports need NULL-state workarounds
// (docs/architecture.md §8); the cadence rules here fit in one table per country.
//
// Every 16 ms block (128 samples) each tone frequency of the profile gets a
// correlation; a frequency set is "on" when each of its frequencies is above
// -40 dBm0 and together they hold 60 % of the block's energy (speech spreads
// its energy, a tone does not). Two blocks in a row are needed to change state,
// and the on/off run lengths are matched against the profile's cadences.
//
// Episodes: a tone is reported once, then its group remembers it until the
// line has gone without a burst of the tone for longer than the tone's off
// time allows plus one lost cycle (tone_episode_gap_ms). That ends the
// episode and drops the on/off history, so the next report needs a whole new
// pattern. An ongoing off run only matches while it is no longer than the
// tone's off time allows: an old pattern followed by minutes of silence is
// no tone.
#include <algorithm>
#include <cmath>
#include <complex>
#include <deque>
#include <numbers>

#include "codec/generators.hpp"
#include "codec/line_detectors.hpp"

namespace deskline::codec {
namespace {

constexpr int block = 128;  // 16 ms
constexpr double block_ms = 1000.0 * block / detector_rate_hz;
constexpr double min_tone_dbm0 = -40;
constexpr double min_purity = 0.6;
constexpr int debounce_blocks = 2;
constexpr double dial_min_ms = 1500;       // ringback bursts are at most 1.2 s
// What keeps an episode going. A burst cut short or split by noise still
// shows the tone is there: an on run from a quarter of the nominal burst (and
// at least 3 blocks) up to its upper tolerance counts. One burst lost outright
// (or a second of them, for fast cadences) does not end the episode either:
// without these allowances busy at -36 dBm0 and 3 dB SNR was reported again
// every 20 s or so. A continuous tone's episode survives dropouts up to
// continuous_gap_ms, kept going by pieces of continuous_piece_ms. Stray blocks
// of speech are shorter than any of these.
constexpr double damaged_burst_fraction = 0.25;
constexpr int damaged_burst_min_blocks = 3;
constexpr double lost_cycle_min_ms = 1000;
constexpr double continuous_gap_ms = 1000;
constexpr double continuous_piece_ms = 250;
constexpr std::size_t max_segments = 8;

int cycles_to_confirm(CallProgressTone tone) { return tone == CallProgressTone::ringback ? 1 : 2; }

double tolerance_ms(double nominal_ms) { return std::max(0.2 * nominal_ms, 50.0) + block_ms; }

bool duration_matches(double measured_ms, double nominal_ms) {
  return std::abs(measured_ms - nominal_ms) <= tolerance_ms(nominal_ms);
}

bool continuous(const ToneSpec& spec) { return spec.on_ms == 0 || spec.off_ms == 0; }

// Could this on run be a burst of the tone, perhaps damaged (or a piece of a
// continuous one)?
bool burst_fits(const ToneSpec& spec, double on_ms) {
  if (continuous(spec)) return on_ms >= continuous_piece_ms;
  return on_ms >= std::max(damaged_burst_min_blocks * block_ms, damaged_burst_fraction * spec.on_ms) &&
         on_ms <= spec.on_ms + tolerance_ms(spec.on_ms);
}

// The longest off run the cadence allows.
double longest_off_ms(const ToneSpec& spec) { return spec.off_ms + tolerance_ms(spec.off_ms); }

double samples_to_ms(std::uint64_t samples) { return 1000.0 * static_cast<double>(samples) / detector_rate_hz; }

struct Segment {
  bool on = false;
  int blocks = 0;
  std::uint64_t start_sample = 0;
  double ms() const { return blocks * block_ms; }
  std::uint64_t end_sample() const { return start_sample + static_cast<std::uint64_t>(blocks) * block; }
};

// The tones of a profile that share one set of frequencies (China: all of them).
struct ToneGroup {
  std::vector<std::size_t> frequency_indices;
  std::vector<ToneSpec> specs;
  bool state_on = false;
  int disagreeing_blocks = 0;
  Segment current;
  std::deque<Segment> completed;
  // The tone of the current episode (an index into specs), and where the
  // last burst that fits it ended.
  std::optional<std::size_t> reported;
  std::uint64_t last_burst_end = 0;
  double idle_gap_ms = 0;  // the longest gap of any of the group's tones
};

}  // namespace

struct ToneDetector::State {
  explicit State(ToneProfile profile_in) : profile(std::move(profile_in)) {
    for (const auto& spec : profile.tones) {
      std::vector<std::size_t> indices;
      for (const double hz : {spec.frequency_hz, spec.second_frequency_hz}) {
        if (hz <= 0) continue;
        auto found = std::find(frequencies.begin(), frequencies.end(), hz);
        if (found == frequencies.end()) found = frequencies.insert(frequencies.end(), hz);
        indices.push_back(static_cast<std::size_t>(found - frequencies.begin()));
      }
      auto group = std::find_if(groups.begin(), groups.end(),
                                [&](const ToneGroup& g) { return g.frequency_indices == indices; });
      if (group == groups.end()) {
        groups.push_back(ToneGroup{});
        group = groups.end() - 1;
        group->frequency_indices = indices;
      }
      group->specs.push_back(spec);
      group->idle_gap_ms = std::max(group->idle_gap_ms, tone_episode_gap_ms(spec));
    }
    for (const double hz : frequencies)
      steps.push_back(std::polar(1.0, -2 * std::numbers::pi * hz / detector_rate_hz));
    phasors.assign(frequencies.size(), {1, 0});
    sums.assign(frequencies.size(), {});
  }

  void push(std::span<const std::int16_t> samples) {
    for (const auto sample : samples) {
      const double x = sample;
      for (std::size_t k = 0; k < frequencies.size(); ++k) {
        sums[k] += x * phasors[k];
        phasors[k] *= steps[k];
      }
      energy += x * x;
      ++samples_seen;
      if (++fill == block) end_of_block();
    }
  }

  void end_of_block() {
    const double min_energy = std::pow(dbm0_to_peak(min_tone_dbm0) * block / 2, 2);
    for (auto& group : groups) {
      bool on = true;
      double tone_energy = 0;
      for (const auto index : group.frequency_indices) {
        const double e = std::norm(sums[index]);
        on = on && e >= min_energy;
        tone_energy += e;
      }
      on = on && energy > 0 && tone_energy / (energy * block / 2) >= min_purity;
      track(group, on);
    }
    for (std::size_t k = 0; k < frequencies.size(); ++k) {
      sums[k] = {};
      phasors[k] /= std::abs(phasors[k]);
    }
    energy = 0;
    fill = 0;
  }

  void track(ToneGroup& group, bool on) {
    const std::uint64_t block_start = samples_seen - block;
    if (on == group.state_on) {
      group.disagreeing_blocks = 0;
      ++group.current.blocks;
    } else if (++group.disagreeing_blocks >= debounce_blocks) {
      // The new state began debounce_blocks ago; move those blocks over.
      group.current.blocks -= debounce_blocks - 1;
      if (group.current.blocks > 0) {
        if (group.current.on && group.reported && burst_fits(group.specs[*group.reported], group.current.ms()))
          group.last_burst_end = group.current.end_sample();
        group.completed.push_back(group.current);
        if (group.completed.size() > max_segments) group.completed.pop_front();
      }
      group.state_on = on;
      group.current = Segment{on, debounce_blocks, block_start - (debounce_blocks - 1) * block};
      group.disagreeing_blocks = 0;
    } else {
      ++group.current.blocks;
    }
    end_episode_if_over(group);
    for (std::size_t index = 0; index < group.specs.size(); ++index) {
      const auto& spec = group.specs[index];
      const auto start = matches(group, spec);
      if (!start || group.reported == index) continue;
      group.reported = index;
      // A cadenced tone matches in the gap after a fitting burst, a
      // continuous one while it sounds (its run is extended when it ends).
      group.last_burst_end = group.state_on ? samples_seen : group.current.start_sample;
      events.push_back(ToneEvent{samples_seen, *start, spec.tone});
    }
  }

  // The episode is over once the line has gone longer without a burst of the
  // reported tone than tone_episode_gap_ms (stray blocks of speech or noise in
  // between do not count as bursts). Its history goes with it: the old
  // pattern can never match again, and the tone is reported afresh once a
  // whole new pattern has been heard. A group with nothing reported forgets
  // its history after the longest gap of any of its tones: idle.
  void end_episode_if_over(ToneGroup& group) {
    if (group.reported) {
      // While a run is on, the gap is the one that preceded it.
      const std::uint64_t gap_end = group.state_on ? group.current.start_sample : samples_seen;
      const std::uint64_t gap = gap_end > group.last_burst_end ? gap_end - group.last_burst_end : 0;
      if (samples_to_ms(gap) > tone_episode_gap_ms(group.specs[*group.reported])) {
        group.reported.reset();
        group.completed.clear();
      }
    } else if (!group.state_on && group.current.ms() > group.idle_gap_ms) {
      group.completed.clear();
    }
  }

  // Back to the state of a new detector, keeping the line clock and the
  // current block's measurement.
  void reset() {
    for (auto& group : groups) {
      group.state_on = false;
      group.disagreeing_blocks = 0;
      group.current = Segment{false, 0, samples_seen};
      group.completed.clear();
      group.reported.reset();
      group.last_burst_end = 0;
    }
    events.clear();
  }

  // Where the matching pattern began, if the recent runs match this tone.
  static std::optional<std::uint64_t> matches(const ToneGroup& group, const ToneSpec& spec) {
    if (continuous(spec)) {
      if (group.state_on && group.current.ms() >= dial_min_ms) return group.current.start_sample;
      return std::nullopt;
    }
    // Ongoing off run long enough but not too long, then (on, off) x
    // (cycles - 1), then on, newest first.
    if (group.state_on || group.current.ms() + block_ms < std::max(0.8 * spec.off_ms, spec.off_ms - 50.0) ||
        group.current.ms() > longest_off_ms(spec))
      return std::nullopt;
    const std::size_t needed = 2 * static_cast<std::size_t>(cycles_to_confirm(spec.tone)) - 1;
    if (group.completed.size() < needed) return std::nullopt;
    for (std::size_t back = 0; back < needed; ++back) {
      const Segment& segment = group.completed[group.completed.size() - 1 - back];
      const bool expect_on = back % 2 == 0;
      if (segment.on != expect_on || !duration_matches(segment.ms(), expect_on ? spec.on_ms : spec.off_ms))
        return std::nullopt;
    }
    return group.completed[group.completed.size() - needed].start_sample;
  }

  ToneProfile profile;
  std::vector<double> frequencies;
  std::vector<std::complex<double>> steps;
  std::vector<std::complex<double>> phasors;
  std::vector<std::complex<double>> sums;
  std::vector<ToneGroup> groups;
  double energy = 0;
  int fill = 0;
  std::uint64_t samples_seen = 0;
  std::vector<ToneEvent> events;
};

ToneDetector::ToneDetector(ToneProfile profile) : state_(std::make_unique<State>(std::move(profile))) {}
ToneDetector::~ToneDetector() = default;
ToneDetector::ToneDetector(ToneDetector&&) noexcept = default;
ToneDetector& ToneDetector::operator=(ToneDetector&&) noexcept = default;

void ToneDetector::push(std::span<const std::int16_t> samples) { state_->push(samples); }

void ToneDetector::reset() { state_->reset(); }

std::vector<ToneEvent> ToneDetector::take_events() {
  std::vector<ToneEvent> events;
  events.swap(state_->events);
  return events;
}

double tone_episode_gap_ms(const ToneSpec& spec) {
  if (continuous(spec)) return continuous_gap_ms;
  return longest_off_ms(spec) + std::max<double>(spec.on_ms + spec.off_ms, lost_cycle_min_ms);
}

std::string_view to_string(CallProgressTone tone) {
  switch (tone) {
    case CallProgressTone::dial: return "dial";
    case CallProgressTone::ringback: return "ringback";
    case CallProgressTone::busy: return "busy";
    case CallProgressTone::congestion: return "congestion";
  }
  return "?";
}

std::optional<ToneProfile> tone_profile(std::string_view country) {
  using enum CallProgressTone;
  if (country == "china")
    return ToneProfile{"china",
                       {{dial, 450, 0, 0, 0}, {busy, 450, 0, 350, 350}, {congestion, 450, 0, 700, 700},
                        {ringback, 450, 0, 1000, 4000}}};
  if (country == "north_america")
    return ToneProfile{"north_america",
                       {{dial, 350, 440, 0, 0}, {busy, 480, 620, 500, 500}, {congestion, 480, 620, 250, 250},
                        {ringback, 440, 480, 2000, 4000}}};
  if (country == "europe")
    return ToneProfile{"europe",
                       {{dial, 425, 0, 0, 0}, {busy, 425, 0, 500, 500}, {congestion, 425, 0, 250, 250},
                        {ringback, 425, 0, 1000, 4000}}};
  return std::nullopt;
}

}  // namespace deskline::codec
