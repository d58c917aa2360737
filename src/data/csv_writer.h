// CsvWriter: writes CSV files the strict reader (csv.h) and pandas both accept: a header, then
// rows of cells; numbers in a compact round-trip-safe form, NaN as an empty cell, text quoted
// when it holds a comma, quote or line break. Output is buffered and deterministic (the same
// cells give the same bytes). Not thread-safe; one writer per file.
#pragma once

#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace llmrca::data {

class CsvWriter {
 public:
  CsvWriter() = default;
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  // Creates (or truncates) `path`; kIoError naming it on failure.
  Status Open(const std::filesystem::path& path);
  // Cells of the current row; EndRow() finishes it.
  void Number(double value);
  // Seconds since the epoch: an integer when whole, else microsecond precision.
  void Time(double seconds);
  void Text(std::string_view text);
  void EndRow();
  // Writes a whole header or text row.
  void Row(std::span<const std::string> cells);
  // Flushes and closes; kIoError naming the file when any write failed.
  Status Close();

 private:
  void Separator();
  void FlushIfLarge();

  std::FILE* file_ = nullptr;
  std::filesystem::path path_;
  std::string buffer_;
  bool row_started_ = false;
  bool failed_ = false;
};

// Writes `text` to `path`, replacing it; kIoError naming the path on failure.
Status WriteStringToFile(const std::filesystem::path& path, std::string_view text);

// Formats a number as CsvWriter does: up to 7 significant digits ("%.7g"), "" for NaN, and
// "inf"/"-inf" for infinities (read back as such).
std::string FormatCsvNumber(double value);

}  // namespace llmrca::data
