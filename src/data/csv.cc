#include "data/csv.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "base/strings.h"

namespace llmrca::data {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool IsLineEnd(char c) { return c == '\n' || c == '\r'; }

// Cursor over the CSV text with the current line number for error messages.
struct Cursor {
  const char* p;
  const char* end;
  int64_t line;
};

// Consumes a quoted cell whose opening quote is at c.p, through its closing quote; a doubled
// quote inside stands for one. The unescaped body goes to `body` when given; line breaks inside
// are counted. Returns false when the text ends before the closing quote.
bool ConsumeQuoted(Cursor& c, std::string* body) {
  ++c.p;
  while (c.p < c.end) {
    if (*c.p == '"') {
      if (c.p + 1 < c.end && c.p[1] == '"') {
        if (body != nullptr) *body += '"';
        c.p += 2;
        continue;
      }
      ++c.p;
      return true;
    }
    if (*c.p == '\n') ++c.line;
    if (body != nullptr) *body += *c.p;
    ++c.p;
  }
  return false;
}

// Reads one header cell (quoted or not) starting at c.p; leaves c.p on the delimiter.
std::string ReadHeaderCell(Cursor& c) {
  std::string cell;
  while (c.p < c.end && (*c.p == ' ' || *c.p == '\t')) ++c.p;
  if (c.p < c.end && *c.p == '"') {
    ConsumeQuoted(c, &cell);
    while (c.p < c.end && *c.p != ',' && !IsLineEnd(*c.p)) ++c.p;
    return cell;
  }
  const char* begin = c.p;
  while (c.p < c.end && *c.p != ',' && !IsLineEnd(*c.p)) ++c.p;
  return std::string(Trim(std::string_view(begin, static_cast<size_t>(c.p - begin))));
}

// Moves past the line end at c.p (LF, CRLF or a lone CR) and counts the line.
void SkipLineEnd(Cursor& c) {
  if (c.p < c.end && *c.p == '\r') ++c.p;
  if (c.p < c.end && *c.p == '\n') ++c.p;
  ++c.line;
}

// Skips a cell without parsing it; leaves c.p on the delimiter or line end.
void SkipCell(Cursor& c) {
  while (c.p < c.end && (*c.p == ' ' || *c.p == '\t')) ++c.p;
  if (c.p < c.end && *c.p == '"') ConsumeQuoted(c, nullptr);
  while (c.p < c.end && *c.p != ',' && !IsLineEnd(*c.p)) ++c.p;
}

// 10^0 .. 10^22: the powers of ten a double holds exactly.
constexpr double kExactPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Fast path for the usual cell, "[-]digits[.digits]" ("%.6f" exports, integer times) ended by a
// delimiter, a space or the text's end. With at most 19 digits, a mantissa m <= 2^53 and
// d <= 22 decimals, m and 10^d are exact doubles and m / 10^d is one correctly rounded division
// (Clinger's fast path), so `out` is the double std::from_chars would give. Returns the end of
// the number, or nullptr (leaving `out` alone) when the general parser is needed: an exponent,
// more digits, "1." or ".5", inf/nan, or anything else after the number.
const char* ParseSimpleDecimal(const char* p, const char* end, double& out) {
  const bool negative = p < end && *p == '-';
  if (negative) ++p;
  uint64_t mantissa = 0;  // wraps on > 19 digits; rejected below by the digit count
  const char* q = p;
  while (q < end && IsDigit(*q)) mantissa = mantissa * 10 + static_cast<uint64_t>(*q++ - '0');
  const size_t int_digits = static_cast<size_t>(q - p);
  if (int_digits == 0) return nullptr;
  size_t decimals = 0;
  if (q < end && *q == '.') {
    const char* frac = ++q;
    while (q < end && IsDigit(*q)) mantissa = mantissa * 10 + static_cast<uint64_t>(*q++ - '0');
    decimals = static_cast<size_t>(q - frac);
    if (decimals == 0) return nullptr;
  }
  if (q < end && *q != ',' && *q != ' ' && *q != '\t' && !IsLineEnd(*q)) return nullptr;
  if (int_digits + decimals > 19 || mantissa > (uint64_t{1} << 53) || decimals > 22) {
    return nullptr;
  }
  const double v = static_cast<double>(mantissa) / kExactPow10[decimals];
  out = negative ? -v : v;
  return q;
}

// Parses `text` (an unquoted cell body) fully as a number; empty -> NaN.
bool ParseNumber(std::string_view text, double& out) {
  text = Trim(text);
  if (text.empty()) {
    out = kNaN;
    return true;
  }
  if (text.front() == '+') {
    text.remove_prefix(1);
    if (!text.empty() && text.front() == '-') return false;  // "+-5": from_chars would take -5
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ptr != text.data() + text.size()) return false;
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves `out` alone; strtod gives +-inf or 0 as pandas would.
    out = std::strtod(std::string(text).c_str(), nullptr);
    return true;
  }
  return ec == std::errc();
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view source, const CsvReadOptions& options)
      : text_(text), source_(source), options_(options) {}

  Result<Frame> Run();

 private:
  Status Error(int64_t line, std::string detail) const {
    return Status::DataError(fmt::format("data: {}:{}: {}", source_, line, detail));
  }
  Status CellError(int64_t line, size_t field, std::string detail) const {
    return Error(line, fmt::format("column {} ('{}'): {}", field + 1, header_[field], detail));
  }
  // Parses the cell at c.p into `out`; on success c.p is on the delimiter or line end.
  Status ParseCell(Cursor& c, size_t field, double& out);

  std::string_view text_;
  std::string_view source_;
  const CsvReadOptions& options_;
  std::vector<std::string> header_;
};

