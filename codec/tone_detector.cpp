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
constexpr double episode_end_quiet_ms = 6000;  // longer than any cadence's off time
constexpr std::size_t max_segments = 8;

int cycles_to_confirm(CallProgressTone tone) { return tone == CallProgressTone::ringback ? 1 : 2; }

bool duration_matches(double measured_ms, double nominal_ms) {
  const double tolerance = std::max(0.2 * nominal_ms, 50.0) + block_ms;
  return std::abs(measured_ms - nominal_ms) <= tolerance;
}

struct Segment {
  bool on = false;
  int blocks = 0;
  std::uint64_t start_sample = 0;
  double ms() const { return blocks * block_ms; }
};

// The tones of a profile that share one set of frequencies (China: all of them).
struct ToneGroup {
  std::vector<std::size_t> frequency_indices;
  std::vector<ToneSpec> specs;
  bool state_on = false;
  int disagreeing_blocks = 0;
  Segment current;
  std::deque<Segment> completed;
  std::optional<CallProgressTone> reported;
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
        groups.push_back(ToneGroup{indices, {}, false, 0, {}, {}, std::nullopt});
        group = groups.end() - 1;
      }
      group->specs.push_back(spec);
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
        group.completed.push_back(group.current);
        if (group.completed.size() > max_segments) group.completed.pop_front();
      }
      group.state_on = on;
      group.current = Segment{on, debounce_blocks, block_start - (debounce_blocks - 1) * block};
      group.disagreeing_blocks = 0;
    } else {
      ++group.current.blocks;
    }
    if (!group.state_on && group.current.ms() >= episode_end_quiet_ms) group.reported.reset();
    for (const auto& spec : group.specs) {
      const auto start = matches(group, spec);
      if (!start || group.reported == spec.tone) continue;
      group.reported = spec.tone;
      events.push_back(ToneEvent{samples_seen, *start, spec.tone});
    }
  }

  // Where the matching pattern began, if the recent runs match this tone.
  static std::optional<std::uint64_t> matches(const ToneGroup& group, const ToneSpec& spec) {
    if (spec.on_ms == 0 || spec.off_ms == 0) {
      if (group.state_on && group.current.ms() >= dial_min_ms) return group.current.start_sample;
      return std::nullopt;
    }
    // Ongoing off run long enough, then (on, off) x (cycles - 1), then on,
    // newest first.
    if (group.state_on || group.current.ms() + block_ms < std::max(0.8 * spec.off_ms, spec.off_ms - 50.0))
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

std::vector<ToneEvent> ToneDetector::take_events() {
  std::vector<ToneEvent> events;
  events.swap(state_->events);
  return events;
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
