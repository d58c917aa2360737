#include "data/plain_table.h"

#include <optional>

#include <fmt/format.h>

#include "base/strings.h"
#include "data/csv.h"

namespace llmrca::data {
namespace {

// Splits a line at `sep`; for ' ' runs of spaces and tabs count as one separator.
std::vector<std::string_view> Cells(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  if (sep == ' ') {
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i == line.size()) break;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
      out.push_back(line.substr(i, j - i));
      i = j;
    }
    return out;
  }
  size_t start = 0;
  while (true) {
    const size_t pos = line.find(sep, start);
    out.push_back(Trim(line.substr(start, pos == std::string_view::npos ? pos : pos - start)));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::string Unquote(std::string_view cell) {
  cell = Trim(cell);
  if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"') cell = cell.substr(1, cell.size() - 2);
  return std::string(cell);
}

}  // namespace

Result<PlainTable> ParsePlainTable(std::string_view text, std::string_view source) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  size_t first = 0;
  while (first < lines.size() && Trim(lines[first]).empty()) ++first;
  if (first == lines.size()) {
    return Status::DataError(fmt::format("data: {}: empty file: no header line", source));
  }
  const std::string_view header = lines[first];
  const char sep = header.find('\t') != std::string_view::npos
                       ? '\t'
                       : (header.find(',') != std::string_view::npos ? ',' : ' ');
  PlainTable table;
  for (std::string_view name : Cells(header, sep)) table.names.push_back(Unquote(name));
  const size_t cols = table.names.size();
  std::vector<std::vector<double>> rows;
  for (size_t l = first + 1; l < lines.size(); ++l) {
    if (Trim(lines[l]).empty()) continue;
    const std::vector<std::string_view> cells = Cells(lines[l], sep);
    if (cells.size() != cols) {
      return Status::DataError(fmt::format("data: {}:{}: ragged row: {} cells, header has {}",
                                           source, l + 1, cells.size(), cols));
    }
    std::vector<double> row(cols);
    for (size_t c = 0; c < cols; ++c) {
      std::optional<double> v = ParseDouble(Unquote(cells[c]));
      if (!v) {
        return Status::DataError(fmt::format("data: {}:{}: column {} ('{}'): non-numeric cell '{}'",
                                             source, l + 1, c + 1, table.names[c], cells[c]));
      }
      row[c] = *v;
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return Status::DataError(fmt::format("data: {}: no data row", source));
  table.values.resize(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(cols));
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < cols; ++c) {
      table.values(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = rows[r][c];
    }
  }
  return table;
}

Result<PlainTable> ReadPlainTable(const std::filesystem::path& path) {
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status().WithPrefix("data");
  return ParsePlainTable(*text, path.string());
}

}  // namespace llmrca::data
