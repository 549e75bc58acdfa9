// SPDX-License-Identifier: Apache-2.0
//
// `SpscRing<T>`: a bounded, lock-free queue between exactly one producer thread and exactly one
// consumer thread. The stages of a replica (network receive -> consensus -> storage / send ->
// apply) are joined by these rings. The capacity is a power of two fixed at construction; the ring
// never allocates after that.
//
// Memory ordering. `tail_` is written only by the producer, `head_` only by the consumer; both
// are free-running 64-bit counters (they never wrap in practice) and a slot is `counter & mask_`.
// - The producer writes the slot, then stores `tail_` with release. The consumer loads `tail_`
//   with acquire, so the slot contents are visible before it reads them.
// - The consumer moves the value out of the slot, then stores `head_` with release. The producer
//   loads `head_` with acquire, so it never overwrites a slot the consumer is still reading.
// Each side keeps a cached copy of the other side's counter on its own cache line and reloads it
// only when the cache says the ring looks full (producer) or empty (consumer), so in steady state
// a push or pop touches one shared cache line, not two.
//
// Threading: `try_push` from the producer thread only; `try_pop`/`pop_bulk` from the consumer
// thread only. `size()`/`empty()` may be called from either side and are approximations (the other
// side may move concurrently). No errors: a full ring returns false and the caller decides (count,
// back off, or apply back-pressure).

#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "common/assert.h"

namespace rlog::node {

inline constexpr size_t kCacheLineBytes = 64;

// Requires: T is default-constructible and move-assignable (slots hold moved-from values between
// uses; a pop leaves a moved-from T in the slot).
template <class T>
class SpscRing {
    static_assert(std::is_default_constructible_v<T>);
    static_assert(std::is_move_assignable_v<T>);

  public:
    // Requires: capacity is a power of two, >= 2.
    explicit SpscRing(size_t capacity) : mask_(capacity - 1), slots_(new T[capacity]) {
        RLOG_ASSERT(capacity >= 2);
        RLOG_ASSERT((capacity & (capacity - 1)) == 0);
    }
    SpscRing(const SpscRing&) = delete;
    SpscRing& operator=(const SpscRing&) = delete;

    size_t capacity() const noexcept { return mask_ + 1; }

    // Producer only. Moves `value` into the ring and returns true, or returns false (and leaves
    // `value` untouched) if the ring is full.
    bool try_push(T&& value) noexcept(std::is_nothrow_move_assignable_v<T>) {
        const uint64_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - producer_cached_head_ > mask_) {
            producer_cached_head_ = head_.load(std::memory_order_acquire);
            if (tail - producer_cached_head_ > mask_) {
                return false;
            }
        }
        slots_[tail & mask_] = std::move(value);
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }

    // Consumer only. Moves the oldest value into `out` and returns true, or returns false if the
    // ring is empty.
    bool try_pop(T& out) noexcept(std::is_nothrow_move_assignable_v<T>) {
        const uint64_t head = head_.load(std::memory_order_relaxed);
        if (head == consumer_cached_tail_) {
            consumer_cached_tail_ = tail_.load(std::memory_order_acquire);
            if (head == consumer_cached_tail_) {
                return false;
            }
        }
        out = std::move(slots_[head & mask_]);
        head_.store(head + 1, std::memory_order_release);
        return true;
    }

    // Consumer only. Moves up to `max` of the oldest values into out[0..n) and returns n. One
    // acquire load and one release store for the whole burst.
    size_t pop_bulk(T* out, size_t max) noexcept(std::is_nothrow_move_assignable_v<T>) {
        const uint64_t head = head_.load(std::memory_order_relaxed);
        if (consumer_cached_tail_ - head < max) {
            consumer_cached_tail_ = tail_.load(std::memory_order_acquire);
        }
        const uint64_t available = consumer_cached_tail_ - head;
        RLOG_ASSERT(available <= capacity());
        const size_t n = available < max ? static_cast<size_t>(available) : max;
        for (size_t i = 0; i < n; ++i) {
            out[i] = std::move(slots_[(head + i) & mask_]);
        }
        if (n > 0) {
            head_.store(head + n, std::memory_order_release);
        }
        return n;
    }

    // Approximate number of queued values (exact when both sides are quiescent).
    size_t size() const noexcept {
        const uint64_t head = head_.load(std::memory_order_acquire);
        const uint64_t tail = tail_.load(std::memory_order_acquire);
        return tail >= head ? static_cast<size_t>(tail - head) : 0;
    }
    bool empty() const noexcept { return size() == 0; }

  private:
    // Consumer's cache line. Invariant: consumer_cached_tail_ <= tail_ and head_ <= tail_.
    alignas(kCacheLineBytes) std::atomic<uint64_t> head_{0};
    uint64_t consumer_cached_tail_ = 0;
    // Producer's cache line. Invariant: producer_cached_head_ <= head_ and tail_ - head_ <=
    // mask_+1.
    alignas(kCacheLineBytes) std::atomic<uint64_t> tail_{0};
    uint64_t producer_cached_head_ = 0;
    // Read-only after construction.
    alignas(kCacheLineBytes) const uint64_t mask_;
    std::unique_ptr<T[]> slots_;
};

}  // namespace rlog::node
