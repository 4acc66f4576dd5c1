#include "reports/csv_writer.h"

#include <cmath>
#include <iterator>
#include <ostream>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "sim/core/error.h"

namespace kvsim {

namespace {

bool needs_quotes(std::string_view s) {
  if (s.empty()) return false;
  if (s.front() == ' ' || s.back() == ' ') return true;
  return s.find_first_of(",\"\r\n") != std::string_view::npos;
}

template <class F>
void append_floating(std::string& line, F v) {
  if (std::isnan(v)) {
    line += "nan";
  } else if (std::isinf(v)) {
    line += v > 0 ? "inf" : "-inf";
  } else {
    fmt::format_to(std::back_inserter(line), "{}", v);  // shortest round-trip representation
  }
}

}  // namespace

CsvWriter::CsvWriter(std::ostream& out, std::vector<std::string> columns, std::string name)
    : out_(out), columns_(std::move(columns)), name_(std::move(name)) {
  if (columns_.empty()) throw std::logic_error("CsvWriter for " + name_ + ": no columns");
  line_.clear();
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    if (i > 0) line_.push_back(',');
    append_string(columns_[i]);
  }
  line_.push_back('\n');
  out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
  if (!out_) throw KvsimError("cannot write " + name_ + ": the output stream failed");
}

void CsvWriter::numeric_row(std::span<const double> values) {
  if (values.size() != columns_.size()) wrong_arity(values.size());
  line_.clear();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) line_.push_back(',');
    append_double(values[i]);
  }
  end_line();
}

void CsvWriter::text_row(std::span<const std::string> fields) {
  if (fields.size() != columns_.size()) wrong_arity(fields.size());
  line_.clear();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line_.push_back(',');
    append_string(fields[i]);
  }
  end_line();
}

void CsvWriter::flush() {
  out_.flush();
  if (!out_) throw KvsimError("cannot write " + name_ + ": the output stream failed");
}

void CsvWriter::append_bool(bool v) { line_ += v ? "true" : "false"; }
void CsvWriter::append_int(long long v) { fmt::format_to(std::back_inserter(line_), "{}", v); }
void CsvWriter::append_uint(unsigned long long v) { fmt::format_to(std::back_inserter(line_), "{}", v); }
void CsvWriter::append_float(float v) { append_floating(line_, v); }
void CsvWriter::append_double(double v) { append_floating(line_, v); }

void CsvWriter::append_string(std::string_view v) {
  if (!needs_quotes(v)) {
    line_.append(v);
    return;
  }
  line_.push_back('"');
  for (char c : v) {
    if (c == '"') line_.push_back('"');
    line_.push_back(c);
  }
  line_.push_back('"');
}

void CsvWriter::end_line() {
  line_.push_back('\n');
  out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
  if (!out_) throw KvsimError("cannot write " + name_ + ": the output stream failed");
  ++rows_;
}

void CsvWriter::wrong_arity(std::size_t got) const {
  throw std::logic_error(fmt::format("CsvWriter for {}: row has {} values but there are {} columns", name_, got,
                                     columns_.size()));
}

}  // namespace kvsim
