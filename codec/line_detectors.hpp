// What a line's audio says: caller ID (Bell 202 / V.23 FSK, DTMF), DTMF
// digits and call-progress tones. Push APIs with opaque state, spandsp style:
// push 16-bit linear PCM at 8000 Hz in blocks of any size, then take the
// events, each stamped with its position in samples since the detector was
// made (the caller's line clock). No threads, no I/O, no clocks.
//
// Threading: one detector is used by one thread at a time; different
// detectors are independent. Of spandsp only fsk_rx is used, whose tables are
// static data (dtmf_rx, with its lazy global init, is not used at all).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/callerid.hpp"

namespace deskline::codec {

inline constexpr std::uint32_t detector_rate_hz = 8000;

// ---- caller ID ---------------------------------------------------------------

enum class CallerIdStandard : std::uint8_t { bell202, v23, dtmf };
std::string_view to_string(CallerIdStandard standard);

// Which decoders run. auto_detect runs them all in parallel and reports the
// first valid message (config::CallerIdMode::box means: make no detector).
enum class CallerIdDecoders : std::uint8_t { auto_detect, bell202, v23, dtmf };
std::optional<CallerIdDecoders> caller_id_decoders_from_string(std::string_view text);

enum class CallerIdRejection : std::uint8_t {
  bad_checksum,  // a whole frame arrived but its checksum is wrong
  truncated,     // the carrier stopped before the frame was complete
  bad_content,   // checksum right, content impossible (proto::callerid::Error)
};
std::string_view to_string(CallerIdRejection reason);

struct CallerIdEvent {
  std::uint64_t start_sample = 0;  // first bit of the message (FSK) or first digit (DTMF)
  std::uint64_t end_sample = 0;    // where it was complete
  CallerIdStandard standard = CallerIdStandard::bell202;
  // Exactly one of message / rejection is set: a rejected message is never
  // partly used.
  std::optional<proto::callerid::Message> message;
  std::optional<CallerIdRejection> rejection;
  std::vector<std::uint8_t> raw;  // FSK frame bytes, or the DTMF digit string
  bool accepted() const { return message.has_value(); }
};

struct CallerIdCounters {
  std::uint64_t accepted = 0;
  std::uint64_t bad_checksum = 0;
  std::uint64_t truncated = 0;
  std::uint64_t bad_content = 0;
};

// ---- DTMF ----------------------------------------------------------------------

struct DtmfDigitEvent {
  std::uint64_t start_sample = 0;
  std::uint32_t duration_samples = 0;
  char digit = 0;  // 0-9 * # A-D
  std::uint64_t end_sample() const { return start_sample + duration_samples; }
};

// ---- call progress -------------------------------------------------------------

enum class CallProgressTone : std::uint8_t { dial, ringback, busy, congestion };
std::string_view to_string(CallProgressTone tone);

// One tone of a national plan: up to two frequencies sounded together and a
// cadence (on_ms = 0: continuous).
struct ToneSpec {
  CallProgressTone tone = CallProgressTone::busy;
  double frequency_hz = 450;
  double second_frequency_hz = 0;  // 0: single frequency
  int on_ms = 0;
  int off_ms = 0;
};

struct ToneProfile {
  std::string country;
  std::vector<ToneSpec> tones;
};
// "china" (default: 450 Hz dial continuous, busy 350/350, ringback 1 s/4 s,
// congestion 700/700), "north_america" (350+440 dial, 480+620 busy 500/500 and
// reorder 250/250, 440+480 ringback 2 s/4 s), "europe" (CEPT 425 Hz: busy
// 500/500, congestion 250/250, ringback 1 s/4 s). nullopt for any other name.
std::optional<ToneProfile> tone_profile(std::string_view country);

// How long a line must go without a tone before that tone's episode is over:
// the longest off time its cadence allows, off_ms + max(20 %, 50 ms) + one
// 16 ms block, plus one lost cycle of at least 1 s, so that noise that eats a
// burst does not split an episode in two. China busy 1.44 s, congestion
// 2.26 s, ringback 9.82 s; Europe busy 1.62 s, congestion 1.32 s; North
// America busy 1.62 s, ringback 10.82 s; a continuous (dial) tone 1 s.
double tone_episode_gap_ms(const ToneSpec& spec);

struct ToneEvent {
  std::uint64_t sample = 0;        // where the tone was confirmed
  std::uint64_t start_sample = 0;  // where its first burst began
  CallProgressTone tone = CallProgressTone::busy;
};

// ---- the detectors ---------------------------------------------------------------

// FSK caller ID (our quadrature-correlator demodulator and spandsp's fsk_rx in
// parallel for each enabled standard, frames checked by proto::callerid::parse)
// and DTMF caller ID assembled from digits handed in with push_digit().
class CallerIdDetector {
 public:
  explicit CallerIdDetector(CallerIdDecoders decoders = CallerIdDecoders::auto_detect);
  ~CallerIdDetector();
  CallerIdDetector(CallerIdDetector&&) noexcept;
  CallerIdDetector& operator=(CallerIdDetector&&) noexcept;

