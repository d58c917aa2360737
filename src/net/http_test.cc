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


TEST(HttpResponseHeadTest, ParsesTheStatusLineAndTheFramingFields) {
  Result<HttpResponseHead> h = ParseResponseHead(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\ntransfer-encoding: gzip, chunked\r\n"
      "Connection: close");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->content_type, "text/event-stream");
  EXPECT_TRUE(h->has_transfer_encoding);
  EXPECT_TRUE(h->chunked);
  EXPECT_FALSE(h->keep_alive);
  EXPECT_FALSE(h->has_content_length);

  Result<HttpResponseHead> no_reason = ParseResponseHead("HTTP/1.0 503\r\nContent-Length: 7");
  ASSERT_TRUE(no_reason.ok());
  EXPECT_EQ(no_reason->status, 503);
  EXPECT_FALSE(no_reason->keep_alive);  // HTTP/1.0
  EXPECT_TRUE(no_reason->has_content_length);
  EXPECT_EQ(no_reason->content_length, 7u);

  Result<HttpResponseHead> gzip_only = ParseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip");
  ASSERT_TRUE(gzip_only.ok());
  EXPECT_FALSE(gzip_only->chunked);  // "chunked" must be the last coding

  for (const char* bad : {"HTTP/1.1", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 abc OK",
                          "HTTP/2 200 OK", "ICY 200 OK", "HTTP/1.1 099 x",
                          "HTTP/1.1 200 OK\r\nno colon", "HTTP/1.1 200 OK\r\nContent-Length: x"}) {
    Result<HttpResponseHead> r = ParseResponseHead(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

// Wikipedia's example of the chunked coding, with a chunk extension and a trailer field: the
// chunks are 4 ("Wiki"), 5 ("pedia") and 0xE = 14 (" in\r\n\r\nchunks.") bytes, 23 in all.
constexpr std::string_view kChunked =
    "4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n";
constexpr std::string_view kDecoded = "Wikipedia in\r\n\r\nchunks.";

TEST(ChunkedDecoderTest, DecodesWhateverTheSplit) {
  const std::string input = std::string(kChunked) + "NEXT";
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    ChunkedDecoder d;
    std::string out;
    std::string_view first = std::string_view(input).substr(0, cut);
    ASSERT_TRUE(d.Decode(first, out).ok()) << cut;
    if (d.done()) {
      // Only a cut after the blank line that ends the trailers can finish the body.
      EXPECT_GE(cut, kChunked.size()) << cut;
      EXPECT_EQ(first.size(), cut - kChunked.size());
    } else {
      EXPECT_TRUE(first.empty()) << cut;
      std::string_view second = std::string_view(input).substr(cut);
      ASSERT_TRUE(d.Decode(second, out).ok()) << cut;
      ASSERT_TRUE(d.done()) << cut;
      EXPECT_EQ(second, "NEXT") << cut;
    }
    EXPECT_EQ(out, kDecoded) << cut;
  }
  // One byte at a time.
  ChunkedDecoder d;
  std::string out;
  for (size_t i = 0; i < kChunked.size(); ++i) {
    EXPECT_FALSE(d.done()) << i;
    std::string_view one = kChunked.substr(i, 1);
    ASSERT_TRUE(d.Decode(one, out).ok()) << i;
    EXPECT_TRUE(one.empty());
  }
  EXPECT_TRUE(d.done());
  EXPECT_EQ(out, kDecoded);
}

TEST(ChunkedDecoderTest, RejectsBadFraming) {
  for (const char* bad : {"zz\r\n", "\r\n", "-1\r\n", "0x5\r\n",
                          "10000000000000000\r\n",  // 17 hex digits: over 2^60
                          "3\r\nabcX\r\n",           // no CRLF after the chunk
                          "3\r\nabc\rX"}) {
    ChunkedDecoder d;
    std::string out;
    std::string_view in(bad);
    const Status s = d.Decode(in, out);
    EXPECT_TRUE(s.IsInvalidArgument()) << bad;
    EXPECT_FALSE(d.done()) << bad;
    std::string_view more("0\r\n\r\n");
    EXPECT_FALSE(d.Decode(more, out).ok()) << bad;  // stays failed
  }
  ChunkedDecoder d;
  std::string out;
  const std::string long_line(ChunkedDecoder::kMaxLineBytes + 1, 'a');
  std::string_view in(long_line);
  EXPECT_FALSE(d.Decode(in, out).ok());
  d.Reset();
  std::string_view good("2\r\nok\r\n0\r\n\r\n");
  ASSERT_TRUE(d.Decode(good, out).ok());
  EXPECT_TRUE(d.done());
  EXPECT_EQ(out, "ok");
}

// Feeds `response` to a reader in two pieces cut at `cut`; returns the outcomes seen and the body.
struct ReadResult {
  bool head = false;
  bool complete = false;
  bool error = false;
  std::string body;
  std::string rest;
};
ReadResult ReadSplit(ResponseReader& r, std::string_view response, size_t cut, bool eof = false) {
  ReadResult out;
  for (std::string_view piece : {response.substr(0, cut), response.substr(cut)}) {
    for (int guard = 0; guard < 8 && !out.complete && !out.error; ++guard) {
      const ResponseReader::Outcome o = r.Next(piece, out.body);
      if (o == ResponseReader::Outcome::kHead) {
        out.head = true;
        continue;
      }
      if (o == ResponseReader::Outcome::kComplete) out.complete = true;
      if (o == ResponseReader::Outcome::kError) out.error = true;
      break;
    }
    out.rest += std::string(piece);
  }
  if (eof && !out.complete && !out.error) {
    const ResponseReader::Outcome o = r.EndOfInput();
    out.complete = o == ResponseReader::Outcome::kComplete;
    out.error = o == ResponseReader::Outcome::kError;
  }
  return out;
}

TEST(ResponseReaderTest, FramesByLengthChunksOrClose) {
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n" +
      std::string(kChunked);
  for (size_t cut = 0; cut <= chunked.size(); ++cut) {
    ResponseReader r;
    ReadResult got = ReadSplit(r, chunked + "X", cut);
    ASSERT_TRUE(got.complete) << cut;
    EXPECT_TRUE(got.head) << cut;
    EXPECT_EQ(got.body, kDecoded) << cut;
    EXPECT_EQ(got.rest, "X") << cut;
    EXPECT_EQ(r.head().content_type, "text/event-stream");
    EXPECT_TRUE(r.keep_alive());
    EXPECT_EQ(r.body_bytes(), 23u);
  }
  // A 404 with a Content-Length body, after an interim 100 Continue.
  const std::string not_found =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nno route!";
  for (size_t cut = 0; cut <= not_found.size(); ++cut) {
    ResponseReader r;
    ReadResult got = ReadSplit(r, not_found, cut);
    ASSERT_TRUE(got.complete) << cut;
    EXPECT_EQ(r.head().status, 404);
    EXPECT_EQ(got.body, "no route!");
    EXPECT_TRUE(got.rest.empty());
  }
  // A 503 with a chunked body and Connection: close: complete, but not to be reused.
  ResponseReader r503;
  ReadResult got = ReadSplit(
      r503, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nTransfer-Encoding: chunked"
            "\r\n\r\n5\r\nbusy!\r\n0\r\n\r\n", 10);
  ASSERT_TRUE(got.complete);
  EXPECT_EQ(r503.head().status, 503);
  EXPECT_EQ(got.body, "busy!");
  EXPECT_FALSE(r503.keep_alive());
  // Read until the close: only the end of the input completes it, and never for reuse.
  ResponseReader until_close;
  got = ReadSplit(until_close, "HTTP/1.1 200 OK\r\n\r\nall of it", 20, /*eof=*/true);
  ASSERT_TRUE(got.complete);
  EXPECT_EQ(got.body, "all of it");
  EXPECT_FALSE(until_close.keep_alive());
  // 204: no body, whatever follows is the next response.
  ResponseReader empty;
  got = ReadSplit(empty, "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1", 5);
  ASSERT_TRUE(got.complete);
  EXPECT_EQ(got.rest, "HTTP/1.1");
  // Reset() readies the reader for the next response on the connection.
  empty.Reset();
  got = ReadSplit(empty, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", 3);
  ASSERT_TRUE(got.complete);
  EXPECT_EQ(got.body, "hi");
}

TEST(ResponseReaderTest, ReportsCutAndMalformedResponses) {
  // The server closes mid-body: the 3 bytes that came are kept; the reader says how many.
  ResponseReader cut;
  ReadResult got = ReadSplit(cut, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 8, true);
  EXPECT_TRUE(got.error);
  EXPECT_EQ(got.body, "abc");
  EXPECT_EQ(cut.error(), "connection closed mid-body after 3 bytes");
  // Closed inside a chunked body (after the first chunk).
  ResponseReader cut_chunked;
  got = ReadSplit(cut_chunked,
                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npe", 50,
                  true);
  EXPECT_TRUE(got.error);
  EXPECT_EQ(got.body, "Wikipe");
  EXPECT_EQ(cut_chunked.error(), "connection closed mid-body after 6 bytes");
  // Closed before any head.
  ResponseReader nothing;
  EXPECT_EQ(nothing.EndOfInput(), ResponseReader::Outcome::kError);
  EXPECT_EQ(nothing.error(), "connection closed before the response head");
  // A bad chunk size.
  ResponseReader bad_chunk;
  got = ReadSplit(bad_chunk, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n",
                  40);
  EXPECT_TRUE(got.error);
  EXPECT_EQ(got.body, "ok");
  EXPECT_EQ(bad_chunk.error(), "chunked body: bad chunk size 'zz'");
  // Not HTTP, and a head that never ends.
  ResponseReader not_http;
  got = ReadSplit(not_http, "SSH-2.0-OpenSSH_9.2\r\n\r\n", 4);
  EXPECT_TRUE(got.error);
  EXPECT_EQ(not_http.error(), "bad response head: unsupported HTTP version 'SSH-2.0-OpenSSH_9.2'");
  ResponseReader huge;
  const std::string endless = "HTTP/1.1 200 OK\r\nX: " + std::string(ResponseReader::kMaxHeadBytes, 'x');
  got = ReadSplit(huge, endless, 100);
  EXPECT_TRUE(got.error);
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
