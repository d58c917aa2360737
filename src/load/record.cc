#include "load/record.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace llmrca::load {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kVersionKey = "llmrca_load_records";

// A JSON string literal; invalid UTF-8 (a server's error text can hold anything) becomes U+FFFD.
std::string JsonString(std::string_view s) {
  return Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// "2025-04-24T12:00:00.123456789Z" for nanoseconds since the Unix epoch.
std::string IsoUtc(int64_t unix_ns) {
  int64_t secs = unix_ns / 1'000'000'000;
  int64_t frac = unix_ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "";
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:09d}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

Status CheckFinite(double v, std::string_view name) {
  if (!std::isfinite(v)) {
    return Status::InvalidArgument(fmt::format("records: {} is {}, not a finite time", name, v));
  }
  return Status::Ok();
}

void AppendOptional(fmt::memory_buffer& out, std::string_view key, const std::optional<double>& v) {
  if (v) {
    fmt::format_to(std::back_inserter(out), ",\"{}\":{}", key, *v);
  } else {
    fmt::format_to(std::back_inserter(out), ",\"{}\":null", key);
  }
}

void AppendOptional(fmt::memory_buffer& out, std::string_view key,
                    const std::optional<int64_t>& v) {
  if (v) {
    fmt::format_to(std::back_inserter(out), ",\"{}\":{}", key, *v);
  } else {
    fmt::format_to(std::back_inserter(out), ",\"{}\":null", key);
  }
}

// Typed field access for the parser: each names the field in its error.
const Json* Find(const Json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<double> RequiredTime(const Json& j, const char* key) {
  const Json* v = Find(j, key);
  if (v == nullptr) return Status::DataError(fmt::format("missing '{}'", key));
  if (!v->is_number()) return Status::DataError(fmt::format("'{}' is not a number", key));
  const double d = v->get<double>();
  if (!std::isfinite(d)) return Status::DataError(fmt::format("'{}' is not finite", key));
  return d;
}

Result<std::optional<double>> OptionalTime(const Json& j, const char* key) {
  if (Find(j, key) == nullptr) return std::optional<double>();
  LLMRCA_ASSIGN_OR_RETURN(double d, RequiredTime(j, key));
  return std::optional<double>(d);
}

Result<int64_t> RequiredInt(const Json& j, const char* key) {
  const Json* v = Find(j, key);
  if (v == nullptr) return Status::DataError(fmt::format("missing '{}'", key));
  // nlohmann counts unsigned numbers as integers too, so ask for unsigned first.
  if (v->is_number_unsigned()) {
    if (v->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return static_cast<int64_t>(v->get<uint64_t>());
    }
    return Status::DataError(fmt::format("'{}' is out of range", key));
  }
  if (v->is_number_integer()) return v->get<int64_t>();
  return Status::DataError(fmt::format("'{}' is not an integer", key));
}

Result<std::optional<int64_t>> OptionalInt(const Json& j, const char* key) {
  if (Find(j, key) == nullptr) return std::optional<int64_t>();
  LLMRCA_ASSIGN_OR_RETURN(int64_t v, RequiredInt(j, key));
  return std::optional<int64_t>(v);
}

Result<int> RequiredInt32(const Json& j, const char* key) {
  LLMRCA_ASSIGN_OR_RETURN(int64_t v, RequiredInt(j, key));
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    return Status::DataError(fmt::format("'{}' is {}, out of range", key, v));
  }
  return static_cast<int>(v);
}

Result<std::optional<std::string>> OptionalString(const Json& j, const char* key) {
  const Json* v = Find(j, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return Status::DataError(fmt::format("'{}' is not a string", key));
  return std::optional<std::string>(v->get<std::string>());
}

Result<TokenSource> Source(const Json& j, const char* key) {
  LLMRCA_ASSIGN_OR_RETURN(std::optional<std::string> name, OptionalString(j, key));
  if (!name) return TokenSource::kNone;
  const std::optional<TokenSource> source = TokenSourceFromName(*name);
  if (!source)
    return Status::DataError(fmt::format("'{}' is '{}', not a token source", key, *name));
  return *source;
}

Status ParseChunks(const Json& j, RequestRecord& r) {
  if (const Json* times = Find(j, "chunk_times_s")) {
    if (!times->is_array()) return Status::DataError("'chunk_times_s' is not an array");
    r.chunk_times_s.reserve(times->size());
    for (const Json& t : *times) {
      if (!t.is_number() || !std::isfinite(t.get<double>())) {
        return Status::DataError("'chunk_times_s' holds a value that is not a finite number");
      }
      r.chunk_times_s.push_back(t.get<double>());
    }
  }
  if (const Json* tokens = Find(j, "chunk_tokens")) {
    if (!tokens->is_array()) return Status::DataError("'chunk_tokens' is not an array");
    for (const Json& t : *tokens) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 ||
          t.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
        return Status::DataError("'chunk_tokens' holds a value that is not a count");
      }
      r.chunk_tokens.push_back(static_cast<int32_t>(t.get<int64_t>()));
    }
    if (!r.chunk_tokens.empty() && r.chunk_tokens.size() != r.chunk_times_s.size()) {
      return Status::DataError(fmt::format("'chunk_tokens' has {} entries but 'chunk_times_s' {}",
                                           r.chunk_tokens.size(), r.chunk_times_s.size()));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view TokenSourceName(TokenSource source) {
  switch (source) {
    case TokenSource::kNone:
      return "none";
    case TokenSource::kUsage:
      return "usage";
    case TokenSource::kChunks:
      return "chunks";
    case TokenSource::kClient:
      return "client";
  }
  return "none";
}

std::optional<TokenSource> TokenSourceFromName(std::string_view name) {
  for (TokenSource s :
       {TokenSource::kNone, TokenSource::kUsage, TokenSource::kChunks, TokenSource::kClient}) {
    if (TokenSourceName(s) == name) return s;
  }
  return std::nullopt;
}

Result<std::string> RecordToJson(const RequestRecord& r) {
  LLMRCA_RETURN_IF_ERROR(CheckFinite(r.scheduled_s, "scheduled_s"));
  LLMRCA_RETURN_IF_ERROR(CheckFinite(r.send_s, "send_s"));
  LLMRCA_RETURN_IF_ERROR(CheckFinite(r.end_s, "end_s"));
  if (r.headers_s) LLMRCA_RETURN_IF_ERROR(CheckFinite(*r.headers_s, "headers_s"));
  if (r.first_content_s) LLMRCA_RETURN_IF_ERROR(CheckFinite(*r.first_content_s, "first_content_s"));
  for (double t : r.chunk_times_s) LLMRCA_RETURN_IF_ERROR(CheckFinite(t, "a chunk time"));
  fmt::memory_buffer out;
  auto it = std::back_inserter(out);
  // fmt prints doubles as the shortest string that reads back to the same value.
  fmt::format_to(it, "{{\"id\":{},\"step\":{},\"scheduled_s\":{},\"send_s\":{}", r.id, r.step,
                 r.scheduled_s, r.send_s);
  AppendOptional(out, "headers_s", r.headers_s);
  AppendOptional(out, "first_content_s", r.first_content_s);
  fmt::format_to(it, ",\"end_s\":{},\"chunk_times_s\":[{}],\"chunk_tokens\":[{}]", r.end_s,
                 fmt::join(r.chunk_times_s, ","), fmt::join(r.chunk_tokens, ","));
  AppendOptional(out, "prompt_tokens", r.prompt_tokens);
  fmt::format_to(it, ",\"prompt_tokens_source\":\"{}\",\"output_tokens\":{}",
                 TokenSourceName(r.prompt_tokens_source), r.output_tokens);
  fmt::format_to(it, ",\"output_tokens_source\":\"{}\"", TokenSourceName(r.output_tokens_source));
  AppendOptional(out, "max_tokens", r.max_tokens);
  fmt::format_to(
      it, ",\"tokens_mismatch\":{},\"http_status\":{},\"error_class\":\"{}\",\"error\":{}",
      r.TokensMismatch(), r.http_status, ErrorClassName(r.error_class), JsonString(r.error));
  fmt::format_to(it, ",\"finish_reason\":{}}}",
                 r.finish_reason ? JsonString(*r.finish_reason) : std::string("null"));
  return fmt::to_string(out);
}

Result<RequestRecord> ParseRecordJson(std::string_view line) {
  const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::DataError("not valid JSON");
  if (!j.is_object()) return Status::DataError("not a JSON object");
  if (j.contains(kVersionKey)) return Status::DataError("a second header line");
  RequestRecord r;
  LLMRCA_ASSIGN_OR_RETURN(r.id, RequiredInt(j, "id"));
  LLMRCA_ASSIGN_OR_RETURN(r.step, RequiredInt32(j, "step"));
  LLMRCA_ASSIGN_OR_RETURN(r.scheduled_s, RequiredTime(j, "scheduled_s"));
  LLMRCA_ASSIGN_OR_RETURN(r.send_s, RequiredTime(j, "send_s"));
  LLMRCA_ASSIGN_OR_RETURN(r.headers_s, OptionalTime(j, "headers_s"));
  LLMRCA_ASSIGN_OR_RETURN(r.first_content_s, OptionalTime(j, "first_content_s"));
  LLMRCA_ASSIGN_OR_RETURN(r.end_s, RequiredTime(j, "end_s"));
  LLMRCA_RETURN_IF_ERROR(ParseChunks(j, r));
  LLMRCA_ASSIGN_OR_RETURN(r.prompt_tokens, OptionalInt(j, "prompt_tokens"));
  LLMRCA_ASSIGN_OR_RETURN(r.prompt_tokens_source, Source(j, "prompt_tokens_source"));
  LLMRCA_ASSIGN_OR_RETURN(std::optional<int64_t> out_tokens, OptionalInt(j, "output_tokens"));
  r.output_tokens = out_tokens.value_or(0);
  LLMRCA_ASSIGN_OR_RETURN(r.output_tokens_source, Source(j, "output_tokens_source"));
  LLMRCA_ASSIGN_OR_RETURN(r.max_tokens, OptionalInt(j, "max_tokens"));
  LLMRCA_ASSIGN_OR_RETURN(std::optional<int64_t> status, OptionalInt(j, "http_status"));
  if (status && (*status < 0 || *status > 999)) {
    return Status::DataError(fmt::format("'http_status' is {}, not an HTTP status", *status));
  }
  r.http_status = static_cast<int>(status.value_or(0));
  LLMRCA_ASSIGN_OR_RETURN(std::optional<std::string> error_class, OptionalString(j, "error_class"));
  if (!error_class) return Status::DataError("missing 'error_class'");
  const std::optional<ErrorClass> cls = ErrorClassFromName(*error_class);
  if (!cls) {
    return Status::DataError(
        fmt::format("'error_class' is '{}', not a known error class", *error_class));
  }
  r.error_class = *cls;
  LLMRCA_ASSIGN_OR_RETURN(std::optional<std::string> error, OptionalString(j, "error"));
  r.error = error.value_or("");
  LLMRCA_ASSIGN_OR_RETURN(r.finish_reason, OptionalString(j, "finish_reason"));
  return r;
}

std::string HeaderToJson(const RecordsHeader& header) {
  Json j;
  j[std::string(kVersionKey)] = kRecordsFormatVersion;
  j["start_unix_ns"] = header.start_unix_ns;
  j["start_utc"] = IsoUtc(header.start_unix_ns);
  j["clock"] = "steady";
  j["time_unit"] = "s";
  j["chunk_times"] = "relative to send_s";
  Json labels = Json::object();
  for (const auto& [key, value] : header.labels) labels[key] = value;
  j["labels"] = std::move(labels);
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<RecordsHeader> ParseHeaderJson(std::string_view line) {
  const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::DataError("not a JSON object");
  const Json* version = Find(j, std::string(kVersionKey).c_str());
  if (version == nullptr) {
    return Status::DataError(fmt::format("not a records header (no '{}' key)", kVersionKey));
  }
  if (!version->is_number_integer() || version->get<int64_t>() != kRecordsFormatVersion) {
    return Status::DataError(fmt::format("records format version {} is not supported (need {})",
                                         version->dump(), kRecordsFormatVersion));
  }
  RecordsHeader header;
  LLMRCA_ASSIGN_OR_RETURN(header.start_unix_ns, RequiredInt(j, "start_unix_ns"));
  if (const Json* labels = Find(j, "labels")) {
    if (!labels->is_object()) return Status::DataError("'labels' is not an object");
    for (const auto& [key, value] : labels->items()) {
      header.labels.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  return header;
}

// ---------------------------------------------------------------------------------------------
// RecordWriter

RecordWriter::~RecordWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<RecordWriter>> RecordWriter::Create(const std::string& path,
                                                           const RecordsHeader& header) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IoError(
        fmt::format("records: {}: cannot create: {}", path, std::strerror(errno)));
  }
  std::unique_ptr<RecordWriter> writer(new RecordWriter(path, fd));
  {
    std::lock_guard<std::mutex> lock(writer->mu_);
    LLMRCA_RETURN_IF_ERROR(writer->WriteLine(HeaderToJson(header)));
  }
  return writer;
}

Status RecordWriter::WriteLine(std::string line) {
  if (fd_ < 0) return Status::IoError(fmt::format("records: {}: writer is closed", path_));
  line += '\n';
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(
          fmt::format("records: {}: write failed: {}", path_, std::strerror(errno)));
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status RecordWriter::Append(const RequestRecord& record) {
  LLMRCA_ASSIGN_OR_RETURN(std::string line, RecordToJson(record));
  std::lock_guard<std::mutex> lock(mu_);
  return WriteLine(std::move(line));
}

Status RecordWriter::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ < 0) return Status::Ok();
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) {
    return Status::IoError(
        fmt::format("records: {}: close failed: {}", path_, std::strerror(errno)));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// RecordReader

struct RecordReader::File {
  std::ifstream in;
};

RecordReader::RecordReader(std::string path, std::unique_ptr<File> file)
    : path_(std::move(path)), file_(std::move(file)) {}
RecordReader::~RecordReader() = default;
RecordReader::RecordReader(RecordReader&&) noexcept = default;
RecordReader& RecordReader::operator=(RecordReader&&) noexcept = default;

Result<RecordReader> RecordReader::Open(const std::string& path) {
  std::error_code dir_ec;
  if (std::filesystem::is_directory(path, dir_ec)) {
    return Status::IoError(fmt::format("records: {}: is a directory", path));
  }
  auto file = std::make_unique<File>();
  file->in.open(path, std::ios::binary);
  if (!file->in.is_open()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      return Status::NotFound(fmt::format("records: {}: no such file", path));
    }
    return Status::IoError(fmt::format("records: {}: cannot open", path));
  }
  RecordReader reader(path, std::move(file));
  std::string line;
  if (!std::getline(reader.file_->in, line)) {
    return Status::DataError(fmt::format("records: {}: empty file, no header line", path));
  }
  reader.line_number_ = 1;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  Result<RecordsHeader> header = ParseHeaderJson(line);
  if (!header.ok()) {
    return Status::DataError(fmt::format("records: {}:1: {}", path, header.status().message()));
  }
  reader.header_ = std::move(header).value();
  return reader;
}

Result<std::optional<RequestRecord>> RecordReader::Next() {
  std::string line;
  while (std::getline(file_->in, line)) {
    ++line_number_;
    // getline sets eof when the line ended at the end of the file instead of at a newline.
    const bool unterminated = file_->in.eof();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    Result<RequestRecord> record = ParseRecordJson(line);
    if (record.ok()) return std::optional<RequestRecord>(std::move(record).value());
    if (unterminated) {
      truncated_last_line_ = true;
      return std::optional<RequestRecord>();
    }
    return Status::DataError(
        fmt::format("records: {}:{}: {}", path_, line_number_, record.status().message()));
  }
  if (file_->in.bad()) return Status::IoError(fmt::format("records: {}: read failed", path_));
  return std::optional<RequestRecord>();
}

Result<RecordsFile> ReadRecordsFile(const std::string& path) {
  LLMRCA_ASSIGN_OR_RETURN(RecordReader reader, RecordReader::Open(path));
  RecordsFile out;
  out.header = reader.header();
  while (true) {
    LLMRCA_ASSIGN_OR_RETURN(std::optional<RequestRecord> record, reader.Next());
    if (!record) break;
    out.records.push_back(std::move(*record));
  }
  out.truncated_last_line = reader.truncated_last_line();
  return out;
}

}  // namespace llmrca::load
