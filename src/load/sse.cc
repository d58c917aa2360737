#include "load/sse.h"

#include <utility>

namespace llmrca::load {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

}  // namespace

SseParser::SseParser(size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

std::vector<SseEvent> SseParser::Feed(std::string_view bytes) {
  std::vector<SseEvent> out;
  if (overflowed_ || bytes.empty()) return out;
  size_t pos = 0;
  if (skip_lf_) {
    // The CR that ended the previous slice and this LF form one CRLF line end.
    if (bytes[0] == '\n') pos = 1;
    skip_lf_ = false;
  }
  while (pos < bytes.size() && !overflowed_) {
    const size_t end = bytes.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(pos));
      CheckSize();
      break;
    }
    if (line_.empty()) {
      ProcessLine(bytes.substr(pos, end - pos), out);
    } else {
      line_.append(bytes.substr(pos, end - pos));
      std::string line = std::move(line_);
      line_.clear();
      ProcessLine(line, out);
    }
    size_t next = end + 1;
    if (bytes[end] == '\r') {
      if (next < bytes.size()) {
        if (bytes[next] == '\n') ++next;
      } else {
        skip_lf_ = true;
      }
    }
    pos = next;
  }
  return out;
}

void SseParser::ProcessLine(std::string_view line, std::vector<SseEvent>& out) {
  if (first_line_) {
    first_line_ = false;
    if (line.substr(0, kUtf8Bom.size()) == kUtf8Bom) line.remove_prefix(kUtf8Bom.size());
  }
  if (line.empty()) {
    // Dispatch. WHATWG: an event without any "data" line is discarded, and the type resets.
    fields_pending_ = false;
    if (data_.empty()) {
      type_.clear();
      return;
    }
    data_.pop_back();  // the '\n' after the last data line
    out.push_back(SseEvent{std::move(type_), std::move(data_), last_id_});
    type_.clear();
    data_.clear();
    return;
  }
  if (line.front() == ':') return;  // a comment (keep-alive)
  fields_pending_ = true;
  std::string_view field = line;
  std::string_view value;
  if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
    CheckSize();
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  }
  // "retry" only matters to a reconnecting client; unknown fields are ignored by the standard.
}

void SseParser::CheckSize() {
  if (line_.size() + data_.size() <= max_event_bytes_) return;
  overflowed_ = true;
  line_.clear();
  data_.clear();
  type_.clear();
  fields_pending_ = false;
}

bool SseParser::HasPartialLine() const { return !line_.empty() && line_.front() != ':'; }

bool SseParser::HasPendingEvent() const { return fields_pending_ || HasPartialLine(); }

std::optional<SseEvent> SseParser::FlushPending() {
  line_.clear();
  fields_pending_ = false;
  if (data_.empty()) {
    type_.clear();
    return std::nullopt;
  }
  data_.pop_back();
  SseEvent event{std::move(type_), std::move(data_), last_id_};
  type_.clear();
  data_.clear();
  return event;
}

}  // namespace llmrca::load
