// HTTP_GET: connect, send "GET <path> HTTP/1.0" with a Host header, read the response head (and the
// body when a digest is configured), all within connect_timeout. Up when the status is one of
// status_codes and, if a digest is set, the body's MD5 matches it (keepalived checks in that order).
#include <algorithm>
#include <cctype>
#include <memory>
#include <string>

#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "http_response.h"
#include "md5.h"
#include "socket_probe.h"

namespace dplb::health::detail {
namespace {

namespace asio = boost::asio;

// A health page is small; a real that streams more than this is not answering a health check.
constexpr size_t kMaxResponse = 4 << 20;

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

class HttpProbe : public SocketProbe {
public:
    HttpProbe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done)
        : SocketProbe(io, clock, spec, std::move(done), "HTTP",
                      "HTTP GET " + spec.path + " from " + format_target(spec.host, spec.port)) {}
    void run() { begin(); }

private:
    std::shared_ptr<HttpProbe> self() { return std::static_pointer_cast<HttpProbe>(shared_from_this()); }

    void on_connected() override {
        // HTTP/1.0 so the server closes after one response; the port only when it is not 80,
        // as a browser would write the Host header.
        std::string host = target_;
        if (spec_.port == 80) host = target_.substr(0, target_.rfind(':'));
        request_ = "GET " + spec_.path + " HTTP/1.0\r\nUser-Agent: dplb-health\r\nHost: " + host +
                   "\r\nConnection: close\r\n\r\n";
        asio::async_write(socket_, asio::buffer(request_), [s = self()](const boost::system::error_code& ec, size_t) {
            if (s->finished()) return;
            if (ec) return s->finish(false, "HTTP send to " + s->target_ + " failed: " + ec.message());
            s->read_head();
        });
    }

    void read_head() {
        asio::async_read_until(socket_, asio::dynamic_buffer(response_, kMaxResponse), "\r\n\r\n",
                               [s = self()](const boost::system::error_code& ec, size_t head_len) {
                                   if (s->finished()) return;
                                   if (ec) return s->finish(false, s->read_error(ec, "response head"));
                                   s->on_head(head_len);
                               });
    }

    void on_head(size_t head_len) {
        auto head = parse_http_head(std::string_view(response_).substr(0, head_len));
        if (!head) return finish(false, "malformed HTTP response from " + spec_.path);
        const auto& codes = spec_.status_codes;
        if (std::find(codes.begin(), codes.end(), head->status) == codes.end()) {
            return finish(false, "HTTP status " + std::to_string(head->status) + " from " + spec_.path);
        }
        status_ = head->status;
        if (spec_.digest.empty()) return finish(true, "HTTP status " + std::to_string(status_) + " from " + spec_.path);

        response_.erase(0, head_len);  // what was read past the head is the start of the body
        if (head->content_length) {
            if (*head->content_length > kMaxResponse) return finish(false, "HTTP body from " + spec_.path + " too large");
            if (response_.size() >= *head->content_length) {
                response_.resize(*head->content_length);
                return check_digest();
            }
            size_t missing = *head->content_length - response_.size();
            asio::async_read(socket_, asio::dynamic_buffer(response_), asio::transfer_exactly(missing),
                             [s = self()](const boost::system::error_code& ec, size_t) {
                                 if (s->finished()) return;
                                 if (ec) return s->finish(false, s->read_error(ec, "body"));
                                 s->check_digest();
                             });
        } else {
            // No length: the body is whatever comes until the server closes (HTTP/1.0).
            asio::async_read(socket_, asio::dynamic_buffer(response_, kMaxResponse),
                             [s = self()](const boost::system::error_code& ec, size_t) {
                                 if (s->finished()) return;
                                 if (ec && ec != asio::error::eof) return s->finish(false, s->read_error(ec, "body"));
                                 if (!ec) return s->finish(false, "HTTP body from " + s->spec_.path + " too large");
                                 s->check_digest();
                             });
        }
    }

    void check_digest() {
        std::string got = md5_hex(response_);
        if (got != lower(spec_.digest)) {
            return finish(false, "HTTP digest mismatch from " + spec_.path + ": got " + got);
        }
        finish(true, "HTTP status " + std::to_string(status_) + " and digest from " + spec_.path + " match");
    }

    std::string read_error(const boost::system::error_code& ec, const char* what) const {
        if (ec == asio::error::eof) return std::string("HTTP ") + what + " from " + spec_.path + " cut short";
        if (ec == asio::error::not_found) return "HTTP response head from " + spec_.path + " too large";
        return std::string("HTTP read of ") + what + " from " + target_ + " failed: " + ec.message();
    }

    std::string request_;
    std::string response_;
    int status_ = 0;
};

}  // namespace

std::shared_ptr<Probe> start_http_probe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done) {
    auto probe = std::make_shared<HttpProbe>(io, clock, spec, std::move(done));
    probe->run();
    return probe;
}

}  // namespace dplb::health::detail
