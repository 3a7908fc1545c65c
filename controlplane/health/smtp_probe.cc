// SMTP_CHECK: connect, read the greeting (it must be 220), send "HELO <helo_name>" (the answer must
// be 250), send QUIT and read its answer, whatever it says; all within connect_timeout. Anything else
// (a refused connect, another code, a close, the timeout) is down. Replies may span lines ("250-").
#include <memory>
#include <string>

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "socket_probe.h"
#include "wire.h"

namespace dplb::health::detail {
namespace {

namespace asio = boost::asio;

// Far more than any greeting or HELO answer.
constexpr size_t kMaxReply = 64 << 10;

class SmtpProbe : public SocketProbe {
public:
    SmtpProbe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done)
        : SocketProbe(io, clock, spec, std::move(done), "SMTP", "SMTP dialogue with " + format_target(spec.host, spec.port)) {}
    void run() { begin(); }

private:
    enum class Step { greeting, helo, quit };

    std::shared_ptr<SmtpProbe> self() { return std::static_pointer_cast<SmtpProbe>(shared_from_this()); }

    void on_connected() override { read_reply(); }

    // Reads until `in_` holds a whole reply, then goes on with on_reply().
    void read_reply() {
        if (auto r = smtp_reply(in_)) {
            int code = r->code;
            in_.erase(0, r->length);
            return on_reply(code);
        }
        asio::async_read_until(socket_, asio::dynamic_buffer(in_, kMaxReply), "\n",
                               [s = self()](const boost::system::error_code& ec, size_t) {
                                   if (s->finished()) return;
                                   if (ec == asio::error::eof) return s->finish(false, s->where() + ": connection closed");
                                   if (ec == asio::error::not_found) return s->finish(false, s->where() + ": reply too long");
                                   if (ec) return s->finish(false, s->where() + ": " + ec.message());
                                   s->read_reply();
                               });
    }

    std::string where() const {
        const char* what = step_ == Step::greeting ? "greeting" : step_ == Step::helo ? "HELO" : "QUIT";
        return std::string("SMTP ") + what + " from " + target_;
    }

    void on_reply(int code) {
        switch (step_) {
            case Step::greeting:
                if (code != 220) return finish(false, where() + ": code " + std::to_string(code) + ", not 220");
                step_ = Step::helo;
                return send("HELO " + spec_.helo_name + "\r\n");
            case Step::helo:
                if (code != 250) return finish(false, where() + ": code " + std::to_string(code) + ", not 250");
                step_ = Step::quit;
                return send("QUIT\r\n");
            case Step::quit:
                return finish(true, "SMTP HELO to " + target_ + " answered 250");
        }
    }

    void send(std::string line) {
        out_ = std::move(line);
        asio::async_write(socket_, asio::buffer(out_), [s = self()](const boost::system::error_code& ec, size_t) {
            if (s->finished()) return;
            if (ec) return s->finish(false, "SMTP send to " + s->target_ + " failed: " + ec.message());
            s->read_reply();
        });
    }

    Step step_ = Step::greeting;
    std::string in_;
    std::string out_;
};

}  // namespace

std::shared_ptr<Probe> start_smtp_probe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done) {
    auto probe = std::make_shared<SmtpProbe>(io, clock, spec, std::move(done));
    probe->run();
    return probe;
}

}  // namespace dplb::health::detail
