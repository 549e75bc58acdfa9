// SPDX-License-Identifier: Apache-2.0
//
// A doorbell lets a pipeline stage sleep in poll(2) on its sockets and still be woken by another
// stage that pushed work into one of its rings. The consumer announces that it is about to sleep;
// a producer rings (one eventfd write) only while that announcement stands, so on the hot path,
// when the consumer is awake and polling, ringing costs one atomic load and no syscall.
//
// No lost wakeups: the consumer stores `sleeping_ = true`, issues a full fence, re-checks its
// rings and only then polls; a producer pushes, issues a full fence, then loads `sleeping_`. One
// of the two must see the other's write (the Dekker pattern), and an eventfd written between the
// consumer's re-check and its poll keeps its count, so the poll returns at once.
//
// Thread-safety: `ring()` from any number of producers; `sleep()` from the one consumer.

#pragma once

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <span>

#include "common/assert.h"

namespace rlog::node {

class Doorbell {
  public:
    Doorbell() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) { RLOG_ASSERT(fd_ >= 0); }
    ~Doorbell() { close(fd_); }
    Doorbell(const Doorbell&) = delete;
    Doorbell& operator=(const Doorbell&) = delete;

    // Producer side: call after publishing work.
    void ring() noexcept {
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (sleeping_.load(std::memory_order_relaxed)) {
            uint64_t one = 1;
            ssize_t n = write(fd_, &one, sizeof(one));
            (void)n;  // EAGAIN means the counter is already non-zero: the consumer will wake.
        }
    }

    // Consumer side: sleeps until the doorbell rings, one of `fds` is readable, or `timeout_us`
    // passes. `has_work` is re-checked after the announcement and before sleeping; when it
    // returns true the call returns at once.
    template <class HasWork>
    void sleep(std::span<const int> fds, uint64_t timeout_us, HasWork&& has_work) noexcept {
        sleeping_.store(true, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (!has_work()) {
            pollfd pfds[4];
            RLOG_ASSERT(fds.size() < 4);
            size_t n = 0;
            for (int fd : fds) {
                pfds[n++] = pollfd{fd, POLLIN, 0};
            }
            pfds[n++] = pollfd{fd_, POLLIN, 0};
            int timeout_ms = static_cast<int>((timeout_us + 999) / 1000);
            ::poll(pfds, n, timeout_ms);
        }
        sleeping_.store(false, std::memory_order_relaxed);
        uint64_t count;
        while (read(fd_, &count, sizeof(count)) == sizeof(count)) {
        }
    }

  private:
    int fd_;
    std::atomic<bool> sleeping_{false};
};

}  // namespace rlog::node
