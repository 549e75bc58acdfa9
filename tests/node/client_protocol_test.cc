// SPDX-License-Identifier: Apache-2.0
//
// Tests for the client protocol payloads: request and response round trips with every item kind,
// builders that stop at the MTU, every truncation of a valid payload rejected, trailing bytes,
// bad kinds, reserved bytes and reject codes rejected, a fixed-seed fuzz loop over random and
// mutated payloads (must never crash; ASan checks the reads), and the one-frame wrapper.

#include "node/client_protocol.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rlog::node {
namespace {

std::vector<uint8_t> bytes_of(std::span<const uint8_t> s) {
    return {s.begin(), s.end()};
}

std::vector<uint8_t> sample_request() {
    RequestBuilder b(client_payload_max(8192));
    const std::vector<uint8_t> d1 = {1, 2, 3};
    EXPECT_TRUE(b.add_submit(SubmitOp{11, 1, 1, d1}));
    EXPECT_TRUE(b.add_read(ReadOp{11, 5, 100, 64}));
    EXPECT_TRUE(b.add_submit(SubmitOp{11, 2, 1, {}}));
    return bytes_of(b.payload());
}

std::vector<uint8_t> sample_response() {
    ResponseBuilder b(client_payload_max(8192));
    EXPECT_TRUE(b.add_ack(AckReply{11, 1, 77, Term(3), LogIndex(900)}));
    EXPECT_TRUE(b.add_redirect(RedirectReply{11, 2, NodeId(2), "127.0.0.1:7102"}));
    EXPECT_TRUE(b.add_reject(RejectReply{11, 3, RejectCode::kBusy}));
    const std::vector<uint8_t> d = {9, 9};
    const ReadEntry entries[] = {{5, 11, 1, Term(3), LogIndex(800), d},
                                 {6, 12, 4, Term(3), LogIndex(801), {}}};
    EXPECT_EQ(b.add_read_result(11, 5, 77, entries), 2);
    EXPECT_TRUE(b.add_redirect(RedirectReply{11, 4, kNoNode, ""}));
    return bytes_of(b.payload());
}

TEST(ClientProtocolTest, RequestRoundTrips) {
    const std::vector<uint8_t> p = sample_request();
    ParsedRequest r;
    ASSERT_EQ(parse_request(p, &r), ProtocolError::kNone);
    ASSERT_EQ(r.submits.size(), 2u);
    ASSERT_EQ(r.reads.size(), 1u);
    EXPECT_EQ(r.submits[0].client_id, 11u);
    EXPECT_EQ(r.submits[0].request_no, 1u);
    EXPECT_EQ(r.submits[0].ack_below, 1u);
    EXPECT_EQ(bytes_of(r.submits[0].data), (std::vector<uint8_t>{1, 2, 3}));
    EXPECT_EQ(r.submits[1].request_no, 2u);
    EXPECT_TRUE(r.submits[1].data.empty());
    EXPECT_EQ(r.reads[0].read_id, 5u);
    EXPECT_EQ(r.reads[0].from_seq, 100u);
    EXPECT_EQ(r.reads[0].max_count, 64u);
}

TEST(ClientProtocolTest, ResponseRoundTrips) {
    const std::vector<uint8_t> p = sample_response();
    ParsedResponse r;
    ASSERT_EQ(parse_response(p, &r), ProtocolError::kNone);
    ASSERT_EQ(r.acks.size(), 1u);
    EXPECT_EQ(r.acks[0].seq, 77u);
    EXPECT_EQ(r.acks[0].term, Term(3));
    EXPECT_EQ(r.acks[0].index, LogIndex(900));
    ASSERT_EQ(r.redirects.size(), 2u);
    EXPECT_EQ(r.redirects[0].leader_id, NodeId(2));
    EXPECT_EQ(r.redirects[0].leader_endpoint, "127.0.0.1:7102");
    EXPECT_EQ(r.redirects[1].leader_id, kNoNode);
    EXPECT_TRUE(r.redirects[1].leader_endpoint.empty());
    ASSERT_EQ(r.rejects.size(), 1u);
    EXPECT_EQ(r.rejects[0].code, RejectCode::kBusy);
    EXPECT_EQ(r.rejects[0].request_no, 3u);
    ASSERT_EQ(r.read_results.size(), 1u);
    const ReadResultReply& rr = r.read_results[0];
    EXPECT_EQ(rr.read_id, 5u);
    EXPECT_EQ(rr.last_committed_seq, 77u);
    ASSERT_EQ(rr.entries.size(), 2u);
    EXPECT_EQ(rr.entries[0].seq, 5u);
    EXPECT_EQ(rr.entries[0].index, LogIndex(800));
    EXPECT_EQ(bytes_of(rr.entries[0].data), (std::vector<uint8_t>{9, 9}));
    EXPECT_EQ(rr.entries[1].client_id, 12u);
    EXPECT_TRUE(rr.entries[1].data.empty());
}

TEST(ClientProtocolTest, BuildersStopAtTheMtu) {
    constexpr size_t kMtu = 1500;
    const size_t max = client_payload_max(kMtu);
    EXPECT_EQ(max, kMtu - dataplane::kFrameHeaderBytes);
    RequestBuilder b(max);
    const std::vector<uint8_t> data(100, 1);
    size_t added = 0;
    while (b.add_submit(SubmitOp{1, added + 1, 1, data})) {
        ++added;
    }
    EXPECT_EQ(added, (max - kPayloadHeaderBytes) / (kSubmitHeaderBytes + 100));
    EXPECT_LE(b.size_bytes(), max);
    const std::vector<uint8_t> largest(submit_data_max(kMtu), 2);
    RequestBuilder one(max);
    EXPECT_TRUE(one.add_submit(SubmitOp{1, 1, 1, largest}));
    EXPECT_EQ(one.size_bytes(), max);
    const std::vector<uint8_t> too_large(submit_data_max(kMtu) + 1, 2);
    RequestBuilder none(max);
    EXPECT_FALSE(none.add_submit(SubmitOp{1, 1, 1, too_large}));
    EXPECT_TRUE(none.empty());

    ResponseBuilder rb(max);
    std::vector<ReadEntry> entries(100, ReadEntry{1, 1, 1, Term(1), LogIndex(1), data});
    const long packed = rb.add_read_result(1, 1, 100, entries);
    EXPECT_EQ(packed, static_cast<long>((max - kPayloadHeaderBytes - kReadResultHeaderBytes) /
                                        (kReadEntryHeaderBytes + 100)));
    EXPECT_LE(rb.size_bytes(), max);
    ParsedResponse r;
    ASSERT_EQ(parse_response(rb.payload(), &r), ProtocolError::kNone);
    EXPECT_EQ(r.read_results[0].entries.size(), static_cast<size_t>(packed));
}

TEST(ClientProtocolTest, EveryTruncationIsRejected) {
    for (const auto& p : {sample_request(), sample_response()}) {
        const bool is_request = p == sample_request();
        for (size_t len = 0; len < p.size(); ++len) {
            const std::span<const uint8_t> cut(p.data(), len);
            if (is_request) {
                ParsedRequest r;
                EXPECT_NE(parse_request(cut, &r), ProtocolError::kNone) << len;
            } else {
                ParsedResponse r;
                EXPECT_NE(parse_response(cut, &r), ProtocolError::kNone) << len;
            }
        }
    }
}

TEST(ClientProtocolTest, GarbageFieldsAreRejected) {
    ParsedRequest req;
    ParsedResponse resp;
    std::vector<uint8_t> p = sample_request();
    p.push_back(0);
    EXPECT_EQ(parse_request(p, &req), ProtocolError::kTrailing);
    p = sample_request();
    p[kPayloadHeaderBytes] = 9;  // First item's kind.
    EXPECT_EQ(parse_request(p, &req), ProtocolError::kBadKind);
    p = sample_request();
    p[kPayloadHeaderBytes + 1] = 1;  // Reserved byte.
    EXPECT_EQ(parse_request(p, &req), ProtocolError::kBadReserved);
    p = sample_request();
    p[2] = 1;  // Payload header reserved.
    EXPECT_EQ(parse_request(p, &req), ProtocolError::kBadReserved);
    p = sample_request();
    p[0] = 0;
    p[1] = 0;
    EXPECT_EQ(parse_request(p, &req), ProtocolError::kEmpty);
    p = sample_request();
    p[0] = 2;  // Claims 2 items; the third is trailing.
    EXPECT_EQ(parse_request(p, &req), ProtocolError::kTrailing);
    p = sample_request();
    p[0] = 4;  // Claims 4 items; only 3 there.
    EXPECT_EQ(parse_request(p, &req), ProtocolError::kShort);
    // A data length pointing past the payload.
    p = sample_request();
    p[kPayloadHeaderBytes + 4] = 200;
    EXPECT_EQ(parse_request(p, &req), ProtocolError::kShort);

    ResponseBuilder b(1000);
    ASSERT_TRUE(b.add_reject(RejectReply{1, 1, RejectCode::kTooLarge}));
    std::vector<uint8_t> q = bytes_of(b.payload());
    q[kPayloadHeaderBytes + 1] = 0;
    EXPECT_EQ(parse_response(q, &resp), ProtocolError::kBadCode);
    q[kPayloadHeaderBytes + 1] = kRejectCodeMax + 1;
    EXPECT_EQ(parse_response(q, &resp), ProtocolError::kBadCode);
    q[kPayloadHeaderBytes] = 5;
    EXPECT_EQ(parse_response(q, &resp), ProtocolError::kBadKind);
    // A read result claiming more entries than the payload could hold.
    ResponseBuilder rb(1000);
    ASSERT_EQ(rb.add_read_result(1, 1, 0, {}), 0);
    q = bytes_of(rb.payload());
    q[kPayloadHeaderBytes + 4] = 0xff;
    q[kPayloadHeaderBytes + 7] = 0xff;
    EXPECT_EQ(parse_response(q, &resp), ProtocolError::kShort);
}

TEST(ClientProtocolTest, FuzzedPayloadsNeverCrash) {
    std::mt19937_64 rng(20261204);
    const std::vector<uint8_t> seeds[] = {sample_request(), sample_response()};
    size_t accepted = 0;
    size_t rejected = 0;
    for (int i = 0; i < 20000; ++i) {
        std::vector<uint8_t> p;
        if (i % 2 == 0) {
            p.resize(rng() % 300);
            for (auto& b : p) {
                b = static_cast<uint8_t>(rng());
            }
            if (p.size() >= 4 && rng() % 2 == 0) {
                p[2] = p[3] = 0;
                p[1] = 0;
                p[0] = static_cast<uint8_t>(1 + rng() % 4);
            }
        } else {
            p = seeds[rng() % 2];
            const int flips = 1 + static_cast<int>(rng() % 4);
            for (int f = 0; f < flips; ++f) {
                p[rng() % p.size()] = static_cast<uint8_t>(rng());
            }
            if (rng() % 4 == 0) {
                p.resize(rng() % (p.size() + 1));
            }
        }
        ParsedRequest req;
        ParsedResponse resp;
        const ProtocolError a = parse_request(p, &req);
        const ProtocolError b = parse_response(p, &resp);
        (a == ProtocolError::kNone ? accepted : rejected) += 1;
        (b == ProtocolError::kNone ? accepted : rejected) += 1;
        if (a == ProtocolError::kNone) {
            // Whatever parsed must lie inside the payload.
            for (const SubmitOp& s : req.submits) {
                EXPECT_GE(s.data.data(), p.data());
                EXPECT_LE(s.data.data() + s.data.size(), p.data() + p.size());
            }
        }
    }
    EXPECT_GT(rejected, 0u);
    EXPECT_GT(accepted, 0u);
}

TEST(ClientProtocolTest, FrameWrapsOnePayload) {
    const std::vector<uint8_t> p = sample_request();
    std::vector<uint8_t> frame(dataplane::kFrameHeaderBytes + p.size());
    const size_t n =
            write_client_frame(dataplane::FrameKind::kClientRequest, 7, kNoNode, 42, p, frame);
    ASSERT_EQ(n, frame.size());
    dataplane::FrameHeader h;
    std::span<const uint8_t> payload;
    ASSERT_EQ(dataplane::decode_frame(frame, &h, &payload), dataplane::FrameError::kNone);
    EXPECT_EQ(h.kind, dataplane::FrameKind::kClientRequest);
    EXPECT_EQ(h.cluster_id, 7u);
    EXPECT_EQ(h.receiver, kNoNode);
    EXPECT_EQ(h.segment_count, 1);
    EXPECT_EQ(h.message_id, 42u);
    EXPECT_EQ(bytes_of(payload), p);
}

}  // namespace
}  // namespace rlog::node
