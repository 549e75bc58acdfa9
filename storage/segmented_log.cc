// SPDX-License-Identifier: Apache-2.0
//
// SegmentedLog: recovery, group commit over io_uring or a writer thread, suffix truncation.
// Format and crash behaviour are described in storage/segmented_log.h.

#include "storage/segmented_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstring>
#include <mutex>
#include <thread>

#include <liburing.h>

#include "common/assert.h"
#include "storage/internal/format.h"

namespace rlog::storage {

using internal::kRecordHeaderBytes;
using internal::kSegmentHeaderBytes;
using internal::RecordHeader;
using internal::SegmentHeader;

const char* backend_name(Backend backend) {
    switch (backend) {
        case Backend::kAuto:
            return "auto";
        case Backend::kIoUring:
            return "io_uring";
        case Backend::kThread:
            return "thread";
    }
    return "?";
}

namespace {

constexpr unsigned kRingEntries = 128;
// Bounds one group: at most this many write+sync pairs (segment runs); the rest rides the next.
constexpr size_t kSegmentRunsPerGroupMax = 32;
// A group whose writes keep coming back short with no progress, or -EAGAIN, is failed after this.
constexpr int kResubmitsPerGroupMax = 1000;
// One submitted write moves at most this much (a CQE result is an int); the rest is requeued.
constexpr size_t kWriteBytesPerSubmitMax = size_t{1} << 30;

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return buf;
}

Status errno_status(int err, const std::string& what) {
    ErrorCode code = err == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo;
    return Status(code, format("%s: %s (errno %d)", what.c_str(), std::strerror(err), err));
}

Status corruption(const std::string& path, uint64_t offset, const std::string& what) {
    return Status(ErrorCode::kCorruption,
                  format("%s offset %llu: %s", path.c_str(),
                         static_cast<unsigned long long>(offset), what.c_str()));
}

Status fsync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return errno_status(errno, "open directory " + dir);
    }
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) {
        return errno_status(err, "fsync directory " + dir);
    }
    return Status::ok();
}

Status pwrite_all(int fd, const void* data, size_t len, uint64_t off, const std::string& path) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (len > 0) {
        ssize_t n = ::pwrite(fd, p, len, static_cast<off_t>(off));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return errno_status(n < 0 ? errno : EIO, "write " + path);
        }
        p += n;
        len -= static_cast<size_t>(n);
        off += static_cast<uint64_t>(n);
    }
    return Status::ok();
}

// Overwrites [begin, end) with zeros.
Status write_zeros(int fd, uint64_t begin, uint64_t end, const std::string& path) {
    static const uint8_t kZeros[64 << 10] = {};
    while (begin < end) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(end - begin, sizeof(kZeros)));
        RLOG_RETURN_IF_ERROR(pwrite_all(fd, kZeros, n, begin, path));
        begin += n;
    }
    return Status::ok();
}

Result<std::vector<uint8_t>> read_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno_status(errno, "open " + path);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        return errno_status(err, "stat " + path);
    }
    std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::pread(fd, data.data() + done, data.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            ::close(fd);
            return errno_status(err, "read " + path);
        }
        done += static_cast<size_t>(n);
    }
    ::close(fd);
    return data;
}

bool all_zero(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

// True when a well-formed record with index `index` starts at `off` of `data`.
bool valid_record_at(const std::vector<uint8_t>& data, size_t off, uint64_t index) {
    if (off + kRecordHeaderBytes > data.size()) {
        return false;
    }
    RecordHeader h;
    std::memcpy(&h, data.data() + off, sizeof(h));
    if (h.index != index || !all_zero(h.pad, sizeof(h.pad))) {
        return false;
    }
    if (h.payload_length > data.size() - off - kRecordHeaderBytes) {
        return false;
    }
    return internal::record_crc(h, data.data() + off + kRecordHeaderBytes) == h.crc;
}

// True when some well-formed record with an index in [next, next + 2^32) starts after `from`.
// Used to tell a torn tail (nothing valid follows) from corruption in the middle of the log.
bool valid_record_after(const std::vector<uint8_t>& data, size_t from, uint64_t next, size_t* at) {
    for (size_t off = from; off + kRecordHeaderBytes <= data.size(); ++off) {
        uint64_t index;
        std::memcpy(&index, data.data() + off + offsetof(RecordHeader, index), sizeof(index));
        if (index < next || index - next >= (uint64_t{1} << 32)) {
            continue;
        }
        if (valid_record_at(data, off, index)) {
            *at = off;
            return true;
        }
    }
    return false;
}

struct SegmentFile {
    uint64_t first_index = 0;
    std::string path;
    int fd = -1;             // Open for the active (last) segment only.
    uint64_t write_off = 0;  // End of written (or submitted) data.
    // offsets[i] is the file offset of the record with index first_index + i.
    std::vector<uint32_t> offsets;
};

// One write or sync of a group.
struct IoOp {
    bool is_sync = false;
    int fd = -1;
    uint64_t segment_first_index = 0;  // Names the file in error messages.
    const uint8_t* data = nullptr;
    size_t len = 0;
    uint64_t off = 0;
    size_t done = 0;
    int inject_errno = 0;  // Fault injection: fail with this once the write completes.
    int result = 0;        // Completion: bytes written, 0 for a sync, or -errno.
    bool complete = false;
};

struct PendingRecord {
    uint64_t index;
    uint64_t term;
    size_t buf_off;
    size_t size;
};

}  // namespace

