// Reading input files and writing output files: every user-named file goes through here.
//
// Reading: an input must be a regular file (a device, a FIFO or a directory is refused: reading one
// could block forever or never end) or "-" for standard input, and at most `max_bytes` long (a
// larger one is refused before it is read, standard input as soon as it passes the cap). Errors
// name the path and the reason: NotFound (no such path), Invalid (not a regular file, too large),
// IoError (exists but cannot be read, with the system's reason: permission denied, ...).
//
// Writing: "-" is standard output. A path that names nothing or a regular file is replaced
// atomically (a temporary file beside it, flushed to disk, then a rename), so readers see the old
// file or the whole new one, never half of it; a replaced file keeps its mode (and owner, where
// allowed). Symbolic links are followed (a chain too, even to a missing target): the last name is
// what gets replaced, the links stay. A name for one of this process's descriptors (/dev/stdout,
// /dev/fd/N, /proc/self/fd/N) is written through that descriptor, so a redirected output keeps its
// position and the file behind it is never replaced. A character device or a FIFO (/dev/null, a
// named pipe) is written in place. Anything else (a directory, a socket) is refused. A failed
// write is an error (WriteError, naming the path and the reason) and leaves no temporary file.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace scaleplan {

inline constexpr int64_t kMaxSpecFileBytes = int64_t{64} << 20;  // YAML, JSON, CSV, text: 64 MiB
inline constexpr int64_t kMaxDataFileBytes = int64_t{4} << 30;   // document lengths, indexes: 4 GiB

// The file's bytes, a leading UTF-8 byte-order mark dropped.
Result<std::string> ReadInputFile(const std::string& path, int64_t max_bytes);

// For an input read as a stream rather than whole (a data set of any size): the same refusals as
// ReadInputFile's (no such path, cannot be opened, a directory or a device), without the size
// cap, and a named pipe is fine. "-" is standard input, refused when it is a terminal.
Status CheckStreamedInput(const std::string& path);
// How errors name a streamed input ("standard input" for "-").
std::string StreamedInputName(const std::string& path);
// The stream (after CheckStreamedInput): the file, or standard input read from where it stands.
Result<std::unique_ptr<std::istream>> OpenStreamedInput(const std::string& path);

// Consumes a UTF-8 byte-order mark at the start of a stream read line by line (as ReadInputFile
// drops it from a whole file), a pipe's too.
void SkipByteOrderMark(std::istream& in);

Status WriteOutputFile(const std::string& path, const std::string& content);

// Outputs written together, so that a command with several (a report and a side file) leaves
// all of them written or, when one fails, none of the files replaced. Add resolves and checks an
// output as WriteOutputFile does and prepares it: a file's bytes go to a temporary file beside
// it, flushed to disk (a full disk fails here); a descriptor's, a device's or a FIFO's are kept.
// Commit writes the kept ones first (their writes can fail: /dev/full, a closed pipe), and only
// when all succeed renames the temporary files onto their paths. A failed Commit, or a batch
// destroyed uncommitted, removes the temporary files. (A rename that fails after another
// succeeded, which needs the folder changed under the command, leaves the first in place.)
// `before_replace`, when given, runs after the kept outputs' writes and before any rename (the
// command's report to standard output: a report is printed only when its side files could be
// written, and its failure replaces none of them).
class OutputBatch {
 public:
  OutputBatch();
  ~OutputBatch();
  OutputBatch(const OutputBatch&) = delete;
  OutputBatch& operator=(const OutputBatch&) = delete;
  // `may_replace_input`: the output may be a file this command read (UpdateFile).
  Status Add(const std::string& path, const std::string& content, bool may_replace_input = false);
  Status Commit(const std::function<Status()>& before_replace = {});

 private:
  struct Entry;
  void Discard();
  std::vector<Entry> entries_;
};

// A read-modify-replace update of a file this command read (`scaleplan jobs add`'s log): written as
// WriteOutputFile writes, without InputGuard's refusal.
Status UpdateFile(const std::string& path, const std::string& content);

// While an InputGuard lives on a thread, the regular files that thread reads as inputs
// (ReadInputFile, CheckStreamedInput) are remembered by device and inode, and WriteOutputFile
// refuses to replace one of them ("-o job.yaml" would destroy the job it read): a command runs
// under one (cli::Run). Guards nest; the innermost is in force.
class InputGuard {
 public:
  InputGuard();
  ~InputGuard();
  InputGuard(const InputGuard&) = delete;
  InputGuard& operator=(const InputGuard&) = delete;

 private:
  void* previous_;
};

// Inputs whose rows are pooled (job logs, files of runs) name different files: the same file twice,
// however spelled (a link, ./x and x: the same device and inode; "-" twice), would count its rows
// twice. `what` names the input in the message. A path that cannot be stat'ed is left to its
// reader to report.
Status DistinctInputs(const std::vector<std::string>& paths, const std::string& what);

// WriteOutputFile's checks without the write (the folder exists, the path is not a directory, the
// links resolve): what a command runs on every output before its work, so that one bad output
// does not leave the others written.
Status CheckOutputPath(const std::string& path);

// An exclusive advisory lock (flock) for updating the file at `path`, held until the object is
// destroyed: what a read-modify-replace update (`scaleplan jobs add`) takes, so that two updates
// at once do not lose one another's change. The lock is on a file beside the target (symbolic
// links followed), `.NAME.lock`, never replaced: the update replaces the file itself (a new
// inode) while others may wait on the old one. On NFS, flock on a file reaches the server, so
// writers on other machines wait too. Best effort: where no lock file can be made (a missing or
// read-only folder) or the file system has no locks, the update runs unlocked, as it did before;
// "-" is never locked.
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::string& path);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace scaleplan
