// What every request to the CRM carries (proto/crm.md section 1): the bearer
// token and the Standard Webhooks key, read from [crm] token_file and
// signing_secret_file; and the signed headers made with them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "daemon/core/result.hpp"
#include "daemon/crm/crm_client.hpp"
#include "proto/webhook_signature.hpp"

namespace deskline::daemon {

struct CrmCredentials {
  std::string token;
  proto::webhook::SigningKey key;
};

// Reads both files; an unreadable or empty file, or a bad secret, is an
// error naming the key and the file (the daemon refuses to start).
Result<CrmCredentials> read_crm_credentials(const config::CrmConfig& config);

// Authorization and the webhook-id, -timestamp and -signature headers of
// one attempt, signed now (Unix seconds timestamp) over body.
std::vector<std::pair<std::string, std::string>> signed_headers(const CrmCredentials& credentials,
                                                                const std::string& webhook_id,
                                                                std::int64_t timestamp, std::string_view body);
// The same headers with a signature made elsewhere (an upload, signed while
// its file is read).
std::vector<std::pair<std::string, std::string>> headers_with_signature(const CrmCredentials& credentials,
                                                                        const std::string& webhook_id,
                                                                        std::int64_t timestamp, std::string signature);

// A client's settings from [crm]: url, ca_file, timeout_s.
CrmClientSettings client_settings(const config::CrmConfig& config);

}  // namespace deskline::daemon
