// ALSA and JACK, which PortAudio probes when it starts (every ALSA PCM alias,
// a JACK server), print what they do not find to stderr: some 30 lines each
// start, none of them a fault. This hands their messages to a handler instead
// (the daemon logs them at debug level). Process-wide, as the libraries'
// hooks are; found at run time, so nothing links ALSA or JACK for it.
#pragma once

#include <functional>
#include <string_view>

namespace deskline::drivers::audio {

// Until called again; an empty handler drops the messages. Safe to call while
// other threads use ALSA or JACK.
void route_backend_messages(std::function<void(std::string_view)> handler);

}  // namespace deskline::drivers::audio
