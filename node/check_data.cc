// SPDX-License-Identifier: Apache-2.0

#include "node/check_data.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "common/assert.h"
#include "common/crc32c.h"
#include "consensus/message.h"
#include "node/sequencer.h"
#include "storage/hard_state_file.h"

namespace rlog::node {
namespace {

// What makes two entries at one index "the same": term, type and payload.
struct EntryKey {
    uint64_t term = 0;
    uint8_t type = 0;
    uint32_t crc = 0;
    size_t bytes = 0;
    friend bool operator<(const EntryKey& a, const EntryKey& b) {
        return std::tie(a.term, a.type, a.crc, a.bytes) < std::tie(b.term, b.type, b.crc, b.bytes);
    }
    friend bool operator==(const EntryKey&, const EntryKey&) = default;
};

EntryKey key_of(const storage::Record& r) {
    return EntryKey{r.term.value, r.type, crc32c(r.payload.data(), r.payload.size()),
                    r.payload.size()};
}

std::string describe_entry(const storage::Record& r) {
    std::ostringstream o;
    o << "{index=" << r.index.value << " term=" << r.term.value
      << " type=" << static_cast<int>(r.type) << " bytes=" << r.payload.size()
      << " crc=" << crc32c(r.payload.data(), r.payload.size()) << "}";
    return o.str();
}

// The entry a majority holds at position i, or nullptr if no majority agrees.
const storage::Record* majority_entry(const std::vector<ReplicaData>& replicas, size_t i) {
    const size_t need = replicas.size() / 2 + 1;
    std::map<EntryKey, std::pair<size_t, const storage::Record*>> votes;
    for (const ReplicaData& r : replicas) {
        if (i < r.entries.size()) {
            auto& v = votes[key_of(r.entries[i])];
            v.first++;
            v.second = &r.entries[i];
            if (v.first >= need) {
                return v.second;
            }
        }
    }
    return nullptr;
}

}  // namespace

Result<ReplicaData> read_replica_data(const std::string& dir) {
    ReplicaData data;
    data.name = dir;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        return Status(ErrorCode::kNotFound, dir + ": no such data directory");
    }
    Result<std::unique_ptr<storage::HardStateFile>> hs =
            storage::HardStateFile::open(dir, /*fsync=*/false);
    if (!hs.is_ok()) {
        return Status(hs.status().code(), dir + ": hard state: " + hs.status().to_string());
    }
    data.term = hs.value()->current().term.value;
    data.vote = hs.value()->current().vote.value;
    storage::LogOptions options;
    options.dir = dir;
    options.fsync = false;
    options.backend = storage::Backend::kThread;
    std::vector<storage::Record> recovered;
    Result<std::unique_ptr<storage::SegmentedLog>> log =
            storage::SegmentedLog::open(std::move(options), &recovered);
    if (!log.is_ok()) {
        return Status(log.status().code(), dir + ": log: " + log.status().to_string());
    }
    for (size_t i = 0; i < recovered.size(); i++) {
        if (recovered[i].index.value != i + 1) {
            return Status(ErrorCode::kCorruption, dir + ": record " + std::to_string(i + 1) +
                                                          " has index " +
                                                          std::to_string(recovered[i].index.value));
        }
    }
    data.entries = std::move(recovered);
    return data;
}

uint64_t majority_prefix(const std::vector<ReplicaData>& replicas) {
    uint64_t p = 0;
    while (majority_entry(replicas, p) != nullptr) {
        p++;
    }
    return p;
}

ReplicaStream replay_stream(const std::string& name,
                            const std::vector<storage::Record>& entries,
                            size_t count) {
    Sequencer sequencer;
    for (size_t i = 0; i < count && i < entries.size(); i++) {
        const storage::Record& e = entries[i];
        if (e.type == static_cast<uint8_t>(consensus::EntryType::kCommand)) {
            sequencer.apply(e.index, e.term, e.payload);
        }
    }
    ReplicaStream stream;
    stream.name = name;
    std::vector<SequencedMessage> messages;
    const Status s = sequencer.read(1, sequencer.last_seq(), &messages);
    RLOG_ASSERT(s.is_ok());  // Nothing is dropped: stream_retained_max is 0.
    for (const SequencedMessage& m : messages) {
        stream.records.push_back(StreamRecord{m.seq, m.client_id, m.request_no, m.term.value,
                                              m.index.value, crc32c(m.data.data(), m.data.size())});
    }
    return stream;
}

