// Small string utilities shared by every area: splitting, trimming, number parsing without
// exceptions, and the edit distance behind "did you mean" suggestions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmrca {

// Splits `text` at every `sep`; empty pieces are kept ("a,,b" -> {"a", "", "b"}).
std::vector<std::string> Split(std::string_view text, char sep);

// Removes leading and trailing spaces, tabs, CR and LF.
std::string_view Trim(std::string_view text);

// One CSV field (RFC 4180): as is, or in double quotes with inner quotes doubled when it holds a
// comma, a quote or a line break.
std::string CsvQuote(std::string_view field);

std::string Join(const std::vector<std::string>& parts, std::string_view sep);

// Parses the whole of `text` (after trimming) as a number; nullopt if anything is left over.
std::optional<double> ParseDouble(std::string_view text);
std::optional<int64_t> ParseInt(std::string_view text);

// Levenshtein distance (insertions, deletions, substitutions of one byte each).
int EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `name` by edit distance, if it is close enough to be a plausible typo
// (distance <= max(2, |name| / 3)) or `name` is a prefix of it; empty when none qualifies.
std::string SuggestClosest(std::string_view name, const std::vector<std::string>& candidates);

// "; did you mean 'x'?" for the closest candidate, or "" when nothing is close.
std::string DidYouMean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace llmrca
