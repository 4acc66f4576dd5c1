// Malformed traces: every problem is an error naming the file, line and field, and saying what is valid.
#include <gtest/gtest.h>

#include "tests/traces/trace_test_util.h"

namespace kvsim {
namespace {

using testing::error_of;
using testing::read_all;
using testing::TempFile;

constexpr const char* kAzureHeader = "TIMESTAMP,ContextTokens,GeneratedTokens\n";

std::string read_error(const std::string& format, const TempFile& file) {
  return error_of([&] { read_all(format, file.path()); });
}

TEST(BadInput, MissingField) {
  TempFile f(std::string(kAzureHeader) + "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:47.0,374\n");
  const std::string e = read_error("azure-2023", f);
  EXPECT_CONTAINS(e, f.name() + ":3: row has 2 fields; expected 3 comma-separated fields");
  EXPECT_CONTAINS(e, "TIMESTAMP,ContextTokens,GeneratedTokens");

  TempFile empty_field(std::string(kAzureHeader) + "2023-11-16 18:15:46.6805900,,44\n");
  EXPECT_CONTAINS(read_error("azure-2023", empty_field), ":2: ContextTokens is empty; expected an integer >= 1");

  TempFile json(R"({"timestamp": 0, "input_length": 10, "hash_ids": [0]})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("mooncake", json), json.name() + ":1: output_length is missing; expected an integer >= 1");
}

TEST(BadInput, NonNumeric) {
  TempFile f("arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,12abc,5\n");
  EXPECT_EQ(read_error("vidur-csv", f),
            f.name() + ":2: num_prefill_tokens '12abc' is not a number; expected an integer >= 1 (tokens)");
  TempFile ts(std::string(kAzureHeader) + "2023-11-16 18:15:46,374,44\n2023-13-16 18:15:46.5,374,44\n");
  EXPECT_CONTAINS(read_error("azure-2023", ts), ":3: TIMESTAMP '2023-13-16 18:15:46.5' is not a valid date");
  TempFile json(R"({"arrival_s": "soon", "prompt_tokens": 1, "output_tokens": 1})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", json), ":1: arrival_s \"soon\" is not a number; expected a non-negative number");
  TempFile broken("{\"arrival_s\": 0, \"prompt_tokens\": 1, \"output_tokens\": 1}\n{\"arrival_s\": 1,\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", broken), ":2: line is not valid JSON");
}

TEST(BadInput, Negative) {
  TempFile f("arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,10,5\n-1.0,10,5\n");
  EXPECT_EQ(read_error("vidur-csv", f),
            f.name() + ":3: arrived_at '-1.0' is negative; expected a non-negative decimal number");
  TempFile tokens("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,-4,18,14,API log\n");
  EXPECT_CONTAINS(read_error("burstgpt", tokens), ":2: Request tokens '-4' is negative; expected a non-negative integer");
  TempFile json(R"({"timestamp": 0, "input_length": -10, "output_length": 1, "hash_ids": []})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("mooncake", json), ":1: input_length '-10' is negative");
}

TEST(BadInput, ZeroPrompt) {
  TempFile f(std::string(kAzureHeader) + "2023-11-16 18:15:46.6805900,0,44\n");
  EXPECT_EQ(read_error("azure-2023", f),
            f.name() + ":2: ContextTokens '0' is not a valid length; expected an integer >= 1 (tokens)");
  TempFile json(R"({"arrival_s": 0, "prompt_tokens": 0, "output_tokens": 3})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", json), ":1: prompt_tokens '0' is not a valid length");
}

// Vidur replays one Date's rows and Time restarts each day: a second date is an error naming both lines.
TEST(BadInput, VidurReplayLayoutHoldsOneDate) {
  TempFile f("Date,Time,PromptTokenCount,CompletionTokenCount\n2023-08-21,10.5,100,20\n2023-08-21,11,50,5\n"
             "2023-08-22,3,70,7\n");
  const std::string e = read_error("vidur-csv", f);
  EXPECT_CONTAINS(e, f.name() + ":4: Date '2023-08-22' differs from '2023-08-21' of line 2");
  EXPECT_CONTAINS(e, "one date per file");
  TempFile ok("Date,Time,PromptTokenCount,CompletionTokenCount\n2023-08-21,10.5,100,20\n2023-08-21,11,50,5\n");
  const auto rows = read_all("vidur-csv", ok.path());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].arrival_ns, 0);  // re-based to the first row
  EXPECT_EQ(rows[1].arrival_ns, 500'000'000);
  EXPECT_EQ(rows[1].prompt_tokens, 50);
  EXPECT_EQ(rows[1].output_tokens, 5);
  TempFile empty("Date,Time,PromptTokenCount,CompletionTokenCount\n,1,100,20\n");
  EXPECT_CONTAINS(read_error("vidur-csv", empty), ":2: Date is empty");
  TempFile zero("Date,Time,PromptTokenCount,CompletionTokenCount\n2023-08-21,1,100,0\n");
  EXPECT_CONTAINS(read_error("vidur-csv", zero), ":2: CompletionTokenCount '0' is not a valid length");
}

