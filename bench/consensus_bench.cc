// SPDX-License-Identifier: Apache-2.0
//
// Micro-benchmarks of the Raft core alone: no disk, no network, no threads. A 3-replica cluster
// lives in memory; storage reports every output's entries durable at once and messages are
// handed straight to their destination. The number measures the core's own cost per entry
// (copies into outputs and messages, progress bookkeeping, commit counting), i.e. the ceiling the
// consensus stage puts on the node's throughput.
//
//   BM_RaftLeaderProposeCommit/N: propose a batch of N 64-byte commands on the leader and step
//   the cluster until the batch is committed on the leader. Items = entries committed.

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>

#include "consensus/raft.h"

namespace rlog::consensus {
namespace {

class MemCluster {
  public:
    explicit MemCluster(size_t n) {
        for (uint32_t i = 1; i <= n; ++i) {
            Options o;
            o.id = NodeId{i};
            for (uint32_t v = 1; v <= n; ++v) {
                o.voters.push_back(NodeId{v});
            }
            o.seed = i;
            o.uncommitted_entries_max = 1 << 20;
            nodes_.push_back(
                    std::make_unique<Raft>(std::move(o), HardState{}, std::vector<Entry>{}));
        }
        // Every clock starts at 0 (the first tick only starts it); node 1's clock then runs
        // ahead past its election timeout, so it campaigns first and wins.
        for (auto& node : nodes_) {
            node->tick(0);
        }
        nodes_[0]->tick(1'000'000);
        pump();
        for (uint32_t i = 1; i < n && leader().role() != Role::kLeader; ++i) {
            pump();
        }
    }

    Raft& leader() { return *nodes_[0]; }

    // Drains every output until the cluster is quiet; storage is instant.
    void pump() {
        bool busy = true;
        while (busy) {
            busy = false;
            for (auto& node : nodes_) {
                if (!node->has_output()) {
                    continue;
                }
                busy = true;
                Output o = node->take_output();
                if (!o.entries.empty()) {
                    node->persisted(o.entries.back().index, o.entries.back().term);
                }
                for (Message& m : o.messages) {
                    queue_.push_back(std::move(m));
                }
                benchmark::DoNotOptimize(o.committed.data());
            }
            while (!queue_.empty()) {
                Message m = std::move(queue_.front());
                queue_.pop_front();
                nodes_[m.to.value - 1]->step(std::move(m));
                busy = true;
            }
        }
    }

  private:
    std::vector<std::unique_ptr<Raft>> nodes_;
    std::deque<Message> queue_;
};

void BM_RaftLeaderProposeCommit(benchmark::State& state) {
    const size_t batch = static_cast<size_t>(state.range(0));
    MemCluster cluster(3);
    Raft& leader = cluster.leader();
    if (leader.role() != Role::kLeader) {
        state.SkipWithError("no leader elected");
        return;
    }
    std::vector<std::vector<uint8_t>> payloads(batch);
    for (auto _ : state) {
        for (auto& p : payloads) {
            p.assign(64, 0xab);
        }
        Result<LogIndex> first = leader.propose(payloads);
        if (!first.is_ok()) {
            state.SkipWithError("propose refused");
            return;
        }
        cluster.pump();
        if (leader.commit_index() != leader.last_index()) {
            state.SkipWithError("batch not committed");
            return;
        }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch * 64));
}
BENCHMARK(BM_RaftLeaderProposeCommit)->Arg(1)->Arg(16)->Arg(64)->Arg(256)->Arg(1024);

}  // namespace
}  // namespace rlog::consensus

BENCHMARK_MAIN();
