// What scenario actions put on a line: caller-ID messages as FSK or DTMF, and
// play tones, files and cadences, rendered with the codec generators. Also
// the caller-ID report a decoding box would derive from the same message.
#pragma once

#include <cstdint>
#include <string>

#include "codec/generators.hpp"
#include "codec/wav.hpp"
#include "proto/callerid.hpp"
#include "proto/scenario.hpp"
#include "proto/x800.hpp"

namespace deskline::sim {

proto::callerid::Message caller_id_message(const proto::scenario::CallerIdAction& action);
// Fields as the box decodes them from the chosen delivery (x800.md 6.5).
proto::x800::CallerId caller_id_report(const proto::scenario::CallerIdAction& action);
codec::Samples caller_id_fsk(const proto::scenario::CallerIdAction& action, std::uint32_t rate_hz);
std::string caller_id_dtmf_digits(const proto::scenario::CallerIdAction& action);

// Tone, busy or file audio of a play action; silence yields no samples.
// file: the WAV, mono at rate_hz, repeated or cut to duration (0 = once).
codec::Samples play_samples(const proto::scenario::PlayAction& action, std::uint32_t rate_hz,
                            const codec::WavAudio* file);

}  // namespace deskline::sim
