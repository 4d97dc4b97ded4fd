// Which lines a pop client sees (proto/pop.md "Client requests"): its scope
// (a desk's page sees that desk's lines; the Unix socket and the admin's
// page see every line) and the lines or desk it asks for within it. Pure:
// the configuration in, the answer out.
#pragma once

#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "proto/pop.hpp"

namespace deskline::daemon {

// The answer to a request's lines or desk (one of them is set): the lines
// whose call events pass from now on, or what was refused and why.
// scope: the desk whose page asks (nullptr: every line may be asked for).
proto::pop::FilterAnswer resolve_pop_filter(const proto::pop::ClientRequest& request, const config::Config& config,
                                            const config::DeskConfig* scope);

// The hello of a connection in scope: the stream, and the lines it may see
// with their users.
proto::pop::Hello scoped_hello(std::string stream, std::uint64_t last_seq, const config::Config& config,
                               const config::DeskConfig* scope);

}  // namespace deskline::daemon
