#include "load/record.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca::load {
namespace {

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/llmrca_record_" + name;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void AppendRaw(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
}

RequestRecord Streamed() {
  RequestRecord r;
  r.id = 7;
  r.step = 2;
  r.scheduled_s = 1.5;
  r.send_s = 1.5002;
  r.headers_s = 1.52;
  r.first_content_s = 1.6;
  r.end_s = 2.25;
  r.chunk_times_s = {0.0998, 0.2, 0.7498};
  r.chunk_tokens = {1, 2, 1};
  r.prompt_tokens = 512;
  r.prompt_tokens_source = TokenSource::kUsage;
  r.output_tokens = 4;
  r.output_tokens_source = TokenSource::kUsage;
  r.max_tokens = 4;
  r.http_status = 200;
  r.finish_reason = "length";
  return r;
}

void ExpectSame(const RequestRecord& a, const RequestRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.scheduled_s, b.scheduled_s);
  EXPECT_EQ(a.send_s, b.send_s);
  EXPECT_EQ(a.headers_s, b.headers_s);
  EXPECT_EQ(a.first_content_s, b.first_content_s);
  EXPECT_EQ(a.end_s, b.end_s);
  EXPECT_EQ(a.chunk_times_s, b.chunk_times_s);
  EXPECT_EQ(a.chunk_tokens, b.chunk_tokens);
  EXPECT_EQ(a.prompt_tokens, b.prompt_tokens);
  EXPECT_EQ(a.prompt_tokens_source, b.prompt_tokens_source);
  EXPECT_EQ(a.output_tokens, b.output_tokens);
  EXPECT_EQ(a.output_tokens_source, b.output_tokens_source);
  EXPECT_EQ(a.max_tokens, b.max_tokens);
  EXPECT_EQ(a.http_status, b.http_status);
  EXPECT_EQ(a.error_class, b.error_class);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.finish_reason, b.finish_reason);
}

TEST(RecordTest, JsonLineHasTheDocumentedForm) {
  RequestRecord r;
  r.id = 3;
  r.scheduled_s = 0.25;
  r.send_s = 0.5;
  r.end_s = 1.5;
  r.http_status = 503;
  r.error_class = ErrorClass::kHttp5xx;
  r.error = "Service \"Unavailable\"";
  Result<std::string> line = RecordToJson(r);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line,
            "{\"id\":3,\"step\":0,\"scheduled_s\":0.25,\"send_s\":0.5,\"headers_s\":null,"
            "\"first_content_s\":null,\"end_s\":1.5,\"chunk_times_s\":[],\"chunk_tokens\":[],"
            "\"prompt_tokens\":null,\"prompt_tokens_source\":\"none\",\"output_tokens\":0,"
            "\"output_tokens_source\":\"none\",\"max_tokens\":null,\"tokens_mismatch\":false,"
            "\"http_status\":503,\"error_class\":\"http_5xx\","
            "\"error\":\"Service \\\"Unavailable\\\"\",\"finish_reason\":null}");
}

TEST(RecordTest, RoundTripsEveryField) {
  const RequestRecord r = Streamed();
  Result<std::string> line = RecordToJson(r);
  ASSERT_TRUE(line.ok());
  Result<RequestRecord> back = ParseRecordJson(*line);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSame(r, *back);

  RequestRecord failed;
  failed.id = 1;
  failed.send_s = failed.scheduled_s = 3;
  failed.end_s = 33;
  failed.error_class = ErrorClass::kTimeout;
  failed.error = std::string("bad utf-8 \xff");
  line = RecordToJson(failed);
  ASSERT_TRUE(line.ok());
  back = ParseRecordJson(*line);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->error_class, ErrorClass::kTimeout);
  EXPECT_EQ(back->error, "bad utf-8 \xEF\xBF\xBD");  // the invalid byte became U+FFFD
}

TEST(RecordTest, TokensMismatchFlag) {
  RequestRecord r = Streamed();
  EXPECT_FALSE(r.TokensMismatch());  // 4 of 4
  r.output_tokens = 3;
  EXPECT_TRUE(r.TokensMismatch());
  EXPECT_NE(RecordToJson(r).value().find("\"tokens_mismatch\":true"), std::string::npos);
  r.max_tokens.reset();
  EXPECT_FALSE(r.TokensMismatch());
  r.max_tokens = 4;
  r.error_class = ErrorClass::kClosedMidStream;  // a failed request is not a "mismatch"
  EXPECT_FALSE(r.TokensMismatch());
}

