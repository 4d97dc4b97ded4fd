#include "tools/cli/command.hpp"

namespace deskline::tools {

void add_analyze_command(CLI::App&, CliContext&) {}

}  // namespace deskline::tools