TEST(BadInput, NonMonotonicArrivalsNeedSort) {
  TempFile f("arrived_at,num_prefill_tokens,num_decode_tokens\n1.0,10,1\n3.0,20,2\n2.0,30,3\n2.0,40,4\n");
  const std::string e = read_error("vidur-csv", f);
  EXPECT_CONTAINS(e, f.name() + ":4: arrived_at goes back in time");
  EXPECT_CONTAINS(e, "earlier than line 3");
  EXPECT_CONTAINS(e, "--sort");
  EXPECT_CONTAINS(e, "workload.trace.sort: true");

  auto sorted = sorted_reader(testing::open_trace("vidur-csv", f.path()));
  const auto rows = read_all(*sorted);
  ASSERT_EQ(rows.size(), 4u);
  // Stable: the two records at 2.0 s keep file order; times re-based to the earliest.
  EXPECT_EQ(rows[0].prompt_tokens, 10);
  EXPECT_EQ(rows[1].prompt_tokens, 30);
  EXPECT_EQ(rows[2].prompt_tokens, 40);
  EXPECT_EQ(rows[3].prompt_tokens, 20);
  EXPECT_EQ(rows[0].arrival_ns, 0);
  EXPECT_EQ(rows[1].arrival_ns, 1'000'000'000);
  EXPECT_EQ(rows[2].arrival_ns, 1'000'000'000);
  EXPECT_EQ(rows[3].arrival_ns, 2'000'000'000);
  EXPECT_EQ(rows[1].source_line, 4);
}

TEST(BadInput, SortedReaderRebasesWhenTheFirstRowIsNotEarliest) {
  TempFile f(R"({"arrival_s": 5, "prompt_tokens": 1, "output_tokens": 1})" "\n"
             R"({"arrival_s": 2, "prompt_tokens": 2, "output_tokens": 1})" "\n", ".jsonl");
  auto sorted = sorted_reader(testing::open_trace("jsonl", f.path()));
  const auto rows = read_all(*sorted);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].prompt_tokens, 2);
  EXPECT_EQ(rows[0].arrival_ns, 0);
  EXPECT_EQ(rows[1].arrival_ns, 3'000'000'000);
}

TEST(BadInput, UnknownJsonlKey) {
  TempFile f(R"({"arrival_s": 0, "prompt_tokens": 5, "output_tokens": 1})" "\n"
             R"({"arrival_s": 1, "prompt_tokens": 5, "output_tokens": 1, "priority": 2})" "\n", ".jsonl");
  const std::string e = read_error("jsonl", f);
  EXPECT_CONTAINS(e, f.name() + ":2: key 'priority' is not part of this format");
  EXPECT_CONTAINS(e, "arrival_s, prompt_tokens, output_tokens, hash_ids, hash_block_tokens, token_ids, output_token_ids, chunks, session_id, turn");
}

TEST(BadInput, JsonlHashesAndSessions) {
  TempFile ok(R"({"arrival_s": 0.5, "prompt_tokens": 20, "output_tokens": 2, "hash_ids": [7, 8], "hash_block_tokens": 16, "session_id": "s1"})" "\n", ".jsonl");
  const auto rows = read_all("jsonl", ok.path());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].hash_ids, (std::vector<std::uint64_t>{7, 8}));
  EXPECT_EQ(rows[0].hash_block_tokens, 16);
  EXPECT_EQ(rows[0].session_id, "s1");

  TempFile no_block(R"({"arrival_s": 0, "prompt_tokens": 20, "output_tokens": 2, "hash_ids": [7, 8]})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", no_block), ":1: hash_block_tokens is missing");
  TempFile short_hashes(R"({"arrival_s": 0, "prompt_tokens": 40, "output_tokens": 2, "hash_ids": [7, 8], "hash_block_tokens": 16})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", short_hashes), ":1: hash_ids has 2 ids for a 40-token prompt");
  TempFile bad_hash(R"({"arrival_s": 0, "prompt_tokens": 1, "output_tokens": 2, "hash_ids": [-1], "hash_block_tokens": 16})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", bad_hash), "hash_ids element 0 (-1) is negative");
}

