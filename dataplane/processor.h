// The packet path of one worker, on plain bytes: classify, look up / create the connection, advance
// its TCP state, rewrite MACs for Direct Routing, answer ARP for owned VIPs. One Processor per worker
// core; it owns that core's connection tables, counters and scheduler cursors (shared-nothing).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "conn_table.h"
#include "counters.h"
#include "frag_table.h"
#include "net_types.h"
#include "parse.h"
#include "scheduler.h"
#include "snapshot.h"
#include "sync_ring.h"
#include "synced_table.h"
#include "tcp_state.h"

namespace dplb {

// One connection entry as the control plane lists it (`dplbctl list --connections`).
struct ConnInfo {
    IpAddr src, dst;
    uint16_t sport = 0, dport = 0;
    uint8_t proto = 0;   // 0 for a persistence template
    uint8_t state = 0;
    uint16_t dest = 0;
    uint32_t expires_in_ms = 0;
};

// A listing asked of a worker: it fills `out` (never past its reserved capacity, so the worker
// does not allocate) a bounded number of slots per loop pass, then sets `done`.
struct DumpRequest {
    std::vector<ConnInfo> out;  // reserve() the most entries wanted before handing it over
    std::atomic<bool> done{false};
    uint32_t cursor4 = 0, cursor6 = 0;
};

enum class Verdict : uint8_t {
    drop,    // counted in CoreCounters::drops (or not_for_us)
    tx,      // frame rewritten in place: send it out of the port it came in on
    kernel,  // not for a VIP: the exception path (or nothing, where the kernel sees the port)
};

struct Frame {
    uint8_t* data;      // first segment
    uint32_t len;       // bytes contiguous at data (the first segment's data_len)
    uint32_t wire_len;  // whole frame (pkt_len): length checks and byte counters
    // Verdict::tx: the port to send it on (index in the ports, as Dest::egress); kIngressPort = the
    // one it came in on. Set by the processor for forwarded frames only.
    uint8_t out_port = kIngressPort;
    // Free bytes before `data` in its buffer (the mbuf's headroom): pushing a VLAN tag moves `data`
    // back 4 bytes, taking a tag off moves it on 4 (the worker then moves the mbuf's start the same).
    uint16_t headroom = 0;
};

constexpr unsigned kMaxBurst = 64;

struct ProcessorConfig {
    uint32_t ipv4_entries = 262144;
    uint32_t ipv6_entries = 65536;
    int socket = 0;
    unsigned id = 0;  // unique per process (names the hash tables)
    unsigned workers = 1;  // worker cores in all: each holds 1/workers of a real's u/l_threshold
};

class alignas(64) Processor {  // one per worker: no line shared with another's
public:
    // Returns nullptr (with a message in `err`) when the tables cannot be allocated.
    static std::unique_ptr<Processor> create(const ProcessorConfig& cfg, std::string& err);

    // Picked up at a safe point of the worker loop; both must outlive their use. Without a VIP
    // table every VIP is owned (tests, benchmarks).
    void set_snapshot(const Snapshot* snap, const VipTable* vips = nullptr) {
        snap_ = snap;
        vips_ = vips;
    }
    const Snapshot* snapshot() const { return snap_; }
    // Whether the last process() moved the start of a frame (a VLAN tag pushed or taken off): only
    // then need the worker compare each frame's start with its mbuf's.
    bool frames_moved() const { return moved_frames_; }
    // The ports' MACs by index, once before the workers start: a frame forwarded out of another port
    // than its own leaves with that port's MAC as its source (at most kMaxPorts are kept).
    void set_port_macs(const std::vector<MacAddr>& macs) {
        nports_ = static_cast<uint8_t>(std::min<size_t>(macs.size(), kMaxPorts));
        std::copy(macs.begin(), macs.begin() + nports_, port_macs_.begin());
    }
    // Connection synchronisation, once before the workers start (both nullptr: off, and the packet
    // path pays one compare on a new entry or a state change, nothing on a plain hit). New entries and
    // TCP state changes worth telling peers go into `ring`; a miss looks `synced` up (adopt()).
    void set_sync(SyncRing* ring, const SyncedTable* synced) {
        sync_ring_ = ring;
        synced_ = synced;
    }
    SyncRing* sync_ring() const { return sync_ring_; }
    // The control thread missed its heartbeat: VIPs owned through VRRP are withheld (worker.h).
    void set_stalled(bool stalled) { stalled_ = stalled; }

