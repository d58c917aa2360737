#include "net/http.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "base/strings.h"

namespace llmrca::net {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

std::string_view HttpHead::Field(std::string_view name) const {
  for (const auto& [n, v] : fields) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return {};
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 422:
      return "Unprocessable Entity";
    case 424:
      return "Failed Dependency";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status < 500 ? "Client Error" : "Server Error";
  }
}

Result<HttpHead> ParseRequestHead(std::string_view head) {
  HttpHead out;
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0 ||
      sp2 == sp1 + 1) {
    return Status::InvalidArgument(fmt::format("bad request line '{}'",
                                               line.substr(0, std::min<size_t>(line.size(), 80))));
  }
  out.method = std::string(line.substr(0, sp1));
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (version == "HTTP/1.1") {
    out.keep_alive = true;
  } else if (version == "HTTP/1.0") {
    out.keep_alive = false;
  } else {
    return Status::InvalidArgument(
        fmt::format("unsupported HTTP version '{}'",
                    version.substr(0, std::min<size_t>(20, version.size()))));
  }
  const size_t q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  bool seen_length = false;
  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    std::string_view header = head.substr(pos, end - pos);
    pos = end + 2;
    size_t colon = header.find(':');
    if (colon == std::string_view::npos || colon == 0 || header[0] == ' ' || header[0] == '\t') {
      return Status::InvalidArgument(
          fmt::format("bad header line '{}'",
                      header.substr(0, std::min<size_t>(header.size(), 80))));
    }
    std::string_view name = header.substr(0, colon);
    std::string_view value = Trim(header.substr(colon + 1));
    out.fields.emplace_back(name, value);
    if (EqualsIgnoreCase(name, "content-length")) {
      std::optional<int64_t> n = ParseInt(value);
      if (!n || *n < 0 || (seen_length && static_cast<size_t>(*n) != out.content_length)) {
        return Status::InvalidArgument(
            fmt::format("bad Content-Length '{}'", value.substr(0, 40)));
      }
      seen_length = true;
      out.content_length = static_cast<size_t>(*n);
    } else if (EqualsIgnoreCase(name, "connection")) {
      for (const std::string& token : Split(value, ',')) {
        if (EqualsIgnoreCase(Trim(token), "close")) out.keep_alive = false;
        if (EqualsIgnoreCase(Trim(token), "keep-alive")) out.keep_alive = true;
      }
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      out.has_transfer_encoding = true;
    } else if (EqualsIgnoreCase(name, "expect")) {
      out.expect_continue = EqualsIgnoreCase(value, "100-continue");
    }
  }
  return out;
}

RequestReader::Step RequestReader::Next(std::string& in) {
  Step step;
  const auto error = [&](int status, std::string message) {
    step.outcome = Outcome::kError;
    step.status = status;
    step.message = std::move(message);
    return step;
  };
  if (!head_) {
    size_t skip = 0;
    while (skip + 1 < in.size() && in[skip] == '\r' && in[skip + 1] == '\n') skip += 2;
    if (skip > 0) in.erase(0, skip);
    const size_t end = in.find("\r\n\r\n");
    if ((end == std::string::npos && in.size() > limits_.max_head_bytes) ||
        (end != std::string::npos && end > limits_.max_head_bytes)) {
      return error(431, fmt::format("request head over {} bytes", limits_.max_head_bytes));
    }
    if (end == std::string::npos) return step;
    Result<HttpHead> head = ParseRequestHead(std::string_view(in).substr(0, end));
    if (!head.ok()) return error(400, head.status().message());
    if (head->has_transfer_encoding) {
      return error(501, "Transfer-Encoding request bodies are not supported; send Content-Length");
    }
    if (head->content_length > limits_.max_body_bytes) {
      return error(413, fmt::format("body of {} bytes is over the {}-byte limit",
                                    head->content_length, limits_.max_body_bytes));
    }
    head_ = std::move(head).value();
    head_bytes_ = end + 4;
    sent_continue_ = false;
  }
  const size_t need = head_bytes_ + head_->content_length;
  if (in.size() < need) {
    if (head_->expect_continue && !sent_continue_) {
      sent_continue_ = true;
      step.send_continue = true;
    }
    return step;
  }
  step.outcome = Outcome::kRequest;
  step.body = in.substr(head_bytes_, head_->content_length);
  in.erase(0, need);
  step.head = std::move(*head_);
  head_.reset();
  return step;
}

}  // namespace llmrca::net
