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

std::string_view HttpFields::Field(std::string_view name) const {
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

namespace {

// The keep-alive default of a message's HTTP version; nullopt for versions other than 1.0/1.1.
std::optional<bool> KeepAliveOfVersion(std::string_view version) {
  if (version == "HTTP/1.1") return true;
  if (version == "HTTP/1.0") return false;
  return std::nullopt;
}

Status BadVersion(std::string_view version) {
  return Status::InvalidArgument(fmt::format(
      "unsupported HTTP version '{}'", version.substr(0, std::min<size_t>(20, version.size()))));
}

// Reads the header lines of `head` from `pos` (after the start line) into `out`.
Status ParseFields(std::string_view head, size_t pos, HttpFields& out) {
  bool seen_length = false;
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
      out.has_content_length = true;
      out.content_length = static_cast<size_t>(*n);
    } else if (EqualsIgnoreCase(name, "connection")) {
      for (const std::string& token : Split(value, ',')) {
        if (EqualsIgnoreCase(Trim(token), "close")) out.keep_alive = false;
        if (EqualsIgnoreCase(Trim(token), "keep-alive")) out.keep_alive = true;
      }
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      out.has_transfer_encoding = true;
      const size_t comma = value.rfind(',');
      const std::string_view last =
          Trim(comma == std::string_view::npos ? value : value.substr(comma + 1));
      out.chunked = EqualsIgnoreCase(last, "chunked");
    } else if (EqualsIgnoreCase(name, "content-type")) {
      out.content_type = std::string(value);
    } else if (EqualsIgnoreCase(name, "expect")) {
      out.expect_continue = EqualsIgnoreCase(value, "100-continue");
    }
  }
  return Status::Ok();
}

}  // namespace

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
  const std::optional<bool> keep_alive = KeepAliveOfVersion(version);
  if (!keep_alive) return BadVersion(version);
  out.keep_alive = *keep_alive;
  const size_t q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  LLMRCA_RETURN_IF_ERROR(
      ParseFields(head, line_end == std::string_view::npos ? head.size() : line_end + 2, out));
  return out;
}

Result<HttpResponseHead> ParseResponseHead(std::string_view head) {
  HttpResponseHead out;
  const size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const size_t sp = line.find(' ');
  const std::optional<bool> keep_alive =
      KeepAliveOfVersion(line.substr(0, std::min(sp, line.size())));
  if (!keep_alive) return BadVersion(line.substr(0, std::min(sp, line.size())));
  out.keep_alive = *keep_alive;
  const std::string_view code = sp == std::string_view::npos ? "" : line.substr(sp + 1, 3);
  const bool digits = code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) {
                        return c >= '0' && c <= '9';
                      });
  if (!digits || code[0] == '0' || (line.size() > sp + 4 && line[sp + 4] != ' ')) {
    return Status::InvalidArgument(fmt::format("bad status line '{}'",
                                               line.substr(0, std::min<size_t>(line.size(), 80))));
  }
  out.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  LLMRCA_RETURN_IF_ERROR(
      ParseFields(head, line_end == std::string_view::npos ? head.size() : line_end + 2, out));
  return out;
}

void ChunkedDecoder::Reset() {
  state_ = State::kSize;
  left_ = 0;
  line_.clear();
}