struct SegmentedLog::Impl {
    LogOptions options;
    Backend backend = Backend::kAuto;
    LogStats stats;
    Status failed;  // Non-OK once a write or sync failed; returned by every later call.

    std::vector<SegmentFile> segments;  // In index order; the last one is the active segment.
    uint64_t last_index = 0;
    uint64_t durable_index = 0;
    uint64_t durable_term = 0;
    uint64_t bytes_placed_total = 0;  // Record bytes handed to the device since open().

    // Records queued by append() and not yet submitted.
    std::vector<uint8_t> pending_buf;
    std::vector<PendingRecord> pending;

    // The group in flight. Invariant: `ops`, `group_buf` and the fds they name are untouched by
    // the owner thread while `in_flight` (the writer thread or the kernel reads them).
    bool in_flight = false;
    std::vector<uint8_t> group_buf;
    std::vector<IoOp> ops;
    std::vector<IoOp> chain_scratch;  // Reused by submit_group(); no allocation per group.
    size_t outstanding = 0;           // io_uring: CQEs still expected for the current submission.
    int resubmits = 0;
    uint64_t group_last_index = 0;
    uint64_t group_last_term = 0;
    uint64_t group_records = 0;
    std::vector<int> close_after_group;

    // io_uring backend.
    bool ring_ready = false;
    io_uring ring{};

    // Thread backend. The owner sets `job_ready`; the writer runs `ops` and sets `job_done`.
    std::thread writer;
    std::mutex mu;
    std::condition_variable cv;
    bool job_ready = false;
    bool job_done = false;
    bool stop = false;

    ~Impl();
    void log(LogLevel level, const std::string& line) const {
        if (options.log) {
            options.log(level, line);
        }
    }
    Status fail(Status status) {
        if (failed.is_ok()) {
            failed = status;
            log(LogLevel::kError, "storage failed, log is now read-only: " + status.to_string());
        }
        return failed;
    }

    Status recover(std::vector<Record>* recovered);
    Status load_segment(size_t i, std::vector<Record>* recovered, bool* stop_here);
    bool segments_empty_from(size_t i);
    Status delete_segments_from(size_t i, const char* why);
    Status create_segment(uint64_t first_index);
    Status start_backend();
    void writer_main();

    std::string op_path(const IoOp& op) const {
        return options.dir + "/" + internal::segment_name(op.segment_first_index);
    }
    Status submit_group();
    Status submit_ops();
    Status reap(bool block, uint64_t timeout_us);
    Status process_completions();
    Status drain();
    Status cut_disk(uint64_t from);
    uint64_t read_term(uint64_t index);
};

SegmentedLog::Impl::~Impl() {
    // Nothing may be in flight here (the owner drained it).
    if (writer.joinable()) {
        {
            std::lock_guard<std::mutex> lock(mu);
            stop = true;
        }
        cv.notify_all();
        writer.join();
    }
    if (ring_ready) {
        io_uring_queue_exit(&ring);
    }
    for (int fd : close_after_group) {
        ::close(fd);
    }
    for (auto& s : segments) {
        if (s.fd >= 0) {
            ::close(s.fd);
        }
    }
}

// ---- Recovery -----------------------------------------------------------------------------

// True when segments i.. hold no record (a header and nothing, e.g. a roll inside a torn group).
bool SegmentedLog::Impl::segments_empty_from(size_t i) {
    for (; i < segments.size(); ++i) {
        auto data = read_file(segments[i].path);
        if (!data.is_ok()) {
            return false;
        }
        if (valid_record_at(data.value(), kSegmentHeaderBytes, segments[i].first_index)) {
            return false;
        }
    }
    return true;
}

Status SegmentedLog::Impl::delete_segments_from(size_t i, const char* why) {
    if (i >= segments.size()) {
        return Status::ok();
    }
    for (size_t j = segments.size(); j-- > i;) {
        log(LogLevel::kWarn,
            format("storage: deleting segment %s (%s)", segments[j].path.c_str(), why));
        if (segments[j].fd >= 0) {
            ::close(segments[j].fd);
        }
        if (::unlink(segments[j].path.c_str()) != 0) {
            return errno_status(errno, "unlink " + segments[j].path);
        }
    }
    segments.resize(i);
    return options.fsync ? fsync_dir(options.dir) : Status::ok();
}

