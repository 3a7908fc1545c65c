#include "control_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace dplb {
namespace {

using boost::asio::local::stream_protocol;
constexpr size_t kMaxRequest = 64 * 1024;

void make_parent_dir(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) return;
    std::string dir = path.substr(0, slash);
    for (size_t p = 1; p <= dir.size(); p++)
        if (p == dir.size() || dir[p] == '/') ::mkdir(dir.substr(0, p).c_str(), 0755);
}

// One request/answer exchange.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(stream_protocol::socket s, ControlServer::Handler& h) : sock_(std::move(s)), handler_(h) {}

    void start() {
        auto self = shared_from_this();
        boost::asio::async_read_until(sock_, buf_, "\n\n", [self](boost::system::error_code ec, size_t) {
            if (ec) {
                self->answer(Reply{false, ec == boost::asio::error::not_found ? "request too long\n" : "bad request\n"});
                return;
            }
            std::istream in(&self->buf_);
            std::vector<std::string> words;
            std::string w;
            while (std::getline(in, w) && !w.empty()) words.push_back(w);
            try {
                self->handler_(words, [self](Reply r) { self->answer(r); });
            } catch (const std::exception& e) {
                self->answer(Reply{false, std::string("internal error: ") + e.what() + "\n"});
            }
        });
    }

private:
    void answer(const Reply& r) {
        if (answered_) return;
        answered_ = true;
        out_ = (r.ok ? "OK\n" : "ERR\n") + r.text;
        auto self = shared_from_this();
        boost::asio::async_write(sock_, boost::asio::buffer(out_), [self](boost::system::error_code, size_t) {
            boost::system::error_code ignored;
            self->sock_.close(ignored);
        });
    }

    stream_protocol::socket sock_;
    ControlServer::Handler& handler_;
    boost::asio::streambuf buf_{kMaxRequest};
    std::string out_;
    bool answered_ = false;
};

}  // namespace

ControlServer::ControlServer(boost::asio::io_context& io, const std::string& path, mode_t mode, Handler handler)
    : acceptor_(io), path_(path), handler_(std::move(handler)) {
    make_parent_dir(path);
    // A socket file left by a dplbd that died is stale; one that answers belongs to a live dplbd.
    {
        stream_protocol::socket probe(io);
        boost::system::error_code ec;
        probe.connect(stream_protocol::endpoint(path), ec);
        if (!ec) throw std::runtime_error("control socket " + path + " is in use by another dplbd");
        ::unlink(path.c_str());
    }
    boost::system::error_code ec;
    acceptor_.open(stream_protocol(), ec);
    if (!ec) acceptor_.bind(stream_protocol::endpoint(path), ec);
    if (!ec) acceptor_.listen(16, ec);
    if (ec) throw std::runtime_error("control socket " + path + ": " + ec.message());
    if (::chmod(path.c_str(), mode) != 0)
        throw std::runtime_error("control socket " + path + ": chmod: " + std::strerror(errno));
    accept();
}

ControlServer::~ControlServer() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    ::unlink(path_.c_str());
}

void ControlServer::accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, stream_protocol::socket s) {
        if (ec == boost::asio::error::operation_aborted) return;
        if (!ec) std::make_shared<Session>(std::move(s), handler_)->start();
        accept();
    });
}

Reply control_request(const std::string& path, const std::vector<std::string>& words) {
    boost::asio::io_context io;
    stream_protocol::socket s(io);
    s.connect(stream_protocol::endpoint(path));
    std::string req;
    for (const auto& w : words) {
        if (w.empty() || w.find('\n') != std::string::npos) throw std::invalid_argument("empty word or newline in argument");
        req += w + "\n";
    }
    req += "\n";
    boost::asio::write(s, boost::asio::buffer(req));
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    for (;;) {
        size_t n = s.read_some(boost::asio::buffer(buf), ec);
        out.append(buf, n);
        if (ec) break;
    }
    if (ec != boost::asio::error::eof) throw boost::system::system_error(ec);
    Reply r;
    size_t nl = out.find('\n');
    std::string status = out.substr(0, nl);
    if (status != "OK" && status != "ERR") throw std::runtime_error("unexpected answer from dplbd");
    r.ok = status == "OK";
    r.text = nl == std::string::npos ? "" : out.substr(nl + 1);
    return r;
}

}  // namespace dplb
