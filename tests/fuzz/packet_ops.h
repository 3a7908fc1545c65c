// The input of fuzz_packet: a program of operations on one Processor, read until the input ends.
// Each operation is one byte (its low 3 bits select it) followed by its arguments (big-endian):
//
//   frame    0, 6, 7  u8 flags, u16 len, len bytes  a frame joins the pending burst (64 at most: a
//                                                  full burst is processed at once); flags & 1: a
//                                                  u16 follows the bytes, how much longer the whole
//                                                  frame is than the bytes given (its first segment)
//   resend   1        u16 offset, u8 xor           the previous frame again, as it was received, with
//                                                  byte (offset % len) XORed (0: unchanged)
//   burst    2                                     process the pending frames
//   time     3        u16 step                     pending frames first, then the clock moves on by
//                                                  (step & 0x3fff) << 4 * (step >> 14) ms and the
//                                                  worker's paced sweep runs, as its loop does
//   swap     4                                     pending frames first, then the other snapshot
//   own      5        u8 bits                      pending frames first, then VIP ownership: bits & 3
//                                                  picks a VipTable (all owned, as the specs say,
//                                                  all through VRRP, none), bits & 4 the control
//                                                  thread's heartbeat missed (set_stalled); bits & 8:
//                                                  a connection listing (DumpRequest) is served
//   (and expire: `time` with step 0 sweeps with budget 64 via expire(), not expire_paced())
//
// make_seeds.cc writes seeds with PacketProgram, so the seeds follow this format by construction.
#pragma once

#include <cstdint>
#include <vector>

#include "fuzz_input.h"

namespace dplb::fuzz {

enum PacketOp : uint8_t {
    kOpFrame = 0,
    kOpResend = 1,
    kOpBurst = 2,
    kOpTime = 3,
    kOpSwap = 4,
    kOpOwn = 5,
};

struct PacketProgram : Writer {
    void frame(const std::vector<uint8_t>& f) {
        u8(kOpFrame);
        u8(0);
        u16(static_cast<uint16_t>(f.size()));
        bytes(f);
    }
    // The first `seg` bytes of `f` as its first segment, of a frame f.size() bytes long.
    void frame_split(const std::vector<uint8_t>& f, uint16_t seg) {
        u8(kOpFrame);
        u8(1);
        u16(seg);
        out.insert(out.end(), f.begin(), f.begin() + seg);
        u16(static_cast<uint16_t>(f.size() - seg));
    }
    void resend(uint16_t offset = 0, uint8_t x = 0) {
        u8(kOpResend);
        u16(offset);
        u8(x);
    }
    void burst() { u8(kOpBurst); }
    void time(uint16_t step) {
        u8(kOpTime);
        u16(step);
    }
    void swap() { u8(kOpSwap); }
    void own(uint8_t bits) {
        u8(kOpOwn);
        u8(bits);
    }
};

}  // namespace dplb::fuzz
