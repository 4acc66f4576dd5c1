// SHA-256 of input files (see file_digest.h).
#include "sim/core/file_digest.h"

#include <array>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "sim/core/error.h"

namespace kvsim {

namespace {

std::string digest_of(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw KvsimError(fmt::format("{}: cannot open the file to hash it", path.string()));
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw std::runtime_error("SHA-256 init");
  std::array<char, 1 << 16> buf{};
  while (in) {
    in.read(buf.data(), buf.size());
    if (in.gcount() > 0 && EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(in.gcount())) != 1) {
      throw std::runtime_error("SHA-256 update");
    }
  }
  if (in.bad()) throw KvsimError(fmt::format("{}: read error while hashing it", path.string()));
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md.data(), &n) != 1) throw std::runtime_error("SHA-256 final");
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

}  // namespace

std::string sha256_file(const std::filesystem::path& path) {
  static std::mutex mutex;
  static std::map<std::tuple<std::string, std::uintmax_t, std::filesystem::file_time_type>, std::string> known;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  const auto time = ec ? std::filesystem::file_time_type{} : std::filesystem::last_write_time(path, ec);
  if (ec) throw KvsimError(fmt::format("{}: cannot read the file to hash it ({})", path.string(), ec.message()));
  const auto key = std::make_tuple(std::filesystem::absolute(path).string(), size, time);
  {
    const std::lock_guard<std::mutex> lock(mutex);
    if (const auto it = known.find(key); it != known.end()) return it->second;
  }
  std::string hex = digest_of(path);
  const std::lock_guard<std::mutex> lock(mutex);
  known.emplace(key, hex);
  return hex;
}

}  // namespace kvsim
