#pragma once

#include <string>

namespace deskline::tools {

// `deskline demo`: writes a config and a scenario into dir (a new temporary
// directory when empty), runs desklined under deskline-sim, prints the calls
// as they happen and the call list at the end. Returns the exit status.
int run_demo(const std::string& dir);

}  // namespace deskline::tools