Status Parser::ParseCell(Cursor& c, size_t field, double& out) {
  while (c.p < c.end && (*c.p == ' ' || *c.p == '\t')) ++c.p;
  if (c.p < c.end && *c.p == '"') {
    std::string body;
    const int64_t line = c.line;
    if (!ConsumeQuoted(c, &body)) return CellError(line, field, "unterminated quoted cell");
    while (c.p < c.end && (*c.p == ' ' || *c.p == '\t')) ++c.p;
    // Anything else before the delimiter would be taken for one by the caller.
    if (c.p < c.end && *c.p != ',' && !IsLineEnd(*c.p)) {
      return CellError(c.line, field, "text after the closing quote");
    }
    if (!ParseNumber(body, out)) {
      return CellError(c.line, field, fmt::format("non-numeric cell '{}'", body));
    }
    return Status::Ok();
  }
  const char* start = c.p;
  // "+-5" keeps its '+', so the parsers below fail and the slow path rejects it.
  if (c.p < c.end && *c.p == '+' && !(c.p + 1 < c.end && c.p[1] == '-')) ++c.p;
  const char* ptr = ParseSimpleDecimal(c.p, c.end, out);
  std::errc ec = std::errc();
  if (ptr == nullptr) {
    const std::from_chars_result r = std::from_chars(c.p, c.end, out);
    ptr = r.ptr;
    ec = r.ec;
  }
  if (ec == std::errc()) {
    c.p = ptr;
    while (c.p < c.end && (*c.p == ' ' || *c.p == '\t')) ++c.p;
    if (c.p == c.end || *c.p == ',' || IsLineEnd(*c.p)) return Status::Ok();
  }
  // Slow path: an empty cell, an out-of-range number, or text.
  c.p = start;
  while (c.p < c.end && *c.p != ',' && !IsLineEnd(*c.p)) ++c.p;
  std::string_view cell(start, static_cast<size_t>(c.p - start));
  if (!ParseNumber(cell, out)) {
    return CellError(c.line, field, fmt::format("non-numeric cell '{}'", Trim(cell)));
  }
  return Status::Ok();
}