Status SegmentedLog::Impl::load_segment(size_t i, std::vector<Record>* recovered, bool* stop_here) {
    SegmentFile& seg = segments[i];
    auto data_or = read_file(seg.path);
    if (!data_or.is_ok()) {
        return data_or.status();
    }
    const std::vector<uint8_t>& data = data_or.value();
    SegmentHeader sh;
    if (data.size() < kSegmentHeaderBytes) {
        return corruption(seg.path, 0, "segment shorter than its header");
    }
    std::memcpy(&sh, data.data(), sizeof(sh));
    if (std::memcmp(sh.magic, internal::kSegmentMagic, sizeof(sh.magic)) != 0 ||
        sh.crc != internal::segment_header_crc(sh)) {
        return corruption(seg.path, 0, "bad segment header (magic or crc)");
    }
    if (sh.version != internal::kSegmentVersion) {
        return corruption(seg.path, 0, format("unknown segment version %u", sh.version));
    }
    if (sh.first_index != seg.first_index) {
        return corruption(seg.path, 0, "segment header first index does not match the file name");
    }
    uint64_t next = last_index + 1;
    if (i == 0) {
        next = seg.first_index;
    }
    if (seg.first_index != next) {
        if (segments_empty_from(i)) {
            *stop_here = true;
            return delete_segments_from(i, "empty segment after the end of the log");
        }
        return corruption(seg.path, 0,
                          format("index gap: segment starts at %llu, expected %llu",
                                 static_cast<unsigned long long>(seg.first_index),
                                 static_cast<unsigned long long>(next)));
    }

    size_t off = kSegmentHeaderBytes;
    bool torn = false;
    while (off + kRecordHeaderBytes <= data.size()) {
        if (all_zero(data.data() + off, kRecordHeaderBytes)) {
            break;  // End marker: preallocated space.
        }
        if (valid_record_at(data, off, next)) {
            RecordHeader h;
            std::memcpy(&h, data.data() + off, sizeof(h));
            if (recovered != nullptr) {
                const uint8_t* p = data.data() + off + kRecordHeaderBytes;
                recovered->push_back(
                        Record{Term(h.term), LogIndex(h.index), h.type, {p, p + h.payload_length}});
            }
            seg.offsets.push_back(static_cast<uint32_t>(off));
            last_index = next;
            durable_term = h.term;
            ++next;
            off += kRecordHeaderBytes + h.payload_length;
            continue;
        }
        // A bad record: a torn tail only in the last segment holding records.
        bool tail = i + 1 == segments.size() || segments_empty_from(i + 1);
        if (!tail) {
            return corruption(seg.path, off, "record fails its check (crc, length or index)");
        }
        // TODO(recovery): a crash inside a multi-page group can persist a later page but not an
        // earlier one; the hole reads as zeros inside a record followed by valid records and is
        // refused here as corruption. Refusing is safe (nothing is invented) but needs an
        // operator; a per-group commit marker would let recovery trim such a tail instead.
        size_t at = 0;
        if (valid_record_after(data, off + 1, next, &at)) {
            return corruption(seg.path, off,
                              format("bad record followed by a valid record at offset %zu", at));
        }
        torn = true;
        break;
    }
    seg.write_off = off;
    if (torn) {
        log(LogLevel::kWarn,
            format("storage: trimmed torn tail of %s at offset %zu (records up to index %llu kept)",
                   seg.path.c_str(), off, static_cast<unsigned long long>(last_index)));
        *stop_here = true;
        RLOG_RETURN_IF_ERROR(delete_segments_from(i + 1, "after a torn tail"));
    }
    if (i + 1 == segments.size()) {
        // Restore the invariant that everything past the end of written data is zero, so a later
        // shorter append can never expose stale bytes (a torn tail, an interrupted truncation).
        size_t last_nonzero = data.size();
        while (last_nonzero > off && data[last_nonzero - 1] == 0) {
            --last_nonzero;
        }
        if (last_nonzero > off) {
            int fd = ::open(seg.path.c_str(), O_RDWR | O_CLOEXEC);
            if (fd < 0) {
                return errno_status(errno, "open " + seg.path);
            }
            Status st = write_zeros(fd, off, last_nonzero, seg.path);
            if (st.is_ok() && options.fsync && ::fdatasync(fd) != 0) {
                st = errno_status(errno, "fdatasync " + seg.path);
            }
            ::close(fd);
            RLOG_RETURN_IF_ERROR(st);
            log(LogLevel::kInfo, format("storage: zeroed %zu stale bytes after the end of %s",
                                        last_nonzero - off, seg.path.c_str()));
        }
    }
    return Status::ok();
}

