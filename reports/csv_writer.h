// Streaming CSV writer for requests.csv, timeline.csv and sweep.csv.
//
// Contract:
//  - The constructor writes the header line (the column names). Each row() writes one line, so memory stays bounded
//    however many rows are written.
//  - Lines end with "\n". A field is quoted (RFC 4180: wrapped in double quotes, inner quotes doubled) when it contains
//    a comma, a double quote, CR or LF, or starts or ends with a space; everything else is written as is.
//  - Floating-point numbers are written in the shortest form that reads back to the same value ("0.1", "1e-07",
//    "3"), so CSV and JSON carry the same numbers; NaN and infinity are written as "nan", "inf", "-inf".
//    Integers are written exactly, bools as "true"/"false", an empty std::optional or nullptr as an empty field.
//  - A row with a different number of values than there are columns is a programming error (std::logic_error).
//  - A stream that fails while writing raises KvsimError naming `name` (e.g. the file path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace kvsim {

class CsvWriter {
 public:
  CsvWriter(std::ostream& out, std::vector<std::string> columns, std::string name = "CSV output");

  template <class... Ts>
  void row(const Ts&... values) {
    if (sizeof...(Ts) != columns_.size()) wrong_arity(sizeof...(Ts));
    line_.clear();
    std::size_t index = 0;
    (cell(index++, values), ...);
    end_line();
  }

  // A row of numbers only (e.g. a timeline sample); values.size() must equal the number of columns.
  void numeric_row(std::span<const double> values);
  // A row of fields already written as text (quoted here as the rules above say); one per column.
  void text_row(std::span<const std::string> fields);

  const std::vector<std::string>& columns() const { return columns_; }
  std::uint64_t rows_written() const { return rows_; }
  // Flushes the underlying stream; throws KvsimError if it has failed.
  void flush();

 private:
  template <class T>
  void cell(std::size_t index, const T& value) {
    if (index > 0) line_.push_back(',');
    append(value);
  }

  template <class T>
  void append(const T& value) {
    if constexpr (std::is_same_v<T, bool>) {
      append_bool(value);
    } else if constexpr (std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, std::nullopt_t>) {
      // empty field
    } else if constexpr (requires { value.has_value(); *value; }) {
      if (value.has_value()) append(*value);
    } else if constexpr (std::is_same_v<T, char>) {
      append_string(std::string_view(&value, 1));
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      append_int(static_cast<long long>(value));
    } else if constexpr (std::is_integral_v<T>) {
      append_uint(static_cast<unsigned long long>(value));
    } else if constexpr (std::is_same_v<T, float>) {
      append_float(value);
    } else if constexpr (std::is_floating_point_v<T>) {
      append_double(static_cast<double>(value));
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      append_string(std::string_view(value));
    } else {
      static_assert(sizeof(T) == 0, "CsvWriter::row: unsupported value type");
    }
  }

  void append_bool(bool v);
  void append_int(long long v);
  void append_uint(unsigned long long v);
  void append_float(float v);
  void append_double(double v);
  void append_string(std::string_view v);
  void end_line();
  [[noreturn]] void wrong_arity(std::size_t got) const;

  std::ostream& out_;
  std::vector<std::string> columns_;
  std::string name_;
  std::string line_;
  std::uint64_t rows_ = 0;
};

}  // namespace kvsim
