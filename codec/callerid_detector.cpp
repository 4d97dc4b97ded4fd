// Caller ID from line audio.
//
// Why not adsi_rx: spandsp 0.0.6's adsi_rx checks the checksum itself, drops
// bad frames silently and hands put_msg the frame without its checksum byte, so
// our parser could neither verify nor count rejections; and its fsk_rx lost
// about 6 % of messages at 10 dB SNR (measured, BENCHMARKS.md). So each FSK
// standard runs two demodulators in parallel into our own 8N1 framer:
//  - spandsp's fsk_rx (the demodulator inside adsi_rx), its carrier cutoff
//    lowered from -30 to -52 dBm0 (docs/architecture.md §8);
//  - our quadrature correlator over 9 samples with a bit clock that locks on the
//    channel seizure, which reaches the 10 dB target.
// Complete frames go to proto::callerid::parse; identical frames from several
// demodulators (and standards, in auto mode) are reported once, with the
// standard whose tones matched best.
#include <spandsp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <deque>
#include <functional>
#include <numbers>

#include "codec/generators.hpp"
#include "codec/line_detectors.hpp"

namespace deskline::codec {
namespace {

constexpr double sample_rate = detector_rate_hz;
constexpr double bit_samples = sample_rate / 1200.0;
// GR-30 sends >= 80 mark bits and EN 300 659-1 >= 55 before the first byte;
// asking for 40 keeps noise and speech from opening frames.
constexpr int min_mark_bits_before_message = 40;
// More idle ones than a stop bit and a few extra: the byte stream has ended.
constexpr int idle_ones_end_message = 10;
// And that mark must be a clean tone: over 8 ms a real mark holds 0.7 (V.23
// 3 % off) to 0.95 of the line's energy at 6..30 dB SNR; silence (read as mark)
// and speech hold far less. Without this, speech after a pause opened frames
// that ended as rejections (measured on espeak-ng Mandarin).
constexpr double min_mark_purity = 0.5;
// Wait this long for another demodulator to deliver the same frame.
constexpr std::uint64_t arbitration_samples = 400;      // 50 ms
constexpr std::uint64_t duplicate_window_samples = 8000;  // 1 s
constexpr std::uint64_t rejection_hold_samples = 4000;    // 0.5 s
constexpr std::uint64_t dtmf_quiet_samples = 4000;        // 0.5 s after the end character
constexpr std::uint64_t dtmf_max_gap_samples = 12000;     // 1.5 s between digits
constexpr double demodulator_floor_dbm0 = -52;

struct FskTones {
  double mark_hz;
  double space_hz;
};
FskTones tones_of(CallerIdStandard standard) {
  return standard == CallerIdStandard::v23 ? FskTones{1300, 2100} : FskTones{1200, 2200};
}

struct Candidate {
  CallerIdEvent event;
  double score = 0;  // how well the tones matched the standard (0..1)
  bool precise_timing = false;  // stamped per bit (ours), not per block (spandsp)
  std::uint64_t deadline = 0;
};

using CandidateSink = std::function<void(Candidate)>;

// Asynchronous 8N1 bytes from a bit stream, framed into caller-ID messages.
class MessageFramer {
 public:
  MessageFramer(CallerIdStandard standard, bool precise_timing, CandidateSink sink)
      : standard_(standard), precise_timing_(precise_timing), sink_(std::move(sink)) {}

  // mark_quality: how much of the line's energy is this standard's mark tone
  // (0..1), measured over the last 8 ms.
  void put_bit(bool bit, std::uint64_t sample, double mark_quality) {
    if (bit_position_ == 0) {
      if (bit) {
        ++idle_ones_;
        idle_quality_sum_ += mark_quality;
        ++idle_quality_count_;
        if (idle_ones_ == idle_ones_end_message) end_of_stream(sample);
        return;
      }
      // Start bit: a message may only begin after a long mark, whose purity
      // tells which standard this really is.
      if (message_.empty()) {
        mark_score_ = idle_quality_count_ > 0 ? idle_quality_sum_ / idle_quality_count_ : 0;
        may_start_ = idle_ones_ >= min_mark_bits_before_message && mark_score_ >= min_mark_purity;
      }
      idle_ones_ = 0;
      idle_quality_sum_ = 0;
      idle_quality_count_ = 0;
      byte_start_sample_ = sample;
      bit_position_ = 1;
      byte_ = 0;
      return;
    }
    if (bit_position_ <= 8) {
      byte_ = static_cast<std::uint8_t>((byte_ >> 1) | (bit ? 0x80 : 0));
      ++bit_position_;
      return;
    }
    bit_position_ = 0;  // stop bit
    if (!bit) return;   // framing error: inside a message the checksum or length catches it
    accept_byte(sample);
  }

