// The per-request record of `llmrca load` and its JSONL file: a header line, then one line per
// completed request, appended and handed to the kernel as it completes so that a killed run or a
// dead server loses nothing already finished. Times are seconds (double) on the client's steady
// clock since the run start; chunk times are relative to the request's send. The header holds the
// wall-clock (UTC) time of the run start, the anchor for matching server-side metrics and logs.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "load/error_class.h"

namespace llmrca::load {

// Where a token count came from.
enum class TokenSource {
  kNone,    // unknown
  kUsage,   // the server's usage object (prompt_tokens / completion_tokens)
  kChunks,  // counted from the content chunks (logprobs entries, one per TGI event, ...)
  kClient,  // the client's own figure (the synthetic prompt length or an estimate)
};

// "none", "usage", "chunks", "client"; and back (nullopt for an unknown name).
std::string_view TokenSourceName(TokenSource source);
std::optional<TokenSource> TokenSourceFromName(std::string_view name);

// One request, as the engine saw it. All *_s times are seconds since the run start on the
// client's steady clock.
struct RequestRecord {
  int64_t id = 0;          // unique in the run (the schedule's arrival index)
  int step = 0;            // sweep step
  double scheduled_s = 0;  // intended send time from the schedule (= send_s in closed loop)
  double send_s = 0;       // actual send (request written to the connection)
  std::optional<double> headers_s;        // response status line and headers received
  std::optional<double> first_content_s;  // first chunk with non-empty content
  double end_s = 0;                       // request finished: success, error or timeout
  std::vector<double> chunk_times_s;      // every content chunk, seconds after send_s
  std::vector<int32_t> chunk_tokens;      // tokens per content chunk when known, else empty
  std::optional<int64_t> prompt_tokens;   // tokens in
  TokenSource prompt_tokens_source = TokenSource::kNone;
  int64_t output_tokens = 0;  // tokens out
  TokenSource output_tokens_source = TokenSource::kNone;
  std::optional<int64_t> max_tokens;  // as requested
  int http_status = 0;                // 0 when no response arrived
  ErrorClass error_class = ErrorClass::kNone;
  std::string error;  // one line; empty on success
  std::optional<std::string> finish_reason;

  bool ok() const { return error_class == ErrorClass::kNone; }
  // True when the request succeeded with max_tokens set and a different number of output tokens
  // (the server stopped early or ran past it). Written to JSONL as "tokens_mismatch".
  bool TokensMismatch() const { return ok() && max_tokens && output_tokens != *max_tokens; }
};

// The first line of a records file.
struct RecordsHeader {
  // Wall-clock time (UTC, nanoseconds since the Unix epoch) of the run start, time 0 of every
  // *_s field. Written also as an ISO 8601 string "start_utc" for people.
  int64_t start_unix_ns = 0;
  // Free-form description of the run (provider, model, url, schedule, ...), kept in order.
  std::vector<std::pair<std::string, std::string>> labels;
};

// The version written in the header's "llmrca_load_records" key.
inline constexpr int kRecordsFormatVersion = 1;

// One record as a JSON object on one line (no newline). Every field is written, absent optionals
// as null. kInvalidArgument when a time is not finite (JSON cannot hold it).
Result<std::string> RecordToJson(const RequestRecord& record);
// Parses one line written by RecordToJson. kDataError naming the field for a missing required
// field (id, step, scheduled_s, send_s, end_s, error_class), a wrong type, an unknown error class
// or token source, or a non-finite time. Unknown keys are ignored.
Result<RequestRecord> ParseRecordJson(std::string_view line);

// The header line as JSON (no newline), and its parser (kDataError when the line is not a header
// or has another version).
std::string HeaderToJson(const RecordsHeader& header);
Result<RecordsHeader> ParseHeaderJson(std::string_view line);

// Writes a records file: the header at Create(), then one line per Append(), each with a single
// write(2) of the whole line, so that once Append() returns the line survives the process being
// killed (not a power cut: there is no fsync). Thread-safe: Append() may be called from several
// threads; lines never interleave.
class RecordWriter {
 public:
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // Creates (or truncates) `path` and writes the header. kIoError when it cannot be opened or
  // written.
  static Result<std::unique_ptr<RecordWriter>> Create(const std::string& path,
                                                      const RecordsHeader& header);

  // Appends one record line. kInvalidArgument for a non-finite time (nothing written), kIoError
  // when the write fails or the writer is closed.
  Status Append(const RequestRecord& record);

  // Closes the file; later Append() calls fail. kIoError when close(2) fails. Idempotent.
  Status Close();

  const std::string& path() const { return path_; }

 private:
  RecordWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  Status WriteLine(std::string line);  // callers hold mu_

  std::string path_;
  std::mutex mu_;
  int fd_ = -1;
};

// Reads a records file one record at a time (constant memory). Not thread-safe.
class RecordReader {
 public:
  ~RecordReader();
  RecordReader(RecordReader&&) noexcept;
  RecordReader& operator=(RecordReader&&) noexcept;

  // Opens `path` and reads its header. kNotFound / kIoError for the file; kDataError
  // "<path>:1: ..." when the first line is not a complete header.
  static Result<RecordReader> Open(const std::string& path);

  const RecordsHeader& header() const { return header_; }

  // The next record (blank lines skipped), or nullopt at the end. A last line without its newline
  // that does not parse is taken as cut short by a killed writer: it is skipped and
  // truncated_last_line() becomes true. Any other bad line: kDataError "<path>:<line>: <what>".
  Result<std::optional<RequestRecord>> Next();

  bool truncated_last_line() const { return truncated_last_line_; }

 private:
  struct File;
  RecordReader(std::string path, std::unique_ptr<File> file);

  std::string path_;
  std::unique_ptr<File> file_;
  RecordsHeader header_;
  int64_t line_number_ = 0;
  bool truncated_last_line_ = false;
};

// A whole records file in memory.
struct RecordsFile {
  RecordsHeader header;
  std::vector<RequestRecord> records;
  bool truncated_last_line = false;  // a cut-short last line was skipped
};

// Reads every record of `path` with RecordReader (same errors).
Result<RecordsFile> ReadRecordsFile(const std::string& path);

}  // namespace llmrca::load