    // Classifies and handles up to kMaxBurst frames received on a port whose MAC is `port_mac`.
    void process(Frame* frames, uint16_t n, Verdict* verdicts, uint32_t now_ms, const MacAddr& port_mac);

    // Removes expired entries, looking at no more than `budget` slots per table; also serves a
    // pending connection listing, a bounded chunk per call.
    uint32_t expire(uint32_t now_ms, uint32_t budget);

    // The worker's sweep: each table once per kSweepPeriodMs whatever the packet rate (a fixed budget
    // per loop pass swept a 1M table 30 times a second at line rate, ~70 instructions per packet),
    // kPressureSweepSlots on every pass while a table is over 3/4 full and sweeps keep finding expired
    // entries (a SYN flood with short timeouts), nothing for an empty table;
    // the time-based part at most once a millisecond and kMaxSweepSlots per table per call.
    uint32_t expire_paced(uint32_t now_ms);
    static constexpr uint32_t kSweepPeriodMs = 1000;
    static constexpr uint32_t kMaxSweepSlots = 4096;
    static constexpr uint32_t kPressureSweepSlots = 64;
    // Sync refresh (IPVS's sync_period idea): a peer's copy of a flow lapses `timeout` after the last
    // record about it, so with sync on the sweep queues a live flow's record again about every third
    // of its state's timeout (ESTABLISHED 900 s: every 300 s), which keeps a busy long-lived flow
    // synced and repairs a lost record. See refresh().
    static constexpr uint32_t kRefreshDivisor = 3;

    // A table under pressure (a SYN flood, or simply full): add() failed and the table is still as
    // full as it was then, or was within the last kFullWindowMs. While it is, a TCP packet without SYN
    // that finds no entry is forwarded by its service's Maglev table whatever the scheduler (counted
    // as `stateless`), as a new flow that found no room is: a client whose SYN went out by Maglev has
    // its ACK, data and FIN follow it. The window covers a handshake whose ACK (or retransmitted SYN:
    // 1 s, then 3 s on Linux) arrives just after the flood's entries began to expire. A connection that
    // started without an entry and goes on past the window is dropped as tcp_no_conn again (it never
    // gets an entry: only a SYN opens one).
    // New connections of services without persistence are scheduled by Maglev in that window too: an
    // entry evicted before its handshake completes (see kEvictScanSlots) leaves the flow on the same real.
    static constexpr uint32_t kFullWindowMs = 10000;
    // When add() fails, entries that never completed a handshake go first (IPVS's drop_entry idea):
    // up to kEvictScanSlots slots are looked at (ConnTable::find_victim), the SYN_RECV (or expired)
    // one that expires soonest is removed (counted in `evicted`, or `expired`) and add() is tried
    // once more. Live ESTABLISHED and later states, UDP entries and persistence templates are never
    // evicted. The scan is 16 slots: two cache lines of entries, a bounded cost per failed add. The
    // client's own entry, made this way, is reached again only after a whole table's worth of flood
    // SYNs (oldest first); if its ACK comes later still, the rest of that flow goes by Maglev, to the
    // real Maglev gave its SYN (kFullWindowMs).
    static constexpr uint32_t kEvictScanSlots = 16;

    // Called by the control thread; the worker serves it from expire(). One at a time.
    void request_dump(DumpRequest* req) { dump_.store(req, std::memory_order_release); }