Status SegmentedLog::Impl::recover(std::vector<Record>* recovered) {
    if (::mkdir(options.dir.c_str(), 0755) == 0) {
        // A new directory: make its entry durable before any segment in it is reported durable.
        std::string parent = options.dir.substr(0, options.dir.find_last_of('/') + 1);
        if (options.fsync) {
            RLOG_RETURN_IF_ERROR(fsync_dir(parent.empty() ? "." : parent));
        }
    } else if (errno != EEXIST) {
        return errno_status(errno, "mkdir " + options.dir);
    }
    DIR* d = ::opendir(options.dir.c_str());
    if (d == nullptr) {
        return errno_status(errno, "opendir " + options.dir);
    }
    std::vector<std::string> tmp_files;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        unsigned long long first = 0;
        char tail[8] = {};
        if (name.size() == 28 && std::sscanf(name.c_str(), "log-%20llu.%3s", &first, tail) == 2 &&
            std::strcmp(tail, "seg") == 0 && name == internal::segment_name(first)) {
            segments.push_back(SegmentFile{first, options.dir + "/" + name, -1, 0, {}});
        } else if (name.size() == 32 && name.compare(0, 4, "log-") == 0 &&
                   name.compare(24, 8, ".seg.tmp") == 0) {
            tmp_files.push_back(options.dir + "/" + name);
        }
    }
    ::closedir(d);
    for (const auto& t : tmp_files) {
        log(LogLevel::kInfo, "storage: removing unfinished segment " + t);
        if (::unlink(t.c_str()) != 0) {
            return errno_status(errno, "unlink " + t);
        }
    }
    std::sort(segments.begin(), segments.end(), [](const SegmentFile& a, const SegmentFile& b) {
        return a.first_index < b.first_index;
    });
    for (size_t i = 0; i < segments.size(); ++i) {
        bool stop_here = false;
        RLOG_RETURN_IF_ERROR(load_segment(i, recovered, &stop_here));
        if (stop_here) {
            break;
        }
    }
    if (!segments.empty()) {
        SegmentFile& active = segments.back();
        active.fd = ::open(active.path.c_str(), O_RDWR | O_CLOEXEC);
        if (active.fd < 0) {
            return errno_status(errno, "open " + active.path);
        }
    }
    if (last_index == 0 && !segments.empty()) {
        last_index = segments.front().first_index - 1;
    }
    durable_index = last_index;
    log(LogLevel::kInfo,
        format("storage: recovered %s: %zu segments, last index %llu", options.dir.c_str(),
               segments.size(), static_cast<unsigned long long>(last_index)));
    return Status::ok();
}

// ---- Segments -----------------------------------------------------------------------------

Status SegmentedLog::Impl::create_segment(uint64_t first_index) {
    std::string path = options.dir + "/" + internal::segment_name(first_index);
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return errno_status(errno, "create " + tmp);
    }
    auto bail = [&](Status st) {
        ::close(fd);
        ::unlink(tmp.c_str());
        return st;
    };
    if (::fallocate(fd, 0, 0, static_cast<off_t>(options.segment_size_bytes)) != 0) {
        if (errno != EOPNOTSUPP) {
            return bail(errno_status(errno, "fallocate " + tmp));
        }
        if (::ftruncate(fd, static_cast<off_t>(options.segment_size_bytes)) != 0) {
            return bail(errno_status(errno, "ftruncate " + tmp));
        }
    }
    SegmentHeader h = internal::make_segment_header(first_index);
    Status st = pwrite_all(fd, &h, sizeof(h), 0, tmp);
    if (!st.is_ok()) {
        return bail(st);
    }
    if (options.fsync && ::fsync(fd) != 0) {
        return bail(errno_status(errno, "fsync " + tmp));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return bail(errno_status(errno, "rename " + tmp));
    }
    if (options.fsync) {
        Status ds = fsync_dir(options.dir);
        if (!ds.is_ok()) {
            ::close(fd);
            return ds;
        }
    }
    if (!segments.empty() && segments.back().fd >= 0) {
        // The group being built may still name the old fd; close it once the group completes.
        close_after_group.push_back(segments.back().fd);
        segments.back().fd = -1;
    }
    segments.push_back(SegmentFile{first_index, path, fd, kSegmentHeaderBytes, {}});
    ++stats.segments_created;
    log(LogLevel::kInfo, "storage: started segment " + path);
    return Status::ok();
}

// ---- Backends -----------------------------------------------------------------------------

Status SegmentedLog::Impl::start_backend() {
    Backend want = options.backend;
    if (want == Backend::kAuto || want == Backend::kIoUring) {
        int rc = io_uring_queue_init(kRingEntries, &ring, 0);
        if (rc == 0) {
            ring_ready = true;
            backend = Backend::kIoUring;
            log(LogLevel::kInfo, "storage: backend io_uring (linked writes + fdatasync)");
            return Status::ok();
        }
        if (want == Backend::kIoUring) {
            return Status(ErrorCode::kNotSupported,
                          format("io_uring_queue_init: %s", std::strerror(-rc)));
        }
        log(LogLevel::kWarn, format("storage: io_uring unavailable (%s), using the writer thread",
                                    std::strerror(-rc)));
    }
    backend = Backend::kThread;
    writer = std::thread([this] { writer_main(); });
    log(LogLevel::kInfo, "storage: backend thread (pwrite + fdatasync writer thread)");
    return Status::ok();
}

