#include "daemon/api/pop_hub.hpp"

#include "daemon/api/pop_filter.hpp"

#include <algorithm>
#include <utility>

#include "daemon/domain/call_json.hpp"

namespace deskline::daemon {
namespace {

using drivers::realtime_us;

// A call found off-hook at attach has no known direction: it was joined.
std::string started_event_name(Direction direction) {
  switch (direction) {
    case Direction::inbound: return "call.ringing";
    case Direction::outbound: return "call.outbound";
    case Direction::unknown: return "call.joined";
  }
  return "call.joined";
}

// json is the event as to_json wrote it, now or before a restart.
PopMessagePtr make_message(proto::pop::Event event, std::string json) {
  auto message = std::make_shared<PopMessage>();
  message->text = std::move(json) + "\n";
  message->event = std::move(event);
  return message;
}

PopMessagePtr make_message(proto::pop::Event event) {
  auto json = proto::pop::to_json(event);
  return make_message(std::move(event), std::move(json));
}

}  // namespace

PopHub::PopHub(Logger& log, PopEventLog& history, PopEventLog& appends, StoreWriter& writer)
    : log_(log), history_(history), appends_(appends), writer_(writer), next_seq_(appends.last_seq_at_open() + 1) {
  reserved_ = next_seq_ - 1;
  handled_through_ = next_seq_ - 1;
  reservation_asked_ = next_seq_ - 1 + reservation_block;
  if (auto reserved = appends_.reserve_through(reservation_asked_); reserved)
    reserved_ = reservation_asked_;
  else
    log_.error("cannot reserve pop event seqs: {}", reserved.error().message());
}

PopHub::~PopHub() {
  writer_.submit([this, last = last_seq()] {
    if (auto given_back = appends_.reserve_through(last); !given_back)
      log_.warning("cannot give back the pop event seqs after {} (the next run skips them): {}", last,
                   given_back.error().message());
  });
  writer_.flush();
}

std::string PopHub::hello(const config::DeskConfig* scope) const {
  return proto::pop::to_json(scoped_hello(stream_id(), last_seq(), *config_, scope)) + "\n";
}

void PopHub::unsubscribe(PopSubscriber& subscriber) {
  std::erase(subscribers_, &subscriber);
}

proto::pop::Event PopHub::call_event(std::string name, const CallRecord& call) {
  proto::pop::Event event;
  event.event = std::move(name);
  event.call_id = call.id;
  event.line = call.line;
  event.direction = to_string(call.direction);
  event.box = call.box;
  event.port = call.port;
  event.name = call.name;
  if (call.number_absence) event.privacy = *call.number_absence == 'P' ? "private" : "unavailable";
  if (!call.number.empty()) {
    event.number = call.match.e164.empty() ? call.number : call.match.e164;
    event.number_display = call.match.display;
  }
  for (const auto& customer : call.match.customers)
    event.customers.push_back({customer.id, customer.name, customer.company, customer.url});
  event.started_at = format_iso8601(call.started_at);
  if (call.answered_at) event.answered_at = format_iso8601(*call.answered_at);
  return event;
}

void PopHub::call_changed(CallChange change, const CallRecord& call, const CallChangeDetail& detail) {
  std::string name;
  switch (change) {
    case CallChange::started: name = started_event_name(call.direction); break;
    case CallChange::digit_dialled: name = "call.dialling"; break;  // progress: the digits so far, not the number
    case CallChange::identified:
    case CallChange::number_dialled: name = "call.identified"; break;
    case CallChange::answered: name = "call.answered"; break;
    case CallChange::flash: name = "call.flash"; break;
    case CallChange::ended: name = call.outcome == Outcome::missed ? "call.missed" : "call.ended"; break;
    case CallChange::digit_in_call: return;  // not a pop: kept in the call's events
    case CallChange::on_hook: return;        // a flash or the end: the next event tells
  }
  auto event = call_event(std::move(name), call);
  if (change == CallChange::ended) {
    if (call.outcome) event.outcome = std::string(to_string(*call.outcome));
    if (const auto connected = duration(call)) event.duration_s = static_cast<double>(connected->count()) / 1000.0;
    event.at = format_iso8601(call.ended_at.value_or(realtime_us()));
  } else if (change == CallChange::answered && call.answered_at) {
    event.at = format_iso8601(*call.answered_at);
  } else if (change == CallChange::started) {
    event.at = format_iso8601(call.started_at);
  } else if (detail.at != 0) {
    event.at = format_iso8601(detail.at);
  }
  if (change == CallChange::flash) event.flash_ms = detail.flash_ms;
  if (change == CallChange::digit_dialled) event.digits = detail.digits;
  const bool ended = change == CallChange::ended;
  const auto call_id = call.id;
  const auto message = publish(std::move(event));
  if (ended) {
    active_.erase(call_id);
  } else {
    auto replay = message->event;
    replay.replay = true;
    active_[call_id] = make_message(std::move(replay));
  }
}

void PopHub::box_changed(const drivers::BoxIdentity& box, bool attached) {
  proto::pop::Event event;
  event.event = attached ? "device.attached" : "device.detached";
  event.box = box.serial;
  publish(std::move(event));
}

void PopHub::recording_saved(const CallRecord& call, const std::string& path, double duration_s,
                             std::uint64_t bytes) {
  auto event = call_event("recording.saved", call);
  event.recording_path = path;
  event.recording_bytes = bytes;
  event.duration_s = duration_s;
  publish(std::move(event));
}

PopMessagePtr PopHub::publish(proto::pop::Event event) {
  event.seq = next_seq_++;
  ++counters_.published;
  if (event.at.empty()) event.at = format_iso8601(realtime_us());
  auto message = make_message(std::move(event));
  const auto seq = message->event.seq;
  // Reserved before anyone sees it, so that no seq a desk has seen is given
  // to another event after a restart, even a SIGKILL right after delivery.
  reserve_for(seq);
  forget_stored();
  unstored_.push_back(message);
  writer_.submit([this, message, published_at = realtime_us()] { store(*message, published_at); });
  log_.debug("pop seq={} {} call={} line={}", seq, message->event.event,
             message->event.call_id.empty() ? "-" : message->event.call_id,
             message->event.line.empty() ? "-" : message->event.line);
  // A subscriber may unsubscribe itself while being delivered to.
  const auto subscribers = subscribers_;
  for (auto* subscriber : subscribers)
    if (std::find(subscribers_.begin(), subscribers_.end(), subscriber) != subscribers_.end())
      subscriber->deliver(message);
  return message;
}

// Extends the reservation while half a block is left (at every event while
// the database refuses it), on the writer thread; waits for it only when the
// writer is so far behind that seq is not reserved yet.
void PopHub::reserve_for(std::uint64_t seq) {
  if (reservation_asked_ < seq + reservation_block / 2 || reservation_failing_)
    reserve_through(seq + reservation_block);
  if (seq <= reserved_.load()) {
    reservation_failing_ = false;
    return;
  }
  if (reservation_failing_) return;  // said; no wait per event while the database refuses
  writer_.flush();
  if (seq <= reserved_.load()) return;
  reservation_failing_ = true;
  log_.error("pop event seq={} is not reserved in the database: if desklined crashes now, the next run may "
             "give its seq to another event (said once until a reservation succeeds)",
             seq);
}

void PopHub::reserve_through(std::uint64_t seq) {
  reservation_asked_ = seq;
  writer_.submit([this, seq] {
    auto reserved = appends_.reserve_through(seq);
    if (reserved) reserved_.store(seq);
    else log_.error("cannot reserve pop event seqs through {}: {}", seq, reserved.error().message());
  });
}

// The events the writer has handled are the log's to serve from now on.
void PopHub::forget_stored() {
  const auto handled = handled_through_.load();
  while (!unstored_.empty() && unstored_.front()->event.seq <= handled) unstored_.pop_front();
}

void PopHub::store(const PopMessage& message, std::int64_t published_at) {
  const auto& event = message.event;
  const std::string_view json(message.text.data(), message.text.size() - 1);  // without the newline
  const auto stored = appends_.append(event.seq, event.call_id, published_at, json);
  if (!stored && !store_failing_)
    log_.error("cannot store pop event seq={}: {}; pops go on, but clients cannot resume across them "
               "(further failures are not logged until a store succeeds)",
               event.seq, stored.error().message());
  else if (stored && store_failing_)
    log_.info("pop events are stored again from seq={}", event.seq);
  store_failing_ = !stored;
  handled_through_.store(event.seq);
  // Old events go in batches (a batch of 100 took ~0.2 ms).
  if (++stored_since_prune_ < prune_batch) return;
  stored_since_prune_ = 0;
  if (event.seq <= history_limit) return;
  if (const auto pruned = appends_.prune_through(event.seq - history_limit); !pruned)
    log_.warning("cannot delete old pop events: {}", pruned.error().message());
}

std::vector<PopMessagePtr> PopHub::active_calls() const {
  std::vector<PopMessagePtr> calls;
  for (const auto& [call_id, message] : active_) calls.push_back(message);
  std::sort(calls.begin(), calls.end(), [](const auto& a, const auto& b) { return a->event.seq < b->event.seq; });
  return calls;
}

std::vector<PopMessagePtr> PopHub::history_since(std::uint64_t after, bool& gap) const {
  // What publish forgot, the writer had handled: it is in this read's snapshot.
  std::vector<PopMessagePtr> events;
  auto stored = history_.since(after);
  if (!stored) log_.error("cannot read pop events after seq={}: {}", after, stored.error().message());
  for (auto& row : stored.value_or(std::vector<StoredPopEvent>{})) {
    auto event = proto::pop::event_from_json(row.json);
    if (!event || event->seq != row.seq) {
      log_.error("pop event seq={} in the store is not a pop event of this deskline; skipped", row.seq);
      continue;
    }
    events.push_back(make_message(std::move(*event), std::move(row.json)));
  }
  const auto newest = std::max(after, events.empty() ? after : events.back()->event.seq);
  for (const auto& message : unstored_)
    if (message->event.seq > newest) events.push_back(message);
  gap = (events.empty() ? next_seq_ : events.front()->event.seq) > after + 1;
  return events;
}

}  // namespace deskline::daemon
