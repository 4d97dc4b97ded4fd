// Answers the control socket's requests (proto/control.md) from the running
// services. io_context thread only.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/calls/call_service.hpp"
#include "daemon/crm/crm_sync.hpp"
#include "daemon/media/media_worker.hpp"
#include "daemon/media/recording_service.hpp"
#include "daemon/store/store.hpp"
#include "proto/control.hpp"

namespace deskline::daemon {

class ControlHandler {
 public:
  // The servers' connection counters, by server, for the status.
  using ConnectionStats = std::function<nlohmann::json()>;

  ControlHandler(const CallService& calls, const Store& store, const MediaWorker& media,
                 const RecordingService& recordings, CrmSync& crm, std::string web_page, ConnectionStats connections)
      : calls_(calls), store_(store), media_(media), recordings_(recordings), crm_(crm),
        web_page_(std::move(web_page)), connections_(std::move(connections)) {}

  nlohmann::json handle(const proto::control::Request& request) const;
  // The newest calls (older than the call before_id, when given) as
  // call_to_json objects, or the store's error.
  Result<nlohmann::json> calls_json(std::size_t limit, std::string_view before_id = {}) const;

 private:
  nlohmann::json status() const;

  const CallService& calls_;
  const Store& store_;
  const MediaWorker& media_;
  const RecordingService& recordings_;
  CrmSync& crm_;
  std::string web_page_;
  ConnectionStats connections_;
};

}  // namespace deskline::daemon