Result<Frame> Parser::Run() {
  Cursor c{text_.data(), text_.data() + text_.size(), 1};
  if (text_.size() >= 3 && std::memcmp(c.p, "\xEF\xBB\xBF", 3) == 0) c.p += 3;
  // Blank lines before the header are skipped too.
  while (c.p < c.end && IsLineEnd(*c.p)) SkipLineEnd(c);
  if (c.p == c.end) return Error(c.line, "empty file: no header line");
  const int64_t header_line = c.line;
  while (true) {
    header_.push_back(ReadHeaderCell(c));
    if (c.p < c.end && *c.p == ',') {
      ++c.p;
      continue;
    }
    break;
  }
  SkipLineEnd(c);

  // Decide what each field becomes: the time, a kept column (its index), or skipped (-1).
  constexpr int kTimeField = -2;
  constexpr int kSkip = -1;
  std::vector<int> role(header_.size(), kSkip);
  std::vector<std::string> names;
  std::set<std::string, std::less<>> seen;
  int time_field = -1;
  for (size_t f = 0; f < header_.size(); ++f) {
    const std::string& name = header_[f];
    if (time_field < 0 && (name == "time" || name == "Time")) {
      time_field = static_cast<int>(f);
      role[f] = kTimeField;
      seen.insert(name);  // a second "time" is a duplicate, not a metric column named "time"
      continue;
    }
    if (name.empty() || name.rfind("Unnamed:", 0) == 0) continue;
    if (name.size() > 5 && name.rfind("time.", 0) == 0 && ParseInt(name.substr(5))) continue;
    if (options_.keep_column && !options_.keep_column(name)) continue;
    if (!seen.insert(name).second) {
      return Error(header_line, fmt::format("column {}: duplicate column name '{}'", f + 1, name));
    }
    role[f] = static_cast<int>(names.size());
    names.push_back(name);
  }
  if (time_field < 0) return Error(header_line, "no 'time' column in header");

  // Upper bound on the number of rows: the line ends left (plus a last unterminated line). A
  // lone CR ends a line too (SkipLineEnd), so each CR not followed by LF counts as one more.
  size_t max_rows = 0;
  for (const char* q = c.p; q < c.end;) {
    const void* nl = std::memchr(q, '\n', static_cast<size_t>(c.end - q));
    ++max_rows;
    if (nl == nullptr) break;
    q = static_cast<const char*>(nl) + 1;
  }
  for (const char* q = c.p; q < c.end;) {
    const void* cr = std::memchr(q, '\r', static_cast<size_t>(c.end - q));
    if (cr == nullptr) break;
    q = static_cast<const char*>(cr) + 1;
    if (q == c.end || *q != '\n') ++max_rows;
  }

  const Eigen::Index ncols = static_cast<Eigen::Index>(names.size());
  Eigen::MatrixXd values(static_cast<Eigen::Index>(max_rows), ncols);
  std::vector<double> time;
  time.reserve(max_rows);
  double* data = values.data();
  const size_t stride = max_rows;
  const size_t nfields = header_.size();
  size_t row = 0;

  while (c.p < c.end) {
    if (IsLineEnd(*c.p)) {  // blank line
      SkipLineEnd(c);
      continue;
    }
    const int64_t line = c.line;
    double t = 0;
    for (size_t f = 0; f < nfields; ++f) {
      if (f > 0) {
        if (c.p == c.end || IsLineEnd(*c.p)) {
          return CellError(line, f, fmt::format("ragged row: {} cells, header has {}", f, nfields));
        }
        ++c.p;  // the comma
      }
      const int r = role[f];
      if (r == kSkip) {
        SkipCell(c);
        continue;
      }
      double v;
      LLMRCA_RETURN_IF_ERROR(ParseCell(c, f, v));
      if (r == kTimeField) {
        t = v;
      } else {
        data[static_cast<size_t>(r) * stride + row] = v;
      }
    }
    if (c.p < c.end && *c.p == ',') {
      size_t cells = nfields;
      for (const char* q = c.p; q < c.end && !IsLineEnd(*q); ++q) cells += (*q == ',');
      return Error(line, fmt::format("column {}: ragged row: {} cells, header has {}", nfields + 1,
                                     cells, nfields));
    }
    if (!std::isfinite(t)) {
      return CellError(line, static_cast<size_t>(time_field),
                       std::isnan(t) ? "empty or NaN time" : "infinite time");
    }
    if (!time.empty() && t < time.back()) {
      return CellError(line, static_cast<size_t>(time_field),
                       fmt::format("time {} is earlier than the previous row's {}", t, time.back()));
    }
    time.push_back(t);
    ++row;
    SkipLineEnd(c);
  }

  if (row < max_rows) {
    // Blank lines were skipped: compact the columns (column-major, so move column by column).
    Eigen::MatrixXd compact(static_cast<Eigen::Index>(row), ncols);
    for (Eigen::Index j = 0; j < ncols; ++j) {
      compact.col(j) = values.col(j).head(static_cast<Eigen::Index>(row));
    }
    values = std::move(compact);
  }
  return Frame(std::move(time), std::move(names), std::move(values));
}

}  // namespace

Result<Frame> ParseMetricsCsv(std::string_view text, std::string_view source,
                              const CsvReadOptions& options) {
  return Parser(text, source, options).Run();
}

namespace {

// A read-only private mapping of a whole regular file; empty when the file cannot be mapped
// (then the caller reads it instead). Parsing the mapping saves copying the file once more.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ,
                       MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const char*>(p);
        size_ = static_cast<size_t>(st.st_size);
      }
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  bool ok() const { return data_ != nullptr; }
  std::string_view text() const { return {data_, size_}; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

Result<Frame> ReadMetricsCsv(const std::filesystem::path& path, const CsvReadOptions& options) {
  MappedFile mapped(path);
  if (mapped.ok()) return ParseMetricsCsv(mapped.text(), path.string(), options);
  // Empty files, pipes and unmappable files: read them, which also yields the precise error.
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status().WithPrefix("data");
  return ParseMetricsCsv(*text, path.string(), options);
}

}  // namespace llmrca::data
