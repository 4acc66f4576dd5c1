// A minimal strict CSV row reader for the profile importers (models/ may not depend on traces/, whose CSV
// reader serves trace formats). One header line names the columns; every data line must have exactly as many
// fields. Columns are looked up by name once (a missing column is an error listing the file's columns), fields
// are parsed strictly: an integer is only digits (optionally a leading '-'), a number is a finite decimal that
// std::from_chars accepts in full ("12abc", "", "+3", "nan", "inf" are errors). Every error reads
// "<path>:<line>: ...". Double-quoted fields ("a,b", "" for a quote) are accepted; a field may not span lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace kvsim::profile_impl {

class CsvTable {
 public:
  // Opens the file and reads its header (line 1). Throws KvsimError if the file cannot be opened, is empty, or
  // its header has an empty or repeated column name.
  explicit CsvTable(const std::filesystem::path& path);

  const std::string& path() const { return path_; }
  const std::vector<std::string>& columns() const { return columns_; }
  bool has_column(std::string_view name) const;
  // Index of a column; throws "<path>: no column '<name>'; the file's columns are: a, b, c".
  std::size_t column(std::string_view name) const;

  // Advances to the next data line; false at the end of the file. Throws "<path>:<line>: ..." for a line whose
  // field count differs from the header's, an empty line, or an unterminated quote.
  bool next();

  std::int64_t line() const { return line_; }       // 1-based line number of the current row
  std::int64_t rows_read() const { return rows_; }  // data rows read so far
  std::uintmax_t file_bytes() const { return bytes_; }

  std::string_view text(std::size_t col) const { return fields_.at(col); }
  std::int64_t integer(std::size_t col) const;
  std::int64_t positive_integer(std::size_t col) const;      // >= 1
  std::int64_t non_negative_integer(std::size_t col) const;  // >= 0
  double number(std::size_t col) const;                      // finite
  double positive_number(std::size_t col) const;             // finite, > 0
  bool boolean(std::size_t col) const;                       // True/False/true/false/1/0

  // Throws KvsimError "<path>:<line>: column '<name>' <problem>".
  [[noreturn]] void fail(std::size_t col, std::string_view problem) const;
  // Throws KvsimError "<path>:<line>: <problem>".
  [[noreturn]] void fail_row(std::string_view problem) const;

 private:
  std::vector<std::string> split(std::string_view line) const;

  std::string path_;
  std::ifstream in_;
  std::uintmax_t bytes_ = 0;
  std::vector<std::string> columns_;
  std::vector<std::string> fields_;
  std::string buffer_;
  std::int64_t line_ = 0;
  std::int64_t rows_ = 0;
};

}  // namespace kvsim::profile_impl