// The writer thread: runs each group's ops in order and stops at the first failure, like the
// io_uring link chain (later ops are reported -ECANCELED).
void SegmentedLog::Impl::writer_main() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
        cv.wait(lock, [this] { return job_ready || stop; });
        if (!job_ready) {
            return;  // stop requested and nothing to do.
        }
        lock.unlock();
        bool broken = false;
        for (IoOp& op : ops) {
            if (op.complete) {
                continue;
            }
            if (broken) {
                op.result = -ECANCELED;
                continue;
            }
            if (op.is_sync) {
                op.result = ::fdatasync(op.fd) == 0 ? 0 : -errno;
            } else {
                size_t done = op.done;
                int res = 0;
                const size_t cap = options.max_write_bytes != 0 ? options.max_write_bytes
                                                                : kWriteBytesPerSubmitMax;
                while (done < op.len) {
                    if (done - op.done >= cap) {
                        break;  // Report a short write, as io_uring would; the rest is requeued.
                    }
                    size_t len = std::min(op.len - done, cap - (done - op.done));
                    ssize_t n =
                            ::pwrite(op.fd, op.data + done, len, static_cast<off_t>(op.off + done));
                    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
                        continue;  // TODO(perf): bounded backoff; EAGAIN is not seen on files.
                    }
                    if (n <= 0) {
                        res = n < 0 ? -errno : -EIO;
                        break;
                    }
                    done += static_cast<size_t>(n);
                }
                op.result = res < 0 ? res : static_cast<int>(done - op.done);
                broken = res == 0 && op.done + static_cast<size_t>(op.result) < op.len;
            }
            broken = broken || op.result < 0;
        }
        lock.lock();
        job_ready = false;
        job_done = true;
        cv.notify_all();
    }
}

Status SegmentedLog::Impl::submit_ops() {
    size_t first = 0;
    while (first < ops.size() && ops[first].complete) {
        ++first;
    }
    RLOG_ASSERT(first < ops.size());
    if (backend == Backend::kThread) {
        {
            std::lock_guard<std::mutex> lock(mu);
            RLOG_ASSERT(!job_ready);
            job_ready = true;
            job_done = false;
        }
        cv.notify_all();
        return Status::ok();
    }
    size_t n = ops.size() - first;
    RLOG_ASSERT(n <= kRingEntries);
    for (size_t i = first; i < ops.size(); ++i) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        RLOG_ASSERT(sqe != nullptr);  // The ring is empty between groups and n <= kRingEntries.
        IoOp& op = ops[i];
        if (op.is_sync) {
            io_uring_prep_fsync(sqe, op.fd, IORING_FSYNC_DATASYNC);
        } else {
            size_t len = std::min(op.len - op.done, kWriteBytesPerSubmitMax);
            if (options.max_write_bytes != 0) {
                len = std::min(len, options.max_write_bytes);
            }
            io_uring_prep_write(sqe, op.fd, op.data + op.done, static_cast<unsigned>(len),
                                op.off + op.done);
        }
        io_uring_sqe_set_data64(sqe, i);
        if (i + 1 < ops.size()) {
            sqe->flags |= IOSQE_IO_LINK;
        }
    }
    size_t submitted = 0;
    while (submitted < n) {
        int rc = io_uring_submit(&ring);
        if (rc == -EINTR || rc == -EAGAIN) {
            continue;  // TODO(perf): -EAGAIN means kernel memory pressure; back off briefly.
        }
        if (rc < 0) {
            // Some SQEs may already be in the kernel; treat the log as failed (fail-stop).
            return fail(errno_status(-rc, "io_uring_submit"));
        }
        submitted += static_cast<size_t>(rc);
    }
    outstanding = n;
    return Status::ok();
}

