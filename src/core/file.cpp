#include "core/file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ext/stdio_filebuf.h>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "core/text.h"

namespace scaleplan {

namespace {

// Paths are user input too: a name with control characters is shown escaped.
std::string Shown(const std::string& path) { return Printable(path, 300); }

std::string Reason(int error) { return std::strerror(error); }

// Closes a descriptor when it goes out of scope.
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the error close() found (a delayed write error on some file systems).
  int Close() {
    int result = ::close(fd_);
    fd_ = -1;
    return result == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

Result<std::string> ReadCapped(int fd, const std::string& name, int64_t max_bytes) {
  std::string bytes;
  char chunk[1 << 16];
  while (true) {
    ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got < 0) {
      int error = errno;
      if (error == EINTR) continue;
      return Status::Io(fmt::format("{}: cannot be read ({})", name, Reason(error)));
    }
    if (got == 0) break;
    if (static_cast<int64_t>(bytes.size()) + got > max_bytes) {
      return Status::Invalid(
          fmt::format("{}: longer than {} bytes (allowed: at most {} bytes)", name, max_bytes, max_bytes));
    }
    bytes.append(chunk, static_cast<size_t>(got));
  }
  return bytes;
}

// Writes all of `content` to `fd`; returns 0 or the errno of the failure.
int WriteAll(int fd, std::string_view content) {
  while (!content.empty()) {
    ssize_t put = ::write(fd, content.data(), content.size());
    if (put < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    content.remove_prefix(static_cast<size_t>(put));
  }
  return 0;
}

Status WriteToDescriptor(int fd, const std::string& shown, const std::string& content) {
  int error = WriteAll(fd, content);
  if (error != 0) return Status::Write(fmt::format("{}: write failed ({})", shown, Reason(error)));
  return Status::Ok();
}

// The descriptor `path` names when it is one of this process's own (/dev/fd/N, /proc/self/fd/N,
// /proc/PID/fd/N with our PID) and open.
std::optional<int> OwnDescriptor(const std::string& path) {
  std::string_view rest;
  const std::string own = fmt::format("/proc/{}/fd/", static_cast<long>(::getpid()));
  for (std::string_view prefix : {std::string_view("/dev/fd/"), std::string_view("/proc/self/fd/"),
                                   std::string_view(own)}) {
    if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0) {
      rest = std::string_view(path).substr(prefix.size());
    }
  }
  if (rest.empty() || rest.size() > 9) return std::nullopt;
  int fd = 0;
  for (char c : rest) {
    if (c < '0' || c > '9') return std::nullopt;
    fd = fd * 10 + (c - '0');
  }
  if (::fcntl(fd, F_GETFD) < 0) return std::nullopt;
  return fd;
}

Status WriteInPlace(const std::string& path, const std::string& shown, const std::string& content) {
  Descriptor fd(::open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC));
  if (fd.get() < 0) {
    int error = errno;
    return Status::Write(fmt::format("{}: cannot be opened for writing ({})", shown, Reason(error)));
  }
  int error = WriteAll(fd.get(), content);
  int closed = fd.Close();
  if (error == 0) error = closed;
  if (error != 0) return Status::Write(fmt::format("{}: write failed ({})", shown, Reason(error)));
  return Status::Ok();
}

// Writes `content` to a temporary file beside `path` and flushes it to disk; returns the
// temporary file's name (what a rename puts in place). It has the mode a replaced file had (and
// its owner and group where this process may set them), else the usual 0666 less the umask.
Result<std::string> WriteTemporary(const std::string& path, const std::string& shown,
                                   const std::string& content, const struct stat* old) {
  std::filesystem::path target(path);
  std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  std::string temp = fmt::format("{}/.{}.XXXXXX", dir, target.filename().string());
  Descriptor fd(::mkstemp(temp.data()));
  if (fd.get() < 0) {
    int error = errno;
    return Status::Write(
        fmt::format("{}: cannot create a file in {} ({})", shown, Shown(dir), Reason(error)));
  }
  // mkstemp makes the file 0600; a new file gets the usual 0666 less the umask (read once: the
  // process is single-threaded here), a replaced one keeps its mode.
  mode_t mode = 0;
  if (old != nullptr) {
    mode = old->st_mode & 07777;
    if (::fchown(fd.get(), old->st_uid, old->st_gid) != 0) {
      // Not permitted (another user's file): the new file is ours, as any editor's would be.
    }
  } else {
    mode_t mask = ::umask(0);
    ::umask(mask);
    mode = static_cast<mode_t>(0666 & ~mask);
  }
  int error = ::fchmod(fd.get(), mode) == 0 ? 0 : errno;
  if (error == 0) error = WriteAll(fd.get(), content);
  if (error == 0 && ::fsync(fd.get()) != 0) error = errno;
  int closed = fd.Close();
  if (error == 0) error = closed;
  if (error != 0) {
    ::unlink(temp.c_str());
    return Status::Write(fmt::format("{}: write failed ({})", shown, Reason(error)));
  }
  return temp;
}

}  // namespace

