#include "vrrp/link_watch.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#include <boost/asio/posix/stream_descriptor.hpp>

namespace dplb::vrrp {

namespace asio = boost::asio;

class LinkWatch::Impl : public std::enable_shared_from_this<LinkWatch::Impl> {
public:
    Impl(asio::io_context& io, int ifindex, OnChange on_change)
        : ifindex_(ifindex), on_change_(std::move(on_change)), sd_(io) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) throw std::system_error(errno, std::system_category(), "rtnetlink socket");
        sd_.assign(fd);
        sockaddr_nl sa{};
        sa.nl_family = AF_NETLINK;
        sa.nl_groups = RTMGRP_LINK;
        if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
            throw std::system_error(errno, std::system_category(), "rtnetlink bind (RTMGRP_LINK)");
    }

    void wait() {
        sd_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                           if (ec || self->closed_) return;
                           self->drain();
                           if (!self->closed_) self->wait();
                       });
    }

    void close() {
        closed_ = true;
        boost::system::error_code ignored;
        sd_.close(ignored);
    }

private:
    void drain() {
        alignas(nlmsghdr) char buf[16384];
        for (int i = 0; i < 64 && !closed_; ++i) {
            ssize_t n = recv(sd_.native_handle(), buf, sizeof buf, MSG_DONTWAIT);
            if (n <= 0) return;  // EAGAIN, or ENOBUFS after an overflow: the next message resyncs
            size_t len = static_cast<size_t>(n);
            for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) continue;
                auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(h));
                if (ifi->ifi_index != ifindex_) continue;
                bool up = h->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_RUNNING);
                if (on_change_) on_change_(up);
                if (closed_) return;
            }
        }
    }

    int ifindex_;
    OnChange on_change_;
    asio::posix::stream_descriptor sd_;
    bool closed_ = false;
};

LinkWatch::LinkWatch(asio::io_context& io, int ifindex, OnChange on_change)
    : impl_(std::make_shared<Impl>(io, ifindex, std::move(on_change))) {
    impl_->wait();
}

LinkWatch::~LinkWatch() { close(); }

void LinkWatch::close() { impl_->close(); }

}  // namespace dplb::vrrp
