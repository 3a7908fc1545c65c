// rtnetlink for the control thread, from a thread of its own: jobs run one at a time, in the order
// they were posted, each with the socket, so the control thread (VRRP adverts, health checks) never
// waits on the kernel. Kernel addresses (kernel_addresses.h) and announced routes (kernel_routes.h)
// each keep one.
#pragma once

#include <linux/netlink.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dplb {

// A netlink request: header, the message's fixed part (ifaddrmsg, rtmsg), then attributes.
class NetlinkRequest {
public:
    template <class Fixed>
    NetlinkRequest(uint16_t type, uint16_t flags, uint32_t seq, const Fixed& fixed)
        : NetlinkRequest(type, flags, seq, &fixed, sizeof fixed) {}
    void attr(uint16_t type, const void* data, size_t len);
    std::vector<uint8_t> done();

private:
    NetlinkRequest(uint16_t type, uint16_t flags, uint32_t seq, const void* fixed, size_t len);
    std::vector<uint8_t> buf_;
};

// The socket as a job sees it (the worker's thread only).
class NetlinkSocket {
public:
    NetlinkSocket();
    ~NetlinkSocket();
    NetlinkSocket(const NetlinkSocket&) = delete;
    NetlinkSocket& operator=(const NetlinkSocket&) = delete;
    // 0, or the errno of opening it.
    int open_error() const { return open_error_; }
    uint32_t next_seq() { return ++seq_; }
    // Sends one request (NLM_F_ACK) and reads its acknowledgement: 0 or a positive errno (EAGAIN:
    // no answer within a second).
    int transact(const std::vector<uint8_t>& req, uint32_t seq);
    // Sends a dump request and calls `each` for every message of its answer: 0 or a positive errno.
    int dump(const std::vector<uint8_t>& req, uint32_t seq, const std::function<void(const nlmsghdr&)>& each);

private:
    int send(const std::vector<uint8_t>& req);
    int fd_ = -1;
    int open_error_ = 0;
    uint32_t seq_ = 0;
};

class NetlinkWorker {
public:
    using Job = std::function<void(NetlinkSocket&)>;
    NetlinkWorker();
    // Finishes what is queued (the deletes of a shutdown), then stops the thread.
    ~NetlinkWorker();
    NetlinkWorker(const NetlinkWorker&) = delete;
    NetlinkWorker& operator=(const NetlinkWorker&) = delete;

    // Returns at once; `job` runs on the worker's thread after every job posted before it.
    void post(Job job);
    // Blocks until every job posted so far is done (tests, shutdown).
    void flush();
    // The same, at most `limit`; false when jobs were still queued or running then.
    bool flush_for(std::chrono::milliseconds limit);

private:
    void loop();

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job> jobs_;
    bool busy_ = false;
    bool stopping_ = false;
    std::thread thread_;  // last: started once everything above exists
};

}  // namespace dplb
