#include "data/csv_writer.h"

#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace llmrca::data {

namespace {
constexpr size_t kFlushBytes = 1 << 16;
}  // namespace

std::string FormatCsvNumber(double value) {
  if (std::isnan(value)) return "";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0) return "0";  // also folds -0
  return fmt::format("{:.7g}", value);
}

Status WriteStringToFile(const std::filesystem::path& path, std::string_view text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return Status::IoError(fmt::format("data: cannot write {}: {}", path.string(), std::strerror(errno)));
  }
  const size_t written = std::fwrite(text.data(), 1, text.size(), f);
  const bool closed = std::fclose(f) == 0;
  if (written != text.size() || !closed) {
    return Status::IoError(fmt::format("data: cannot write {}: {}", path.string(), std::strerror(errno)));
  }
  return Status::Ok();
}

CsvWriter::~CsvWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

Status CsvWriter::Open(const std::filesystem::path& path) {
  if (file_ != nullptr) std::fclose(file_);
  path_ = path;
  failed_ = false;
  buffer_.clear();
  row_started_ = false;
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    return Status::IoError(fmt::format("data: cannot write {}: {}", path.string(), std::strerror(errno)));
  }
  return Status::Ok();
}

void CsvWriter::Separator() {
  if (row_started_) buffer_ += ',';
  row_started_ = true;
}

void CsvWriter::Number(double value) {
  Separator();
  buffer_ += FormatCsvNumber(value);
}

void CsvWriter::Time(double seconds) {
  Separator();
  if (seconds == std::floor(seconds) && std::fabs(seconds) < 1e15) {
    buffer_ += fmt::format("{}", static_cast<int64_t>(seconds));
  } else {
    buffer_ += fmt::format("{:.6f}", seconds);
  }
}

void CsvWriter::Text(std::string_view text) {
  Separator();
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    buffer_ += text;
    return;
  }
  buffer_ += '"';
  for (char c : text) {
    if (c == '"') buffer_ += '"';
    buffer_ += c;
  }
  buffer_ += '"';
}

void CsvWriter::EndRow() {
  buffer_ += '\n';
  row_started_ = false;
  FlushIfLarge();
}

void CsvWriter::Row(std::span<const std::string> cells) {
  for (const std::string& cell : cells) Text(cell);
  EndRow();
}

void CsvWriter::FlushIfLarge() {
  if (buffer_.size() < kFlushBytes || file_ == nullptr) return;
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) failed_ = true;
  buffer_.clear();
}

Status CsvWriter::Close() {
  if (file_ == nullptr) return Status::IoError("data: CsvWriter closed twice or never opened");
  if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
    failed_ = true;
  }
  buffer_.clear();
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (failed_ || !closed) {
    return Status::IoError(fmt::format("data: cannot write {}: {}", path_.string(), std::strerror(errno)));
  }
  return Status::Ok();
}

}  // namespace llmrca::data
