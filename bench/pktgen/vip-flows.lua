-- pktgen-dpdk Lua script: drive the VIP with FLOWS concurrent TCP flows at a given rate, then
-- report what was sent and what came back per second. Run at the Pktgen prompt:
--   script bench/pktgen/vip-flows.lua
-- The director forwards to real servers, not back to pktgen, so "received" is only meaningful
-- when a real-server port is looped back to pktgen's second port (set RX_PORT), as a switch mirror would.
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua"
require "Pktgen"

local TX_PORT   = "0"
local RX_PORT   = nil          -- e.g. "1" when a real server's traffic is mirrored back
local DIRECTOR  = "02:00:00:00:00:01"   -- dplbd's port MAC (dplbd prints it at start)
local VIP       = "10.0.0.100"
local VPORT     = 80
local FLOWS     = 1000000      -- one source address per flow from 11.0.0.1
local SIZE      = 64           -- frame size with FCS: 64 B at 10GbE = 14.88 Mpps, at 1GbE 1.488 Mpps
local RATE      = 100          -- percent of line rate
local SECONDS   = 30

local function ip_add(base, n)
    local a, b, c, d = base:match("(%d+)%.(%d+)%.(%d+)%.(%d+)")
    local v = ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d) + n
    return string.format("%d.%d.%d.%d", v // 16777216 % 256, v // 65536 % 256, v // 256 % 256, v % 256)
end

local function setup()
    pktgen.reset(TX_PORT)
    pktgen.set_type(TX_PORT, "ipv4")
    pktgen.set_proto(TX_PORT, "tcp")
    pktgen.set(TX_PORT, "size", SIZE)
    pktgen.set(TX_PORT, "rate", RATE)
    pktgen.set(TX_PORT, "count", 0)
    pktgen.range.ip_proto(TX_PORT, "tcp")
    pktgen.range.dst_mac(TX_PORT, "start", DIRECTOR)
    for _, f in ipairs({"start", "min", "max"}) do pktgen.range.dst_ip(TX_PORT, f, VIP) end
    pktgen.range.dst_ip(TX_PORT, "inc", "0.0.0.0")
    pktgen.range.src_ip(TX_PORT, "start", "11.0.0.1")
    pktgen.range.src_ip(TX_PORT, "min", "11.0.0.1")
    pktgen.range.src_ip(TX_PORT, "max", ip_add("11.0.0.1", FLOWS - 1))
    pktgen.range.src_ip(TX_PORT, "inc", "0.0.0.1")
    for _, f in ipairs({"start", "min", "max"}) do
        pktgen.range.src_port(TX_PORT, f, 1024)
        pktgen.range.dst_port(TX_PORT, f, VPORT)
        pktgen.range.pkt_size(TX_PORT, f, SIZE)
    end
    pktgen.range.src_port(TX_PORT, "inc", 0)
    pktgen.range.dst_port(TX_PORT, "inc", 0)
    pktgen.range.pkt_size(TX_PORT, "inc", 0)
    pktgen.set_range(TX_PORT, "on")
end

local function opackets(port) return pktgen.portStats(port, "port")[tonumber(port)].opackets end
local function ipackets(port) return pktgen.portStats(port, "port")[tonumber(port)].ipackets end

setup()
pktgen.clr()
pktgen.start(TX_PORT)
local tx0, rx0 = opackets(TX_PORT), RX_PORT and ipackets(RX_PORT) or 0
for s = 1, SECONDS do
    pktgen.delay(1000)
    local tx, rx = opackets(TX_PORT), RX_PORT and ipackets(RX_PORT) or 0
    print(string.format("t=%2ds sent %.3f Mpps%s", s, (tx - tx0) / 1e6,
                        RX_PORT and string.format(", back %.3f Mpps", (rx - rx0) / 1e6) or ""))
    tx0, rx0 = tx, rx
end
pktgen.stop(TX_PORT)
