// Helpers for the tests of serve-sim's servers (engine, router): raw requests and the SSE
// events of a streamed body. Test-only; header-only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace llmrca::sim::test_support {

// A POST with a JSON body, as raw HTTP/1.1 bytes.
inline std::string Post(std::string_view path, const std::string& body) {
  return fmt::format(
      "POST {} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}", path,
      body.size(), body);
}

// The SSE events of a streamed body: the text after "data: " of each event.
inline std::vector<std::string> Events(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) break;
    out.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end + 2;
  }
  return out;
}

}  // namespace llmrca::sim::test_support