TEST(RecordTest, ParserNamesTheBadField) {
  struct Case {
    const char* line;
    const char* message;
  };
  const Case cases[] = {
      {"not json", "not valid JSON"},
      {"[]", "not a JSON object"},
      {R"({"step":0,"scheduled_s":0,"send_s":0,"end_s":1,"error_class":"none"})", "missing 'id'"},
      {R"({"id":"x","step":0,"scheduled_s":0,"send_s":0,"end_s":1,"error_class":"none"})",
       "'id' is not an integer"},
      {R"({"id":18446744073709551615,"step":0,"scheduled_s":0,"send_s":0,"end_s":1,)"
       R"("error_class":"none"})",
       "'id' is out of range"},
      {R"({"id":1,"step":0,"scheduled_s":0,"send_s":"soon","end_s":1,"error_class":"none"})",
       "'send_s' is not a number"},
      {R"({"id":1,"step":0,"scheduled_s":0,"send_s":0,"end_s":1})", "missing 'error_class'"},
      {R"({"id":1,"step":0,"scheduled_s":0,"send_s":0,"end_s":1,"error_class":"boom"})",
       "'error_class' is 'boom', not a known error class"},
      {R"({"id":1,"step":0,"scheduled_s":0,"send_s":0,"end_s":1,"error_class":"none",)"
       R"("output_tokens_source":"guess"})",
       "'output_tokens_source' is 'guess', not a token source"},
      {R"({"id":1,"step":0,"scheduled_s":0,"send_s":0,"end_s":1,"error_class":"none",)"
       R"("chunk_times_s":[0.1,"x"]})",
       "'chunk_times_s' holds a value that is not a finite number"},
      {R"({"id":1,"step":0,"scheduled_s":0,"send_s":0,"end_s":1,"error_class":"none",)"
       R"("chunk_times_s":[0.1],"chunk_tokens":[1,1]})",
       "'chunk_tokens' has 2 entries but 'chunk_times_s' 1"},
      {R"({"id":1,"step":0,"scheduled_s":0,"send_s":0,"end_s":1,"error_class":"none",)"
       R"("http_status":7000})",
       "'http_status' is 7000, not an HTTP status"},
  };
  for (const Case& c : cases) {
    Result<RequestRecord> r = ParseRecordJson(c.line);
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_TRUE(r.status().IsDataError());
    EXPECT_EQ(r.status().message(), c.message) << c.line;
  }
}

TEST(RecordTest, NonFiniteTimesAreRejectedBeforeWriting) {
  RequestRecord r = Streamed();
  r.first_content_s = NAN;
  EXPECT_TRUE(RecordToJson(r).status().IsInvalidArgument());
  r = Streamed();
  r.chunk_times_s.push_back(INFINITY);
  EXPECT_TRUE(RecordToJson(r).status().IsInvalidArgument());
}

TEST(RecordTest, HeaderCarriesTheWallClockAnchor) {
  RecordsHeader h;
  // 1700000000 s after the epoch is 2023-11-14 22:13:20 UTC.
  h.start_unix_ns = 1'700'000'000'123'456'789;
  h.labels = {{"provider", "vllm"}, {"model", "m"}, {"anyscale", "kept in order, not sorted"}};
  const std::string json = HeaderToJson(h);
  EXPECT_NE(json.find("\"start_utc\":\"2023-11-14T22:13:20.123456789Z\""), std::string::npos)
      << json;
  EXPECT_EQ(json.rfind("{\"llmrca_load_records\":1,", 0), 0u) << json;
  Result<RecordsHeader> back = ParseHeaderJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->start_unix_ns, h.start_unix_ns);
  EXPECT_EQ(back->labels, h.labels);
  EXPECT_TRUE(
      ParseHeaderJson(R"({"llmrca_load_records":2,"start_unix_ns":0})").status().IsDataError());
  EXPECT_TRUE(ParseHeaderJson(R"({"id":1})").status().IsDataError());
}

