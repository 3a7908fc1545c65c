#include "netlink_worker.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dplb {
namespace {

constexpr size_t kRecvBuffer = 32768;

}  // namespace

NetlinkRequest::NetlinkRequest(uint16_t type, uint16_t flags, uint32_t seq, const void* fixed, size_t len) {
    buf_.resize(NLMSG_LENGTH(len));
    auto* nh = reinterpret_cast<nlmsghdr*>(buf_.data());
    nh->nlmsg_type = type;
    nh->nlmsg_flags = flags;
    nh->nlmsg_seq = seq;
    std::memcpy(buf_.data() + NLMSG_HDRLEN, fixed, len);
}

void NetlinkRequest::attr(uint16_t type, const void* data, size_t len) {
    const size_t at = NLMSG_ALIGN(buf_.size());
    buf_.resize(at + RTA_SPACE(len));
    rtattr rta{};
    rta.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    rta.rta_type = type;
    std::memcpy(buf_.data() + at, &rta, sizeof rta);
    std::memcpy(buf_.data() + at + RTA_LENGTH(0), data, len);
}

std::vector<uint8_t> NetlinkRequest::done() {
    auto* nh = reinterpret_cast<nlmsghdr*>(buf_.data());
    nh->nlmsg_len = static_cast<uint32_t>(buf_.size());
    return std::move(buf_);
}

NetlinkSocket::NetlinkSocket() {
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) {
        open_error_ = errno;
        return;
    }
    timeval tv{1, 0};  // an answer the kernel owes us comes at once; never wait longer than this
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

NetlinkSocket::~NetlinkSocket() {
    if (fd_ >= 0) close(fd_);
}

int NetlinkSocket::send(const std::vector<uint8_t>& req) {
    if (fd_ < 0) return open_error_;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd_, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return errno;
    return 0;
}

int NetlinkSocket::transact(const std::vector<uint8_t>& req, uint32_t seq) {
    if (int err = send(req)) return err;
    alignas(nlmsghdr) char buf[kRecvBuffer];
    for (;;) {
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;  // EAGAIN: no answer within the socket's timeout
        }
        size_t len = static_cast<size_t>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR) continue;
            nlmsgerr err;
            std::memcpy(&err, NLMSG_DATA(h), sizeof err);
            return -err.error;
        }
    }
}

int NetlinkSocket::dump(const std::vector<uint8_t>& req, uint32_t seq,
                        const std::function<void(const nlmsghdr&)>& each) {
    if (int err = send(req)) return err;
    alignas(nlmsghdr) char buf[kRecvBuffer];
    for (;;) {
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return EPIPE;
        size_t len = static_cast<size_t>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != seq) continue;
            if (h->nlmsg_type == NLMSG_DONE) return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                nlmsgerr err;
                std::memcpy(&err, NLMSG_DATA(h), sizeof err);
                return -err.error;
            }
            each(*h);
        }
    }
}

NetlinkWorker::NetlinkWorker() : thread_([this] { loop(); }) {}

NetlinkWorker::~NetlinkWorker() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void NetlinkWorker::post(Job job) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        jobs_.push_back(std::move(job));
    }
    cv_.notify_all();
}

void NetlinkWorker::flush() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return jobs_.empty() && !busy_; });
}

bool NetlinkWorker::flush_for(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [this] { return jobs_.empty() && !busy_; });
}

void NetlinkWorker::loop() {
    NetlinkSocket sock;  // opened and closed on this thread
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, and everything done
        Job job = std::move(jobs_.front());
        jobs_.pop_front();
        busy_ = true;
        lock.unlock();
        job(sock);
        lock.lock();
        busy_ = false;
        cv_.notify_all();
    }
}

}  // namespace dplb