TEST(BadInput, JsonlTokenIdsAndTurns) {
  // Token ids become chained per-token content ids: equal prefixes, equal ids; the first difference changes every
  // later id.
  TempFile ok(R"({"arrival_s": 0, "prompt_tokens": 4, "output_tokens": 2, "token_ids": [5, 6, 7, 8], "session_id": "a", "turn": 0})" "\n"
              R"({"arrival_s": 1, "prompt_tokens": 5, "output_tokens": 2, "token_ids": [5, 6, 9, 8, 1], "session_id": "a", "turn": 1})" "\n",
              ".jsonl");
  const auto rows = read_all("jsonl", ok.path());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].hash_block_tokens, 1);
  ASSERT_EQ(rows[0].hash_ids.size(), 4u);
  ASSERT_EQ(rows[1].hash_ids.size(), 5u);
  EXPECT_EQ(rows[0].hash_ids[0], rows[1].hash_ids[0]);
  EXPECT_EQ(rows[0].hash_ids[1], rows[1].hash_ids[1]);
  EXPECT_NE(rows[0].hash_ids[2], rows[1].hash_ids[2]);
  EXPECT_NE(rows[0].hash_ids[3], rows[1].hash_ids[3]);  // token 8 after a different prefix
  EXPECT_NE(rows[0].hash_ids[0], 5u);
  EXPECT_EQ(rows[1].turn, 1);
  EXPECT_EQ(rows[1].session_id, "a");

  TempFile wrong_count(R"({"arrival_s": 0, "prompt_tokens": 3, "output_tokens": 2, "token_ids": [1, 2]})" "\n", ".jsonl");
  const std::string e = read_error("jsonl", wrong_count);
  EXPECT_CONTAINS(e, wrong_count.name() + ":1: token_ids has 2 ids for a 3-token prompt; expected one id per prompt token: 3");
  TempFile not_integer(R"({"arrival_s": 0, "prompt_tokens": 2, "output_tokens": 2, "token_ids": [1, 2.5]})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", not_integer), ":1: token_ids element 1 (2.5) is not an integer; expected an array of "
                                                  "non-negative integers (the prompt's token ids)");
  TempFile both(R"({"arrival_s": 0, "prompt_tokens": 2, "output_tokens": 2, "token_ids": [1, 2], "hash_ids": [3], "hash_block_tokens": 16})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", both), ":1: token_ids is given with hash_ids");
  TempFile reply(R"({"arrival_s": 0, "prompt_tokens": 2, "output_tokens": 3, "token_ids": [1, 2], "output_token_ids": [3, 4]})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", reply), ":1: output_token_ids has 2 ids for 3 output tokens");
  TempFile lone_reply(R"({"arrival_s": 0, "prompt_tokens": 2, "output_tokens": 2, "output_token_ids": [3, 4]})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", lone_reply), ":1: output_token_ids is given without token_ids");
  TempFile lone_turn(R"({"arrival_s": 0, "prompt_tokens": 2, "output_tokens": 2, "turn": 1})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", lone_turn), ":1: turn is given without session_id");
  TempFile bad_turn(R"({"arrival_s": 0, "prompt_tokens": 2, "output_tokens": 2, "session_id": "a", "turn": -1})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", bad_turn), ":1: turn -1 is not a non-negative integer");
}

