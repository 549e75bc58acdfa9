// SPDX-License-Identifier: Apache-2.0
//
// A private Ethernet segment for the kernel-bypass transports: a network namespace that this
// process creates ("rlogdp-<pid>-<n>", unique per process and call), with loopback up and N veth
// interfaces ("rlp0".."rlpN-1") carrying fixed locally administered MACs
// (02:72:6c:00:00:01, ...). Two ports are one veth pair wired to each other; more are each one
// end of a veth pair whose other end joins a bridge ("rlbr") in the same namespace. Nothing is
// created or changed outside the namespace; deleting it (the destructor) removes everything.
//
// A thread enters the namespace with enter() (setns); threads it starts afterwards inherit it,
// so `rlog bench` enters before starting replicas and every replica thread, socket and DPDK
// net_af_packet device lives there. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and `ip`
// (iproute2). SIGINT, SIGTERM and SIGHUP remove the namespaces still held before the process
// dies (the handler is installed by the first create); SIGKILL cannot, and leaves
// "rlogdp-<pid>-<n>" behind for `ip netns del`. Threading: one owner.

#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace rlog::bench {

struct NetnsPort {
    std::string interface;  // "rlp0"
    std::string mac;        // "02:72:6c:00:00:01"
};

class NetnsLab {
  public:
    // Creates the namespace and `ports` (2..16) interfaces of link MTU `mtu`, all up.
    // Errors: kNotSupported when this process may not create namespaces (not root) or `ip` is
    // missing (the message says which, for tests to print when they skip); kIo when a command
    // fails (the message has the command). On error nothing is left behind.
    static Result<std::unique_ptr<NetnsLab>> create(size_t ports, int mtu);
    ~NetnsLab();

    NetnsLab(const NetnsLab&) = delete;
    NetnsLab& operator=(const NetnsLab&) = delete;

    // Moves the calling thread into the namespace / back to where it was. Errors: kIo.
    Status enter();
    Status leave();

    const std::string& name() const { return name_; }
    const std::vector<NetnsPort>& ports() const { return ports_; }

  private:
    NetnsLab() = default;
    std::string name_;
    std::vector<NetnsPort> ports_;
    int saved_fd_ = -1;  // The entering thread's own namespace while entered.
    int tracked_ = -1;   // Slot of the interrupt handler's list of namespaces to remove.
};

// EAL arguments for DPDK in `lab` without hugepages or PCI: one net_af_packet virtual device
// per port ("net_af_packet<i>" on port i's interface), frames of up to 16 KiB.
std::vector<std::string> dpdk_eal_args(const NetnsLab& lab);

// Runs a command (argv[0] looked up in PATH) with its output discarded and returns its exit
// status (-1 if it could not run).
int run_quietly(const std::vector<std::string>& argv);

}  // namespace rlog::bench
