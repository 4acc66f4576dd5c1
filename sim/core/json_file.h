// Reading JSON text and files for every kvsim input (scenarios, model and GPU cards, profiles, calibrations): one
// parser, one error format that names the input, the line and the column.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace kvsim {

// Parses JSON text; on a syntax error throws KvsimError "<where>: invalid JSON: <where>:<line>:<column>: <what>".
nlohmann::json parse_json_text(const std::string& text, const std::string& where);
// Reads and parses a file; throws KvsimError naming the file if it cannot be read or parsed.
nlohmann::json parse_json_file(const std::filesystem::path& path);

}  // namespace kvsim