TEST(BadInput, JsonlChunks) {
  TempFile ok(R"({"arrival_s": 0, "prompt_tokens": 100, "output_tokens": 2, "chunks": [{"start": 10, "tokens": 20, "id": 3}, {"start": 30, "tokens": 70, "id": 4}]})" "\n", ".jsonl");
  const auto rows = read_all("jsonl", ok.path());
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0].chunks.size(), 2u);
  EXPECT_EQ(rows[0].chunks[1].start, 30);
  EXPECT_EQ(rows[0].chunks[1].tokens, 70);
  EXPECT_EQ(rows[0].chunks[1].id, 4u);
  TempFile overlap(R"({"arrival_s": 0, "prompt_tokens": 100, "output_tokens": 2, "chunks": [{"start": 10, "tokens": 30, "id": 3}, {"start": 30, "tokens": 10, "id": 4}]})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", overlap), ":1: chunks element 1 (tokens 30 to 40) overlaps the one before");
  TempFile outside(R"({"arrival_s": 0, "prompt_tokens": 100, "output_tokens": 2, "chunks": [{"start": 90, "tokens": 20, "id": 3}]})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", outside), "leaves the 100-token prompt");
  TempFile bad_id(R"({"arrival_s": 0, "prompt_tokens": 100, "output_tokens": 2, "chunks": [{"start": 0, "tokens": 20, "id": "doc"}]})" "\n", ".jsonl");
  EXPECT_CONTAINS(read_error("jsonl", bad_id), ":1: chunks element 0 ({\"id\":\"doc\",\"start\":0,\"tokens\":20}) has no valid \"id\"");
}

TEST(BadInput, WrongHeaderListsFormats) {
  TempFile f("time,prompt,output\n0,1,1\n");
  const std::string e = error_of([&] { detect_trace_format(f.path()); });
  EXPECT_CONTAINS(e, f.name() + ":1: cannot tell the trace format from 'time,prompt,output'");
  for (const std::string& name : trace_formats().names()) EXPECT_CONTAINS(e, name + ": ");
  EXPECT_CONTAINS(e, "TIMESTAMP,ContextTokens,GeneratedTokens");

  EXPECT_CONTAINS(error_of([&] { testing::open_trace("azure-2023", f.path()); }),
                  f.name() + ":1: header 'time,prompt,output' does not match the azure-2023 format; expected the azure-2023 "
                             "header 'TIMESTAMP,ContextTokens,GeneratedTokens'");
  TempFile csv_as_json("arrived_at,num_prefill_tokens,num_decode_tokens\n", ".jsonl");
  EXPECT_CONTAINS(error_of([&] { testing::open_trace("jsonl", csv_as_json.path()); }), ":1: line is not valid JSON");
  TempFile other_json(R"({"arrival_s": 0, "prompt_tokens": 5, "output_tokens": 1})" "\n", ".jsonl");
  EXPECT_CONTAINS(error_of([&] { testing::open_trace("mooncake", other_json.path()); }),
                  ":1: first object has no 'input_length' key, so it is not a mooncake trace");
  EXPECT_EQ(detect_trace_format(other_json.path()), "jsonl");
}

TEST(BadInput, MissingOrEmptyFile) {
  EXPECT_CONTAINS(error_of([] { testing::open_trace("azure-2023", "/nonexistent/conv.csv"); }),
                  "/nonexistent/conv.csv: trace file does not exist");
  TempFile empty("");
  EXPECT_CONTAINS(error_of([&] { testing::open_trace("burstgpt", empty.path()); }), ":1: file is empty (no header line)");
  EXPECT_CONTAINS(error_of([&] { detect_trace_format(empty.path()); }), "the trace file is empty");
}

TEST(BadInput, ToleratedLayoutDetails) {
  // CRLF line ends, a byte-order mark, blank lines (still counted) and a header-only file.
  TempFile crlf("\xEF\xBB\xBFTIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 23:59:59.9999999,5,1\r\n\r\n"
                "2023-11-17 00:00:00.0000001,6,2\r\n");
  const auto rows = read_all("azure-2023", crlf.path());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].arrival_ns, 200);  // across midnight, 100-ns precision
  EXPECT_EQ(rows[1].source_line, 4);
  TempFile header_only(kAzureHeader);
  EXPECT_TRUE(read_all("azure-2023", header_only.path()).empty());
}

TEST(BadInput, AzureTimestampsAcrossMonthAndYear) {
  TempFile f(std::string(kAzureHeader) + "2023-12-31 23:59:59.5,5,1\n2024-01-01 00:00:00.25,5,1\n2024-03-01 00:00:00,5,1\n");
  const auto rows = read_all("azure-2023", f.path());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].arrival_ns, 750'000'000);
  // 2024 is a leap year: Jan 31 + Feb 29 days, minus half a second.
  EXPECT_EQ(rows[2].arrival_ns, (60LL * 86'400) * 1'000'000'000 + 500'000'000);
}

}  // namespace
}  // namespace kvsim
