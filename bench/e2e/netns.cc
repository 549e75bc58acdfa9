// SPDX-License-Identifier: Apache-2.0

#include "bench/e2e/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace rlog::bench {

int run_quietly(const std::vector<std::string>& argv) {
    const pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        const int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd >= 0) {
            dup2(null_fd, 1);
            dup2(null_fd, 2);
        }
        std::vector<char*> args;
        for (const std::string& a : argv) {
            args.push_back(const_cast<char*>(a.c_str()));
        }
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

namespace {

std::string join(const std::vector<std::string>& argv) {
    std::string s;
    for (const std::string& a : argv) {
        s += (s.empty() ? "" : " ") + a;
    }
    return s;
}

Status run(const std::vector<std::string>& argv) {
    const int r = run_quietly(argv);
    if (r != 0) {
        return Status(ErrorCode::kIo,
                      "netns: `" + join(argv) + "` failed (exit status " + std::to_string(r) + ")");
    }
    return Status::ok();
}

// Namespaces to remove if the process is interrupted (SIGINT, SIGTERM, SIGHUP): the handler
// does what `ip netns del` does, with async-signal-safe calls only (umount2 of the bind mount
// that holds the namespace, unlink), and the namespace with its interfaces goes when the
// process exits. Slots are claimed and released by the owning thread.
constexpr size_t kTrackedMax = 8;
char g_tracked[kTrackedMax][96];
volatile sig_atomic_t g_tracked_used[kTrackedMax];

void on_fatal_signal(int sig) {
    for (size_t i = 0; i < kTrackedMax; i++) {
        if (g_tracked_used[i] != 0) {
            umount2(g_tracked[i], MNT_DETACH);
            unlink(g_tracked[i]);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

int track(const std::string& name) {
    static bool installed = false;
    if (!installed) {
        installed = true;
        struct sigaction sa {};
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
            sigaction(sig, &sa, nullptr);
        }
    }
    for (size_t i = 0; i < kTrackedMax; i++) {
        if (g_tracked_used[i] == 0) {
            std::snprintf(g_tracked[i], sizeof(g_tracked[i]), "/var/run/netns/%s", name.c_str());
            g_tracked_used[i] = 1;
            return static_cast<int>(i);
        }
    }
    return -1;
}

}  // namespace

Result<std::unique_ptr<NetnsLab>> NetnsLab::create(size_t ports, int mtu) {
    if (ports < 2 || ports > 16) {
        return Status(ErrorCode::kInvalidArgument, "netns: 2..16 ports");
    }
    if (geteuid() != 0) {
        return Status(ErrorCode::kNotSupported,
                      "netns: creating network namespaces and veth pairs needs root");
    }
    if (run_quietly({"ip", "-V"}) != 0) {
        return Status(ErrorCode::kNotSupported, "netns: the `ip` command (iproute2) is missing");
    }
    static std::atomic<int> counter{0};
    std::unique_ptr<NetnsLab> lab(new NetnsLab());
    lab->name_ = "rlogdp-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    if (run_quietly({"ip", "netns", "add", lab->name_}) != 0) {
        lab->name_.clear();  // Nothing to delete.
        return Status(ErrorCode::kNotSupported,
                      "netns: `ip netns add` failed (no permission to create network "
                      "namespaces here?)");
    }
    lab->tracked_ = track(lab->name_);
    // From here on the destructor deletes the namespace, and with it every interface in it.
    const std::string& ns = lab->name_;
    const std::string m = std::to_string(mtu);
    RLOG_RETURN_IF_ERROR(run({"ip", "-n", ns, "link", "set", "lo", "up"}));
    // A quiet segment: no IPv6 (router and multicast listener chatter) on the new interfaces.
    RLOG_RETURN_IF_ERROR(run(
            {"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"}));
    RLOG_RETURN_IF_ERROR(
            run({"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"}));
    const bool bridged = ports > 2;
    if (bridged) {
        RLOG_RETURN_IF_ERROR(run({"ip", "-n", ns, "link", "add", "rlbr", "mtu", m, "type", "bridge",
                                  "stp_state", "0", "forward_delay", "0"}));
        RLOG_RETURN_IF_ERROR(run({"ip", "-n", ns, "link", "set", "rlbr", "up"}));
    }
    for (size_t i = 0; i < ports; i++) {
        char mac[32];
        std::snprintf(mac, sizeof(mac), "02:72:6c:00:00:%02x",
                      static_cast<unsigned>(i + 1) & 0xffu);
        lab->ports_.push_back(NetnsPort{"rlp" + std::to_string(i), mac});
    }
    for (size_t i = 0; i < ports; i++) {
        const std::string& a = lab->ports_[i].interface;
        if (bridged) {
            const std::string b = "rlb" + std::to_string(i);
            RLOG_RETURN_IF_ERROR(
                    run({"ip", "-n", ns, "link", "add", a, "mtu", m, "address", lab->ports_[i].mac,
                         "type", "veth", "peer", "name", b, "mtu", m}));
            RLOG_RETURN_IF_ERROR(run({"ip", "-n", ns, "link", "set", b, "master", "rlbr"}));
            RLOG_RETURN_IF_ERROR(run({"ip", "-n", ns, "link", "set", b, "up"}));
        } else if (i == 0) {
            RLOG_RETURN_IF_ERROR(
                    run({"ip", "-n", ns, "link", "add", a, "mtu", m, "address", lab->ports_[0].mac,
                         "type", "veth", "peer", "name", lab->ports_[1].interface, "mtu", m,
                         "address", lab->ports_[1].mac}));
        }
    }
    for (const NetnsPort& p : lab->ports_) {
        RLOG_RETURN_IF_ERROR(run({"ip", "-n", ns, "link", "set", p.interface, "up"}));
    }
    return lab;
}

std::vector<std::string> dpdk_eal_args(const NetnsLab& lab) {
    // --no-shconf rather than --in-memory: DPDK 22.11 refuses --in-memory with --no-huge.
    std::vector<std::string> args = {"--no-huge",
                                     "--no-pci",
                                     "--no-shconf",
                                     "-m",
                                     "1024",
                                     "--no-telemetry",
                                     "--log-level=lib.eal:error"};
    for (size_t i = 0; i < lab.ports().size(); i++) {
        args.push_back("--vdev=net_af_packet" + std::to_string(i) + ",iface=" +
                       lab.ports()[i].interface + ",blocksz=16384,framesz=16384,framecnt=512");
    }
    return args;
}

NetnsLab::~NetnsLab() {
    if (saved_fd_ >= 0) {
        (void)leave();
    }
    if (!name_.empty()) {
        run_quietly({"ip", "netns", "del", name_});
    }
    if (tracked_ >= 0) {
        g_tracked_used[tracked_] = 0;
    }
}

Status NetnsLab::enter() {
    if (saved_fd_ >= 0) {
        return Status::ok();
    }
    const int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) {
        return Status(ErrorCode::kIo,
                      std::string("netns: open own namespace: ") + std::strerror(errno));
    }
    const std::string path = "/var/run/netns/" + name_;
    const int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (target < 0 || setns(target, CLONE_NEWNET) != 0) {
        const int err = errno;
        if (target >= 0) {
            close(target);
        }
        close(self);
        return Status(ErrorCode::kIo, "netns: enter " + path + ": " + std::strerror(err));
    }
    close(target);
    saved_fd_ = self;
    return Status::ok();
}

Status NetnsLab::leave() {
    if (saved_fd_ < 0) {
        return Status::ok();
    }
    const int r = setns(saved_fd_, CLONE_NEWNET);
    const int err = errno;
    close(saved_fd_);
    saved_fd_ = -1;
    if (r != 0) {
        return Status(ErrorCode::kIo, std::string("netns: leave: ") + std::strerror(err));
    }
    return Status::ok();
}

}  // namespace rlog::bench