// Forms a group from the queued records: places them in segments (rolling as needed), builds
// one write per segment run plus one fdatasync per run, and submits the chain.
Status SegmentedLog::Impl::submit_group() {
    RLOG_ASSERT(!in_flight);
    RLOG_ASSERT(!pending.empty());
    // Writes come first in `chain_scratch`, with `data` holding an offset into the queued bytes
    // until the group's buffer is settled below.
    chain_scratch.clear();
    size_t runs = 0;
    size_t taken = 0;
    while (taken < pending.size()) {
        const PendingRecord& r = pending[taken];
        if (segments.empty() || segments.back().write_off + r.size > options.segment_size_bytes) {
            if (runs == kSegmentRunsPerGroupMax) {
                break;
            }
            Status st = create_segment(r.index);
            if (!st.is_ok()) {
                return fail(st);
            }
        }
        SegmentFile& seg = segments.back();
        if (chain_scratch.empty() || chain_scratch.back().fd != seg.fd) {
            if (runs == kSegmentRunsPerGroupMax) {
                break;
            }
            ++runs;
            IoOp w;
            w.fd = seg.fd;
            w.segment_first_index = seg.first_index;
            w.off = seg.write_off;
            w.data = reinterpret_cast<const uint8_t*>(r.buf_off);  // Rebased below.
            chain_scratch.push_back(w);
        }
        RLOG_ASSERT(seg.offsets.size() == r.index - seg.first_index);
        seg.offsets.push_back(static_cast<uint32_t>(seg.write_off));
        seg.write_off += r.size;
        chain_scratch.back().len += r.size;
        group_last_index = r.index;
        group_last_term = r.term;
        ++taken;
    }
    RLOG_ASSERT(taken > 0);
    group_records = taken;
    // The group's bytes are the queue's first `taken_bytes`: hand the buffer over (the common
    // case: everything queued goes) or split it.
    const size_t taken_bytes = pending[taken - 1].buf_off + pending[taken - 1].size;
    group_buf.clear();
    if (taken == pending.size()) {
        group_buf.swap(pending_buf);
        pending.clear();
    } else {
        group_buf.assign(pending_buf.begin(),
                         pending_buf.begin() + static_cast<ptrdiff_t>(taken_bytes));
        pending_buf.erase(pending_buf.begin(),
                          pending_buf.begin() + static_cast<ptrdiff_t>(taken_bytes));
        pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(taken));
        for (auto& r : pending) {
            r.buf_off -= taken_bytes;
        }
    }
    // Rebase write pointers into group_buf (stable until the group completes), inject faults,
    // and put one sync after each segment run.
    ops.clear();
    for (IoOp& w : chain_scratch) {
        w.data = group_buf.data() + reinterpret_cast<uintptr_t>(w.data);
        uint64_t mark = options.inject_write_error_at_byte;
        if (mark != UINT64_MAX && mark < bytes_placed_total + w.len) {
            w.len = mark > bytes_placed_total ? mark - bytes_placed_total : 0;
            w.inject_errno = options.inject_write_errno;
            options.inject_write_error_at_byte = UINT64_MAX;
        }
        bytes_placed_total += w.len;
        ops.push_back(w);
        if (w.inject_errno != 0) {
            break;  // The device "failed" in this write: nothing after it runs, no sync.
        }
        if (options.fsync) {
            IoOp s;
            s.is_sync = true;
            s.fd = w.fd;
            s.segment_first_index = w.segment_first_index;
            ops.push_back(s);
        }
    }
    RLOG_ASSERT(ops.size() <= 2 * kSegmentRunsPerGroupMax);
    in_flight = true;
    resubmits = 0;
    return submit_ops();
}

// Called when every op of the current submission has a result.
Status SegmentedLog::Impl::process_completions() {
    bool resubmit = false;
    bool progress = false;
    for (IoOp& op : ops) {
        if (op.complete) {
            continue;
        }
        int r = op.result;
        if (r == -EAGAIN || r == -EINTR || r == -ECANCELED) {
            resubmit = true;  // Not executed: a break in the link chain before it, or EAGAIN.
            break;
        }
        if (r < 0) {
            in_flight = false;
            return fail(errno_status(-r, (op.is_sync ? "fdatasync " : "write ") + op_path(op)));
        }
        if (op.is_sync) {
            op.complete = true;
            ++stats.syncs;
            continue;
        }
        op.done += static_cast<size_t>(r);
        progress = progress || r > 0;
        if (op.done < op.len) {
            resubmit = true;  // Short write: requeue the rest and everything after it.
            break;
        }
        op.complete = true;
        if (op.inject_errno != 0) {
            in_flight = false;
            return fail(
                    errno_status(op.inject_errno, "write " + op_path(op) + " (injected fault)"));
        }
    }
    if (resubmit) {
        // Short writes that make progress are requeued without limit (bounded by the group's
        // bytes); -EAGAIN or zero-byte writes only kResubmitsPerGroupMax times in a row.
        resubmits = progress ? 0 : resubmits + 1;
        if (resubmits > kResubmitsPerGroupMax) {
            in_flight = false;
            return fail(
                    Status(ErrorCode::kIo, "storage: writes make no progress (short or EAGAIN)"));
        }
        return submit_ops();
    }
    in_flight = false;
    durable_index = group_last_index;
    durable_term = group_last_term;
    stats.records_synced += group_records;
    for (int fd : close_after_group) {
        ::close(fd);
    }
    close_after_group.clear();
    return Status::ok();
}

