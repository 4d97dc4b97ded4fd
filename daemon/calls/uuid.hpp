#pragma once

#include <string>

namespace deskline::daemon {

// Random (version 4) UUID from the kernel's CSPRNG, lower-case 8-4-4-4-12:
// the id of every call.
std::string make_uuid();

}  // namespace deskline::daemon
