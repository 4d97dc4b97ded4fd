// What a reload of the configuration changes while the daemon runs
// (proto/control.md, "reload"). Pure: no I/O. The daemon applies the result
// on its io thread, and restarts the CRM sync itself when [crm] changed.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace deskline::config {

struct ReloadPlan {
  // Keys whose new values apply now, as the file names them ("line[1]",
  // "recording.policy"). A call in progress keeps what it started with.
  std::vector<std::string> applied;
  // Keys the file changes that only a restart applies: they keep their
  // running values until then.
  std::vector<std::string> need_restart;
  bool log_level = false;
  bool lines = false;      // [[line]]: names, users, record and caller-ID policies
  bool caller_id = false;  // [callerid] mode
  bool allowed_origins = false;
  bool desk_token = false;  // [http] token, the admin's page
  bool desks = false;       // [[desk]]: names, tokens, lines, may_listen
  bool directory = false;   // [directory] region and area code
  bool crm = false;
  bool changed() const { return !applied.empty() || !need_restart.empty(); }
};

// Compares the running configuration with the one read from the file.
ReloadPlan plan_reload(const Config& running, const Config& next);

// Copies into running the keys plan_reload lists as applied. Only keys that
// differ are written: the other threads read some sections (crm) and a
// write, even of the same value, would race with them.
void apply_reload(Config& running, const Config& next);

}  // namespace deskline::config