Status SegmentedLog::Impl::reap(bool block, uint64_t timeout_us) {
    if (!failed.is_ok()) {
        return failed;
    }
    if (!in_flight) {
        return Status::ok();
    }
    if (backend == Backend::kThread) {
        std::unique_lock<std::mutex> lock(mu);
        if (block) {
            cv.wait_for(lock, std::chrono::microseconds(timeout_us), [this] { return job_done; });
        }
        if (!job_done) {
            return Status::ok();
        }
        job_done = false;
        lock.unlock();
        return process_completions();
    }
    io_uring_cqe* cqe = nullptr;
    if (block && outstanding > 0) {
        __kernel_timespec ts{};
        ts.tv_sec = static_cast<long long>(timeout_us / 1000000);
        ts.tv_nsec = static_cast<long long>((timeout_us % 1000000) * 1000);
        int rc = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
        if (rc < 0 && rc != -ETIME && rc != -EINTR) {
            return fail(errno_status(-rc, "io_uring_wait_cqe"));
        }
    }
    while (outstanding > 0 && io_uring_peek_cqe(&ring, &cqe) == 0 && cqe != nullptr) {
        uint64_t i = io_uring_cqe_get_data64(cqe);
        RLOG_ASSERT(i < ops.size());
        ops[i].result = cqe->res;
        io_uring_cqe_seen(&ring, cqe);
        --outstanding;
    }
    if (outstanding > 0) {
        return Status::ok();
    }
    return process_completions();
}

// Blocks until nothing is in flight.
Status SegmentedLog::Impl::drain() {
    // Once failed, the group may never complete; ~Impl tears the ring down (the kernel cancels and
    // waits for its requests) or joins the writer before the buffers go.
    while (in_flight && failed.is_ok()) {
        RLOG_RETURN_IF_ERROR(reap(true, 1000000));
    }
    return failed;
}

uint64_t SegmentedLog::Impl::read_term(uint64_t index) {
    for (const SegmentFile& s : segments) {
        if (index >= s.first_index && index - s.first_index < s.offsets.size()) {
            int fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
            RecordHeader h{};
            ssize_t n = fd < 0 ? -1 : ::pread(fd, &h, sizeof(h), s.offsets[index - s.first_index]);
            if (fd >= 0) {
                ::close(fd);
            }
            // The record was verified or written by us; failing to read it back is fatal.
            if (n != static_cast<ssize_t>(sizeof(h)) || h.index != index) {
                RLOG_PANIC("storage: cannot read back record %llu from %s",
                           static_cast<unsigned long long>(index), s.path.c_str());
            }
            return h.term;
        }
    }
    RLOG_PANIC("storage: record %llu not found", static_cast<unsigned long long>(index));
}

// Removes records >= from that are on disk: later segments first (so a crash leaves a prefix),
// then zeros over the cut range, then sync. Requires: nothing in flight, nothing queued.
Status SegmentedLog::Impl::cut_disk(uint64_t from) {
    bool unlinked = false;
    while (!segments.empty() && segments.back().first_index >= from && segments.size() > 1) {
        SegmentFile& s = segments.back();
        if (s.fd >= 0) {
            ::close(s.fd);
        }
        if (::unlink(s.path.c_str()) != 0) {
            return fail(errno_status(errno, "unlink " + s.path));
        }
        segments.pop_back();
        unlinked = true;
    }
    if (segments.empty()) {
        return Status::ok();
    }
    SegmentFile& s = segments.back();
    if (s.fd < 0) {
        s.fd = ::open(s.path.c_str(), O_RDWR | O_CLOEXEC);
        if (s.fd < 0) {
            return fail(errno_status(errno, "open " + s.path));
        }
    }
    uint64_t keep = from > s.first_index ? from - s.first_index : 0;
    if (keep < s.offsets.size()) {
        uint64_t cut = s.offsets[keep];
        Status st = write_zeros(s.fd, cut, s.write_off, s.path);
        if (!st.is_ok()) {
            return fail(st);
        }
        s.offsets.resize(keep);
        s.write_off = cut;
    }
    if (options.fsync) {
        if (::fdatasync(s.fd) != 0) {
            return fail(errno_status(errno, "fdatasync " + s.path));
        }
        ++stats.syncs;
        if (unlinked) {
            Status st = fsync_dir(options.dir);
            if (!st.is_ok()) {
                return fail(st);
            }
        }
    }
    return Status::ok();
}

// ---- Public API ---------------------------------------------------------------------------

SegmentedLog::SegmentedLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SegmentedLog::~SegmentedLog() {
    if (impl_) {
        (void)impl_->drain();
    }
}

