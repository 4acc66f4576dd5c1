// Running the kvsim binary from tests: its exit code, stdout and stderr; a scratch folder; small scenario files.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace cli_testing {

namespace fs = std::filesystem;

struct Result {
  int code;
  std::string out, err;
};

inline fs::path scratch() {
  const fs::path d = fs::temp_directory_path() / "kvsim-cli-tests";
  fs::create_directories(d);
  return d;
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline Result kvsim(const std::string& args) {
  // CTest runs test cases as parallel processes: capture files are unique per process and call.
  static int calls = 0;
  const std::string tag = std::to_string(::getpid()) + "-" + std::to_string(calls++);
  const fs::path out = scratch() / ("stdout-" + tag + ".txt"), err = scratch() / ("stderr-" + tag + ".txt");
  const std::string cmd =
      std::string(KVSIM_BIN) + " " + args + " >" + out.string() + " 2>" + err.string() + " </dev/null";
  const int status = std::system(cmd.c_str());
  Result r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  fs::remove(out);
  fs::remove(err);
  return r;
}

inline fs::path write(const std::string& name, const std::string& text) {
  const fs::path p = scratch() / name;
  std::ofstream(p) << text;
  return p;
}

inline const std::string kAzure =
    std::string(KVSIM_SHARED_DIR) + "/traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv";

inline std::string scenario_with_trace(const std::string& trace_path, const std::string& format) {
  nlohmann::json doc = {{"model", "llama-3.1-8b"},
                        {"hardware", {{"gpu", "h100-sxm"}}},
                        {"workload", {{"trace", {{"path", trace_path}, {"format", format}}}}}};
  return doc.dump(2);
}

}  // namespace cli_testing
