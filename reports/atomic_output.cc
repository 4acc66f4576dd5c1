#include "reports/atomic_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "sim/core/error.h"

namespace kvsim {
namespace fs = std::filesystem;

namespace {

std::string pid_suffix() { return std::to_string(static_cast<long long>(::getpid())); }

std::string quoted(const fs::path& p) {
  std::string out;
  out.reserve(p.native().size() + 2);
  out.append(1, '\'').append(p.native()).append(1, '\'');
  return out;
}

[[noreturn]] void fail(const std::string& what, const fs::path& p, const std::error_code& ec) {
  throw KvsimError(what + " " + quoted(p) + ": " + ec.message());
}

// A final path without a trailing separator, absolute, with "." and ".." resolved lexically.
fs::path normalized(const fs::path& p) {
  if (p.empty()) throw KvsimError("output directory path is empty");
  fs::path n = fs::absolute(p).lexically_normal();
  if (!n.has_filename() && n.has_parent_path() && n != n.root_path()) n = n.parent_path();
  return n;
}

// True if `prefix` equals `p` or is one of its ancestors (component-wise).
bool is_same_or_ancestor(const fs::path& prefix, const fs::path& p) {
  auto pi = p.begin();
  for (auto it = prefix.begin(); it != prefix.end(); ++it, ++pi) {
    if (it->empty()) continue;  // trailing separator
    if (pi == p.end() || *pi != *it) return false;
  }
  return true;
}

class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::error_code last_error() { return {errno, std::generic_category()}; }

}  // namespace

void write_file_atomic(const fs::path& path, std::string_view contents) {
  if (!path.has_filename()) throw KvsimError("cannot write " + quoted(path) + ": not a file name");
  const fs::path tmp = path.parent_path() / (path.filename().string() + ".tmp-" + pid_suffix());
  auto remove_tmp = [&] {
    std::error_code ignored;
    fs::remove(tmp, ignored);
  };

  FdGuard fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (fd.get() < 0) fail("cannot create", tmp, last_error());

  const char* data = contents.data();
  std::size_t left = contents.size();
  while (left > 0) {
    const ssize_t n = ::write(fd.get(), data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      const auto ec = last_error();
      remove_tmp();
      fail("cannot write", tmp, ec);
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    const auto ec = last_error();
    remove_tmp();
    fail("cannot flush", tmp, ec);
  }
  if (::close(fd.release()) != 0) {
    const auto ec = last_error();
    remove_tmp();
    fail("cannot close", tmp, ec);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const auto ec = last_error();
    remove_tmp();
    fail("cannot rename " + quoted(tmp) + " to", path, ec);
  }
}

namespace {
// Staging (`.tmp-<pid>`) and set-aside (`.old-<pid>`) directories of `final` left by kvsim processes that no
// longer run (killed, power lost): removed when they hold kvsim's marker file.
void remove_stale_siblings(const fs::path& final) {
  std::error_code ec;
  const std::string base = final.filename().string();
  for (fs::directory_iterator it(final.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    for (const char* tag : {".tmp-", ".old-"}) {
      const std::string prefix = base + tag;
      if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string digits = name.substr(prefix.size());
      if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
      const auto pid = static_cast<pid_t>(std::stol(digits));
      const bool gone = ::kill(pid, 0) != 0 && errno == ESRCH;
      std::error_code ignored;
      if (gone && fs::exists(it->path() / kOutputMarker, ignored)) fs::remove_all(it->path(), ignored);
    }
  }
}
}  // namespace

AtomicDirectory::AtomicDirectory(fs::path final_path) : final_(normalized(final_path)) {
  std::error_code ec;
  if (final_ == final_.root_path()) throw KvsimError("refusing to use the file-system root as output directory");
  const fs::path cwd = fs::current_path(ec);
  const fs::path canonical = fs::weakly_canonical(final_, ec);
  if (!ec && !cwd.empty() && (is_same_or_ancestor(final_, cwd) || is_same_or_ancestor(canonical, cwd))) {
    throw KvsimError("refusing to replace output directory " + quoted(final_) +
                     ": it is the current directory or contains it; give a subdirectory such as 'out/run1'");
  }
  // Only an empty directory or one kvsim wrote (it holds the marker file) may be replaced: never a user's folder.
  const fs::file_status existing = fs::symlink_status(final_, ec);
  if (fs::exists(existing)) {
    if (fs::is_symlink(existing)) {
      throw KvsimError("output path " + quoted(final_) + " is a symbolic link; give the directory it points to");
    }
    if (!fs::is_directory(existing)) {
      throw KvsimError("output path " + quoted(final_) + " exists and is not a directory");
    }
    if (!fs::is_empty(final_, ec) && !fs::exists(final_ / kOutputMarker, ec)) {
      throw KvsimError("output directory " + quoted(final_) + " exists and was not written by kvsim (no " +
                       std::string(kOutputMarker) + " file); choose another --out or empty it first");
    }
  }
  staging_ = final_.parent_path() / (final_.filename().string() + ".tmp-" + pid_suffix());

  fs::create_directories(final_.parent_path(), ec);
  if (ec) fail("cannot create directory", final_.parent_path(), ec);
  remove_stale_siblings(final_);
  fs::remove_all(staging_, ec);  // stale staging directory of an earlier process with the same pid
  if (ec) fail("cannot remove stale staging directory", staging_, ec);
  fs::create_directory(staging_, ec);
  if (ec) fail("cannot create staging directory", staging_, ec);
  write_file_atomic(staging_ / kOutputMarker, "This directory was written by kvsim and may be replaced by it.\n");
}

AtomicDirectory::~AtomicDirectory() {
  if (committed_) return;
  std::error_code ignored;
  fs::remove_all(staging_, ignored);
}

void AtomicDirectory::commit() {
  if (committed_) throw std::logic_error("AtomicDirectory::commit() called twice for " + quoted(final_));
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(final_, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) fail("cannot inspect", final_, ec);

  if (!fs::exists(st)) {
    fs::rename(staging_, final_, ec);
    if (ec) fail("cannot rename " + quoted(staging_) + " to", final_, ec);
    committed_ = true;
    return;
  }
  if (fs::is_symlink(st)) {
    throw KvsimError("output path " + quoted(final_) + " is a symbolic link; give the directory it points to");
  }
  if (!fs::is_directory(st)) {
    throw KvsimError("output path " + quoted(final_) + " exists and is not a directory");
  }

  const fs::path aside = final_.parent_path() / (final_.filename().string() + ".old-" + pid_suffix());
  fs::remove_all(aside, ec);
  if (ec) fail("cannot remove stale directory", aside, ec);
  fs::rename(final_, aside, ec);
  if (ec) fail("cannot move previous output aside:", final_, ec);
  fs::rename(staging_, final_, ec);
  if (ec) {
    std::error_code restore_ec;
    fs::rename(aside, final_, restore_ec);  // best effort: put the previous output back
    fail("cannot rename " + quoted(staging_) + " to", final_, ec);
  }
  committed_ = true;
  fs::remove_all(aside, ec);
  if (ec) {
    throw KvsimError("output written to " + quoted(final_) + ", but the previous output moved to " + quoted(aside) +
                     " could not be removed: " + ec.message());
  }
}

}  // namespace kvsim