  // The carrier went away: a message in progress is truncated.
  void end_of_stream(std::uint64_t sample) {
    if (!message_.empty()) finish(sample, CallerIdRejection::truncated, std::nullopt);
    reset_message();
  }

 private:
  void accept_byte(std::uint64_t sample) {
    if (message_.empty()) {
      if (!may_start_ || (byte_ != static_cast<std::uint8_t>(proto::callerid::Format::sdmf) &&
                          byte_ != static_cast<std::uint8_t>(proto::callerid::Format::mdmf)))
        return;
      message_start_sample_ = byte_start_sample_;
      message_score_ = mark_score_;
    }
    message_.push_back(byte_);
    if (message_.size() >= 3 && message_.size() == std::size_t{message_[1]} + 3) {
      const auto parsed = proto::callerid::parse(message_);
      if (parsed)
        finish(sample, std::nullopt, parsed.message);
      else
        finish(sample,
               parsed.error == proto::callerid::Error::bad_checksum ? CallerIdRejection::bad_checksum
                                                                     : CallerIdRejection::bad_content,
               std::nullopt);
      reset_message();
    }
  }

  void finish(std::uint64_t sample, std::optional<CallerIdRejection> rejection,
              std::optional<proto::callerid::Message> message) {
    Candidate candidate;
    candidate.event.start_sample = message_start_sample_;
    candidate.event.end_sample = sample;
    candidate.event.standard = standard_;
    candidate.event.message = std::move(message);
    candidate.event.rejection = rejection;
    candidate.event.raw = message_;
    candidate.score = message_score_;
    candidate.precise_timing = precise_timing_;
    sink_(std::move(candidate));
  }

  void reset_message() {
    message_.clear();
    may_start_ = false;
  }

  CallerIdStandard standard_;
  bool precise_timing_;
  CandidateSink sink_;
  int idle_ones_ = 0;
  int bit_position_ = 0;
  std::uint8_t byte_ = 0;
  bool may_start_ = false;
  std::uint64_t byte_start_sample_ = 0;
  std::uint64_t message_start_sample_ = 0;
  std::vector<std::uint8_t> message_;
  double idle_quality_sum_ = 0;
  std::size_t idle_quality_count_ = 0;
  double mark_score_ = 0;
  double message_score_ = 0;
};

// Non-coherent FSK: energy at mark minus energy at space, each the magnitude of
// a 9-sample complex correlation (a little longer than a bit: less noise and
// tone cross-talk for the cost of a little inter-symbol smear, best of 6..12
// measured for both standards). A bit clock is pulled towards every zero
// crossing of that difference, so it locks on the 300-bit channel seizure and
// keeps time through the marks; bits are read between samples by linear
// interpolation.
class CorrelatorDemodulator {
 public:
  CorrelatorDemodulator(FskTones tones, MessageFramer& framer)
      : mark_step_(std::polar(1.0, -2 * std::numbers::pi * tones.mark_hz / sample_rate)),
        space_step_(std::polar(1.0, -2 * std::numbers::pi * tones.space_hz / sample_rate)),
        floor_energy_(window * std::pow(dbm0_to_peak(demodulator_floor_dbm0), 2) / 2),
        framer_(framer) {}

  double mark_quality() const { return mark_quality_; }