DataCheckResult check_replica_data(const std::vector<ReplicaData>& replicas,
                                   const std::vector<AckRecord>& acks,
                                   const std::vector<SentRecord>& sent,
                                   bool have_sent,
                                   size_t violations_max) {
    DataCheckResult out;
    std::vector<std::string> extra;
    size_t extra_total = 0;
    auto add = [&](std::string v) {
        extra_total++;
        if (extra.size() < violations_max) {
            extra.push_back(std::move(v));
        }
    };

    const uint64_t p = majority_prefix(replicas);
    out.committed_index = p;
    std::vector<storage::Record> committed;
    for (size_t i = 0; i < p; i++) {
        committed.push_back(*majority_entry(replicas, i));
    }

    std::vector<ReplicaStream> streams;
    streams.push_back(replay_stream("committed log (majority prefix)", committed, p));
    out.committed_seq = streams.front().records.size();
    for (const ReplicaData& r : replicas) {
        for (size_t i = 0; i < r.entries.size(); i++) {
            if (r.entries[i].index.value != i + 1) {
                add(r.name + ": gap in the log: position " + std::to_string(i + 1) +
                    " holds index " + std::to_string(r.entries[i].index.value));
                break;
            }
        }
    }
    for (const ReplicaData& r : replicas) {
        const size_t upto = std::min<size_t>(r.entries.size(), p);
        size_t agree = upto;
        for (size_t i = 0; i < upto; i++) {
            if (!(key_of(r.entries[i]) == key_of(committed[i]))) {
                add(r.name + " diverges from the majority's committed log at index " +
                    std::to_string(i + 1) + ": it holds " + describe_entry(r.entries[i]) +
                    ", a majority holds " + describe_entry(committed[i]));
                agree = i;
                break;
            }
        }
        std::ostringstream note;
        note << r.name << ": term " << r.term << " vote " << r.vote << ", " << r.entries.size()
             << " entries, committed prefix " << agree << ", uncommitted tail "
             << (r.entries.size() - agree);
        out.notes.push_back(note.str());
        // Up to where it agrees with the majority: a divergence is reported once, above.
        streams.push_back(replay_stream(r.name, r.entries, agree));
    }

    // The committed stream must hold every acknowledged message (no lag allowed) and be gapless
    // with no message sequenced twice; the replicas' own streams may be shorter (they may lag)
    // but must be gapless and prefixes of one another. Acks are checked against the committed
    // stream only: a replica that disagrees with it inside the prefix is reported above.
    const ReplicaStream committed_stream = streams.front();
    streams.erase(streams.begin());
    HistoryCheckResult strict =
            check_history(acks, {committed_stream}, /*allow_lag=*/false, violations_max);
    HistoryCheckResult lagging = check_history({}, streams, /*allow_lag=*/true, violations_max);
    HistoryCheckResult& h = out.history;
    h.acks_checked = strict.acks_checked;
    h.records_checked = strict.records_checked + lagging.records_checked;
    h.violations_total = strict.violations_total + lagging.violations_total;
    for (auto* part : {&strict, &lagging}) {
        for (std::string& v : part->violations) {
            if (h.violations.size() < violations_max) {
                h.violations.push_back(std::move(v));
            }
        }
    }

    if (have_sent) {
        std::unordered_map<uint64_t, std::unordered_map<uint64_t, uint32_t>> index;
        for (const SentRecord& s : sent) {
            index[s.client_id][s.request_no] = s.payload_crc;
        }
        for (const StreamRecord& r : committed_stream.records) {
            auto c = index.find(r.client_id);
            const bool known = c != index.end() && c->second.count(r.request_no) != 0;
            if (!known) {
                add("seq " + std::to_string(r.seq) + " holds client " +
                    std::to_string(r.client_id) + " request " + std::to_string(r.request_no) +
                    " (term " + std::to_string(r.term) + " index " + std::to_string(r.index) +
                    "), which no client sent");
            } else if (c->second.at(r.request_no) != r.payload_crc) {
                add("seq " + std::to_string(r.seq) + " holds client " +
                    std::to_string(r.client_id) + " request " + std::to_string(r.request_no) +
                    " with payload crc " + std::to_string(r.payload_crc) +
                    ", but the client sent crc " + std::to_string(c->second.at(r.request_no)));
            }
        }
    }
    h.violations_total += extra_total;
    for (std::string& v : extra) {
        if (h.violations.size() < violations_max) {
            h.violations.push_back(std::move(v));
        }
    }
    return out;
}

Result<std::vector<SentRecord>> load_sent_file(const std::string& path) {
    std::vector<SentRecord> sent;
    Status s = read_record_lines(path, "sent file", "client_id request_no payload_crc",
                                 [&](std::istringstream& fields) {
                                     SentRecord r;
                                     uint64_t crc = 0;
                                     std::string extra;
                                     if (!(fields >> r.client_id >> r.request_no >> crc) ||
                                         (fields >> extra) || crc > UINT32_MAX) {
                                         return false;
                                     }
                                     r.payload_crc = static_cast<uint32_t>(crc);
                                     sent.push_back(r);
                                     return true;
                                 });
    if (!s.is_ok()) {
        return s;
    }
    return sent;
}

}  // namespace rlog::node
