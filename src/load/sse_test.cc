#include "load/sse.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/random.h"

namespace llmrca::load {
namespace {

using std::string_literals::operator""s;

// Feeds `stream` whole, and returns the events.
std::vector<SseEvent> ParseWhole(std::string_view stream) {
  SseParser parser;
  return parser.Feed(stream);
}

// Feeds `stream` in pieces cut at `cuts` (sorted offsets), and returns all events.
std::vector<SseEvent> ParseSplit(std::string_view stream, const std::vector<size_t>& cuts) {
  SseParser parser;
  std::vector<SseEvent> all;
  size_t from = 0;
  for (size_t to : cuts) {
    for (SseEvent& e : parser.Feed(stream.substr(from, to - from))) all.push_back(std::move(e));
    from = to;
  }
  for (SseEvent& e : parser.Feed(stream.substr(from))) all.push_back(std::move(e));
  return all;
}

SseEvent Ev(std::string data, std::string type = "", std::string id = "") {
  return SseEvent{std::move(type), std::move(data), std::move(id)};
}

TEST(SseParserTest, DispatchesAnEventAtABlankLine) {
  EXPECT_EQ(ParseWhole("data: hello\n\n"), std::vector<SseEvent>{Ev("hello")});
  // No blank line yet: nothing is dispatched.
  EXPECT_TRUE(ParseWhole("data: hello\n").empty());
}

TEST(SseParserTest, JoinsDataLinesWithNewlines) {
  EXPECT_EQ(ParseWhole("data: a\ndata: b\ndata:\n\n"), std::vector<SseEvent>{Ev("a\nb\n")});
}

TEST(SseParserTest, StripsOnlyOneSpaceAfterTheColon) {
  EXPECT_EQ(ParseWhole("data:x\n\ndata:  y\n\n"), (std::vector<SseEvent>{Ev("x"), Ev(" y")}));
}

TEST(SseParserTest, AcceptsLfCrlfAndCrLineEnds) {
  EXPECT_EQ(ParseWhole("data: a\r\n\r\ndata: b\r\rdata: c\n\ndata: d\r\n\n"),
            (std::vector<SseEvent>{Ev("a"), Ev("b"), Ev("c"), Ev("d")}));
}

TEST(SseParserTest, IgnoresCommentsAndEventsWithoutData) {
  // ": ping" is a comment; "event: x" then a blank line has no data, so nothing is dispatched and
  // the type does not carry over to the next event.
  EXPECT_EQ(ParseWhole(": ping\n\nevent: x\n\ndata: y\n\n"), std::vector<SseEvent>{Ev("y")});
}

TEST(SseParserTest, FieldWithoutColonHasEmptyValue) {
  // WHATWG: a line "data" is the field "data" with the value "", so the data buffer is "\n" and
  // the event is dispatched with empty data.
  EXPECT_EQ(ParseWhole("data\n\n"), std::vector<SseEvent>{Ev("")});
}

TEST(SseParserTest, KeepsEventTypeAndLastEventId) {
  const std::vector<SseEvent> events =
      ParseWhole("event: error\nid: 7\ndata: {}\n\ndata: next\n\nid: a\0b\ndata: z\n\n"s);
  // The id persists into the second event; an id holding a NUL is ignored.
  EXPECT_EQ(events,
            (std::vector<SseEvent>{Ev("{}", "error", "7"), Ev("next", "", "7"), Ev("z", "", "7")}));
}

TEST(SseParserTest, IgnoresUnknownFieldsAndRetry) {
  EXPECT_EQ(ParseWhole("retry: 100\nfoo: bar\ndata: q\n\n"), std::vector<SseEvent>{Ev("q")});
}

TEST(SseParserTest, StripsALeadingByteOrderMarkOnly) {
  // A BOM starts the stream, split over two reads; a later BOM is part of the field name, which
  // makes "\xEF\xBB\xBFdata" an unknown field.
  const std::string bom = "\xEF\xBB\xBF";
  const std::string stream = bom + "data: a\n\n" + bom + "data: b\n\n";
  EXPECT_EQ(ParseSplit(stream, {2}), std::vector<SseEvent>{Ev("a")});
}

TEST(SseParserTest, SameEventsWhereverTheBytesAreSplit) {
  // CRLF pairs, a CR-only line end, a comment, a multi-byte UTF-8 character ("é", C3 A9) and the
  // id field: every two-piece split and a one-byte-at-a-time feed give the whole-feed events.
  const std::string stream =
      "data: caf\xC3\xA9\r\n\r\n: c\r\nevent: e\rid: 9\ndata: x\ndata: y\r\n\r\ndata: [DONE]\n\n";
  const std::vector<SseEvent> whole = ParseWhole(stream);
  ASSERT_EQ(whole, (std::vector<SseEvent>{Ev("caf\xC3\xA9"), Ev("x\ny", "e", "9"),
                                          Ev("[DONE]", "", "9")}));
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    EXPECT_EQ(ParseSplit(stream, {cut}), whole) << "cut at " << cut;
  }
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < stream.size(); ++i) every_byte.push_back(i);
  EXPECT_EQ(ParseSplit(stream, every_byte), whole);
}

