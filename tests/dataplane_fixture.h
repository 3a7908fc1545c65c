// A Processor over a fixed test snapshot, plus counters flattened to name -> value so a test can
// state exactly which counters a packet changes (and that no other counter moved).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "frame_builder.h"
#include "frame_diff.h"
#include "processor.h"
#include "scheduler.h"

namespace dplb::test {

inline const MacAddr kLbMac = mac("02:00:00:00:00:01");
inline const MacAddr kClientMac = mac("02:00:00:00:00:aa");
inline const MacAddr kOtherMac = mac("02:00:00:00:00:bb");
inline const MacAddr kRs1Mac = mac("02:00:00:00:00:11");
inline const MacAddr kRs2Mac = mac("02:00:00:00:00:12");
inline const MacAddr kBroadcast = mac("ff:ff:ff:ff:ff:ff");
// Frames from the client, to the director's MAC, and to everyone.
inline const L2 kToLb{kLbMac, kClientMac};
inline const L2 kBcast{kBroadcast, kClientMac};

using Counters = std::map<std::string, uint64_t>;

constexpr uint16_t kTestHeadroom = 128;  // an mbuf's free bytes before a received frame (RTE_PKTMBUF_HEADROOM)

Counters flatten(const CoreCounters& c, const Snapshot& snap);

struct ServiceSpec {
    const char* vip;
    uint16_t port;
    uint8_t proto;
    Sched sched;
    std::vector<std::tuple<const char*, uint16_t /*weight*/, const char* /*mac or nullptr*/>> reals;
    bool active = true;
    bool answer_arp = true;
    uint32_t persistence_s = 0;
};

Snapshot make_snapshot(const std::vector<ServiceSpec>& specs);
// Ownership as the specs say: a VIP is owned unless a service on it has active = false.
VipTable make_vip_table(const Snapshot& snap, const std::vector<ServiceSpec>& specs);
// A Processor with small tables (1024 entries per family), a name of its own, reading `snap` and
// `vips`; nullptr (with a test failure) when it cannot be made.
std::unique_ptr<Processor> make_processor(const Snapshot& snap, const VipTable& vips);

class ProcessorTest : public ::testing::Test {
protected:
    void SetUp() override;
    // Processes one frame at time `now_ms`; returns the verdict, and the frame as the processor left
    // it in `frame`. With `seg_len` (> 0), the frame arrives as a first segment of that many bytes and
    // the rest elsewhere. It sits `headroom` bytes into its buffer, as in an mbuf (RTE_PKTMBUF_HEADROOM
    // by default), so a VLAN tag can be pushed in front of it.
    Verdict send(Bytes& frame, uint32_t now_ms, uint32_t seg_len = 0, uint16_t headroom = kTestHeadroom);
    uint8_t last_out_port_ = kIngressPort;  // Frame::out_port of the last frame sent

    Snapshot snap_;
    VipTable vips_;
    std::unique_ptr<Processor> proc_;
};

// The snapshot the golden tests use (see dataplane_fixture.cc for the list), and its ownership.
std::vector<ServiceSpec> golden_specs();
Snapshot golden_snapshot();

}  // namespace dplb::test
