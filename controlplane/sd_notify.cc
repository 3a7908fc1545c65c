#include "sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace dplb {

bool sd_notify(const std::string& state, std::string* err) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || !*path) return true;
    auto fail = [err](const std::string& why) {
        if (err) *err = why;
        return false;
    };
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    size_t len = std::strlen(path);
    if (path[0] != '/' && path[0] != '@') return fail(std::string("NOTIFY_SOCKET is not a path: ") + path);
    if (len >= sizeof addr.sun_path) return fail(std::string("NOTIFY_SOCKET too long: ") + path);
    std::memcpy(addr.sun_path, path, len);
    if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract: no terminating NUL counts in the length
    socklen_t alen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len + (path[0] == '@' ? 0 : 1));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
    ssize_t n;
    do {
        n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), alen);
    } while (n < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (n < 0) return fail(std::string(path) + ": " + std::strerror(saved));
    if (static_cast<size_t>(n) != state.size()) return fail(std::string(path) + ": short send");
    return true;
}

unsigned long long monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000;
}

}  // namespace dplb
