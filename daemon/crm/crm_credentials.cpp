#include "daemon/crm/crm_credentials.hpp"

#include <fstream>

#include <fmt/format.h>

namespace deskline::daemon {
namespace {

// The first line of a secret file, without surrounding white space.
Result<std::string> read_secret_file(const std::filesystem::path& path, std::string_view key) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line))
    return Error{std::make_error_code(std::errc::io_error), fmt::format("crm.{}: cannot read {}", key, path.string())};
  const auto first = line.find_first_not_of(" \t\r");
  const auto last = line.find_last_not_of(" \t\r");
  if (first == std::string::npos)
    return Error{std::make_error_code(std::errc::invalid_argument), fmt::format("crm.{}: {} is empty", key, path.string())};
  return line.substr(first, last - first + 1);
}

}  // namespace

Result<CrmCredentials> read_crm_credentials(const config::CrmConfig& config) {
  auto token = read_secret_file(config.token_file, "token_file");
  if (!token) return token.error();
  auto secret = read_secret_file(config.signing_secret_file, "signing_secret_file");
  if (!secret) return secret.error();
  auto parsed = proto::webhook::parse_secret(*secret);
  if (!parsed)
    return Error{parsed.error, fmt::format("crm.signing_secret_file: {}: {}", config.signing_secret_file.string(),
                                           make_error_code(parsed.error).message())};
  return CrmCredentials{std::move(*token), std::move(*parsed.key)};
}

std::vector<std::pair<std::string, std::string>> signed_headers(const CrmCredentials& credentials,
                                                                const std::string& webhook_id,
                                                                std::int64_t timestamp, std::string_view body) {
  return headers_with_signature(credentials, webhook_id, timestamp,
                                proto::webhook::sign(credentials.key, webhook_id, timestamp, body));
}

std::vector<std::pair<std::string, std::string>> headers_with_signature(const CrmCredentials& credentials,
                                                                        const std::string& webhook_id,
                                                                        std::int64_t timestamp, std::string signature) {
  return {{"Authorization", "Bearer " + credentials.token},
          {"webhook-id", webhook_id},
          {"webhook-timestamp", std::to_string(timestamp)},
          {"webhook-signature", std::move(signature)}};
}

CrmClientSettings client_settings(const config::CrmConfig& config) {
  CrmClientSettings settings;
  settings.base_url = config.url;
  settings.ca_file = config.ca_file;
  settings.inactivity_timeout = std::chrono::seconds(config.timeout_s);
  return settings;
}

}  // namespace deskline::daemon
