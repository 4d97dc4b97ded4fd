// Content-Disposition for a download (RFC 6266): a file name a browser or a
// CRM saves the body under, readable when it holds more than ASCII.
#pragma once

#include <string>
#include <string_view>

namespace deskline::proto::http {

// `attachment; filename="..."` with an ASCII fallback (every other character,
// a quote, a backslash, a control character or a path separator becomes '_'),
// followed by `filename*=UTF-8''...` (RFC 8187 percent-encoding) when the
// name is not plain ASCII. filename must be UTF-8.
std::string attachment_disposition(std::string_view filename);

}  // namespace deskline::proto::http
