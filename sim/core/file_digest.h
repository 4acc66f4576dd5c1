// SHA-256 of input files, so that a results.json says exactly which trace and profiles produced it (OpenSSL's
// libcrypto, Debian's libssl-dev: a well-kept implementation rather than a hand-written one).
#pragma once

#include <filesystem>
#include <string>

namespace kvsim {

// The file's SHA-256 as 64 lowercase hex digits. Remembers files by path, size and modification time, so a
// sweep's many runs hash a trace once. Throws KvsimError naming the file if it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace kvsim
