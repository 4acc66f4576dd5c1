// The shared CSV splitter and strict number parsers (traces/impl/parse_util.h).
#include "traces/impl/parse_util.h"

#include <gtest/gtest.h>

#include "tests/traces/trace_test_util.h"

namespace kvsim::trace_impl {
namespace {

using kvsim::testing::error_of;

const SourcePos kAt{"t.csv", 7};

TEST(SplitCsvLine, PlainQuotedAndEmptyFields) {
  EXPECT_EQ(split_csv_line("a,b,c", kAt), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(split_csv_line(" 1 , 2", kAt), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(split_csv_line("x,,y,", kAt), (std::vector<std::string>{"x", "", "y", ""}));
  EXPECT_EQ(split_csv_line(R"("a,b","say ""hi""",c)", kAt), (std::vector<std::string>{"a,b", R"(say "hi")", "c"}));
  EXPECT_CONTAINS(error_of([] { split_csv_line(R"(1,"open)", kAt); }), "t.csv:7: field 2 has an unterminated quote");
}

TEST(ParseNumbers, AcceptsExactlyTheNumber) {
  EXPECT_EQ(parse_count("0", kAt, "n"), 0);
  EXPECT_EQ(parse_count("4808", kAt, "n"), 4808);
  EXPECT_EQ(parse_length("1", kAt, "n"), 1);
  EXPECT_DOUBLE_EQ(parse_nonnegative("4.314579", kAt, "t"), 4.314579);
  EXPECT_DOUBLE_EQ(parse_nonnegative("1e-05", kAt, "t"), 1e-05);
  EXPECT_EQ(parse_seconds_ns("4.314579", kAt, "t"), 4'314'579'000);
}

TEST(ParseNumbers, RejectsWithFieldLineAndExpectation) {
  EXPECT_EQ(error_of([] { parse_count("12abc", kAt, "ContextTokens"); }),
            "t.csv:7: ContextTokens '12abc' is not a number; expected a non-negative integer");
  EXPECT_CONTAINS(error_of([] { parse_count("-3", kAt, "n"); }), "n '-3' is negative");
  EXPECT_CONTAINS(error_of([] { parse_count("", kAt, "n"); }), "n is empty");
  EXPECT_CONTAINS(error_of([] { parse_count("1.5", kAt, "n"); }), "n '1.5' is not an integer");
  EXPECT_CONTAINS(error_of([] { parse_count("+3", kAt, "n"); }), "is not a number");
  EXPECT_CONTAINS(error_of([] { parse_count("99999999999999999999", kAt, "n"); }), "out of range");
  EXPECT_CONTAINS(error_of([] { parse_length("0", kAt, "n"); }), "n '0' is not a valid length; expected an integer >= 1");
  EXPECT_CONTAINS(error_of([] { parse_nonnegative("nan", kAt, "t"); }), "t 'nan' is not a number");
  EXPECT_CONTAINS(error_of([] { parse_nonnegative("inf", kAt, "t"); }), "t 'inf' is not a number");
  EXPECT_CONTAINS(error_of([] { parse_nonnegative("-0.5", kAt, "t"); }), "t '-0.5' is negative");
  EXPECT_CONTAINS(error_of([] { parse_nonnegative("1.0s", kAt, "t"); }), "t '1.0s' is not a number");
}

TEST(HashCoverage, OneIdPerBlock) {
  require_hash_coverage(1, 512, 512, kAt, "hash_ids");
  require_hash_coverage(2, 513, 512, kAt, "hash_ids");
  EXPECT_CONTAINS(error_of([] { require_hash_coverage(1, 513, 512, kAt, "hash_ids"); }),
                  "hash_ids has 1 ids for a 513-token prompt; expected ceil(513 / 512) = 2 ids");
}

}  // namespace
}  // namespace kvsim::trace_impl
