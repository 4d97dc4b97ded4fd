// Base URLs of the CRM client: accepted shapes and one test per refusal.
#include "proto/http_url.hpp"

#include <gtest/gtest.h>

namespace deskline::proto::http {
namespace {

TEST(ProtoHttpUrl, Accepted) {
  const struct {
    std::string text;
    bool tls;
    std::string host;
    std::uint16_t port;
    std::string path;
    bool host_is_ip;
    std::string authority;
  } cases[] = {
      {"https://crm.example.com", true, "crm.example.com", 443, "", false, "crm.example.com"},
      {"https://crm.example.com/", true, "crm.example.com", 443, "", false, "crm.example.com"},
      {"http://crm.example.com:8080/deskline/", false, "crm.example.com", 8080, "/deskline", false,
       "crm.example.com:8080"},
      {"HTTPS://CRM.Example.COM:443/API/v2", true, "crm.example.com", 443, "/API/v2", false, "crm.example.com"},
      {"http://127.0.0.1:80", false, "127.0.0.1", 80, "", true, "127.0.0.1"},
      {"https://127.0.0.1:8443/x", true, "127.0.0.1", 8443, "/x", true, "127.0.0.1:8443"},
      {"http://[::1]:9000/", false, "::1", 9000, "", true, "[::1]:9000"},
      {"https://[2001:DB8::a]", true, "2001:db8::a", 443, "", true, "[2001:db8::a]"},
      {"http://localhost", false, "localhost", 80, "", false, "localhost"},
      {"http://crm_1.internal/a%20b/c;v=1/~x@y:z", false, "crm_1.internal", 80, "/a%20b/c;v=1/~x@y:z", false,
       "crm_1.internal"},
      {"  https://crm.example.com/deskline \n", true, "crm.example.com", 443, "/deskline", false, "crm.example.com"},
      {"http://1.2.3.4.example/", false, "1.2.3.4.example", 80, "", false, "1.2.3.4.example"},
      {"http://h:65535", false, "h", 65535, "", false, "h:65535"},
  };
  for (const auto& c : cases) {
    const auto parsed = parse_url(c.text);
    ASSERT_TRUE(parsed) << c.text << ": " << to_string(parsed.error);
    const auto& url = *parsed.url;
    EXPECT_EQ(url.tls, c.tls) << c.text;
    EXPECT_EQ(url.host, c.host) << c.text;
    EXPECT_EQ(url.port, c.port) << c.text;
    EXPECT_EQ(url.path, c.path) << c.text;
    EXPECT_EQ(url.host_is_ip, c.host_is_ip) << c.text;
    EXPECT_EQ(url.authority(), c.authority) << c.text;
  }
}

TEST(ProtoHttpUrl, TargetAndText) {
  const auto url = *parse_url("HTTPS://Crm.Example.com:8443/deskline/").url;
  EXPECT_EQ(url.target("/v1/calls/42"), "/deskline/v1/calls/42");
  EXPECT_EQ(url.text(), "https://crm.example.com:8443/deskline");
  EXPECT_EQ(parse_url("http://h").url->target("/v1/customers?limit=5"), "/v1/customers?limit=5");
}

TEST(ProtoHttpUrl, Refusals) {
  const struct {
    std::string text;
    UrlError error;
  } cases[] = {
      {"", UrlError::empty},
      {" \t ", UrlError::empty},
      {"https://h/" + std::string(2048, 'a'), UrlError::too_long},
      {"https://crm example.com", UrlError::bad_character},
      {"https://crm.example.com/a b", UrlError::bad_character},
      {"https://crm.example.com/\x7f", UrlError::bad_character},
      {"https://b\xc3\xbcro.example/", UrlError::bad_character},
      {"crm.example.com", UrlError::unsupported_scheme},
      {"ftp://crm.example.com", UrlError::unsupported_scheme},
      {"https:/crm.example.com", UrlError::unsupported_scheme},
      {"httpx://crm.example.com", UrlError::unsupported_scheme},
      {"ws://crm.example.com", UrlError::unsupported_scheme},
      {"https://user:secret@crm.example.com/", UrlError::has_user_info},
      {"https://@crm.example.com", UrlError::has_user_info},
      {"https://", UrlError::missing_host},
      {"https:///v1", UrlError::missing_host},
      {"https://:443", UrlError::missing_host},
      {"https://[]:443", UrlError::missing_host},
      {"https://-crm.example.com", UrlError::bad_host},
      {"https://crm-.example.com", UrlError::bad_host},
      {"https://crm..example.com", UrlError::bad_host},
      {"https://crm.example.com.", UrlError::bad_host},
      {"https://crm%2eexample.com", UrlError::bad_host},
      {"https://" + std::string(64, 'a') + ".example", UrlError::bad_host},
      {"https://" + std::string(200, 'a') + "." + std::string(60, 'b'), UrlError::bad_host},
      {"http://256.1.1.1", UrlError::bad_host},
      {"http://1.2.3", UrlError::bad_host},
      {"http://1.2.3.4.5", UrlError::bad_host},
      {"http://01.2.3.4", UrlError::bad_host},
      {"http://1..3.4", UrlError::bad_host},
      {"http://[::1", UrlError::bad_host},
      {"http://[::1]x", UrlError::bad_host},
      {"http://[::g]", UrlError::bad_host},
      {"http://[fe80::1%25eth0]", UrlError::bad_host},
      {"http://[127.0.0.1]", UrlError::bad_host},
      {"http://h:", UrlError::bad_port},
      {"http://[::1]:", UrlError::bad_port},
      {"http://h:0", UrlError::bad_port},
      {"http://h:65536", UrlError::bad_port},
      {"http://h:123456", UrlError::bad_port},
      {"http://h:8o", UrlError::bad_port},
      {"http://h:-1", UrlError::bad_port},
      {"http://h:1:2", UrlError::bad_port},
      {"http://h/a%2", UrlError::bad_path},
      {"http://h/a%zz", UrlError::bad_path},
      {"http://h/a\"b", UrlError::bad_path},
      {"http://h/a<b>", UrlError::bad_path},
      {"http://h/a\\b", UrlError::bad_path},
      {"http://h/a|b", UrlError::bad_path},
      {"http://h?x=1", UrlError::has_query_or_fragment},
      {"http://h/v1?x=1", UrlError::has_query_or_fragment},
      {"http://h/#top", UrlError::has_query_or_fragment},
  };
  for (const auto& c : cases) {
    const auto parsed = parse_url(c.text);
    EXPECT_FALSE(parsed) << c.text;
    EXPECT_EQ(parsed.error, c.error) << c.text << ": " << to_string(parsed.error);
  }
}

TEST(ProtoHttpUrl, ErrorsHaveStableNamesAndMessages) {
  for (int code = 1; code <= static_cast<int>(UrlError::has_query_or_fragment); ++code) {
    EXPECT_NE(to_string(static_cast<UrlError>(code)), "unknown");
    EXPECT_NE(make_error_code(static_cast<UrlError>(code)).message(), "unknown URL error");
  }
  EXPECT_EQ(std::error_code(UrlError::has_user_info).category().name(), std::string("url"));
}

}  // namespace
}  // namespace deskline::proto::http
