#include "tools/cli/command.hpp"

namespace deskline::tools {

void add_recording_commands(CLI::App&, CliContext&) {}

}  // namespace deskline::tools