Result<std::unique_ptr<SegmentedLog>> SegmentedLog::open(LogOptions options,
                                                         std::vector<Record>* recovered) {
    if (options.dir.empty()) {
        return Status(ErrorCode::kInvalidArgument, "storage: empty log directory");
    }
    if (options.segment_size_bytes < 4096 || options.segment_size_bytes > (uint64_t{1} << 32)) {
        return Status(ErrorCode::kInvalidArgument,
                      "storage: segment_size_bytes must be in [4 KiB, 4 GiB]");
    }
    auto impl = std::make_unique<Impl>();
    impl->options = std::move(options);
    RLOG_RETURN_IF_ERROR(impl->recover(recovered));
    RLOG_RETURN_IF_ERROR(impl->start_backend());
    return std::unique_ptr<SegmentedLog>(new SegmentedLog(std::move(impl)));
}

Status SegmentedLog::append(std::span<const RecordView> records) noexcept {
    Impl& m = *impl_;
    if (!m.failed.is_ok()) {
        return m.failed;
    }
    for (const RecordView& r : records) {
        if (kSegmentHeaderBytes + kRecordHeaderBytes + r.payload.size() >
            m.options.segment_size_bytes) {
            return Status(ErrorCode::kInvalidArgument,
                          format("storage: record of %zu bytes does not fit in a segment",
                                 r.payload.size()));
        }
    }
    for (const RecordView& r : records) {
        RLOG_ASSERT(r.index.value == m.last_index + 1);
        RecordHeader h{};
        h.payload_length = static_cast<uint32_t>(r.payload.size());
        h.term = r.term.value;
        h.index = r.index.value;
        h.type = r.type;
        h.crc = internal::record_crc(h, r.payload.data());
        size_t off = m.pending_buf.size();
        const auto* hp = reinterpret_cast<const uint8_t*>(&h);
        m.pending_buf.insert(m.pending_buf.end(), hp, hp + sizeof(h));
        m.pending_buf.insert(m.pending_buf.end(), r.payload.begin(), r.payload.end());
        m.pending.push_back(PendingRecord{h.index, h.term, off, sizeof(h) + r.payload.size()});
        m.last_index = h.index;
        ++m.stats.records_appended;
        m.stats.bytes_appended += sizeof(h) + r.payload.size();
    }
    return Status::ok();
}

Status SegmentedLog::truncate_suffix(LogIndex from_index) noexcept {
    Impl& m = *impl_;
    uint64_t from = from_index.value;
    RLOG_ASSERT(from >= 1);
    if (!m.failed.is_ok()) {
        return m.failed;
    }
    if (from > m.last_index) {
        return Status::ok();
    }
    RLOG_RETURN_IF_ERROR(m.drain());
    ++m.stats.truncations;
    m.log(LogLevel::kInfo, format("storage: truncating suffix from index %llu (last was %llu)",
                                  static_cast<unsigned long long>(from),
                                  static_cast<unsigned long long>(m.last_index)));
    m.last_index = from - 1;
    // Queued records never reached the disk: drop those >= from.
    if (!m.pending.empty() && m.pending.front().index < from) {
        size_t keep = from - m.pending.front().index;
        m.pending_buf.resize(m.pending[keep].buf_off);
        m.pending.resize(keep);
        return Status::ok();  // Every record on disk precedes the queued ones, hence `from`.
    }
    m.pending.clear();
    m.pending_buf.clear();
    RLOG_RETURN_IF_ERROR(m.cut_disk(from));
    if (m.durable_index >= from) {
        m.durable_index = from - 1;
        m.durable_term = m.durable_index == 0 ? 0 : m.read_term(m.durable_index);
    }
    return Status::ok();
}

Result<LogIndex> SegmentedLog::poll() noexcept {
    Impl& m = *impl_;
    if (!m.failed.is_ok()) {
        return m.failed;
    }
    RLOG_RETURN_IF_ERROR(m.reap(false, 0));
    if (!m.in_flight && !m.pending.empty()) {
        RLOG_RETURN_IF_ERROR(m.submit_group());
    }
    return LogIndex(m.durable_index);
}

Result<LogIndex> SegmentedLog::wait(uint64_t timeout_us) noexcept {
    Impl& m = *impl_;
    auto r = poll();
    if (!r.is_ok() || !m.in_flight) {
        return r;
    }
    RLOG_RETURN_IF_ERROR(m.reap(true, timeout_us));
    return poll();
}

LogIndex SegmentedLog::last_index() const noexcept {
    return LogIndex(impl_->last_index);
}
LogIndex SegmentedLog::durable_index() const noexcept {
    return LogIndex(impl_->durable_index);
}
Term SegmentedLog::durable_term() const noexcept {
    return Term(impl_->durable_term);
}
bool SegmentedLog::idle() const noexcept {
    return !impl_->in_flight && impl_->pending.empty();
}
Backend SegmentedLog::backend() const noexcept {
    return impl_->backend;
}
const LogStats& SegmentedLog::stats() const noexcept {
    return impl_->stats;
}

}  // namespace rlog::storage
