// SseParser: an incremental Server-Sent-Events parser (WHATWG HTML, "Server-sent events",
// "Interpreting an event stream") for HTTP bodies that arrive in arbitrary slices. The wire
// parsers in provider.h run one per streamed response; nothing here knows about JSON or LLMs.
// No NDJSON mode: every streaming API in reference/load-testing.md §3 (OpenAI, vLLM, TGI,
// Triton generate_stream) frames its stream as SSE.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrca::load {

// One dispatched event.
struct SseEvent {
  std::string type;  // the last "event:" field; empty when none was given (WHATWG: "message")
  std::string data;  // the event's "data:" lines joined with '\n' (no trailing '\n')
  std::string id;    // the stream's last event ID ("id:" persists from event to event)

  bool operator==(const SseEvent&) const = default;
};

// Parses an SSE byte stream incrementally. Follows the WHATWG rules: lines end in LF, CRLF or CR;
// a leading UTF-8 BOM is dropped; lines starting with ':' are comments; "field: value" loses one
// space after the colon; "data" lines append to the data buffer, "event" sets the type, "id"
// sets the last event ID (unless it holds a NUL), "retry" and unknown fields are ignored; a
// blank line dispatches the event, or discards it when no "data" line came. Bytes may be split
// anywhere (inside a CRLF or a UTF-8 sequence): the parser only cuts at CR and LF, which never
// occur inside a multi-byte UTF-8 sequence, so data bytes pass through unchanged.
// Not thread-safe; one parser per stream.
class SseParser {
 public:
  // An event (its pending line plus data buffer) larger than this is a client-side limit.
  static constexpr size_t kDefaultMaxEventBytes = size_t{16} << 20;

  explicit SseParser(size_t max_event_bytes = kDefaultMaxEventBytes);

  // Consumes the next slice of the body and returns the events it completed, in order. After
  // overflowed() turns true, every later call returns nothing.
  std::vector<SseEvent> Feed(std::string_view bytes);

  // True when the bytes seen so far end inside an event: a partial line that is not a comment,
  // or field lines ("data", "event", "id", ...) that no blank line has closed yet. At the end of
  // a body this means the stream was cut (or the server omitted the final blank line).
  bool HasPendingEvent() const;

  // True when the bytes seen so far end in the middle of a non-comment line.
  bool HasPartialLine() const;

  // Dispatches the pending event built from complete lines as if a blank line had followed (a
  // leniency for servers that close without the final blank line; WHATWG discards it). The
  // partial line, if any, is dropped, never interpreted. nullopt when no "data" line is pending.
  std::optional<SseEvent> FlushPending();

  // True once an event grew past the size limit; the parser then ignores all further input.
  bool overflowed() const { return overflowed_; }

 private:
  void ProcessLine(std::string_view line, std::vector<SseEvent>& out);
  void CheckSize();

  size_t max_event_bytes_;
  std::string line_;             // the partial line carried over from the previous Feed
  std::string data_;             // the data buffer: each "data" value followed by '\n'
  std::string type_;             // the event type buffer
  std::string last_id_;          // the last event ID buffer
  bool fields_pending_ = false;  // a field line came since the last blank line
  bool skip_lf_ = false;         // the previous slice ended in CR: a leading LF ends no new line
  bool first_line_ = true;       // the next line completed is the stream's first (BOM check)
  bool overflowed_ = false;
};

}  // namespace llmrca::load
