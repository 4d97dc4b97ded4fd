// Decoded fields of reports and commands for the trace, named as in
// proto/x800.md so a test can read them without the codec.
#pragma once

#include <nlohmann/json.hpp>

#include "proto/x800.hpp"

namespace deskline::sim {

void add_report_fields(nlohmann::json& event, const proto::x800::ReportBody& body);
void add_command_fields(nlohmann::json& event, const proto::x800::CommandBody& body);

}  // namespace deskline::sim
