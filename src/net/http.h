// HTTP/1.1 message pieces shared by llmrca's servers (serve-sim, the fake LLM server): request
// heads and status reason phrases (RFC 9110, RFC 9112).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
  // Every header line in order: the name as sent, the value without surrounding whitespace.
  std::vector<std::pair<std::string, std::string>> fields;

  // The first value of header `name` (case-insensitive); empty when absent.
  std::string_view Field(std::string_view name) const;
};

// Parses a request head: the request line and the header lines, without the blank line that
// ends them. kInvalidArgument says what is wrong (a server answers 400): a bad request line,
// an HTTP version other than 1.0/1.1, a header line without a name, a bad or conflicting
// Content-Length.
Result<HttpHead> ParseRequestHead(std::string_view head);

// Cuts requests out of one connection's input, in order (RFC 9112 framing; bodies by
// Content-Length only). One per connection; it remembers a head whose body is still arriving.
class RequestReader {
 public:
  struct Limits {
    size_t max_head_bytes = 64 * 1024;         // beyond: 431
    size_t max_body_bytes = 16 * 1024 * 1024;  // beyond: 413
  };
  enum class Outcome {
    kNeedMore,  // no complete request yet
    kRequest,   // `head` and `body` hold the next request, removed from the input
    kError,     // answer `status` with `message` and close the connection
  };
  struct Step {
    Outcome outcome = Outcome::kNeedMore;
    // kNeedMore: the client asked for "100 Continue" and should get it now (once per request).
    bool send_continue = false;
    HttpHead head;
    std::string body;
    int status = 0;
    std::string message;
  };

  explicit RequestReader(Limits limits) : limits_(limits) {}
  // Takes the next request from the front of `in` if it is complete. Empty lines before a
  // request line are dropped (RFC 9112 2.2). Errors: 400 (a bad head, see ParseRequestHead),
  // 431, 413, 501 (a Transfer-Encoding body).
  Step Next(std::string& in);

 private:
  Limits limits_;
  std::optional<HttpHead> head_;  // parsed, its body not yet complete
  size_t head_bytes_ = 0;
  bool sent_continue_ = false;
};

// "OK", "Not Found", ...; "Client Error" / "Server Error" for codes it does not know.
std::string_view ReasonPhrase(int status);

// Case-insensitive ASCII comparison (header names).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace llmrca::net
