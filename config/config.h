// The director's configuration as typed values, and the loader that reads it from YAML. The loader
// checks everything it can before anything reaches the data plane, and reports every problem it finds
// as FILE:LINE:COL: FIELD: MESSAGE so an operator can fix a file in one go. See config/README.md.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "net_types.h"
#include "snapshot.h"
#include "tcp_state.h"

namespace dplb::config {

constexpr uint32_t kDefaultConnTableIpv4 = 262144;
constexpr uint32_t kDefaultConnTableIpv6 = 65536;
constexpr uint32_t kMinConnTable = 1024;
constexpr uint32_t kMaxConnTable = 134217728;
constexpr uint32_t kMinMhTableSize = 251;
constexpr uint32_t kMaxMhTableSize = 1048573;  // the largest prime below 2^20
constexpr uint32_t kMaxPersistenceS = 86400;
constexpr uint32_t kMaxTimeoutS = 86400;

struct Port {
    std::string name;    // label for logs and metrics
    std::string device;  // DPDK device as EAL knows it: a vdev name or a PCI address
};

struct RealServer {
    IpAddr ip;
    uint16_t port = 0;
    uint16_t weight = 1;
    MacAddr mac;
};

struct Service {
    std::string name;
    IpAddr vip;
    uint16_t port = 0;  // 0 = every port
    uint8_t proto = kProtoTcp;
    Sched sched = Sched::wlc;  // ipvsadm's default
    uint32_t persistence_timeout_s = 0;
    bool answer_arp = true;
    uint32_t mh_table_size = kDefaultMhTableSize;
    // Milliseconds, IPVS defaults with the file's overrides; the template slot holds
    // persistence_timeout_s * 1000.
    Timeouts timeouts = Timeouts::ipvs_defaults();
    std::vector<RealServer> reals;
};

struct Config {
    std::string file;  // as passed to the loader, for messages
    std::vector<Port> ports;
    uint32_t conn_table_ipv4 = kDefaultConnTableIpv4;  // entries per worker core
    uint32_t conn_table_ipv6 = kDefaultConnTableIpv6;
    std::vector<Service> services;
};

// Everything wrong with one file. what() is the messages joined by '\n'.
class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(std::vector<std::string> errors);
    std::vector<std::string> errors;
};

// Both throw ConfigError. `name` is the file name to print in messages.
Config load_config_file(const std::string& path);
Config load_config_string(const std::string& text, const std::string& name);

// Used by the loader for mh_table_size; public so the tests can check them.
bool is_prime(uint32_t n);
uint32_t next_prime(uint32_t n);  // the smallest prime >= n (n < 4294967291)

}  // namespace dplb::config