    CoreCounters& counters() { return *counters_; }
    const CoreCounters& counters() const { return *counters_; }
    const ConnTable& table4() const { return t4_; }
    const ConnTable& table6() const { return t6_; }

private:
    Processor() = default;

    // The bulk lookup's position of a packet's key, checked against this burst's adds and removals.
    __attribute__((noinline)) int32_t recheck(ConnTable& table, const void* key, int32_t pos);
    // Inline in the burst loop: what every established packet runs (handle_l4, hit, rewrite). A miss,
    // and any other frame that is forwarded (forward), goes out of line.
    __attribute__((always_inline)) Verdict handle_l4(Frame& f, const Parsed& p, const Service& svc,
                                                     ConnTable& table, const void* key, int32_t pos,
                                                     uint32_t now_ms, const MacAddr& port_mac);
    __attribute__((noinline)) Verdict miss(Frame& f, const Parsed& p, const Service& svc, ConnTable& table,
                                           const void* key, int32_t pos, uint32_t now_ms, const MacAddr& port_mac);
    Verdict icmp_error(Frame& f, const Parsed& p, uint32_t now_ms, const MacAddr& port_mac);
    __attribute__((always_inline)) Verdict hit(Frame& f, const Parsed& p, const Service& svc, ConnEntry& e,
                                               uint32_t now_ms, const MacAddr& port_mac);
    Verdict forward_stateless(Frame& f, const Parsed& p, const Service& svc, uint64_t fh, const MacAddr& port_mac);
    Verdict forward(Frame& f, const Parsed& p, uint16_t svc_id, uint16_t dest, const MacAddr& port_mac);
    __attribute__((always_inline)) Verdict rewrite(Frame& f, const Parsed& p, uint16_t svc_id, uint16_t dest,
                                                   const MacAddr& port_mac);
    // Out of line: frames whose tag stays as received never run it.
    static constexpr int kNoHeadroom = 0x7fff;
    __attribute__((noinline)) static int retag(Frame& f, bool tagged, uint16_t vlan);
    Verdict later_fragment(Frame& f, const Parsed& p, const MacAddr& port_mac);
    uint16_t choose_dest(const Service& svc, ConnTable& table, const Parsed& p, uint64_t mk, uint32_t now_ms);
    // Out of line: the burst loop of services without ops stays as it was.
    __attribute__((noinline)) Verdict one_packet(Frame& f, const Parsed& p, const Service& svc, uint32_t now_ms,
                                                 const MacAddr& port_mac);
    // A new entry or a state change worth synchronising (IPVS's ip_vs_sync_conn_needed: the new
    // entry, then ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT, TIME_WAIT) goes to the sync ring.
    static bool sync_worthy(uint8_t state) {
        switch (static_cast<TcpState>(state)) {
        case TcpState::established:
        case TcpState::fin_wait:
        case TcpState::close:
        case TcpState::close_wait:
        case TcpState::time_wait: return true;
        default: return false;
        }
    }
    // What the sweep re-sends: the states sync_out sends on a change, and UDP flows (their entry's
    // record is sent once, when made); never a persistence template.
    static bool refresh_worthy(uint8_t state) { return state == kUdpState || sync_worthy(state); }
    __attribute__((noinline)) void refresh(const ConnTable& t, bool v6, int32_t pos, const ConnEntry& e);
    bool push_sync(const SyncRecord& r) {
        const bool ok = sync_ring_->push(r);
        (ok ? counters_->sync_queued : counters_->sync_ring_full)++;
        return ok;
    }
    __attribute__((noinline)) void change_state(const Parsed& p, const Service& svc, ConnEntry& e, uint8_t next);
    __attribute__((noinline)) void sync_out(const Parsed& p, const Service& svc, const ConnEntry& e);
    // A miss that a peer synchronised: the flow's entry, made in `table` from the synced one, or -1.
    __attribute__((noinline)) int32_t adopt(const Parsed& p, const Service& svc, ConnTable& table, const void* key,
                                            uint32_t now_ms);
    Verdict answer_arp(Frame& f, const Parsed& p, const MacAddr& port_mac);
    Verdict answer_nd(Frame& f, const Parsed& p, const MacAddr& port_mac);
    void release(const ConnEntry& e, bool evicted = false);
    int32_t add_evicting(ConnTable& table, const void* key, uint32_t now_ms);
    void expire_at(ConnTable& table, int32_t pos);
    // Whether an entry still refers to the real it was made for, in this service: its id in range,
    // in use, of the same generation (the id was not handed to another real since) and service.
    // Within process() only (dests_ is the burst's snapshot's).
    bool entry_matches(const ConnEntry& e, const Service& svc) const {
        if (e.dest >= ndests_) return false;
        const Dest& d = dests_[e.dest];
        return d.in_use && d.gen == e.gen && d.svc == svc.id;
    }
    // The VIP's ownership: 0 = forward and answer, else why not.
    Drop vip_withheld(uint16_t slot) const {
        uint8_t f = vips_ ? (slot < vips_->flags.size() ? vips_->flags[slot] : 0) : VipTable::kOwned;
        if (!(f & VipTable::kOwned)) return Drop::vip_inactive;
        if ((f & VipTable::kVrrp) && stalled_) return Drop::control_stalled;
        return Drop::count;
    }
    // conn_reuse_mode (snapshot.h): a client's new SYN on a port whose last connection is closing.
    bool reuse_port(const Parsed& p, const ConnEntry& e, const Service& svc) const {
        if ((p.tcp_flags & (kTcpSyn | kTcpRst)) != kTcpSyn) return false;  // the common case first
        uint8_t mode = snap_->conn_reuse_mode;
        if (!mode || svc.persistence_ms) return false;
        auto s = static_cast<TcpState>(e.state);
        return s == TcpState::time_wait || s == TcpState::close || ((mode & 2) && s == TcpState::fin_wait);
    }
    // expire_nodest_conn: an entry whose real was removed or set to weight 0 is cut at its next packet.
    bool cut_nodest(const ConnEntry& e) const {
        if (!snap_->expire_nodest_conn) return false;
        const Dest& d = dests_[e.dest];
        return d.draining || d.weight == 0;
    }
    Verdict to_kernel() {
        counters_->to_kernel++;
        return Verdict::kernel;
    }
    Verdict drop(Drop why) {
        counters_->drops[static_cast<unsigned>(why)]++;
        return Verdict::drop;
    }

