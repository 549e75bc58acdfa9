// SPDX-License-Identifier: Apache-2.0
//
// HardStateFile: two CRC'd 64-byte slots written alternately (see storage/hard_state_file.h).
// A new file is written with both slots holding {0, 0} at sequence 0 (through a temporary file,
// renamed, directory synced), so a torn first store() still leaves a valid slot.

#include "storage/hard_state_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "common/assert.h"
#include "common/crc32c.h"

namespace rlog::storage {

namespace {

constexpr uint32_t kSlotMagic = 0x53485452;  // "RTHS"
constexpr uint32_t kSlotVersion = 1;
constexpr size_t kSlotBytes = 64;

struct Slot {
    uint32_t magic;
    uint32_t version;
    uint64_t sequence;
    uint64_t term;
    uint32_t vote;
    uint8_t reserved[32];  // Zero.
    uint32_t crc;          // CRC32C of the 60 bytes before it.
};
static_assert(sizeof(Slot) == kSlotBytes);

Slot make_slot(uint64_t sequence, const DurableHardState& s) {
    Slot slot{};
    slot.magic = kSlotMagic;
    slot.version = kSlotVersion;
    slot.sequence = sequence;
    slot.term = s.term.value;
    slot.vote = s.vote.value;
    slot.crc = crc32c(&slot, offsetof(Slot, crc));
    return slot;
}

bool slot_valid(const Slot& slot) {
    return slot.magic == kSlotMagic && slot.version == kSlotVersion &&
           slot.crc == crc32c(&slot, offsetof(Slot, crc));
}

Status io_error(const std::string& what, const std::string& path) {
    int err = errno;
    return Status(
            err == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo,
            what + " " + path + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")");
}

bool write_all(int fd, const void* data, size_t len, off_t off) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (len > 0) {
        ssize_t n = ::pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return false;
        }
        p += n;
        len -= static_cast<size_t>(n);
        off += n;
    }
    return true;
}

Status create_file(const std::string& dir, const std::string& path, bool fsync) {
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return io_error("create", tmp);
    }
    Slot slots[2] = {make_slot(0, {}), make_slot(0, {})};
    if (!write_all(fd, slots, sizeof(slots), 0) || (fsync && ::fsync(fd) != 0)) {
        Status st = io_error("write", tmp);
        ::close(fd);
        return st;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return io_error("rename", tmp);
    }
    if (fsync) {
        int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
            return io_error("open directory", dir);
        }
        int rc = ::fsync(dfd);
        Status st = rc == 0 ? Status::ok() : io_error("fsync directory", dir);
        ::close(dfd);
        return st;
    }
    return Status::ok();
}

}  // namespace

Result<std::unique_ptr<HardStateFile>> HardStateFile::open(const std::string& dir, bool fsync) {
    std::string path = dir + "/hard_state";
    if (::access(path.c_str(), F_OK) != 0) {
        if (errno != ENOENT) {
            return io_error("access", path);
        }
        RLOG_RETURN_IF_ERROR(create_file(dir, path, fsync));
    }
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return io_error("open", path);
    }
    std::unique_ptr<HardStateFile> file(new HardStateFile());
    file->fd_ = fd;
    file->fsync_ = fsync;
    uint8_t buf[2 * kSlotBytes] = {};
    ssize_t n = ::pread(fd, buf, sizeof(buf), 0);
    if (n < 0) {
        return io_error("read", path);
    }
    if (n == 0) {
        // An empty file (a crash inside an older creation path): treat as new.
        file->sequence_ = 0;
        file->newest_slot_ = 1;
        file->current_ = {};
        return file;
    }
    Slot slots[2];
    std::memcpy(slots, buf, sizeof(slots));
    bool valid[2] = {slot_valid(slots[0]), slot_valid(slots[1])};
    if (!valid[0] && !valid[1]) {
        return Status(ErrorCode::kCorruption, path + ": both hard-state slots fail their check");
    }
    int newest = !valid[0] ? 1 : !valid[1] ? 0 : slots[1].sequence > slots[0].sequence ? 1 : 0;
    file->newest_slot_ = newest;
    file->sequence_ = slots[newest].sequence;
    file->current_ = {Term(slots[newest].term), NodeId(slots[newest].vote)};
    return file;
}

HardStateFile::~HardStateFile() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

const DurableHardState& HardStateFile::current() const noexcept {
    return current_;
}

Status HardStateFile::store(const DurableHardState& state) noexcept {
    RLOG_ASSERT(fd_ >= 0);
    // After a failed store the other slot's content is unknown; writing again could overwrite
    // the only valid copy. Fail-stop instead (the caller must not retry).
    if (sequence_ == UINT64_MAX) {
        return Status(ErrorCode::kIo, "hard_state: an earlier store failed");
    }
    int slot = 1 - newest_slot_;
    Slot s = make_slot(sequence_ + 1, state);
    if (!write_all(fd_, &s, sizeof(s), static_cast<off_t>(slot * kSlotBytes))) {
        Status st = io_error("write", "hard_state");
        sequence_ = UINT64_MAX;
        return st;
    }
    if (fsync_ && ::fdatasync(fd_) != 0) {
        Status st = io_error("fdatasync", "hard_state");
        sequence_ = UINT64_MAX;
        return st;
    }
    sequence_ += 1;
    newest_slot_ = slot;
    current_ = state;
    return Status::ok();
}

}  // namespace rlog::storage