TEST(SseParserTest, RandomStreamsGiveTheSameEventsHoweverSplit) {
  // Seeded random streams over the characters that matter to the framing; each is fed whole and
  // in random slices, which must agree, as must HasPendingEvent() at the end.
  constexpr std::string_view kAlphabet = "data:\r\n\n :eventid\xC3\xA9x";
  Rng rng(77);
  for (int iter = 0; iter < 500; ++iter) {
    std::string stream;
    const size_t len = rng.UniformInt(200);
    for (size_t i = 0; i < len; ++i) {
      stream.push_back(rng.UniformInt(4) == 0 ? "data: x\n\n"[rng.UniformInt(9)]
                                              : kAlphabet[rng.UniformInt(kAlphabet.size())]);
    }
    SseParser whole;
    const std::vector<SseEvent> expected = whole.Feed(stream);
    std::vector<size_t> cuts;
    for (size_t at = 0; at < stream.size(); at += rng.UniformInt(8) + 1) cuts.push_back(at);
    SseParser split;
    std::vector<SseEvent> got;
    size_t from = 0;
    for (size_t to : cuts) {
      for (SseEvent& e : split.Feed(std::string_view(stream).substr(from, to - from))) {
        got.push_back(std::move(e));
      }
      from = to;
    }
    for (SseEvent& e : split.Feed(std::string_view(stream).substr(from))) got.push_back(e);
    ASSERT_EQ(got, expected) << stream;
    EXPECT_EQ(split.HasPendingEvent(), whole.HasPendingEvent());
    EXPECT_EQ(split.HasPartialLine(), whole.HasPartialLine());
  }
}

TEST(SseParserTest, CrAtTheEndOfAReadThenLfIsOneLineEnd) {
  SseParser parser;
  EXPECT_TRUE(parser.Feed("data: a\r").empty());
  EXPECT_TRUE(parser.Feed("\n").empty());  // completes the CRLF, not a blank line
  EXPECT_EQ(parser.Feed("\r\n"), std::vector<SseEvent>{Ev("a")});
  // CR then CR are two line ends: the second one is a blank line.
  EXPECT_TRUE(parser.Feed("data: b\r").empty());
  EXPECT_EQ(parser.Feed("\r"), std::vector<SseEvent>{Ev("b")});
}

TEST(SseParserTest, ReportsPendingEventAtEndOfBody) {
  SseParser parser;
  EXPECT_FALSE(parser.HasPendingEvent());
  EXPECT_EQ(parser.Feed("data: 1\n\ndata: 2\n"), std::vector<SseEvent>{Ev("1")});
  EXPECT_TRUE(parser.HasPendingEvent());
  EXPECT_FALSE(parser.HasPartialLine());
  EXPECT_EQ(parser.FlushPending(), Ev("2"));
  EXPECT_FALSE(parser.HasPendingEvent());

  EXPECT_TRUE(parser.Feed("data: {\"cut").empty());
  EXPECT_TRUE(parser.HasPartialLine());
  EXPECT_TRUE(parser.HasPendingEvent());
  EXPECT_EQ(parser.FlushPending(), std::nullopt);  // a partial line is never interpreted
  EXPECT_FALSE(parser.HasPendingEvent());

  // A comment cut short is not an event.
  EXPECT_TRUE(parser.Feed(": keep-al").empty());
  EXPECT_FALSE(parser.HasPendingEvent());
}

TEST(SseParserTest, StopsAtTheEventSizeLimit) {
  SseParser parser(/*max_event_bytes=*/16);
  EXPECT_EQ(parser.Feed("data: short\n\n"), std::vector<SseEvent>{Ev("short")});
  EXPECT_FALSE(parser.overflowed());
  EXPECT_TRUE(parser.Feed("data: 0123456789abcdefghij").empty());
  EXPECT_TRUE(parser.overflowed());
  EXPECT_TRUE(parser.Feed("\n\ndata: x\n\n").empty());
  EXPECT_FALSE(parser.HasPendingEvent());
}

TEST(SseParserTest, DataOverManyLinesCountsTowardTheLimit) {
  SseParser parser(/*max_event_bytes=*/16);
  EXPECT_TRUE(parser.Feed("data: 12345678\ndata: 12345678\n").empty());
  EXPECT_TRUE(parser.overflowed());  // 9 + 9 data bytes > 16
}

}  // namespace
}  // namespace llmrca::load
