// HTTP/1.1 message pieces shared by llmrca's servers (serve-sim, the fake LLM server) and by the
// load generator's client: request and response heads, the chunked transfer coding, the framing
// of requests and responses on a connection, and status reason phrases (RFC 9110, RFC 9112).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace llmrca::net {

// The header fields that frame a message, in either direction.
struct HttpFields {
  bool keep_alive = true;  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with keep-alive
  bool has_content_length = false;
  size_t content_length = 0;
  bool has_transfer_encoding = false;
  bool chunked = false;  // the last transfer coding is "chunked"
  bool expect_continue = false;
  std::string content_type;  // the value as sent, empty when none
  // Every header line in order: the name as sent, the value without surrounding whitespace.
  std::vector<std::pair<std::string, std::string>> fields;

  // The first value of header `name` (case-insensitive); empty when absent.
  std::string_view Field(std::string_view name) const;
};

struct HttpHead : HttpFields {
  std::string method;
  std::string path;   // the target without its query string
  std::string query;  // after '?', empty when none
};

struct HttpResponseHead : HttpFields {
  int status = 0;
};

// Parses a request head: the request line and the header lines, without the blank line that
// ends them. kInvalidArgument says what is wrong (a server answers 400): a bad request line,
// an HTTP version other than 1.0/1.1, a header line without a name, a bad or conflicting
// Content-Length.
Result<HttpHead> ParseRequestHead(std::string_view head);

// Parses a response head the same way: the status line ("HTTP/1.1 200 OK", the reason may be
// empty) and the header lines. kInvalidArgument for a bad status line (a status outside
// 100..999), an HTTP version other than 1.0/1.1, or a bad header line or Content-Length.
Result<HttpResponseHead> ParseResponseHead(std::string_view head);

// Decodes a body in the chunked transfer coding (RFC 9112 7.1) as its bytes arrive, in pieces
// split anywhere. Chunk extensions and trailer fields are read and dropped.
class ChunkedDecoder {
 public:
  static constexpr size_t kMaxLineBytes = 4096;  // a chunk-size or trailer line

  // Decodes the front of `in` into `out` (appended) and removes what it used from `in`; stops
  // after the last chunk's trailer section, leaving any bytes after it in `in`. kInvalidArgument
  // for a chunk size that is not hexadecimal or over 2^60, a chunk not followed by CRLF, or a
  // line over kMaxLineBytes; the decoder is then unusable until Reset().
  Status Decode(std::string_view& in, std::string& out);
  bool done() const { return state_ == State::kDone; }
  void Reset();

 private:
  enum class State { kSize, kData, kDataCr, kDataLf, kTrailer, kDone, kFailed };
  // Takes one line (without its CRLF or LF) from `in`, joined with what came before; nullopt
  // while incomplete.
  std::optional<std::string_view> TakeLine(std::string_view& in, Status& error);

  State state_ = State::kSize;
  uint64_t left_ = 0;  // bytes of the current chunk still to come
  std::string line_;   // a line split across inputs
};

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

// Reads one response to a request that is not HEAD from a connection's input as it arrives
// (RFC 9112 6.3): the head, then a body framed by chunked coding, by Content-Length, or by
// the end of the connection; none for 204 and 304. Interim 1xx responses are skipped. Reset()
// readies it for the next response on a kept-alive connection.
class ResponseReader {
 public:
  static constexpr size_t kMaxHeadBytes = 64 * 1024;

  enum class Outcome {
    kNeedMore,  // everything in `in` was used; the response goes on
    kHead,      // head() is ready; the rest of `in` is the body: call again
    kComplete,  // the response ended; bytes after it stay in `in`
    kError,     // error() says what; the connection is unusable
  };

  // Uses the front of `in` (removed from it); body bytes, decoded, are appended to `body`.
  Outcome Next(std::string_view& in, std::string& body);
  // The peer closed the connection: kComplete when that ends a body read until the close,
  // kError ("closed before the response head" / "... mid-body") otherwise.
  Outcome EndOfInput();
  void Reset();

  bool has_head() const { return state_ != State::kHead; }
  const HttpResponseHead& head() const { return head_; }
  // After kComplete: whether the connection may carry another request.
  bool keep_alive() const { return head_.keep_alive && body_ != Body::kUntilClose; }
  // Body bytes seen so far (decoded), and the error of kError.
  uint64_t body_bytes() const { return body_bytes_; }
  const std::string& error() const { return error_; }

 private:
  enum class State { kHead, kBody, kDone, kFailed };
  enum class Body { kNone, kLength, kChunked, kUntilClose };
  Outcome Fail(std::string message);
  Outcome StartBody();

  State state_ = State::kHead;
  Body body_ = Body::kNone;
  HttpResponseHead head_;
  std::string head_buf_;  // a head split across inputs
  uint64_t left_ = 0;     // Content-Length bytes still to come
  uint64_t body_bytes_ = 0;
  ChunkedDecoder chunked_;
  std::string error_;
};

// "OK", "Not Found", ...; "Client Error" / "Server Error" for codes it does not know.
std::string_view ReasonPhrase(int status);

// Case-insensitive ASCII comparison (header names).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace llmrca::net