namespace {

// The files read under this thread's InputGuard, by (device, inode); null without a guard.
using InputSet = std::set<std::pair<uint64_t, uint64_t>>;
thread_local InputSet* g_inputs = nullptr;

void RememberInput(const struct stat& info) {
  if (g_inputs != nullptr) {
    g_inputs->insert({static_cast<uint64_t>(info.st_dev), static_cast<uint64_t>(info.st_ino)});
  }
}

bool IsInput(const struct stat& info) {
  return g_inputs != nullptr &&
         g_inputs->count({static_cast<uint64_t>(info.st_dev), static_cast<uint64_t>(info.st_ino)});
}

}  // namespace

InputGuard::InputGuard() : previous_(g_inputs) { g_inputs = new InputSet(); }

InputGuard::~InputGuard() {
  delete g_inputs;
  g_inputs = static_cast<InputSet*>(previous_);
}

namespace {

// Opens `path` for reading and stats it. O_NONBLOCK: opening a FIFO must not wait for a writer
// (the callers decide from `info` what they take).
Status OpenInput(const std::string& path, std::optional<Descriptor>& fd, struct stat& info) {
  if (path.empty()) {
    return Status::NotFound("a file name is empty (allowed: the path of a file)");
  }
  fd.emplace(::open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (fd->get() < 0) {
    int error = errno;
    if (error == ENOENT || error == ENOTDIR) {
      return Status::NotFound(fmt::format("{}: no such file", Shown(path)));
    }
    return Status::Io(fmt::format("{}: cannot be opened for reading ({})", Shown(path), Reason(error)));
  }
  if (::fstat(fd->get(), &info) != 0) {
    int error = errno;
    return Status::Io(fmt::format("{}: cannot be read ({})", Shown(path), Reason(error)));
  }
  return Status::Ok();
}

}  // namespace

Status CheckStreamedInput(const std::string& path) {
  std::optional<Descriptor> fd;
  struct stat info {};
  if (path == "-") {
    // Standard input as it is: a terminal would wait for typing, so only a pipe (or a socket, as
    // some launchers hand a child) or a file.
    if (::fstat(STDIN_FILENO, &info) != 0) {
      return Status::Io(fmt::format("standard input: cannot be read ({})", Reason(errno)));
    }
    if (!S_ISREG(info.st_mode) && !S_ISFIFO(info.st_mode) && !S_ISSOCK(info.st_mode)) {
      return Status::Invalid(
          "standard input: not a regular file or a pipe (allowed: a pipe, `cat FILE | "
          "scaleplan ...`, or a file, `< FILE`)");
    }
    if (S_ISREG(info.st_mode)) RememberInput(info);
    return Status::Ok();
  }
  SP_RETURN_IF_ERROR(OpenInput(path, fd, info));
  // A pipe streams (zcat day_0.gz into a FIFO); a directory or a device does not.
  if (!S_ISREG(info.st_mode) && !S_ISFIFO(info.st_mode)) {
    return Status::Invalid(fmt::format(
        "{}: not a regular file or a pipe (allowed: a regular file or a named pipe)", Shown(path)));
  }
  if (S_ISREG(info.st_mode)) RememberInput(info);
  return Status::Ok();
}

std::string StreamedInputName(const std::string& path) {
  return path == "-" ? "standard input" : Shown(path);
}

Result<std::unique_ptr<std::istream>> OpenStreamedInput(const std::string& path) {
  if (path != "-") {
    auto in = std::make_unique<std::ifstream>(path, std::ios::binary);
    if (!*in) return Status::Io(fmt::format("{}: cannot be opened", Shown(path)));
    return std::unique_ptr<std::istream>(std::move(in));
  }
  // Standard input where it stands (a redirected file from its current offset, a pipe whose
  // writer has finished), through a duplicate of descriptor 0 the buffer owns and closes.
  const int fd = ::dup(STDIN_FILENO);
  if (fd < 0) return Status::Io(fmt::format("standard input: cannot be read ({})", Reason(errno)));
  struct Stdin : std::istream {
    explicit Stdin(int fd) : std::istream(nullptr), buf(fd, std::ios::in) { rdbuf(&buf); }
    __gnu_cxx::stdio_filebuf<char> buf;
  };
  return std::unique_ptr<std::istream>(std::make_unique<Stdin>(fd));
}

void SkipByteOrderMark(std::istream& in) {
  // Byte by byte with peek, so that a pipe, which cannot seek back, is read the same way; a
  // partial mark puts back what it took.
  constexpr unsigned char kMark[3] = {0xEF, 0xBB, 0xBF};
  int taken = 0;
  while (taken < 3 && in.peek() == kMark[taken]) {
    in.get();
    ++taken;
  }
  if (taken == 3) return;
  in.clear();
  while (taken > 0) in.putback(static_cast<char>(kMark[--taken]));
}

namespace {

// A UTF-8 byte-order mark (what spreadsheets put before a CSV's header) is no content: left in, it
// would be part of the first column's name.
Result<std::string> WithoutByteOrderMark(Result<std::string> text) {
  if (text.ok() && text->rfind("\xEF\xBB\xBF", 0) == 0) text->erase(0, 3);
  return text;
}

Result<std::string> ReadWhole(const std::string& path, int64_t max_bytes) {
  if (path == "-") {
    // A terminal would wait for typing: refused as a streamed input's is.
    SP_RETURN_IF_ERROR(CheckStreamedInput(path));
    return ReadCapped(STDIN_FILENO, "standard input", max_bytes);
  }
  std::optional<Descriptor> fd;
  struct stat info {};
  SP_RETURN_IF_ERROR(OpenInput(path, fd, info));
  if (!S_ISREG(info.st_mode)) {
    return Status::Invalid(
        fmt::format("{}: not a regular file (allowed: a regular file)", Shown(path)));
  }
  if (info.st_size > max_bytes) {
    return Status::Invalid(
        fmt::format("{}: {} bytes (allowed: at most {} bytes)", Shown(path), info.st_size, max_bytes));
  }
  RememberInput(info);
  // Back to blocking reads for a regular file.
  int flags = ::fcntl(fd->get(), F_GETFL);
  if (flags >= 0) ::fcntl(fd->get(), F_SETFL, flags & ~O_NONBLOCK);
  return ReadCapped(fd->get(), Shown(path), max_bytes);
}

}  // namespace

Result<std::string> ReadInputFile(const std::string& path, int64_t max_bytes) {
  return WithoutByteOrderMark(ReadWhole(path, max_bytes));
}

Result<FileLock> FileLock::Acquire(const std::string& path) {
  if (path == "-") return FileLock(-1);
  // The file the write will replace: symbolic links followed, as WriteOutputFile does.
  std::error_code ec;
  std::filesystem::path target = std::filesystem::weakly_canonical(path, ec);
  if (ec) target = path;
  const std::filesystem::path lock_path =
      target.parent_path() / ("." + target.filename().string() + ".lock");
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    // No lock file can be made there (a missing or read-only folder): the write that follows
    // reports what is wrong with the path.
    return FileLock(-1);
  }
  int rc = 0;
  while ((rc = ::flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    const int error = errno;
    ::close(fd);
    if (error == ENOLCK || error == ENOSYS || error == EOPNOTSUPP) {
      return FileLock(-1);  // a file system without locks: unlocked, as before
    }
    return Status::Io(fmt::format("{}: cannot lock {} ({})", Shown(path),
                                  Shown(lock_path.string()), std::strerror(error)));
  }
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the lock
}

namespace {

// Where an output goes once its links are followed, and how it is written there.
struct OutputTarget {
  enum Kind { kDescriptor, kNewFile, kRegularFile, kInPlace } kind = kNewFile;
  std::string current;  // the last name of the link chain
  int fd = -1;          // kDescriptor
  struct stat info {};  // kRegularFile
};

// `may_replace_input`: an update of a file the command read (UpdateFile).
Result<OutputTarget> ResolveOutput(const std::string& path, bool may_replace_input) {
  if (path.empty()) {
    return Status::Invalid("output path is empty (allowed: a file path, or - for standard output)");
  }
  OutputTarget t;
  if (path == "-") {
    t.kind = OutputTarget::kDescriptor;
    t.fd = STDOUT_FILENO;
    return t;
  }
  // Follow symbolic links one hop at a time (at most 40, as the kernel does): the last name in the
  // chain is what gets replaced. A descriptor name (/dev/stdout -> /proc/self/fd/1) is written
  // through the descriptor this process holds, so a redirected standard output keeps its
  // position and O_APPEND and the file behind it is never replaced.
  std::string current = path;
  for (int hop = 0;; ++hop) {
    if (std::optional<int> fd = OwnDescriptor(current)) {
      t.kind = OutputTarget::kDescriptor;
      t.fd = *fd;
      return t;
    }
    struct stat link_info {};
    if (::lstat(current.c_str(), &link_info) != 0 || !S_ISLNK(link_info.st_mode)) break;
    if (hop == 40) {
      return Status::Write(fmt::format("{}: more than 40 symbolic links in a chain", Shown(path)));
    }
    std::error_code ec;
    std::filesystem::path target = std::filesystem::read_symlink(current, ec);
    if (ec) {
      return Status::Write(fmt::format("{}: cannot follow the link ({})", Shown(path), ec.message()));
    }
    current = (target.is_absolute() ? target : std::filesystem::path(current).parent_path() / target)
                  .string();
  }
  t.current = current;
  if (::stat(current.c_str(), &t.info) != 0) {
    int error = errno;
    if (error != ENOENT) {
      return Status::Write(fmt::format("{}: cannot be written ({})", Shown(path), Reason(error)));
    }
    std::filesystem::path parent = std::filesystem::path(current).parent_path();
    std::error_code ec;
    if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
      return Status::Write(
          fmt::format("{}: folder {} does not exist", Shown(path), Shown(parent.string())));
    }
    t.kind = OutputTarget::kNewFile;
    return t;
  }
  if (S_ISREG(t.info.st_mode)) {
    if (!may_replace_input && IsInput(t.info)) {
      return Status::Invalid(fmt::format(
          "{}: is also an input of this command, which writing it would destroy (allowed: an "
          "output path that is not read)",
          Shown(path)));
    }
    t.kind = OutputTarget::kRegularFile;
    return t;
  }
  if (S_ISCHR(t.info.st_mode) || S_ISFIFO(t.info.st_mode)) {
    t.kind = OutputTarget::kInPlace;
    return t;
  }
  return Status::Write(fmt::format(
      "{}: is {} (allowed: a regular file, a new file, a device such as /dev/null, a FIFO, or - for "
      "standard output)",
      Shown(path), S_ISDIR(t.info.st_mode) ? "a directory" : "neither a file nor a device"));
}

}  // namespace