  void push(std::span<const std::int16_t> samples, std::uint64_t first_sample) {
    for (std::size_t index = 0; index < samples.size(); ++index) {
      const double x = samples[index];
      const std::complex<double> mark_term = x * mark_phasor_;
      const std::complex<double> space_term = x * space_phasor_;
      mark_phasor_ *= mark_step_;
      space_phasor_ *= space_step_;
      if ((++phasor_age_ & 255) == 0) {  // keep the recurrences on the unit circle
        mark_phasor_ /= std::abs(mark_phasor_);
        space_phasor_ /= std::abs(space_phasor_);
      }
      mark_sum_ += mark_term - mark_history_[slot_];
      space_sum_ += space_term - space_history_[slot_];
      energy_sum_ += x * x - energy_history_[slot_];
      long_mark_sum_ += mark_term - long_mark_history_[long_slot_];
      long_energy_sum_ += x * x - long_energy_history_[long_slot_];
      long_mark_history_[long_slot_] = mark_term;
      long_energy_history_[long_slot_] = x * x;
      long_slot_ = (long_slot_ + 1) % long_window;
      mark_history_[slot_] = mark_term;
      space_history_[slot_] = space_term;
      energy_history_[slot_] = x * x;
      slot_ = (slot_ + 1) % window;

      const double mark_energy = std::norm(mark_sum_);
      const double space_energy = std::norm(space_sum_);
      const bool carrier = energy_sum_ > floor_energy_;
      // No carrier reads as mark, which ends any frame in progress.
      const double difference = carrier ? mark_energy - space_energy : 1.0;
      // Over 8 ms the mark correlator is narrow enough (+-125 Hz) to tell
      // 1200 Hz (Bell 202) from 1300 Hz (V.23), even 3 % off.
      mark_quality_ =
          carrier ? std::min(1.0, std::norm(long_mark_sum_) / (long_energy_sum_ * long_window / 2)) : 0.0;
      const double position = static_cast<double>(sample_count_);

      if (sample_count_ > 0 && (difference < 0) != (previous_difference_ < 0)) {
        const double crossing =
            position - 1 + previous_difference_ / (previous_difference_ - difference);
        // The crossing marks a bit edge; the best reading point is half a bit on.
        const double error = std::remainder(crossing + bit_samples / 2 - next_bit_at_, bit_samples);
        next_bit_at_ += clock_gain * error;
      }
      while (next_bit_at_ <= position) {
        const double fraction = position - next_bit_at_;
        const double value = difference + (previous_difference_ - difference) * fraction;
        framer_.put_bit(value >= 0, first_sample + index, mark_quality_);
        next_bit_at_ += bit_samples;
      }
      previous_difference_ = difference;
      ++sample_count_;
    }
  }

 private:
  static constexpr int window = 9;
  static constexpr int long_window = 64;
  static constexpr double clock_gain = 0.15;

  std::complex<double> mark_step_;
  std::complex<double> space_step_;
  std::complex<double> mark_phasor_{1, 0};
  std::complex<double> space_phasor_{1, 0};
  std::uint32_t phasor_age_ = 0;
  std::array<std::complex<double>, window> mark_history_{};
  std::array<std::complex<double>, window> space_history_{};
  std::array<double, window> energy_history_{};
  std::array<std::complex<double>, long_window> long_mark_history_{};
  std::array<double, long_window> long_energy_history_{};
  std::complex<double> long_mark_sum_{};
  double long_energy_sum_ = 0;
  int long_slot_ = 0;
  std::complex<double> mark_sum_{};
  std::complex<double> space_sum_{};
  double energy_sum_ = 0;
  int slot_ = 0;
  double floor_energy_;
  double mark_quality_ = 0;
  double previous_difference_ = 1.0;
  double next_bit_at_ = bit_samples;
  std::uint64_t sample_count_ = 0;
  MessageFramer& framer_;
};

// spandsp's FSK receiver (the one adsi_rx uses) feeding the same framer. It
// has no tone-purity measure of its own, so it borrows the correlator's, which
// has just seen the same block.
class SpandspDemodulator {
 public:
  SpandspDemodulator(CallerIdStandard standard, MessageFramer& framer, const CorrelatorDemodulator& purity_source)
      : framer_(framer), purity_source_(purity_source) {
    receiver_ = fsk_rx_init(nullptr,
                            &preset_fsk_specs[standard == CallerIdStandard::v23 ? FSK_V23CH1 : FSK_BELL202],
                            FSK_FRAME_MODE_SYNC, &SpandspDemodulator::on_bit, this);
    if (receiver_ != nullptr) fsk_rx_signal_cutoff(receiver_, static_cast<float>(demodulator_floor_dbm0));
  }
  ~SpandspDemodulator() {
    if (receiver_ != nullptr) fsk_rx_free(receiver_);
  }
  SpandspDemodulator(const SpandspDemodulator&) = delete;
  SpandspDemodulator& operator=(const SpandspDemodulator&) = delete;

  void push(std::span<const std::int16_t> samples, std::uint64_t first_sample) {
    if (receiver_ == nullptr) return;
    current_sample_ = first_sample + samples.size();
    fsk_rx(receiver_, samples.data(), static_cast<int>(samples.size()));
  }

 private:
  static void on_bit(void* user_data, int bit) {
    auto* self = static_cast<SpandspDemodulator*>(user_data);
    if (bit < 0) {
      if (bit == SIG_STATUS_CARRIER_DOWN) self->framer_.end_of_stream(self->current_sample_);
      return;
    }
    self->framer_.put_bit((bit & 1) != 0, self->current_sample_, self->purity_source_.mark_quality());
  }

