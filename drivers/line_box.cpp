#include "drivers/line_box.hpp"

namespace deskline::drivers {

std::string to_string(BoxFaultKind kind) {
  switch (kind) {
    case BoxFaultKind::malformed_report: return "malformed_report";
    case BoxFaultKind::lost_reports: return "lost_reports";
    case BoxFaultKind::box_error: return "box_error";
    case BoxFaultKind::command_failed: return "command_failed";
    case BoxFaultKind::no_response: return "no_response";
    case BoxFaultKind::reports_out_of_order: return "reports_out_of_order";
  }
  return "unknown";
}

}  // namespace deskline::drivers