    void serve_dump(DumpRequest& req, uint32_t now_ms);
    static uint32_t sweep_budget(const ConnTable& t, uint32_t elapsed_ms, bool reclaiming);

    std::atomic<DumpRequest*> dump_{nullptr};
    const Snapshot* snap_ = nullptr;
    const VipTable* vips_ = nullptr;
    bool stalled_ = false;
    std::array<MacAddr, kMaxPorts> port_macs_{};
    uint8_t nports_ = 0;
    std::unique_ptr<CoreCounters> counters_;
    ConnTable t4_;
    ConnTable t6_;
    FragTable frags_;
    uint32_t now_ms_ = 0;  // of the burst being processed
    const Dest* dests_ = nullptr;  // the burst's snapshot's reals, and how many
    uint32_t ndests_ = 0;
    bool moved_frames_ = false;  // see frames_moved()
    SchedCursor cursors_[kMaxServices];
    bool removed_in_burst_ = false;
    uint32_t last_sweep_ms_ = 0;
    bool reclaiming4_ = false, reclaiming6_ = false;  // the last sweep of that table removed something
    uint64_t added_in_burst_ = 0;  // bit (hash & 63) of each key added in this burst
    uint32_t miss_sig_ = 0;        // the hash of the key handle_l4 adds (set by process on a miss)
    unsigned workers_ = 1;
    LblcTable lblc_;  // lblc / lblcr: this core's destination-address table
    SyncRing* sync_ring_ = nullptr;
    const SyncedTable* synced_ = nullptr;
};

}  // namespace dplb