TEST(RecordTest, WriterAndReaderRoundTrip) {
  const std::string path = TempPath("roundtrip.jsonl");
  RecordsHeader h;
  h.start_unix_ns = 42;
  h.labels = {{"url", "http://127.0.0.1:8000"}};
  Result<std::unique_ptr<RecordWriter>> writer = RecordWriter::Create(path, h);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  std::vector<RequestRecord> written;
  for (int i = 0; i < 3; ++i) {
    RequestRecord r = Streamed();
    r.id = i;
    r.end_s += i;
    written.push_back(r);
    ASSERT_TRUE((*writer)->Append(r).ok());
  }
  // Every line is in the file as soon as Append returns, before Close: a killed process loses
  // none of them.
  Result<RecordsFile> early = ReadRecordsFile(path);
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_EQ(early->records.size(), 3u);
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ((*writer)->Append(Streamed()).code(), StatusCode::kIoError);
  EXPECT_TRUE((*writer)->Close().ok());  // idempotent

  Result<RecordsFile> file = ReadRecordsFile(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->header.start_unix_ns, 42);
  EXPECT_EQ(file->header.labels, h.labels);
  EXPECT_FALSE(file->truncated_last_line);
  ASSERT_EQ(file->records.size(), 3u);
  for (size_t i = 0; i < 3; ++i) ExpectSame(file->records[i], written[i]);
  // One line per record plus the header, each ending in a newline.
  const std::string text = ReadAll(path);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
  EXPECT_EQ(text.back(), '\n');
}

TEST(RecordTest, ReaderToleratesATruncatedLastLine) {
  const std::string path = TempPath("truncated.jsonl");
  {
    Result<std::unique_ptr<RecordWriter>> writer = RecordWriter::Create(path, RecordsHeader{});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append(Streamed()).ok());
    ASSERT_TRUE((*writer)->Append(Streamed()).ok());
  }
  // A process killed in the middle of a write leaves part of a line with no newline.
  const std::string full = RecordToJson(Streamed()).value();
  AppendRaw(path, full.substr(0, full.size() / 2));
  Result<RecordsFile> file = ReadRecordsFile(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->records.size(), 2u);
  EXPECT_TRUE(file->truncated_last_line);

  // A complete last line that only lacks its newline is kept.
  const std::string path2 = TempPath("no_final_newline.jsonl");
  {
    std::ofstream out(path2, std::ios::binary);
    out << HeaderToJson(RecordsHeader{}) << "\n" << full;
  }
  file = ReadRecordsFile(path2);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->records.size(), 1u);
  EXPECT_FALSE(file->truncated_last_line);
}

TEST(RecordTest, ReaderReportsOtherBadLinesWithFileAndLine) {
  const std::string path = TempPath("bad_middle.jsonl");
  {
    std::ofstream out(path, std::ios::binary);
    const std::string good = RecordToJson(Streamed()).value();
    out << HeaderToJson(RecordsHeader{}) << "\n" << good << "\n{\"id\":1\n" << good << "\n";
  }
  Result<RecordsFile> file = ReadRecordsFile(path);
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.status().IsDataError());
  EXPECT_EQ(file.status().message(), "records: " + path + ":3: not valid JSON");
}

TEST(RecordTest, ReaderRejectsFilesWithoutAHeader) {
  EXPECT_EQ(ReadRecordsFile(TempPath("missing.jsonl")).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(ReadRecordsFile(::testing::TempDir()).status().IsIoError());
  const std::string empty = TempPath("empty.jsonl");
  { std::ofstream out(empty); }
  EXPECT_TRUE(ReadRecordsFile(empty).status().IsDataError());
  const std::string headless = TempPath("headless.jsonl");
  {
    std::ofstream out(headless);
    out << RecordToJson(Streamed()).value() << "\n";
  }
  Status s = ReadRecordsFile(headless).status();
  EXPECT_TRUE(s.IsDataError());
  EXPECT_NE(s.message().find(headless + ":1: not a records header"), std::string::npos)
      << s.message();
}

TEST(RecordTest, ConcurrentAppendsNeverInterleave) {
  const std::string path = TempPath("threads.jsonl");
  Result<std::unique_ptr<RecordWriter>> writer = RecordWriter::Create(path, RecordsHeader{});
  ASSERT_TRUE(writer.ok());
  RecordWriter* w = writer->get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([w, t] {
      for (int i = 0; i < 250; ++i) {
        RequestRecord r = Streamed();
        r.id = t * 1000 + i;
        r.error = std::string(static_cast<size_t>(i), 'x');  // lines of varied length
        EXPECT_TRUE(w->Append(r).ok());
      }
    });
  }
  for (std::thread& th : threads) th.join();
  Result<RecordsFile> file = ReadRecordsFile(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->records.size(), 1000u);
}

TEST(RecordTest, TokenSourceNamesRoundTrip) {
  for (TokenSource s :
       {TokenSource::kNone, TokenSource::kUsage, TokenSource::kChunks, TokenSource::kClient}) {
    EXPECT_EQ(TokenSourceFromName(TokenSourceName(s)), s);
  }
  EXPECT_EQ(TokenSourceName(TokenSource::kChunks), "chunks");
  EXPECT_FALSE(TokenSourceFromName("tokenizer").has_value());
}

}  // namespace
}  // namespace llmrca::load
