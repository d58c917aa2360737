// HTTP/1.1 message pieces shared by llmrca's servers (serve-sim, the fake LLM server): request
// heads and status reason phrases (RFC 9110, RFC 9112).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace llmrca::net {

struct HttpHead {
  std::string method;
  std::string path;   // the target without its query string
  std::string query;  // after '?', empty when none
  bool keep_alive = true;  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 never
  size_t content_length = 0;
  bool has_transfer_encoding = false;
  bool expect_continue = false;
};

// Parses a request head: the request line and the header lines, without the blank line that
// ends them. kInvalidArgument says what is wrong (a server answers 400): a bad request line,
// an HTTP version other than 1.0/1.1, a header line without a name, a bad or conflicting
// Content-Length.
Result<HttpHead> ParseRequestHead(std::string_view head);

// "OK", "Not Found", ...; "Client Error" / "Server Error" for codes it does not know.
std::string_view ReasonPhrase(int status);

// Case-insensitive ASCII comparison (header names).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace llmrca::net
