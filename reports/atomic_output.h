// Atomic output: a run either leaves complete files / a complete output directory, or nothing new.
//
// Contract:
//  - write_file_atomic(path, contents) writes `<dir>/<name>.tmp-<pid>` next to `path`, flushes it to disk (fsync)
//    and renames it over `path`. Readers see the old file or the new one, never a half-written one. On any failure the
//    temporary file is removed and KvsimError names the path and the system error.
//  - AtomicDirectory stages a whole output directory: files go into path() (`<final>.tmp-<pid>`, a sibling of the
//    final directory, so the rename stays on one file system). commit() puts the staging directory in place of the
//    final one: if the final directory exists it is renamed aside (`<final>.old-<pid>`), the staging directory is
//    renamed to the final path, and the old one is removed. Without commit() the destructor removes the staging
//    directory, so a failed run leaves no half-written output and keeps the previous output untouched.
//  - The final path must not be an existing non-directory, and an existing directory is replaced only if it is empty
//    or holds the marker file kOutputMarker (written into every staging directory): a folder of the user's is
//    never deleted. Both are checked in the constructor, before any work. Parent directories are created as needed.
//  - Not thread-safe; one AtomicDirectory per final path per process.
#pragma once

#include <filesystem>
#include <string_view>

namespace kvsim {

// Marker file every kvsim output directory holds; only directories with it (or empty ones) are ever replaced.
inline constexpr const char* kOutputMarker = ".kvsim-output";

void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

class AtomicDirectory {
 public:
  // Creates the staging directory `<final_path>.tmp-<pid>` (removing a stale one of the same name first).
  explicit AtomicDirectory(std::filesystem::path final_path);
  // Removes the staging directory unless commit() succeeded. Never throws.
  ~AtomicDirectory();

  AtomicDirectory(const AtomicDirectory&) = delete;
  AtomicDirectory& operator=(const AtomicDirectory&) = delete;

  // Where files are written until commit() (the staging directory); after commit(), the final directory.
  const std::filesystem::path& path() const { return committed_ ? final_ : staging_; }
  const std::filesystem::path& final_path() const { return final_; }
  bool committed() const { return committed_; }

  // Replaces the final directory with the staging directory. Throws KvsimError on failure (the previous final
  // directory is restored when possible). Calling it twice is an error.
  void commit();

 private:
  std::filesystem::path final_;
  std::filesystem::path staging_;
  bool committed_ = false;
};

}  // namespace kvsim
