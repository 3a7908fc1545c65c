// HTTP_GET: connect, send "GET <path> HTTP/1.0" with a Host header, read the response head (and the
// body when a digest is configured), all within connect_timeout. Up when the status is one of
// status_codes and, if a digest is set, the body's MD5 matches it (keepalived checks in that order).
// SSL_GET: the same over TLS (OpenSSL through Boost.Asio), the handshake inside the same deadline.
// With enable_sni the server name (sni_name) goes in the ClientHello and the Host header; with
// verify the certificate chain must lead to ca_file's (or the system's) anchors and, when a name is
// sent, be for that name. keepalived verifies nothing by default, and neither does dplb.
#include <algorithm>
#include <cctype>
#include <memory>
#include <string>

#include <optional>

#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
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
    HttpProbe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done, bool tls)
        : SocketProbe(io, clock, spec, std::move(done), tls ? "SSL" : "HTTP",
                      std::string(tls ? "SSL" : "HTTP") + " GET " + spec.path + " from " +
                          format_target(spec.host, spec.port)) {
        if (tls) {
            ctx_.emplace(make_context(spec));
            tls_.emplace(socket_, *ctx_);
        }
    }
    void run() { begin(); }

private:
    std::shared_ptr<HttpProbe> self() { return std::static_pointer_cast<HttpProbe>(shared_from_this()); }

    // Runs `f` on the stream the exchange goes over: the TLS session, or the socket itself.
    template <class F>
    void on_stream(F f) {
        if (tls_) f(*tls_);
        else f(socket_);
    }

    static asio::ssl::context make_context(const CheckSpec& spec) {
        asio::ssl::context ctx(asio::ssl::context::tls_client);
        if (spec.verify) {
            boost::system::error_code ec;
            if (spec.ca_file.empty()) ctx.set_default_verify_paths(ec);
            else ctx.load_verify_file(spec.ca_file, ec);  // a bad file leaves no anchors: verify fails
            ctx.set_verify_mode(asio::ssl::verify_peer);
        } else {
            ctx.set_verify_mode(asio::ssl::verify_none);
        }
        return ctx;
    }

    void on_connected() override {
        if (!tls_) return send_request();
        if (spec_.enable_sni && !spec_.sni_name.empty()) {
            SSL_set_tlsext_host_name(tls_->native_handle(), spec_.sni_name.c_str());
            if (spec_.verify) tls_->set_verify_callback(asio::ssl::host_name_verification(spec_.sni_name));
        }
        tls_->async_handshake(asio::ssl::stream_base::client, [s = self()](const boost::system::error_code& ec) {
            if (s->finished()) return;
            if (ec) return s->finish(false, "SSL handshake with " + s->target_ + " failed: " + ec.message());
            s->send_request();
        });
    }

    void send_request() {
        // HTTP/1.0 so the server closes after one response; the port only when it is not the
        // protocol's own, as a browser would write the Host header; the SNI name when one is sent.
        std::string host = target_;
        if (spec_.port == (tls_ ? 443 : 80)) host = target_.substr(0, target_.rfind(':'));
        if (tls_ && spec_.enable_sni && !spec_.sni_name.empty()) host = spec_.sni_name;
        request_ = "GET " + spec_.path + " HTTP/1.0\r\nUser-Agent: dplb-health\r\nHost: " + host +
                   "\r\nConnection: close\r\n\r\n";
        on_stream([&](auto& stream) {
            asio::async_write(stream, asio::buffer(request_), [s = self()](const boost::system::error_code& ec, size_t) {
                if (s->finished()) return;
                if (ec) return s->finish(false, s->proto_ + " send to " + s->target_ + " failed: " + ec.message());
                s->read_head();
            });
        });
    }

    void read_head() {
        on_stream([&](auto& stream) {
            asio::async_read_until(stream, asio::dynamic_buffer(response_, kMaxResponse), "\r\n\r\n",
                                   [s = self()](const boost::system::error_code& ec, size_t head_len) {
                                       if (s->finished()) return;
                                       if (ec) return s->finish(false, s->read_error(ec, "response head"));
                                       s->on_head(head_len);
                                   });
        });
    }

    // The end of the stream: a close, or over TLS a close without close_notify (common, harmless
    // for HTTP/1.0 whose body the close ends).
    static bool at_end(const boost::system::error_code& ec) {
        return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
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
            on_stream([&](auto& stream) {
                asio::async_read(stream, asio::dynamic_buffer(response_), asio::transfer_exactly(missing),
                                 [s = self()](const boost::system::error_code& ec, size_t) {
                                     if (s->finished()) return;
                                     if (ec) return s->finish(false, s->read_error(ec, "body"));
                                     s->check_digest();
                                 });
            });
        } else {
            // No length: the body is whatever comes until the server closes (HTTP/1.0).
            on_stream([&](auto& stream) {
                asio::async_read(stream, asio::dynamic_buffer(response_, kMaxResponse),
                                 [s = self()](const boost::system::error_code& ec, size_t) {
                                     if (s->finished()) return;
                                     if (ec && !at_end(ec)) return s->finish(false, s->read_error(ec, "body"));
                                     if (!ec) return s->finish(false, "HTTP body from " + s->spec_.path + " too large");
                                     s->check_digest();
                                 });
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
        if (at_end(ec)) return std::string("HTTP ") + what + " from " + spec_.path + " cut short";
        if (ec == asio::error::not_found) return "HTTP response head from " + spec_.path + " too large";
        return std::string("HTTP read of ") + what + " from " + target_ + " failed: " + ec.message();
    }

    // The TLS session goes with its socket (closed by finish()); no close_notify, the check is over.
    std::optional<asio::ssl::context> ctx_;
    std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
    std::string request_;
    std::string response_;
    int status_ = 0;
};

}  // namespace

std::shared_ptr<Probe> start_http_probe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done) {
    auto probe = std::make_shared<HttpProbe>(io, clock, spec, std::move(done), false);
    probe->run();
    return probe;
}

std::shared_ptr<Probe> start_ssl_probe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done) {
    auto probe = std::make_shared<HttpProbe>(io, clock, spec, std::move(done), true);
    probe->run();
    return probe;
}

}  // namespace dplb::health::detail
