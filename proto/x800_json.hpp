// Decoded fields of reports and commands as JSON, named as in proto/x800.md:
// the simulator's trace (a test reads them without the codec) and the
// daemon's debug log of every report.
#pragma once

#include <nlohmann/json.hpp>

#include "proto/x800.hpp"

namespace deskline::proto::x800 {

void add_report_fields(nlohmann::json& event, const ReportBody& body);
// The whole report: type, seq, line (1-based; absent for the box), box_time_us and its fields.
nlohmann::json report_json(const Report& report);
void add_command_fields(nlohmann::json& event, const CommandBody& body);

}  // namespace deskline::proto::x800
