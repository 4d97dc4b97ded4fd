#pragma once

#include <filesystem>
#include <system_error>

#include <boost/asio/local/stream_protocol.hpp>

namespace deskline::daemon {

// Binds and listens on a Unix stream socket at path (mode 0660), creating its
// folder. A stale socket file left by a killed daemon is replaced; one that a
// live process answers on is refused with address_in_use.
std::error_code bind_unix_socket(boost::asio::local::stream_protocol::acceptor& acceptor,
                                 const std::filesystem::path& path);

}  // namespace deskline::daemon