  MessageFramer& framer_;
  const CorrelatorDemodulator& purity_source_;
  fsk_rx_state_t* receiver_ = nullptr;
  std::uint64_t current_sample_ = 0;  // block resolution: fsk_rx has no per-bit time
};

struct FskChain {
  FskChain(CallerIdStandard standard, const CandidateSink& sink)
      : correlator_framer(standard, true, sink),
        spandsp_framer(standard, false, sink),
        correlator(tones_of(standard), correlator_framer),
        spandsp(standard, spandsp_framer, correlator) {}
  void push(std::span<const std::int16_t> samples, std::uint64_t first_sample) {
    correlator.push(samples, first_sample);
    spandsp.push(samples, first_sample);
  }
  MessageFramer correlator_framer;
  MessageFramer spandsp_framer;
  CorrelatorDemodulator correlator;
  SpandspDemodulator spandsp;
};

struct DtmfBurst {
  std::string digits;
  std::uint64_t start_sample = 0;
  std::uint64_t last_end_sample = 0;
  bool terminated = false;
};

bool is_dtmf_start(char digit) { return digit == 'A' || digit == 'B' || digit == 'D'; }
bool is_dtmf_end(char digit) { return digit == 'C' || digit == '#'; }

std::uint64_t distance(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : b - a; }

}  // namespace

struct CallerIdDetector::State {
  explicit State(CallerIdDecoders decoders_in) : decoders(decoders_in) {
    const CandidateSink sink = [this](Candidate candidate) { offer(std::move(candidate)); };
    if (decoders == CallerIdDecoders::auto_detect || decoders == CallerIdDecoders::bell202)
      chains.push_back(std::make_unique<FskChain>(CallerIdStandard::bell202, sink));
    if (decoders == CallerIdDecoders::auto_detect || decoders == CallerIdDecoders::v23)
      chains.push_back(std::make_unique<FskChain>(CallerIdStandard::v23, sink));
  }

  bool dtmf_enabled() const {
    return decoders == CallerIdDecoders::auto_detect || decoders == CallerIdDecoders::dtmf;
  }

  void offer(Candidate candidate) {
    const auto end = candidate.event.end_sample;
    if (candidate.event.accepted()) {
      for (const auto& [raw, at] : recently_reported)
        if (raw == candidate.event.raw && distance(at, end) < duplicate_window_samples) return;
      std::erase_if(pending_rejections, [end](const Candidate& rejected) {
        return distance(rejected.event.end_sample, end) < rejection_hold_samples;
      });
      for (auto& pending : pending_accepted) {
        if (pending.event.raw != candidate.event.raw) continue;
        // The better-matched standard wins; within one standard, per-bit
        // timing wins over per-block.
        const bool same_standard = candidate.event.standard == pending.event.standard;
        if (same_standard ? candidate.precise_timing && !pending.precise_timing : candidate.score > pending.score) {
          pending.score = std::max(pending.score, candidate.score);
          pending.precise_timing = candidate.precise_timing;
          pending.event = std::move(candidate.event);
        }
        return;
      }
      candidate.deadline = end + arbitration_samples;
      pending_accepted.push_back(std::move(candidate));
      return;
    }
    // A rejection is noise when any demodulator got a good frame nearby, and
    // one bad burst seen by several demodulators counts once.
    for (const auto& pending : pending_accepted)
      if (distance(pending.event.end_sample, end) < rejection_hold_samples) return;
    for (const auto& [raw, at] : recently_reported)
      if (distance(at, end) < rejection_hold_samples) return;
    for (const auto& pending : pending_rejections)
      if (distance(pending.event.end_sample, end) < rejection_hold_samples) return;
    candidate.deadline = end + rejection_hold_samples;
    pending_rejections.push_back(std::move(candidate));
  }

  void report(Candidate& candidate) {
    if (candidate.event.accepted()) {
      ++counters.accepted;
    } else {
      switch (*candidate.event.rejection) {
        case CallerIdRejection::bad_checksum: ++counters.bad_checksum; break;
        case CallerIdRejection::truncated: ++counters.truncated; break;
        case CallerIdRejection::bad_content: ++counters.bad_content; break;
      }
    }
    recently_reported.emplace_back(candidate.event.raw, candidate.event.end_sample);
    events.push_back(std::move(candidate.event));
  }

  void settle(std::uint64_t now) {
    for (auto* queue : {&pending_accepted, &pending_rejections}) {
      for (auto& candidate : *queue)
        if (candidate.deadline <= now) report(candidate);
      std::erase_if(*queue, [now](const Candidate& candidate) { return candidate.deadline <= now; });
    }
    while (!recently_reported.empty() && recently_reported.front().second + duplicate_window_samples < now)
      recently_reported.pop_front();
    if (dtmf_burst && dtmf_burst->terminated && dtmf_burst->last_end_sample + dtmf_quiet_samples <= now)
      finish_dtmf_burst();
  }

