#include "drivers/audio/backend_messages.hpp"

#include <dlfcn.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

namespace deskline::drivers::audio {
namespace {

// The libraries' hook types (alsa/error.h, jack/jack.h), declared here so that
// their headers are not needed.
using AlsaHandler = void (*)(const char* file, int line, const char* function, int error, const char* format, ...);
using SetAlsaHandler = int (*)(AlsaHandler);
using JackHandler = void (*)(const char* message);
using SetJackHandler = void (*)(JackHandler);

std::mutex route_mutex;
std::function<void(std::string_view)>& route() {
  static std::function<void(std::string_view)> handler;
  return handler;
}

void deliver(std::string_view message) {
  std::lock_guard lock(route_mutex);
  if (route()) route()(message);
}

void alsa_message(const char* file, int line, const char* function, int error, const char* format, ...) {
  char text[512];
  va_list arguments;
  va_start(arguments, format);
  std::vsnprintf(text, sizeof text, format, arguments);
  va_end(arguments);
  std::string message = std::string("ALSA ") + (file ? file : "?") + ":" + std::to_string(line) + " (" +
                        (function ? function : "?") + ") " + text;
  if (error != 0) message += std::string(": ") + std::strerror(error < 0 ? -error : error);
  deliver(message);
}

void jack_message(const char* message) { deliver(std::string("JACK ") + (message ? message : "")); }

template <typename Setter>
Setter find(const char* name) {
  return reinterpret_cast<Setter>(::dlsym(RTLD_DEFAULT, name));
}

}  // namespace

void route_backend_messages(std::function<void(std::string_view)> handler) {
  {
    std::lock_guard lock(route_mutex);
    route() = std::move(handler);
  }
  static std::once_flag hooked;
  std::call_once(hooked, [] {
    if (const auto set_alsa = find<SetAlsaHandler>("snd_lib_error_set_handler")) set_alsa(alsa_message);
    if (const auto set_jack_error = find<SetJackHandler>("jack_set_error_function")) set_jack_error(jack_message);
    if (const auto set_jack_info = find<SetJackHandler>("jack_set_info_function")) set_jack_info(jack_message);
  });
}

}  // namespace deskline::drivers::audio