struct OutputBatch::Entry {
  bool in_place = false;  // written by Commit (a descriptor, a device, a FIFO)
  int fd = -1;            // a descriptor of this process
  std::string shown;      // the path as the user gave it, for messages
  std::string target;     // the last name of the link chain (in place, or renamed onto)
  std::string temporary;  // a file's prepared bytes, until Commit renames them onto the target
  std::string content;    // what an in-place output gets
};

OutputBatch::OutputBatch() = default;

OutputBatch::~OutputBatch() { Discard(); }

void OutputBatch::Discard() {
  for (const Entry& e : entries_) {
    if (!e.temporary.empty()) ::unlink(e.temporary.c_str());
  }
  entries_.clear();
}

Status OutputBatch::Add(const std::string& path, const std::string& content,
                        bool may_replace_input) {
  SP_ASSIGN_OR_RETURN(OutputTarget t, ResolveOutput(path, may_replace_input));
  Entry e;
  e.shown = path == "-" ? "standard output" : Shown(path);
  e.target = t.current;
  switch (t.kind) {
    case OutputTarget::kDescriptor:
      e.in_place = true;
      e.fd = t.fd;
      e.content = content;
      break;
    case OutputTarget::kInPlace:
      e.in_place = true;
      e.content = content;
      break;
    case OutputTarget::kNewFile:
    case OutputTarget::kRegularFile: {
      SP_ASSIGN_OR_RETURN(e.temporary,
                          WriteTemporary(t.current, e.shown, content,
                                         t.kind == OutputTarget::kRegularFile ? &t.info : nullptr));
      break;
    }
  }
  entries_.push_back(std::move(e));
  return Status::Ok();
}

