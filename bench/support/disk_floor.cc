// SPDX-License-Identifier: Apache-2.0

#include "bench/support/disk_floor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <liburing.h>

namespace rlog::bench {

namespace {

constexpr size_t kWriteBytes = 4096;
constexpr size_t kRegionBytes = 256 * kWriteBytes;

Status errno_status(int err, const std::string& what) {
    return Status(ErrorCode::kIo,
                  what + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")");
}

uint64_t now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::steady_clock::now().time_since_epoch())
                                         .count());
}

}  // namespace

Result<std::vector<uint64_t>> measure_disk_floor(const std::string& dir, int iterations) {
    if (iterations < 1) {
        return Status(ErrorCode::kInvalidArgument, "disk floor: iterations must be >= 1");
    }
    std::string path = dir + "/disk_floor.XXXXXX";
    int fd = ::mkstemp(path.data());
    if (fd < 0) {
        return errno_status(errno, "disk floor: create " + path);
    }
    // Write the region once and sync, so the loop measures plain overwrites: the cost of
    // making 4 KiB of data durable, without the extent conversion or allocation that a first
    // write into fallocate()d or new space adds to fdatasync on most file systems.
    {
        std::vector<uint8_t> zeros(kRegionBytes, 0);
        if (::pwrite(fd, zeros.data(), zeros.size(), 0) != static_cast<ssize_t>(zeros.size()) ||
            ::fsync(fd) != 0) {
            Status st = errno_status(errno, "disk floor: prepare " + path);
            ::close(fd);
            ::unlink(path.c_str());
            return st;
        }
    }
    io_uring ring{};
    int rc = io_uring_queue_init(8, &ring, 0);
    if (rc < 0) {
        ::close(fd);
        ::unlink(path.c_str());
        return errno_status(-rc, "disk floor: io_uring_queue_init");
    }
    alignas(4096) static uint8_t buf[kWriteBytes];
    std::vector<uint64_t> latencies_ns;
    latencies_ns.reserve(static_cast<size_t>(iterations));
    Status status;
    for (int i = 0; i < iterations && status.is_ok(); ++i) {
        std::memset(buf, i & 0xff, sizeof(buf));
        uint64_t start = now_ns();
        io_uring_sqe* w = io_uring_get_sqe(&ring);
        io_uring_prep_write(w, fd, buf, kWriteBytes, static_cast<uint64_t>(i % 256) * kWriteBytes);
        w->flags |= IOSQE_IO_LINK;
        io_uring_sqe* s = io_uring_get_sqe(&ring);
        io_uring_prep_fsync(s, fd, IORING_FSYNC_DATASYNC);
        rc = io_uring_submit_and_wait(&ring, 2);
        if (rc < 0) {
            status = errno_status(-rc, "disk floor: io_uring_submit");
            break;
        }
        for (int done = 0; done < 2; ++done) {
            io_uring_cqe* cqe = nullptr;
            rc = io_uring_wait_cqe(&ring, &cqe);
            if (rc < 0) {
                status = errno_status(-rc, "disk floor: io_uring_wait_cqe");
                break;
            }
            if (!status.is_ok()) {
                // Keep the first error (a short write cancels the linked sync).
            } else if (cqe->res < 0) {
                status = errno_status(-cqe->res, "disk floor: write/fdatasync " + path);
            } else if (done == 0 && cqe->res != static_cast<int>(kWriteBytes)) {
                status = Status(ErrorCode::kIo, "disk floor: short write to " + path);
            }
            io_uring_cqe_seen(&ring, cqe);
        }
        latencies_ns.push_back(now_ns() - start);
    }
    io_uring_queue_exit(&ring);
    ::close(fd);
    ::unlink(path.c_str());
    if (!status.is_ok()) {
        return status;
    }
    return latencies_ns;
}

}  // namespace rlog::bench
