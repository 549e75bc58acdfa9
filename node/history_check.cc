// SPDX-License-Identifier: Apache-2.0

#include "node/history_check.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace rlog::node {
namespace {

struct Collector {
    HistoryCheckResult* result;
    size_t max;

    void add(std::string line) {
        result->violations_total++;
        if (result->violations.size() < max) {
            result->violations.push_back(std::move(line));
        }
    }
};

std::string describe(const StreamRecord& r) {
    std::ostringstream o;
    o << "{seq=" << r.seq << " client=" << r.client_id << " request=" << r.request_no
      << " term=" << r.term << " index=" << r.index << " crc=" << r.payload_crc << "}";
    return o.str();
}

bool same_message(const StreamRecord& a, const StreamRecord& b) {
    return a.client_id == b.client_id && a.request_no == b.request_no && a.term == b.term &&
           a.index == b.index && a.payload_crc == b.payload_crc;
}

uint64_t key_hash(uint64_t client_id, uint64_t request_no) {
    return client_id * 0x9e3779b97f4a7c15ull ^ request_no;
}

}  // namespace

HistoryCheckResult check_history(const std::vector<AckRecord>& acks,
                                 const std::vector<ReplicaStream>& streams,
                                 bool allow_lag,
                                 size_t violations_max) {
    HistoryCheckResult result;
    Collector bad{&result, violations_max};

    // Per replica: gapless, no duplicates.
    for (const ReplicaStream& s : streams) {
        std::unordered_multimap<uint64_t, uint64_t> seen;  // hash(client, request) -> seq
        for (size_t i = 0; i < s.records.size(); i++) {
            const StreamRecord& r = s.records[i];
            result.records_checked++;
            if (r.seq != i + 1) {
                bad.add(s.name + ": gap or disorder: position " + std::to_string(i + 1) +
                        " holds seq " + std::to_string(r.seq));
            }
            const uint64_t h = key_hash(r.client_id, r.request_no);
            auto range = seen.equal_range(h);
            for (auto it = range.first; it != range.second; ++it) {
                const StreamRecord& other = s.records[it->second - 1];
                if (other.client_id == r.client_id && other.request_no == r.request_no) {
                    bad.add(s.name + ": client " + std::to_string(r.client_id) + " request " +
                            std::to_string(r.request_no) + " sequenced twice: " + describe(other) +
                            " and " + describe(r));
                }
            }
            seen.emplace(h, i + 1);
        }
    }

    // Across replicas: prefixes of one another.
    for (size_t a = 0; a < streams.size(); a++) {
        for (size_t b = a + 1; b < streams.size(); b++) {
            const auto& ra = streams[a].records;
            const auto& rb = streams[b].records;
            const size_t common = std::min(ra.size(), rb.size());
            for (size_t i = 0; i < common; i++) {
                if (!same_message(ra[i], rb[i])) {
                    bad.add(streams[a].name + " and " + streams[b].name + " diverge at seq " +
                            std::to_string(i + 1) + ": " + describe(ra[i]) + " vs " +
                            describe(rb[i]));
                    break;
                }
            }
        }
    }

    // Every ack on every replica, at its sequence number.
    for (const AckRecord& ack : acks) {
        result.acks_checked++;
        for (const ReplicaStream& s : streams) {
            if (ack.seq == 0 || ack.seq > s.records.size()) {
                if (!allow_lag || ack.seq == 0) {
                    bad.add(s.name + ": acknowledged seq " + std::to_string(ack.seq) + " (client " +
                            std::to_string(ack.client_id) + " request " +
                            std::to_string(ack.request_no) + ") is missing; stream ends at " +
                            std::to_string(s.records.size()));
                }
                continue;
            }
            const StreamRecord& r = s.records[ack.seq - 1];
            if (r.client_id != ack.client_id || r.request_no != ack.request_no ||
                r.payload_crc != ack.payload_crc || r.term != ack.term || r.index != ack.index) {
                bad.add(s.name + ": acknowledged client " + std::to_string(ack.client_id) +
                        " request " + std::to_string(ack.request_no) + " seq " +
                        std::to_string(ack.seq) + " term " + std::to_string(ack.term) + " index " +
                        std::to_string(ack.index) + " crc " + std::to_string(ack.payload_crc) +
                        ", but the stream holds " + describe(r));
            }
        }
    }
    // Two acks for one (client, request) must agree (a retry gets its original number).
    std::unordered_map<uint64_t, const AckRecord*> by_key;
    for (const AckRecord& ack : acks) {
        const uint64_t h = key_hash(ack.client_id, ack.request_no);
        auto [it, inserted] = by_key.emplace(h, &ack);
        if (!inserted && it->second->client_id == ack.client_id &&
            it->second->request_no == ack.request_no && it->second->seq != ack.seq) {
            bad.add("client " + std::to_string(ack.client_id) + " request " +
                    std::to_string(ack.request_no) + " acknowledged with two seqs: " +
                    std::to_string(it->second->seq) + " and " + std::to_string(ack.seq));
        }
    }
    return result;
}

Status read_record_lines(const std::string& path,
                         const char* what,
                         const char* expected,
                         const std::function<bool(std::istringstream&)>& parse) {
    std::ifstream in(path);
    if (!in) {
        return Status(ErrorCode::kNotFound, std::string("cannot open ") + what + " " + path);
    }
    std::string line;
    size_t line_no = 0;
    while (std::getline(in, line)) {
        line_no++;
        if (line.empty() || line[0] == '#') {
            continue;
        }
        std::istringstream fields(line);
        if (!parse(fields)) {
            return Status(ErrorCode::kInvalidArgument,
                          path + ":" + std::to_string(line_no) + ": expected '" + expected + "'");
        }
    }
    return Status::ok();
}

Result<std::vector<AckRecord>> load_ack_file(const std::string& path) {
    std::vector<AckRecord> acks;
    Status s = read_record_lines(
            path, "ack file", "client_id request_no seq term index crc [acked_us latency_us]",
            [&](std::istringstream& fields) {
                AckRecord a;
                uint64_t crc = 0;
                std::string extra;
                bool ok = static_cast<bool>(fields >> a.client_id >> a.request_no >> a.seq >>
                                            a.term >> a.index >> crc) &&
                          crc <= UINT32_MAX;
                if (ok && (fields >> a.acked_unix_us)) {
                    ok = static_cast<bool>(fields >> a.latency_us);
                }
                if (!ok || (fields.clear(), fields >> extra)) {
                    return false;
                }
                a.payload_crc = static_cast<uint32_t>(crc);
                acks.push_back(a);
                return true;
            });
    if (!s.is_ok()) {
        return s;
    }
    return acks;
}

std::string format_ack_line(const AckRecord& a) {
    return std::to_string(a.client_id) + " " + std::to_string(a.request_no) + " " +
           std::to_string(a.seq) + " " + std::to_string(a.term) + " " + std::to_string(a.index) +
           " " + std::to_string(a.payload_crc) +
           (a.acked_unix_us != 0
                    ? " " + std::to_string(a.acked_unix_us) + " " + std::to_string(a.latency_us)
                    : std::string());
}

}  // namespace rlog::node