  void push_digit(const DtmfDigitEvent& digit) {
    if (!dtmf_enabled()) return;
    if (dtmf_burst && digit.start_sample > dtmf_burst->last_end_sample + dtmf_max_gap_samples) {
      if (dtmf_burst->terminated)
        finish_dtmf_burst();
      else
        dtmf_burst.reset();  // never ended: not caller ID (or cut short)
    }
    if (!dtmf_burst) {
      // Dialled numbers and IVR keys do not start with A, B or D.
      if (!is_dtmf_start(digit.digit)) return;
      dtmf_burst = DtmfBurst{{}, digit.start_sample, 0, false};
    }
    dtmf_burst->digits.push_back(digit.digit);
    dtmf_burst->last_end_sample = digit.end_sample();
    dtmf_burst->terminated = is_dtmf_end(digit.digit);
  }

  void finish_dtmf_burst() {
    CallerIdEvent event;
    event.standard = CallerIdStandard::dtmf;
    event.start_sample = dtmf_burst->start_sample;
    event.end_sample = dtmf_burst->last_end_sample;
    event.raw.assign(dtmf_burst->digits.begin(), dtmf_burst->digits.end());
    if (auto message = proto::callerid::parse_dtmf(dtmf_burst->digits)) {
      event.message = std::move(*message);
      ++counters.accepted;
    } else {
      event.rejection = CallerIdRejection::bad_content;
      ++counters.bad_content;
    }
    events.push_back(std::move(event));
    dtmf_burst.reset();
  }

  void push(std::span<const std::int16_t> samples) {
    // Blocks of 160 so arbitration deadlines are met within 20 ms.
    constexpr std::size_t block = 160;
    for (std::size_t offset = 0; offset < samples.size(); offset += block) {
      const auto part = samples.subspan(offset, std::min(block, samples.size() - offset));
      for (auto& chain : chains) chain->push(part, samples_pushed);
      samples_pushed += part.size();
      settle(samples_pushed);
    }
  }

  CallerIdDecoders decoders;
  std::vector<std::unique_ptr<FskChain>> chains;
  std::vector<Candidate> pending_accepted;
  std::vector<Candidate> pending_rejections;
  std::deque<std::pair<std::vector<std::uint8_t>, std::uint64_t>> recently_reported;
  std::optional<DtmfBurst> dtmf_burst;
  std::vector<CallerIdEvent> events;
  CallerIdCounters counters;
  std::uint64_t samples_pushed = 0;
};

CallerIdDetector::CallerIdDetector(CallerIdDecoders decoders) : state_(std::make_unique<State>(decoders)) {}
CallerIdDetector::~CallerIdDetector() = default;
CallerIdDetector::CallerIdDetector(CallerIdDetector&&) noexcept = default;
CallerIdDetector& CallerIdDetector::operator=(CallerIdDetector&&) noexcept = default;

void CallerIdDetector::push(std::span<const std::int16_t> samples) { state_->push(samples); }
void CallerIdDetector::push_digit(const DtmfDigitEvent& digit) { state_->push_digit(digit); }

std::vector<CallerIdEvent> CallerIdDetector::take_events() {
  std::vector<CallerIdEvent> events;
  events.swap(state_->events);
  std::sort(events.begin(), events.end(),
            [](const CallerIdEvent& a, const CallerIdEvent& b) { return a.start_sample < b.start_sample; });
  return events;
}

const CallerIdCounters& CallerIdDetector::counters() const { return state_->counters; }
std::uint64_t CallerIdDetector::samples_pushed() const { return state_->samples_pushed; }

std::string_view to_string(CallerIdStandard standard) {
  switch (standard) {
    case CallerIdStandard::bell202: return "bell202";
    case CallerIdStandard::v23: return "v23";
    case CallerIdStandard::dtmf: return "dtmf";
  }
  return "?";
}

std::string_view to_string(CallerIdRejection reason) {
  switch (reason) {
    case CallerIdRejection::bad_checksum: return "bad_checksum";
    case CallerIdRejection::truncated: return "truncated";
    case CallerIdRejection::bad_content: return "bad_content";
  }
  return "?";
}

std::optional<CallerIdDecoders> caller_id_decoders_from_string(std::string_view text) {
  if (text == "auto") return CallerIdDecoders::auto_detect;
  if (text == "bell202") return CallerIdDecoders::bell202;
  if (text == "v23") return CallerIdDecoders::v23;
  if (text == "dtmf") return CallerIdDecoders::dtmf;
  return std::nullopt;
}

}  // namespace deskline::codec
