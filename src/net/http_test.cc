#include "net/http.h"

#include <gtest/gtest.h>

namespace llmrca::net {
namespace {

TEST(HttpHeadTest, ParsesTheRequestLineAndTheHeadersThatMatter) {
  Result<HttpHead> h = ParseRequestHead(
      "POST /v1/completions?x=1 HTTP/1.1\r\nHost: a\r\ncontent-length: 12\r\n"
      "Connection: close\r\nExpect: 100-continue");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->method, "POST");
  EXPECT_EQ(h->path, "/v1/completions");
  EXPECT_EQ(h->query, "x=1");
  EXPECT_EQ(h->content_length, 12u);
  EXPECT_FALSE(h->keep_alive);
  EXPECT_TRUE(h->expect_continue);
  EXPECT_FALSE(h->has_transfer_encoding);

  Result<HttpHead> old = ParseRequestHead("GET / HTTP/1.0");
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->keep_alive);  // HTTP/1.0 closes unless told otherwise
  Result<HttpHead> old_ka = ParseRequestHead("GET / HTTP/1.0\r\nConnection: Keep-Alive");
  ASSERT_TRUE(old_ka.ok());
  EXPECT_TRUE(old_ka->keep_alive);
  Result<HttpHead> chunked = ParseRequestHead("POST / HTTP/1.1\r\nTransfer-Encoding: chunked");
  ASSERT_TRUE(chunked.ok());
  EXPECT_TRUE(chunked->has_transfer_encoding);
}

TEST(HttpHeadTest, RejectsMalformedHeads) {
  for (const char* bad : {"GET /", "GET  / HTTP/1.1", "GET / HTTP/2.0", "GET / HTTP/1.1\r\n: x",
                          "GET / HTTP/1.1\r\n folded", "GET / HTTP/1.1\r\nContent-Length: -1",
                          "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2",
                          "GET / HTTP/1.1\r\nContent-Length: abc"}) {
    Result<HttpHead> h = ParseRequestHead(bad);
    ASSERT_FALSE(h.ok()) << bad;
    EXPECT_TRUE(h.status().IsInvalidArgument()) << bad;
  }
  // The same length twice is allowed (RFC 9110 8.6).
  EXPECT_TRUE(ParseRequestHead("GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3").ok());
}

TEST(RequestReaderTest, CutsRequestsOutOfTheInputInOrder) {
  RequestReader reader({64, 10});
  std::string in = "\r\nPOST /a HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nab";
  RequestReader::Step s = reader.Next(in);
  EXPECT_EQ(s.outcome, RequestReader::Outcome::kNeedMore);
  EXPECT_TRUE(s.send_continue);
  EXPECT_FALSE(reader.Next(in).send_continue);  // once per request
  in += "cGET /b HTTP/1.1\r\n\r\n";
  s = reader.Next(in);
  ASSERT_EQ(s.outcome, RequestReader::Outcome::kRequest);
  EXPECT_EQ(s.head.path, "/a");
  EXPECT_EQ(s.body, "abc");
  s = reader.Next(in);
  ASSERT_EQ(s.outcome, RequestReader::Outcome::kRequest);
  EXPECT_EQ(s.head.path, "/b");
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(reader.Next(in).outcome, RequestReader::Outcome::kNeedMore);

  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(80, 'x');
  EXPECT_EQ(reader.Next(big).status, 431);
  std::string long_body = "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n";
  EXPECT_EQ(reader.Next(long_body).status, 413);
}

TEST(HttpHeadTest, ReasonPhrases) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(404), "Not Found");
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(499), "Client Error");
  EXPECT_EQ(ReasonPhrase(599), "Server Error");
}

}  // namespace
}  // namespace llmrca::net
