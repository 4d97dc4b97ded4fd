// Fuzz target: what any local or browser client may send to the pop servers,
// and the events, hello and filter answers that clients parse.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/pop.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = deskline::proto::pop::parse_client_request(text);
  if (parsed && !parsed.request->resume_from && !parsed.request->lines && !parsed.request->desk)
    std::abort();  // empty request accepted
  if (parsed && parsed.request->lines && parsed.request->desk) std::abort();  // two filters at once
  if (!parsed && parsed.error.empty()) std::abort();  // refused without a reason
  if (parsed && parsed.request->stream && !parsed.request->resume_from) std::abort();  // a stream without a seq
  // Events clients parse back must survive a round trip.
  if (auto event = deskline::proto::pop::event_from_json(text)) {
    auto again = deskline::proto::pop::event_from_json(deskline::proto::pop::to_json(*event));
    if (!again) std::abort();
  }
  // So must the hello clients read first.
  if (auto hello = deskline::proto::pop::hello_from_json(text))
    if (deskline::proto::pop::hello_from_json(deskline::proto::pop::to_json(*hello)) != hello) std::abort();
  // And the answer to a filter request.
  if (auto answer = deskline::proto::pop::filter_answer_from_json(text))
    if (deskline::proto::pop::filter_answer_from_json(deskline::proto::pop::to_json(*answer)) != answer) std::abort();
  return 0;
}
