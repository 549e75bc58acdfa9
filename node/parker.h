// SPDX-License-Identifier: Apache-2.0
//
// `Parker`: lets a pipeline stage spin briefly, then sleep until a producer wakes it or a timeout
// passes (the stage also has timers: Raft ticks, retransmissions, fsync batching), without ever
// losing a wakeup. One Parker belongs to one consumer stage; any number of producers may wake it.
//
// Protocol (a Dekker-style handshake, both sides use a seq_cst fence):
//   consumer                               producer
//   sleeping_ = true                       publish work (e.g. SpscRing::try_push, release)
//   fence(seq_cst)                         fence(seq_cst)
//   token = epoch_                         if (sleeping_) { ++epoch_; futex_wake(epoch_) }
//   if (work visible) -> cancel
//   else futex_wait(epoch_, token, timeout)
//   sleeping_ = false
// Either the producer sees `sleeping_ == true` and bumps `epoch_` (then the futex wait returns at
// once because epoch_ != token, or is woken), or the consumer's re-check after its fence sees the
// published work. So a wakeup is never lost. On the hot path, when the consumer is awake, a
// producer pays one fence and one relaxed load and makes no syscall.
//
// The timed wait is a raw FUTEX_WAIT on the 32-bit `epoch_` (std::atomic::wait has no timeout).
// Spurious returns are possible (signals, futex semantics); callers re-check their work anyway.
// Errors: none; the futex syscall's EAGAIN/EINTR/ETIMEDOUT are all "return and re-check".

#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "common/assert.h"

namespace rlog::node {

class Parker {
  public:
    Parker() = default;
    Parker(const Parker&) = delete;
    Parker& operator=(const Parker&) = delete;

    // Producer side, any thread: call after publishing work for the consumer. Cheap (no syscall)
    // when the consumer is not parked.
    void unpark() noexcept {
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (sleeping_.load(std::memory_order_relaxed)) {
            epoch_.fetch_add(1, std::memory_order_seq_cst);
            wakes_sent_.fetch_add(1, std::memory_order_relaxed);
            futex(FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr);
        }
    }

    // Consumer side: spins up to `spin_iterations` times calling `has_work()`; then announces it
    // is going to sleep, re-checks `has_work()`, and parks for at most `timeout_ns` (0 = do not
    // park). Returns true if `has_work()` returned true, false on timeout or a spurious wakeup.
    // Requires: called from the single consumer thread that owns this Parker.
    template <class HasWork>
    bool wait(HasWork&& has_work, uint32_t spin_iterations, uint64_t timeout_ns) noexcept {
        for (uint32_t i = 0; i < spin_iterations; ++i) {
            if (has_work()) {
                return true;
            }
            cpu_relax();
        }
        if (timeout_ns == 0) {
            return has_work();
        }
        sleeping_.store(true, std::memory_order_seq_cst);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        const uint32_t token = epoch_.load(std::memory_order_seq_cst);
        if (has_work()) {
            sleeping_.store(false, std::memory_order_relaxed);
            return true;
        }
        timespec ts{};
        ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000ULL);
        ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000ULL);
        parks_ += 1;
        if (futex_wait(token, &ts)) {
            timeouts_ += 1;
        }
        sleeping_.store(false, std::memory_order_relaxed);
        return has_work();
    }

    // Counters: how often the consumer really went to sleep, and how many wake syscalls producers
    // made. `parks()` is consumer-thread only.
    uint64_t parks() const noexcept { return parks_; }
    // How many parks ended by their timeout rather than by a wake (consumer-thread only).
    uint64_t timeouts() const noexcept { return timeouts_; }
    uint64_t wakes_sent() const noexcept { return wakes_sent_.load(std::memory_order_relaxed); }

  private:
    static void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    long futex(int op, uint32_t value, const timespec* timeout) noexcept {
        return syscall(SYS_futex, reinterpret_cast<uint32_t*>(&epoch_), op, value, timeout, nullptr,
                       0);
    }
    // FUTEX_WAIT takes a relative timeout. Returns when woken, on timeout, on a signal, or at once
    // if epoch_ != token (EAGAIN). Returns true only if the timeout expired.
    bool futex_wait(uint32_t token, const timespec* timeout) noexcept {
        return futex(FUTEX_WAIT_PRIVATE, token, timeout) == -1 && errno == ETIMEDOUT;
    }

    static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
    static_assert(std::atomic<uint32_t>::is_always_lock_free);

    // Bumped by a producer that saw `sleeping_`; the futex word.
    alignas(64) std::atomic<uint32_t> epoch_{0};
    // True from just before the consumer's final re-check until it returns from the futex wait.
    std::atomic<bool> sleeping_{false};
    std::atomic<uint64_t> wakes_sent_{0};
    // Consumer-only counter.
    uint64_t parks_ = 0;
    uint64_t timeouts_ = 0;
};

}  // namespace rlog::node
