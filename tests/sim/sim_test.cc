// SPDX-License-Identifier: Apache-2.0
//
// Randomized simulation of Raft clusters (tests/sim/sim_cluster.h): each seed drives 3 or 5
// replicas through loss, duplication, reordering, partitions and crashes with torn writes, with
// every invariant checked after every event, then heals everything and requires the cluster to
// elect a leader and commit within a bounded simulated time.
//
// CI runs 1,000 fixed seeds split over ten cases so ctest can run them in parallel. Environment:
//   RLOG_SIM_SEED=N    SimTest.Replay runs only seed N (3 replicas, or RLOG_SIM_REPLICAS=5).
//   RLOG_SIM_SEEDS=N   each batch case runs N seeds instead of 100 (soak runs).
//   RLOG_SIM_BASE=N    offsets the seeds of the batch cases (new seeds for soak runs).
//   RLOG_SIM_TRACE=US  prints every delivered message from simulated time US on (debugging).
// A failing seed prints the exact command that replays it.

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "tests/sim/sim_cluster.h"

namespace rlog::sim {
namespace {

// The seed being run, printed by the abort handler if the core itself asserts.
volatile uint64_t g_seed = 0;
volatile size_t g_replicas = 0;

void print_replay(uint64_t seed, size_t replicas) {
    std::fprintf(
            stderr,
            "replay: RLOG_SIM_SEED=%llu RLOG_SIM_REPLICAS=%zu build/sanitize/tests/sim/sim_test "
            "--gtest_filter=SimTest.Replay\n",
            static_cast<unsigned long long>(seed), replicas);
}

extern "C" void on_abort(int) {
    print_replay(g_seed, g_replicas);
    std::signal(SIGABRT, SIG_DFL);
    std::abort();
}

uint64_t env_u64(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v == nullptr ? fallback : std::strtoull(v, nullptr, 10);
}

// Runs one seed and fails the test with the replay command on any violation.
void run_seed(uint64_t seed, size_t replicas) {
    g_seed = seed;
    g_replicas = replicas;
    SimConfig cfg;
    cfg.seed = seed;
    cfg.replicas = replicas;
    // One, two or three simulated seconds of faults: longer runs reach more leader changes
    // (the multi-term histories where commit-rule bugs hide) at a cost the CI budget allows.
    cfg.chaos_us = 1'000'000 * (1 + seed % 3);
    SimCluster sim(cfg);
    bool ok = sim.run();
    if (!ok) {
        print_replay(seed, replicas);
    }
    ASSERT_TRUE(ok) << "seed " << seed << " replicas " << replicas << ": " << sim.failure();
    // Every run commits something; a run that commits nothing would hide liveness bugs.
    ASSERT_GT(sim.committed_entries(), 0u) << "seed " << seed;
}

void run_batch(uint64_t batch, size_t replicas) {
    std::signal(SIGABRT, on_abort);
    uint64_t count = env_u64("RLOG_SIM_SEEDS", 100);
    uint64_t base = env_u64("RLOG_SIM_BASE", 0) + batch * 1'000'000;
    for (uint64_t s = 0; s < count; ++s) {
        run_seed(base + s, replicas);
        if (testing::Test::HasFatalFailure()) {
            return;
        }
    }
}

TEST(SimTest, ThreeReplicasBatch0) {
    run_batch(0, 3);
}
TEST(SimTest, ThreeReplicasBatch1) {
    run_batch(1, 3);
}
TEST(SimTest, ThreeReplicasBatch2) {
    run_batch(2, 3);
}
TEST(SimTest, ThreeReplicasBatch3) {
    run_batch(3, 3);
}
TEST(SimTest, ThreeReplicasBatch4) {
    run_batch(4, 3);
}
TEST(SimTest, ThreeReplicasBatch5) {
    run_batch(5, 3);
}
TEST(SimTest, FiveReplicasBatch6) {
    run_batch(6, 5);
}
TEST(SimTest, FiveReplicasBatch7) {
    run_batch(7, 5);
}
TEST(SimTest, FiveReplicasBatch8) {
    run_batch(8, 5);
}
TEST(SimTest, FiveReplicasBatch9) {
    run_batch(9, 5);
}

// Runs the single seed named by RLOG_SIM_SEED (skipped without it).
TEST(SimTest, Replay) {
    const char* s = std::getenv("RLOG_SIM_SEED");
    if (s == nullptr) {
        GTEST_SKIP() << "set RLOG_SIM_SEED to replay one seed";
    }
    std::signal(SIGABRT, on_abort);
    uint64_t seed = std::strtoull(s, nullptr, 10);
    run_seed(seed, env_u64("RLOG_SIM_REPLICAS", 3));
    SimConfig cfg;
    cfg.seed = seed;
    cfg.replicas = env_u64("RLOG_SIM_REPLICAS", 3);
    SimCluster sim(cfg);
    (void)sim.run();
    std::printf("events=%llu committed=%llu leaders=%llu\n",
                static_cast<unsigned long long>(sim.events()),
                static_cast<unsigned long long>(sim.committed_entries()),
                static_cast<unsigned long long>(sim.elections()));
}

// The same seed gives the same history: a replay is only useful if it is exact.
TEST(SimTest, SameSeedSameHistory) {
    SimConfig cfg;
    cfg.seed = 77;
    SimCluster a(cfg);
    SimCluster b(cfg);
    ASSERT_TRUE(a.run()) << a.failure();
    ASSERT_TRUE(b.run()) << b.failure();
    EXPECT_EQ(a.events(), b.events());
    EXPECT_EQ(a.committed_entries(), b.committed_entries());
    EXPECT_EQ(a.elections(), b.elections());
}

// Self-test of the checker: storage that reports entries durable before syncing them, plus
// crashes, loses acknowledged (hence committed) entries. The cross-replica checks must catch it
// on some seed; if they never fire, they are not checking anything.
TEST(SimTest, CheckerCatchesStorageThatAcksBeforeSync) {
    int caught = 0;
    std::string first;
    for (uint64_t seed = 1; seed <= 100 && caught == 0; ++seed) {
        SimConfig cfg;
        cfg.seed = seed;
        cfg.buggy_storage_acks_before_sync = true;
        SimCluster sim(cfg);
        // Count only safety violations, not the liveness check after the heal.
        if (!sim.run() && sim.failure().find("after the heal") == std::string::npos) {
            ++caught;
            first = sim.failure();
        }
    }
    EXPECT_GT(caught, 0);
    std::printf("first violation caught: %s\n", first.c_str());
}

}  // namespace
}  // namespace rlog::sim
