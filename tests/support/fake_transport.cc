// SPDX-License-Identifier: Apache-2.0

#include "tests/support/fake_transport.h"

#include <algorithm>
#include <utility>

#include "common/assert.h"

namespace rlog::testing {

class FakeNetwork::Endpoint final : public dataplane::Transport {
  public:
    Endpoint(FakeNetwork* net, NodeId id) : net_(net), id_(id) {}

    size_t send_burst(std::span<const dataplane::TxFrame> frames) noexcept override {
        for (const dataplane::TxFrame& f : frames) {
            if (f.bytes.empty() || f.bytes.size() > net_->options_.mtu_bytes ||
                net_->endpoints_.count(f.peer) == 0) {
                stats_.send_errors++;
                continue;
            }
            stats_.frames_sent++;
            stats_.bytes_sent += f.bytes.size();
            net_->deliver(id_, f.peer, f.bytes);
        }
        return frames.size();
    }

    size_t poll_burst(std::span<dataplane::RxFrame> out) noexcept override {
        held_.clear();
        const size_t n = std::min({out.size(), net_->options_.burst_max, inbox_.size()});
        for (size_t i = 0; i < n; i++) {
            held_.push_back(std::move(inbox_.front()));
            inbox_.pop_front();
        }
        for (size_t i = 0; i < n; i++) {
            out[i].data = held_[i].data();
            out[i].length = static_cast<uint32_t>(held_[i].size());
            stats_.frames_received++;
            stats_.bytes_received += held_[i].size();
        }
        return n;
    }

    void wait_readable(uint64_t) noexcept override {}
    const char* name() const noexcept override { return "fake"; }
    size_t mtu_bytes() const noexcept override { return net_->options_.mtu_bytes; }
    const dataplane::TransportStats& stats() const noexcept override { return stats_; }

    std::deque<std::vector<uint8_t>> inbox_;

  private:
    FakeNetwork* net_;
    NodeId id_;
    std::vector<std::vector<uint8_t>> held_;  // Frames handed out by the last poll_burst.
    dataplane::TransportStats stats_;
};

FakeNetwork::FakeNetwork(FakeNetworkOptions options) : options_(options), rng_(options.seed) {}

FakeNetwork::~FakeNetwork() = default;

dataplane::Transport* FakeNetwork::endpoint(NodeId id) {
    auto it = endpoints_.find(id);
    if (it == endpoints_.end()) {
        it = endpoints_.emplace(id, std::make_unique<Endpoint>(this, id)).first;
    }
    return it->second.get();
}

void FakeNetwork::set_drop_filter(
        std::function<bool(uint64_t seq, std::span<const uint8_t>)> filter) {
    drop_filter_ = std::move(filter);
}

void FakeNetwork::inject(NodeId to, std::span<const uint8_t> bytes) {
    static_cast<Endpoint*>(endpoint(to))->inbox_.emplace_back(bytes.begin(), bytes.end());
}

size_t FakeNetwork::pending(NodeId id) const {
    auto it = endpoints_.find(id);
    return it == endpoints_.end() ? 0 : it->second->inbox_.size();
}

void FakeNetwork::deliver(NodeId, NodeId to, std::span<const uint8_t> bytes) {
    const uint64_t seq = next_seq_++;
    stats_.frames_sent++;
    std::uniform_real_distribution<double> coin(0.0, 1.0);
    if (drop_filter_ && drop_filter_(seq, bytes)) {
        stats_.frames_dropped++;
        return;
    }
    if (coin(rng_) < options_.drop_rate) {
        stats_.frames_dropped++;
        return;
    }
    auto& inbox = endpoints_.at(to)->inbox_;
    const int copies = coin(rng_) < options_.duplicate_rate ? 2 : 1;
    if (copies == 2) {
        stats_.frames_duplicated++;
    }
    for (int c = 0; c < copies; c++) {
        inbox.emplace_back(bytes.begin(), bytes.end());
        if (inbox.size() > 1 && coin(rng_) < options_.reorder_rate) {
            std::uniform_int_distribution<size_t> pick(0, inbox.size() - 2);
            std::swap(inbox.back(), inbox[pick(rng_)]);
            stats_.frames_reordered++;
        }
    }
}

}  // namespace rlog::testing