Status OutputBatch::Commit(const std::function<Status()>& before_replace) {
  // The writes that can fail for want of space or a reader first, while no file is replaced yet.
  for (const Entry& e : entries_) {
    if (!e.in_place) continue;
    Status written = e.fd >= 0 ? WriteToDescriptor(e.fd, e.shown, e.content)
                               : WriteInPlace(e.target, e.shown, e.content);
    if (!written.ok()) {
      Discard();
      return written;
    }
  }
  if (before_replace) {
    if (Status written = before_replace(); !written.ok()) {
      Discard();
      return written;
    }
  }
  Status result = Status::Ok();
  for (Entry& e : entries_) {
    if (e.temporary.empty()) continue;
    if (result.ok() && std::rename(e.temporary.c_str(), e.target.c_str()) == 0) {
      e.temporary.clear();
      continue;
    }
    if (result.ok()) {
      result = Status::Write(fmt::format("{}: write failed ({})", e.shown, Reason(errno)));
    }
  }
  Discard();
  return result;
}

Status DistinctInputs(const std::vector<std::string>& paths, const std::string& what) {
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, size_t>> seen;
  for (size_t i = 0; i < paths.size(); ++i) {
    std::pair<uint64_t, uint64_t> id{0, 0};
    if (paths[i] != "-") {
      struct stat info {};
      if (::stat(paths[i].c_str(), &info) != 0) continue;
      id = {static_cast<uint64_t>(info.st_dev), static_cast<uint64_t>(info.st_ino)};
    }
    for (const auto& [other, j] : seen) {
      if (other == id) {
        return Status::Invalid(fmt::format(
            "{}: {} is the same file as {} (allowed: each file once; its rows would count twice)",
            what, Shown(paths[i]), Shown(paths[j])));
      }
    }
    seen.emplace_back(id, i);
  }
  return Status::Ok();
}

Status CheckOutputPath(const std::string& path) { return ResolveOutput(path, false).status(); }

Status WriteOutputFile(const std::string& path, const std::string& content) {
  OutputBatch batch;
  SP_RETURN_IF_ERROR(batch.Add(path, content));
  return batch.Commit();
}

Status UpdateFile(const std::string& path, const std::string& content) {
  OutputBatch batch;
  SP_RETURN_IF_ERROR(batch.Add(path, content, /*may_replace_input=*/true));
  return batch.Commit();
}

}  // namespace scaleplan
