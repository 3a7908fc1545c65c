// The link state of one kernel interface, from rtnetlink, on a Boost.Asio io_context; instance.h
// turns it into InterfaceUp / InterfaceDown for the state machine.
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

namespace dplb::vrrp {

// Watches one interface through rtnetlink (RTMGRP_LINK) and reports its state (IFF_UP and
// IFF_RUNNING) on every link message about it, repeats included; a deleted interface is down.
// on_change runs on the io_context; close() (or the destructor) stops it for good.
class LinkWatch {
public:
    using OnChange = std::function<void(bool up)>;

    LinkWatch(boost::asio::io_context& io, int ifindex, OnChange on_change);  // throws std::system_error
    ~LinkWatch();
    LinkWatch(const LinkWatch&) = delete;
    LinkWatch& operator=(const LinkWatch&) = delete;

    void close();

private:
    class Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace dplb::vrrp
