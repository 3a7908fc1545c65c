// The systemd notification protocol (sd_notify(3)) without libsystemd: one datagram of
// "KEY=VALUE\n..." lines to the AF_UNIX socket named by $NOTIFY_SOCKET ("@name": the abstract
// namespace). No variable: nothing is sent. A failure is reported to the caller, never fatal; the
// sender's PID identifies dplbd (MAINPID is implicit).
#pragma once

#include <string>

namespace dplb {

// Sends `state` (e.g. "READY=1\nSTATUS=..."). Returns false when $NOTIFY_SOCKET is set but the
// datagram could not be sent (err says why); true when it was sent or there is nowhere to send it.
bool sd_notify(const std::string& state, std::string* err = nullptr);

// CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants it in MONOTONIC_USEC.
unsigned long long monotonic_usec();

}  // namespace dplb