  void push(std::span<const std::int16_t> samples);
  // DTMF caller ID: a burst starting with A, B or D and ending with C or #,
  // followed by 0.5 s without digits, is parsed by proto::callerid::parse_dtmf.
  void push_digit(const DtmfDigitEvent& digit);
  std::vector<CallerIdEvent> take_events();
  const CallerIdCounters& counters() const;
  std::uint64_t samples_pushed() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Q.24 DTMF receiver of our own (sliding 16 ms correlators with a frequency
// estimate), since spandsp 0.0.6's dtmf_rx neither rejects 23 ms tones nor
// accepts +4/-8 dB twist (measured; see BENCHMARKS.md). Operates on 0 to -25
// dBm0 per tone, +-1.5 %, >= 40 ms, twist +4/-8 dB; rejects +-3.5 % and
// <= 23 ms. A digit is reported when it ends, with its start and duration.
class DtmfDetector {
 public:
  DtmfDetector();
  ~DtmfDetector();
  DtmfDetector(DtmfDetector&&) noexcept;
  DtmfDetector& operator=(DtmfDetector&&) noexcept;

  void push(std::span<const std::int16_t> samples);
  std::vector<DtmfDigitEvent> take_events();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Call-progress tones by energy at the profile's frequencies in 16 ms blocks
// and cadence matching: dial after 1.5 s of continuous tone, busy and
// congestion after two matching on/off cycles, ringback after one.
//
// Episodes, the contract the call engine relies on:
// - One report per episode: a tone is reported once, when its cadence is
//   confirmed, however long it goes on. A change to another tone of the
//   profile is a new episode and is reported.
// - Idle again after the tone's gap: once the line has gone longer than
//   tone_episode_gap_ms(spec) without a burst of the reported tone (silence,
//   noise, speech: whatever stopped it, wherever in its cadence), the episode
//   is over and its on/off history is dropped. Nothing is reported from the old
//   pattern, and the same tone sounding again is a new episode, reported once
//   more when its cadence is confirmed afresh (two cycles for busy).
// - reset() forgets everything heard so far at once (see
//   LineDetectors::reset_call_progress).
class ToneDetector {
 public:
  explicit ToneDetector(ToneProfile profile = *tone_profile("china"));
  ~ToneDetector();
  ToneDetector(ToneDetector&&) noexcept;
  ToneDetector& operator=(ToneDetector&&) noexcept;

  void push(std::span<const std::int16_t> samples);
  std::vector<ToneEvent> take_events();
  // Back to a new detector's state: no history, nothing reported, events not
  // yet taken dropped. Sample positions keep counting from construction.
  void reset();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// ---- one line ----------------------------------------------------------------------

using LineEvent = std::variant<CallerIdEvent, DtmfDigitEvent, ToneEvent>;
std::uint64_t event_sample(const LineEvent& event);  // where the event starts

struct LineDetectorOptions {
  std::optional<CallerIdDecoders> caller_id = CallerIdDecoders::auto_detect;  // nullopt: off
  bool dtmf = true;
  bool call_progress = true;
  ToneProfile tones = *tone_profile("china");
};

// Everything a line needs, sharing one DTMF receiver between dialled digits
// and DTMF caller ID. Digits are reported whatever the hook state: the call
// engine decides whether they are caller ID (on hook), the dialled number or
// in-call keys.
class LineDetectors {
 public:
  explicit LineDetectors(LineDetectorOptions options = {});
  ~LineDetectors();
  LineDetectors(LineDetectors&&) noexcept;
  LineDetectors& operator=(LineDetectors&&) noexcept;

  void push(std::span<const std::int16_t> samples);
  // Events since the last call, ordered by event_sample().
  std::vector<LineEvent> take_events();
  // A clean call-progress detector for the next call (call at on-hook): the
  // tone history and episode are forgotten and tone events not yet taken are
  // dropped, so nothing heard on the last call is reported on the next.
  // Caller ID, DTMF and the sample clock carry on. No-op without call_progress.
  void reset_call_progress();
  const CallerIdCounters& caller_id_counters() const;
  std::uint64_t samples_pushed() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Converts any rate to 8000 Hz with a windowed-sinc low-pass at 3.6 kHz
// (Blackman window, 16 input periods either side): enough for detection,
// not for hi-fi. Identity at 8000 Hz; nothing for rate 0. Block by block,
// holding only a kernel's width of input: pushing in any blocks then
// finish() gives exactly what resample_to_8000 gives for the whole signal.
class ResamplerTo8000 {
 public:
  explicit ResamplerTo8000(std::uint32_t rate_hz);
  // Appends to out the samples whose inputs have all arrived.
  void push(std::span<const std::int16_t> samples, std::vector<std::int16_t>& out);
  // Appends the rest: the end of the signal is known now.
  void finish(std::vector<std::int16_t>& out);

 private:
  std::int16_t output_sample(std::uint64_t last_input) const;

  std::uint32_t rate_hz_;
  double ratio_;       // input samples per output sample
  double cutoff_;      // cycles per input sample
  double half_width_;  // input samples either side
  std::vector<std::int16_t> input_;  // from input sample input_start_ on
  std::uint64_t input_start_ = 0;
  std::uint64_t next_output_ = 0;
};
std::vector<std::int16_t> resample_to_8000(std::span<const std::int16_t> samples, std::uint32_t rate_hz);

}  // namespace deskline::codec