std::optional<std::string_view> ChunkedDecoder::TakeLine(std::string_view& in, Status& error) {
  const size_t lf = in.find('\n');
  if (lf == std::string_view::npos) {
    if (line_.size() + in.size() > kMaxLineBytes) {
      error = Status::InvalidArgument(
          fmt::format("chunked body: a line over {} bytes", kMaxLineBytes));
      return std::nullopt;
    }
    line_.append(in);
    in.remove_prefix(in.size());
    return std::nullopt;
  }
  std::string_view line = in.substr(0, lf);
  in.remove_prefix(lf + 1);
  if (!line_.empty()) {
    line_.append(line);
    line = line_;
  }
  if (line.size() > kMaxLineBytes) {
    error = Status::InvalidArgument(
        fmt::format("chunked body: a line over {} bytes", kMaxLineBytes));
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

Status ChunkedDecoder::Decode(std::string_view& in, std::string& out) {
  const auto fail = [this](Status s) {
    state_ = State::kFailed;
    return s;
  };
  while (!in.empty()) {
    switch (state_) {
      case State::kSize: {
        Status error;
        std::optional<std::string_view> line = TakeLine(in, error);
        if (!error.ok()) return fail(std::move(error));
        if (!line) break;
        const std::string_view size = Trim(line->substr(0, line->find(';')));
        uint64_t n = 0;
        bool ok = !size.empty() && size.size() <= 15;  // 15 hex digits: under 2^60
        for (char c : size) {
          const int d = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
          if (d < 0) ok = false;
          n = n * 16 + static_cast<uint64_t>(d < 0 ? 0 : d);
        }
        if (!ok) {
          return fail(Status::InvalidArgument(fmt::format(
              "chunked body: bad chunk size '{}'", line->substr(0, std::min<size_t>(40, line->size())))));
        }
        line_.clear();
        left_ = n;
        state_ = n == 0 ? State::kTrailer : State::kData;
        break;
      }
      case State::kData: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(left_, in.size()));
        out.append(in.data(), take);
        in.remove_prefix(take);
        left_ -= take;
        if (left_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
      case State::kDataLf: {
        const char want = state_ == State::kDataCr ? '\r' : '\n';
        if (in.front() != want) {
          return fail(Status::InvalidArgument("chunked body: a chunk is not followed by CRLF"));
        }
        in.remove_prefix(1);
        state_ = state_ == State::kDataCr ? State::kDataLf : State::kSize;
        break;
      }
      case State::kTrailer: {
        Status error;
        std::optional<std::string_view> line = TakeLine(in, error);
        if (!error.ok()) return fail(std::move(error));
        if (!line) break;
        const bool last = line->empty();
        line_.clear();
        if (last) {
          state_ = State::kDone;
          return Status::Ok();
        }
        break;
      }
      case State::kDone:
        return Status::Ok();
      case State::kFailed:
        return Status::InvalidArgument("chunked body: decoding already failed");
    }
  }
  return state_ == State::kFailed ? Status::InvalidArgument("chunked body: decoding already failed")
                                  : Status::Ok();
}

void ResponseReader::Reset() {
  state_ = State::kHead;
  body_ = Body::kNone;
  head_ = HttpResponseHead();
  head_buf_.clear();
  left_ = 0;
  body_bytes_ = 0;
  chunked_.Reset();
  error_.clear();
}

ResponseReader::Outcome ResponseReader::Fail(std::string message) {
  state_ = State::kFailed;
  error_ = std::move(message);
  return Outcome::kError;
}

ResponseReader::Outcome ResponseReader::StartBody() {
  state_ = State::kBody;
  if (head_.status == 204 || head_.status == 304) {
    body_ = Body::kNone;
  } else if (head_.has_transfer_encoding) {
    body_ = head_.chunked ? Body::kChunked : Body::kUntilClose;
  } else if (head_.has_content_length) {
    body_ = Body::kLength;
    left_ = head_.content_length;
  } else {
    body_ = Body::kUntilClose;
  }
  if (body_ == Body::kNone || (body_ == Body::kLength && left_ == 0)) state_ = State::kDone;
  return Outcome::kHead;
}

ResponseReader::Outcome ResponseReader::Next(std::string_view& in, std::string& body) {
  for (;;) {
    switch (state_) {
      case State::kHead: {
        // The head is parsed where it lies in `in` when it arrived whole (the usual case).
        const size_t old = head_buf_.size();
        std::string_view text = in;
        if (old > 0) {
          head_buf_.append(in.substr(0, std::min(in.size(), kMaxHeadBytes + 4)));
          text = head_buf_;
        }
        const size_t end = text.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
        if (end == std::string_view::npos) {
          if (text.size() > kMaxHeadBytes) {
            return Fail(fmt::format("response head over {} bytes", kMaxHeadBytes));
          }
          if (old == 0) head_buf_.assign(in);
          in.remove_prefix(in.size());
          return Outcome::kNeedMore;
        }
        if (end > kMaxHeadBytes) return Fail(fmt::format("response head over {} bytes", kMaxHeadBytes));
        Result<HttpResponseHead> head = ParseResponseHead(text.substr(0, end));
        if (!head.ok()) return Fail(fmt::format("bad response head: {}", head.status().message()));
        in.remove_prefix(end + 4 - old);
        head_buf_.clear();
        head_ = std::move(head).value();
        if (head_.status >= 100 && head_.status < 200) {
          if (head_.status == 101) return Fail("unexpected 101 Switching Protocols");
          head_ = HttpResponseHead();
          continue;  // an interim response: the final one follows
        }
        return StartBody();
      }
      case State::kBody: {
        if (body_ == Body::kLength) {
          const size_t take = static_cast<size_t>(std::min<uint64_t>(left_, in.size()));
          body.append(in.data(), take);
          in.remove_prefix(take);
          left_ -= take;
          body_bytes_ += take;
          if (left_ > 0) return Outcome::kNeedMore;
          state_ = State::kDone;
          return Outcome::kComplete;
        }
        if (body_ == Body::kUntilClose) {
          body.append(in);
          body_bytes_ += in.size();
          in.remove_prefix(in.size());
          return Outcome::kNeedMore;
        }
        const size_t before = body.size();
        Status s = chunked_.Decode(in, body);
        body_bytes_ += body.size() - before;
        if (!s.ok()) return Fail(s.message());
        if (!chunked_.done()) return Outcome::kNeedMore;
        state_ = State::kDone;
        return Outcome::kComplete;
      }
      case State::kDone:
        return Outcome::kComplete;
      case State::kFailed:
        return Outcome::kError;
    }
  }
}

ResponseReader::Outcome ResponseReader::EndOfInput() {
  switch (state_) {
    case State::kHead:
      return Fail("connection closed before the response head");
    case State::kBody:
      if (body_ == Body::kUntilClose) {
        state_ = State::kDone;
        return Outcome::kComplete;
      }
      return Fail(fmt::format("connection closed mid-body after {} bytes", body_bytes_));
    case State::kDone:
      return Outcome::kComplete;
    case State::kFailed:
      return Outcome::kError;
  }
  return Outcome::kError;
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
