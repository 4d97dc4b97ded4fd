#pragma once

#include <string>

namespace deskline::tools {

// `deskline demo`: starts the reference CRM (deskline-crm-ref) with fresh
// credentials and its seeded customers (imported into the directory too),
// writes a config and a scenario into dir (a new temporary directory when
// empty), runs desklined under deskline-sim, prints the calls as they happen,
// waits (bounded) until every call and recording is on the CRM, prints the
// call list and the CRM's timeline addresses, and keeps the CRM serving until
// Enter, the end of stdin or a signal. Returns the exit status: 0 when
// everything reached the CRM.
int run_demo(const std::string& dir);

}  // namespace deskline::tools
