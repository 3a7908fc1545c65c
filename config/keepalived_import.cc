// keepalived.conf -> dplb YAML. Three steps: the text becomes words with their positions, the words
// become a tree of statements and blocks (this is where unbalanced braces are found), and the tree
// is walked keyword by keyword into a small output model that is written out as YAML. Like the YAML
// loader, every step reports all it finds before giving up. Whatever keepalived says that dplb cannot
// say becomes a warning with its line; whatever the output could not load with is an error, so the
// YAML that comes out always loads (which the end of import_keepalived checks once more).
#include "keepalived_import.h"

#include "text.h"

#include <algorithm>
#include <climits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dplb::config {
namespace {

// ---- messages ----

class Messages {
public:
    explicit Messages(std::string file) : file_(std::move(file)) {}

    void error(int line, int col, const std::string& msg) {
        errors_.push_back({line, col, where(line) + ":" + std::to_string(col) + ": " + msg});
    }
    void warn(int line, const std::string& msg) { warnings_.push_back({line, 0, where(line) + ": " + msg}); }
    // About the file as a whole; listed after the others.
    void warn_file(const std::string& msg) { warnings_.push_back({INT_MAX, 0, file_ + ": " + msg}); }

    bool has_errors() const { return !errors_.empty(); }
    std::vector<std::string> errors() const { return sorted(errors_); }
    std::vector<std::string> warnings() const { return sorted(warnings_); }

private:
    struct Entry {
        int line;
        int col;
        std::string text;
    };
    std::string where(int line) const { return file_ + ":" + std::to_string(line); }
    // In file order, whatever order the walk found them in; same-place messages keep their order.
    static std::vector<std::string> sorted(std::vector<Entry> l) {
        std::stable_sort(l.begin(), l.end(), [](const Entry& a, const Entry& b) {
            return a.line != b.line ? a.line < b.line : a.col < b.col;
        });
        std::vector<std::string> out;
        for (const Entry& e : l) out.push_back(e.text);
        return out;
    }
    std::string file_;
    std::vector<Entry> errors_;
    std::vector<Entry> warnings_;
};

// A value as the operator wrote it, quoted so that spaces, empty strings and control characters show.
std::string q(const std::string& s) { return double_quoted(s, 60); }

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// ---- words ----

struct Word {
    std::string text;
    int line = 0;
    int col = 0;         // 1-based byte column, for messages
    int vcol = 0;        // visual column with tabs every 8, for comparing indentation
    bool first = false;  // the first token on its line
};

enum class Tok { word, open, close, eol };

// ---- statements and blocks ----

struct Stmt {
    std::vector<Word> words;  // words[0] is the keyword
    bool has_block = false;
    std::vector<Stmt> block;

    const Word& kw() const { return words[0]; }
    int line() const { return words[0].line; }
    // The statement as written, for messages: "real_server 10.0.0.11 80". A long one is cut after the
    // words that fit in 100 bytes, with " ..." (a keyword longer than that: after 100 bytes, with "...").
    std::string head() const {
        constexpr size_t kMaxHead = 100;
        if (words[0].text.size() > kMaxHead) return words[0].text.substr(0, kMaxHead) + "...";
        std::string out = words[0].text;
        for (size_t i = 1; i < words.size(); i++) {
            if (out.size() + 1 + words[i].text.size() > kMaxHead) return out + " ...";
            out += " " + words[i].text;
        }
        return out;
    }
    std::string arg(size_t i) const { return i < words.size() ? words[i].text : ""; }
};

// A closed block, kept for guessing where a missing "}" belongs. A copy of what is needed: the
// statements themselves move as the vectors holding them grow.
struct Close {
    std::string head;  // of the statement whose block the "}" closed
    Word kw;           // its keyword
    Word brace;
};

// keepalived.conf nests blocks 4 deep (virtual_server, real_server, HTTP_GET, url). The tree is never
// built deeper than this, so destroying it (which recurses once per level) stays shallow whatever the
// input; the parser keeps its own stack and does not recurse at all.
constexpr size_t kMaxBlockDepth = 16;

// Tokens in, the tree of statements out, one token at a time: the lexer feeds it as it goes, so a
// file is never held as tokens and reading stops where the parse does.
class Parser {
public:
    explicit Parser(Messages& msgs) : msgs_(msgs) {}

    // false once the parse has stopped (blocks nested too deep): the rest of the file is not read.
    bool feed(Tok kind, const Word& w) {
        if (kind == Tok::eol) {
            // "virtual_server 10.0.0.1 80" with its "{" on a later line is one statement: whether it
            // ends here is known at the next token that is not the end of a line.
            held_ = !pending_.empty();
            return true;
        }
        if (held_ && kind != Tok::open) flush();
        held_ = false;
        switch (kind) {
        case Tok::word: pending_.push_back(w); break;
        case Tok::open: return open_block(w);
        case Tok::close: close_block(w); break;
        case Tok::eol: break;
        }
        return true;
    }

    // The tree; empty when the braces do not balance or nest too deep (reported).
    std::vector<Stmt> finish() {
        flush();
        if (stopped_) return {};
        if (!open_.empty()) {
            report_unclosed();
            ok_ = false;
        }
        if (!ok_) top_.clear();
        return std::move(top_);
    }

private:
    void flush() {
        if (pending_.empty()) return;
        Stmt s;
        s.words = std::move(pending_);
        pending_.clear();
        level_.back()->push_back(std::move(s));
    }

    bool open_block(const Word& brace) {
        if (open_.size() == kMaxBlockDepth) {
            msgs_.error(brace.line, brace.col,
                        (pending_.empty() ? std::string() : Stmt{pending_, false, {}}.head() + ": ") +
                            "\"{\" nested more than " + std::to_string(kMaxBlockDepth) +
                            " blocks deep (keepalived's own blocks nest 4 deep)");
            stopped_ = true;
            return false;
        }
        if (pending_.empty()) {
            msgs_.error(brace.line, brace.col, "\"{\" opens a block without a keyword before it");
            ok_ = false;
            pending_.push_back(brace);  // stands in for the keyword, so the braces still pair up
        }
        Stmt s;
        s.words = std::move(pending_);
        pending_.clear();
        s.has_block = true;
        level_.back()->push_back(std::move(s));
        open_.push_back(&level_.back()->back());
        level_.push_back(&open_.back()->block);
        return true;
    }

    void close_block(const Word& brace) {
        flush();
        if (open_.empty()) {
            // A "}" indented deeper than its block's keyword was probably the one too many. The search
            // resumes where the last one stopped, so that many "}"s cost one pass over closes_.
            while (hint_checked_ < closes_.size() && !deeper_than_keyword(closes_[hint_checked_])) hint_checked_++;
            std::string hint;
            if (hint_checked_ < closes_.size())
                hint = ", probably the one at line " + std::to_string(closes_[hint_checked_].brace.line);
            msgs_.error(brace.line, brace.col, "\"}\" closes no block (one \"}\" too many" + hint + ")");
            ok_ = false;
            return;
        }
        closes_.push_back({open_.back()->head(), open_.back()->kw(), brace});
        open_.pop_back();
        level_.pop_back();
    }

    static bool deeper_than_keyword(const Close& c) { return c.brace.first && c.brace.vcol > c.kw.vcol; }

    void report_unclosed() {
        // Each missing "}" leaves one block open at the end, but it is seldom the block that lacks
        // it: the "}"s that follow close the wrong blocks one by one. A "}" indented less than the
        // keyword of the block it closes belongs to an outer block, so the block it closed is the
        // one without its own.
        size_t missing = open_.size();
        for (const Close& c : closes_) {
            if (missing == 0) break;
            if (!c.brace.first || c.brace.vcol >= c.kw.vcol) continue;
            msgs_.error(c.kw.line, c.kw.col,
                        c.head + ": \"{\" is never closed (missing \"}\", probably before line " +
                            std::to_string(c.brace.line) + ")");
            missing--;
        }
        for (size_t k = 0; k < missing; k++) {
            const Stmt* s = open_[open_.size() - 1 - k];
            msgs_.error(s->line(), s->kw().col,
                        s->head() + ": \"{\" is never closed (missing \"}\" at the end of the file)");
        }
    }

    Messages& msgs_;
    std::vector<Stmt> top_;
    std::vector<std::vector<Stmt>*> level_{&top_};
    std::vector<Stmt*> open_;  // the statements whose blocks are open, outermost first
    std::vector<Close> closes_;
    size_t hint_checked_ = 0;  // closes_[0, hint_checked_) hold no "}" indented deeper than its keyword
    std::vector<Word> pending_;
    bool held_ = false;  // pending_ is a whole line, which a "{" on a later line may still open
    bool ok_ = true;
    bool stopped_ = false;
};

// keepalived's lexical rules: '#' and '!' start a comment anywhere outside quotes; '{' and '}' are
// tokens of their own; "..." and '...' keep spaces and lose their quotes, also in the middle of a word.
// Lines that only make sense to keepalived's own preprocessor are skipped with a warning.
// Every token goes to `parser` as it is found; the lexer stops when the parser does.
void lex(const std::string& text, Messages& msgs, Parser& parser) {
    bool stopped = false;
    auto emit = [&](Tok kind, const Word& w) { stopped = stopped || !parser.feed(kind, w); };
    int lineno = 0;
    bool continued = false;  // inside a multi-line $NAME= definition
    size_t pos = 0;
    while (pos <= text.size() && !stopped) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        lineno++;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const size_t start = line.find_first_not_of(" \t");
        if (continued) {
            continued = !line.empty() && line.back() == '\\';
            continue;
        }
        if (start != std::string::npos) {
            const char c0 = line[start];
            const std::string first = line.substr(start, line.find_first_of(" \t", start) - start);
            if (c0 == '@') {
                msgs.warn(lineno, "conditional line " + first +
                                      ": not converted (dplb has no configuration ids; edit the result for "
                                      "this director by hand)");
                continue;
            }
            if (c0 == '$') {
                msgs.warn(lineno, "parameter definition " + first.substr(0, first.find('=')) +
                                      ": not converted (dplb does not substitute parameters)");
                continued = line.back() == '\\';
                continue;
            }
            if (c0 == '~') {
                msgs.warn(lineno, "line " + first.substr(0, first.find('(')) +
                                      ": not converted (dplb does not expand ~SEQ and ~LST)");
                continue;
            }
        }
        Word cur;
        bool in_word = false;
        char quote = 0;
        int quote_col = 0;
        int vcol = 0;
        bool first_on_line = true;
        auto finish = [&] {
            if (!in_word) return;
            cur.first = first_on_line;
            first_on_line = false;
            emit(Tok::word, cur);
            cur = Word{};
            in_word = false;
        };
        auto begin = [&](size_t i, int at) {
            if (in_word) return;
            in_word = true;
            cur.line = lineno;
            cur.col = static_cast<int>(i) + 1;
            cur.vcol = at + 1;
        };
        for (size_t i = 0; i < line.size(); i++) {
            const char c = line[i];
            const int here = vcol;
            vcol = c == '\t' ? (vcol / 8 + 1) * 8 : vcol + 1;
            if (quote) {
                if (c == quote) {
                    quote = 0;
                } else if (c == '\\' && i + 1 < line.size()) {
                    cur.text += line[++i];
                    vcol++;
                } else {
                    cur.text += c;
                }
                continue;
            }
            if (c == ' ' || c == '\t') {
                finish();
            } else if (c == '#' || c == '!') {
                break;
            } else if (c == '{' || c == '}') {
                finish();
                Word w;
                w.text = std::string(1, c);
                w.line = lineno;
                w.col = static_cast<int>(i) + 1;
                w.vcol = here + 1;
                w.first = first_on_line;
                first_on_line = false;
                emit(c == '{' ? Tok::open : Tok::close, w);
                if (stopped) return;
            } else if (c == '"' || c == '\'') {
                begin(i, here);
                quote = c;
                quote_col = static_cast<int>(i) + 1;
            } else {
                begin(i, here);
                cur.text += c;
            }
        }
        if (quote) msgs.error(lineno, quote_col, "unterminated quoted string");
        finish();
        emit(Tok::eol, Word{});
    }
}

// ---- values ----

// Decimal seconds as keepalived's <TIMER> takes them ("3", "0.5"), in microseconds.
std::optional<uint64_t> parse_timer(const std::string& s) {
    size_t i = 0;
    uint64_t whole = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        whole = whole * 10 + static_cast<uint64_t>(s[i++] - '0');
        if (whole > 100000000) return std::nullopt;
    }
    if (i == 0) return std::nullopt;
    uint64_t us = whole * 1000000;
    if (i < s.size()) {
        if (s[i++] != '.' || i == s.size()) return std::nullopt;
        uint64_t scale = 100000;
        for (; i < s.size(); i++) {
            if (s[i] < '0' || s[i] > '9') return std::nullopt;
            us += static_cast<uint64_t>(s[i] - '0') * scale;
            scale /= 10;
        }
    }
    return us;
}

std::optional<uint32_t> parse_uint(const std::string& s, uint32_t hi) {
    if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    uint64_t v = std::stoull(s);
    if (v > hi) return std::nullopt;
    return static_cast<uint32_t>(v);
}


// keepalived's <BOOL> words.
std::optional<bool> parse_bool(const std::string& s) {
    const std::string l = lower(s);
    if (l == "on" || l == "true" || l == "yes") return true;
    if (l == "off" || l == "false" || l == "no") return false;
    return std::nullopt;
}

// Readers for the value of a statement; each reports its own problem and returns nullopt.
class Values {
public:
    explicit Values(Messages& msgs) : msgs_(msgs) {}

    const Word* one(const Stmt& s) {
        if (s.words.size() < 2) {
            msgs_.error(s.line(), s.kw().col, s.kw().text + ": missing value");
            return nullptr;
        }
        if (s.words.size() > 2) {
            msgs_.error(s.line(), s.words[2].col,
                        s.kw().text + ": expected one value, got " + std::to_string(s.words.size() - 1));
            return nullptr;
        }
        return &s.words[1];
    }

    std::optional<uint32_t> integer(const Stmt& s, uint32_t lo, uint32_t hi) {
        const Word* w = one(s);
        if (!w) return std::nullopt;
        auto v = parse_uint(w->text, hi);
        if (!v || *v < lo) {
            msgs_.error(w->line, w->col,
                        s.kw().text + ": expected integer " + std::to_string(lo) + ".." + std::to_string(hi) +
                            ", got " + q(w->text));
            return std::nullopt;
        }
        return v;
    }

    // A <TIMER> in whole seconds: dplb counts seconds, so a fraction is rounded up, with a warning.
    std::optional<uint32_t> seconds(const Stmt& s, uint32_t lo, uint32_t hi) {
        const Word* w = one(s);
        if (!w) return std::nullopt;
        auto us = parse_timer(w->text);
        std::optional<uint32_t> v;
        if (us) v = static_cast<uint32_t>((*us + 999999) / 1000000);
        if (!v || *v < lo || *v > hi) {
            msgs_.error(w->line, w->col,
                        s.kw().text + ": expected seconds " + std::to_string(lo) + ".." + std::to_string(hi) +
                            ", got " + q(w->text));
            return std::nullopt;
        }
        if (*us % 1000000)
            msgs_.warn(s.line(), s.kw().text + " " + w->text + ": rounded up to " + std::to_string(*v) + " second" +
                                     (*v == 1 ? "" : "s") + " (dplb counts whole seconds)");
        return v;
    }

    // The keyword alone means true, as keepalived takes it; or one <BOOL>.
    std::optional<bool> flag(const Stmt& s) {
        if (s.words.size() == 1) return true;
        const Word* w = one(s);
        if (!w) return std::nullopt;
        auto b = parse_bool(w->text);
        if (!b)
            msgs_.error(w->line, w->col, s.kw().text + ": expected on, off, true, false, yes or no, got " + q(w->text));
        return b;
    }

    // A keyword given twice in one block: keepalived keeps the last, and so does the import.
    void once(const Stmt& s, std::map<std::string, int>& seen) {
        auto [it, fresh] = seen.emplace(s.kw().text, s.line());
        if (!fresh) {
            msgs_.warn(s.line(),
                       s.kw().text + ": given again; this one replaces the one at line " + std::to_string(it->second));
            it->second = s.line();
        }
    }

private:
    Messages& msgs_;
};

// ---- the output model: only what was given, so the YAML says no more than keepalived.conf did ----

// Checker options that a virtual_server passes to its real_servers and a real_server to its checkers.
struct CheckOpts {
    std::optional<uint32_t> connect_timeout, retry, delay_before_retry, warmup, delay_loop;
    std::optional<bool> alpha, inhibit_on_failure;
    int delay_loop_line = 0;

    // `o` over this.
    void overlay(const CheckOpts& o) {
        if (o.connect_timeout) connect_timeout = o.connect_timeout;
        if (o.retry) retry = o.retry;
        if (o.delay_before_retry) delay_before_retry = o.delay_before_retry;
        if (o.warmup) warmup = o.warmup;
        if (o.delay_loop) {
            delay_loop = o.delay_loop;
            delay_loop_line = o.delay_loop_line;
        }
        if (o.alpha) alpha = o.alpha;
        if (o.inhibit_on_failure) inhibit_on_failure = o.inhibit_on_failure;
    }
};

struct OutCheck {
    CheckType type = CheckType::tcp;
    int line = 0;
    std::string keyword;  // TCP_CHECK, HTTP_GET, ...
    CheckOpts opts;
    std::optional<uint16_t> connect_port;
    std::string path;
    std::vector<std::string> status_codes;  // as written: "200", "200-299"
    std::string digest;
    std::string script;
    std::optional<uint32_t> timeout;
    bool dynamic = false;
};

struct OutReal {
    int line = 0;
    int ip_col = 0;  // where its address is written
    IpAddr ip;
    uint16_t port = 0;
    std::optional<uint32_t> weight;
    std::optional<bool> inhibit_on_failure;
    std::optional<OutCheck> check;
};

struct OutService {
    int line = 0;
    std::string head;
    IpAddr vip;
    uint16_t port = 0;
    uint8_t proto = kProtoTcp;
    std::optional<std::string> scheduler;
    std::optional<uint32_t> persistence;
    std::optional<uint32_t> delay_loop;
    std::vector<OutReal> reals;
};

struct OutVrrp {
    int line = 0;
    int col = 0;
    std::string name;
    std::string interface;
    int interface_line = 0;
    std::optional<std::string> state;
    std::optional<uint32_t> vrid, priority, preempt_delay, garp_delay, garp_repeat;
    std::optional<uint32_t> advert_us;
    int advert_line = 0;
    std::optional<uint32_t> version;
    int version_line = 0;
    int vrid_line = 0, vrid_col = 0;
    std::optional<bool> preempt;
    std::optional<std::string> auth_pass;
    int auth_line = 0;
    bool auth_seen = false;
    std::vector<std::pair<IpAddr, int>> vips;  // with their lines
    std::set<IpAddr> vip_set;                  // the same addresses, to find one given twice
    std::vector<std::pair<std::string, int>> track;
    std::map<std::string, int> track_weights;  // track_interface NAME weight W
};

// ---- YAML out ----

bool plain_ok(const std::string& s) {
    if (s.empty()) return false;
    const char c0 = s[0];
    if (!((c0 >= 'A' && c0 <= 'Z') || (c0 >= 'a' && c0 <= 'z') || (c0 >= '0' && c0 <= '9') || c0 == '/' || c0 == '_' ||
          c0 == '.'))
        return false;
    for (char c : s)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              std::string("_./:@+-").find(c) != std::string::npos))
            return false;
    if (s.back() == ':') return false;
    // YAML 1.1 would read these as booleans or null.
    static const std::set<std::string> special = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"};
    return !special.count(lower(s));
}

std::string yq(const std::string& s) { return double_quoted(s); }

std::string ys(const std::string& s) { return plain_ok(s) ? s : yq(s); }

// ---- the conversion ----

const std::vector<std::string> kOurSchedulers = {"rr", "wrr", "lc", "wlc", "sh", "mh"};
const std::vector<std::string> kOtherSchedulers = {"lblc", "lblcr", "dh", "sed", "nq", "fo", "ovf", "twos"};

// Keywords known not to carry over, with the reason the warning gives.
const std::map<std::string, std::string> kNoEmail = {
    {"notification_email", ""}, {"notification_email_from", ""}, {"smtp_server", ""},
    {"smtp_helo_name", ""},     {"smtp_connect_timeout", ""},    {"smtp_alert", ""},
    {"smtp_alert_vrrp", ""},    {"smtp_alert_checker", ""},      {"no_email_faults", ""}};

std::string reason_for(const std::string& kw) {
    if (kNoEmail.count(kw)) return " (dplb has no e-mail notification)";
    if (kw == "router_id") return " (keepalived uses it in e-mails and logs only)";
    if (kw.rfind("notify", 0) == 0 || kw == "quorum_up" || kw == "quorum_down")
        return " (dplb runs no notification scripts)";
    if (kw == "vrrp_script" || kw == "track_script")
        return " (dplb runs no VRRP scripts; track_services puts an instance in FAULT while every real "
               "server of a service is down)";
    if (kw == "vrrp_sync_group") return " (dplb has no sync groups; each instance fails over on its own)";
    if (kw == "virtual_server_group")
        return " (dplb has no virtual server groups; write one virtual_server per address)";
    if (kw == "static_ipaddress" || kw == "static_routes" || kw == "static_rules")
        return " (dplb does not manage kernel addresses, routes or rules)";
    if (kw == "unicast_peer" || kw == "unicast_src_ip" || kw == "unicast_ttl" || kw == "mcast_src_ip")
        return " (dplb sends VRRP adverts to the multicast group, from the port's own address)";
    if (kw == "sorry_server" || kw == "sorry_server_inhibit" || kw == "sorry_server_lvs_method")
        return " (dplb has no sorry server)";
    if (kw == "quorum" || kw == "hysteresis") return " (dplb has no quorum)";
    if (kw == "persistence_granularity" || kw == "persistence_engine")
        return " (dplb keeps persistence per client address)";
    if (kw == "SMTP_CHECK" || kw == "DNS_CHECK" || kw == "BFD_CHECK" || kw == "UDP_CHECK" || kw == "PING_CHECK" ||
        kw == "FILE_CHECK")
        return " (dplb checks with TCP_CHECK, HTTP_GET and MISC_CHECK only)";
    if (kw == "virtualhost") return " (dplb's HTTP check sends no virtual host)";
    if (kw == "connect_ip" || kw == "bindto" || kw == "bind_port" || kw == "bind_if" || kw == "fwmark")
        return " (dplb checks a real server at its own address, from the director's)";
    if (kw == "regex" || kw == "regex_no_match" || kw == "regex_options" || kw == "regex_stack" ||
        kw == "regex_min_offset" || kw == "regex_max_offset")
        return " (dplb's HTTP check matches status codes and digest only)";
    if (kw == "user" || kw == "script_user" || kw == "enable_script_security")
        return " (dplb runs scripts as its own user)";
    return "";
}

class Importer {
public:
    Importer(Messages& msgs, std::string name) : msgs_(msgs), v_(msgs), name_(std::move(name)) {}

    void run(const std::vector<Stmt>& top) {
        // Defaults in global_defs apply wherever they sit in the file, and vrrp_instance needs to
        // know the service vips, so: global_defs, then virtual_servers, then vrrp_instances.
        std::vector<const Stmt*> instances;
        for (const Stmt& s : top)
            if (s.kw().text == "global_defs" && s.has_block) global_defs(s);
        for (const Stmt& s : top) {
            const std::string& kw = s.kw().text;
            if (kw == "global_defs") {
                if (!s.has_block)
                    msgs_.error(s.line(), s.kw().col, "global_defs: expected a block (\"global_defs {\")");
            } else if (kw == "virtual_server") {
                virtual_server(s);
            } else if (kw == "vrrp_instance") {
                instances.push_back(&s);
            } else if (kw.rfind("include", 0) == 0 && kw.size() <= 8) {
                msgs_.warn(s.line(), s.head() +
                                         ": not followed (merge the included files into this one and "
                                         "convert that)");
            } else {
                not_converted(s);
            }
        }
        check_real_addresses();
        for (const Stmt* s : instances) vrrp_instance(*s);
        check_limits();
    }

    std::string yaml() const;
    bool has_services() const { return !services_.empty(); }
    // The ports to write, one per interface the kept instances use, each with its warning.
    void collect_ports();

private:
    // "KEYWORD [NAME]: not converted (reason)", once for a whole block.
    void not_converted(const Stmt& s, const std::string& reason = "") {
        msgs_.warn(s.line(), s.head() + ": not converted" + (reason.empty() ? reason_for(s.kw().text) : reason));
    }

    // Names become names in the YAML (instances, ports), which may hold no control characters.
    bool name_ok(const Word& w, const std::string& kw) {
        if (!has_control_char(w.text)) return true;
        msgs_.error(w.line, w.col, kw + ": expected a name without control characters, got " + q(w.text));
        return false;
    }

    bool need_block(const Stmt& s, const std::string& form) {
        if (s.has_block) return true;
        msgs_.error(s.line(), s.kw().col, s.kw().text + ": expected a block (\"" + form + " {\")");
        return false;
    }

    void global_defs(const Stmt& g) {
        std::map<std::string, int> seen;
        for (const Stmt& s : g.block) {
            const std::string& kw = s.kw().text;
            if (kw == "vrrp_version") {
                v_.once(s, seen);
                if (auto v = v_.integer(s, 2, 3)) vrrp_version_ = *v;
            } else if (kw == "vrrp_garp_master_delay") {
                v_.once(s, seen);
                if (auto v = v_.seconds(s, 0, kMaxGarpDelayS)) garp_delay_ = *v;
            } else if (kw == "vrrp_garp_master_repeat") {
                v_.once(s, seen);
                if (auto v = v_.integer(s, 1, 255)) garp_repeat_ = *v;
            } else if (kw == "lvs_timeouts") {
                v_.once(s, seen);
                lvs_timeouts(s);
            } else {
                not_converted(s);
            }
        }
    }

    // lvs_timeouts [tcp SECS] [tcpfin SECS] [udp SECS]: ipvsadm --set, applied to every service.
    void lvs_timeouts(const Stmt& s) {
        if (s.words.size() < 3 || s.words.size() % 2 == 0) {
            msgs_.error(s.line(), s.kw().col,
                        "lvs_timeouts: expected \"lvs_timeouts [tcp SECS] [tcpfin SECS] [udp SECS]\"");
            return;
        }
        for (size_t i = 1; i + 1 < s.words.size(); i += 2) {
            const Word& k = s.words[i];
            const Word& val = s.words[i + 1];
            auto n = parse_uint(val.text, kMaxTimeoutS);
            if (k.text != "tcp" && k.text != "tcpfin" && k.text != "udp") {
                msgs_.error(k.line, k.col, "lvs_timeouts: expected tcp, tcpfin or udp, got " + q(k.text));
            } else if (!n || *n < 1) {
                msgs_.error(
                    val.line, val.col,
                    "lvs_timeouts: expected integer 1.." + std::to_string(kMaxTimeoutS) + ", got " + q(val.text));
            } else {
                timeouts_[k.text] = *n;
            }
        }
    }

    // Options that may sit at virtual_server, real_server and checker level alike.
    bool check_opt(const Stmt& s, CheckOpts& o, std::map<std::string, int>& seen) {
        const std::string& kw = s.kw().text;
        if (kw == "connect_timeout") {
            v_.once(s, seen);
            if (auto v = v_.seconds(s, 1, kMaxCheckS)) o.connect_timeout = v;
        } else if (kw == "retry" || kw == "nb_get_retry") {
            v_.once(s, seen);
            if (auto v = v_.integer(s, 0, kMaxCheckRetry)) o.retry = v;
        } else if (kw == "delay_before_retry") {
            v_.once(s, seen);
            if (auto v = v_.seconds(s, 0, kMaxCheckS)) o.delay_before_retry = v;
        } else if (kw == "warmup") {
            v_.once(s, seen);
            if (auto v = v_.seconds(s, 0, kMaxCheckS)) o.warmup = v;
        } else if (kw == "delay_loop") {
            v_.once(s, seen);
            if (auto v = v_.seconds(s, 1, kMaxTimeoutS)) {
                o.delay_loop = v;
                o.delay_loop_line = s.line();
            }
        } else if (kw == "alpha") {
            v_.once(s, seen);
            if (auto b = v_.flag(s)) o.alpha = b;
        } else if (kw == "inhibit_on_failure") {
            v_.once(s, seen);
            if (auto b = v_.flag(s)) o.inhibit_on_failure = b;
        } else {
            return false;
        }
        return true;
    }

    // lb_kind / lvs_method: dplb is Direct Routing only.
    void forwarding(const Stmt& s) {
        if (s.words.size() < 2) {
            msgs_.error(s.line(), s.kw().col, s.kw().text + ": missing value");
            return;
        }
        const Word& w = s.words[1];
        const std::string m = lower(w.text);
        if (m == "dr") {
            if (s.words.size() > 2) v_.one(s);
        } else if (m == "nat" || m == "tun") {
            msgs_.warn(s.line(), s.kw().text + " " + w.text +
                                     ": converted as DR (dplb forwards by Direct Routing only: each real server "
                                     "must hold the vip on a loopback and not answer ARP for it)");
        } else {
            msgs_.error(w.line, w.col, s.kw().text + ": expected DR, NAT or TUN, got " + q(w.text));
        }
    }

    // The IP and PORT of "virtual_server IP PORT" and "real_server IP PORT"; the port is
    // optional only where `portless_ok`, and is then 0.
    bool address_and_port(const Stmt& s, bool portless_ok, IpAddr& ip, uint16_t& port) {
        const std::string kw = s.kw().text;
        if (s.words.size() < 2) {
            msgs_.error(s.line(), s.kw().col, kw + ": missing address (expected \"" + kw + " IP PORT {\")");
            return false;
        }
        const Word& a = s.words[1];
        auto parsed = IpAddr::parse(a.text);
        if (!parsed) {
            msgs_.error(a.line, a.col, kw + ": expected an IPv4 or IPv6 address, got " + q(a.text));
            return false;
        }
        ip = *parsed;
        if (s.words.size() < 3) {
            if (portless_ok) {
                port = 0;
                return true;
            }
            msgs_.error(s.line(), s.kw().col, kw + " " + a.text + ": missing port (expected \"" + kw + " IP PORT {\")");
            return false;
        }
        const Word& p = s.words[2];
        auto n = parse_uint(p.text, 65535);
        if (!n) {
            msgs_.error(p.line, p.col, kw + " " + a.text + ": expected port 0..65535, got " + q(p.text));
            return false;
        }
        if (s.words.size() > 3) {
            msgs_.error(s.words[3].line, s.words[3].col,
                        kw + " " + a.text + " " + p.text + ": unexpected " + q(s.words[3].text));
            return false;
        }
        port = static_cast<uint16_t>(*n);
        return true;
    }

    void virtual_server(const Stmt& s) {
        const std::string arg1 = s.arg(1);
        if (arg1 == "fwmark") {
            not_converted(s, " (dplb does not match on firewall marks), nor are its real servers");
            return;
        }
        if (arg1 == "group") {
            not_converted(s, " (dplb has no virtual server groups), nor are its real servers");
            return;
        }
        if (!need_block(s, "virtual_server IP PORT")) return;
        OutService svc;
        svc.line = s.line();
        svc.head = s.head();
        // keepalived allows a virtual server without a port when it is persistent (all ports).
        bool persistent = std::any_of(s.block.begin(), s.block.end(),
                                      [](const Stmt& b) { return b.kw().text == "persistence_timeout"; });
        bool ok = address_and_port(s, persistent, svc.vip, svc.port);
        if (std::string why = ok ? vip_address_problem(svc.vip) : ""; !why.empty()) {
            msgs_.error(s.words[1].line, s.words[1].col,
                        "virtual_server: expected a unicast address clients can reach, got " + q(s.words[1].text) +
                            " (" + why + ")");
            ok = false;
        }

        // Pass 1: the service's own keys and the defaults it hands down; real servers come after,
        // since a default may follow them in the block.
        CheckOpts opts;
        std::map<std::string, int> seen;
        bool kind_seen = false;
        bool dropped = false;
        for (const Stmt& b : s.block) {
            const std::string& kw = b.kw().text;
            if (kw == "real_server") continue;
            if (check_opt(b, opts, seen)) continue;
            if (kw == "lb_algo" || kw == "lvs_sched") {
                v_.once(b, seen);
                const Word* w = v_.one(b);
                if (!w) continue;
                const std::string algo = lower(w->text);
                if (std::find(kOurSchedulers.begin(), kOurSchedulers.end(), algo) != kOurSchedulers.end()) {
                    svc.scheduler = algo;
                } else if (std::find(kOtherSchedulers.begin(), kOtherSchedulers.end(), algo) !=
                           kOtherSchedulers.end()) {
                    msgs_.warn(b.line(), kw + " " + w->text +
                                             ": converted as wlc (dplb schedules with rr, wrr, lc, "
                                             "wlc, sh and mh)");
                    svc.scheduler = "wlc";
                } else {
                    msgs_.error(w->line, w->col,
                                kw +
                                    ": expected one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, "
                                    "nq, fo, ovf, mh, twos, got " +
                                    q(w->text));
                }
            } else if (kw == "lb_kind" || kw == "lvs_method") {
                v_.once(b, seen);
                kind_seen = true;
                forwarding(b);
            } else if (kw == "protocol") {
                v_.once(b, seen);
                const Word* w = v_.one(b);
                if (!w) continue;
                const std::string p = lower(w->text);
                if (p == "tcp") {
                    svc.proto = kProtoTcp;
                } else if (p == "udp") {
                    svc.proto = kProtoUdp;
                } else if (p == "sctp") {
                    msgs_.warn(s.line(), svc.head +
                                             ": not converted (dplb balances TCP and UDP, not SCTP), "
                                             "nor are its real servers");
                    dropped = true;
                } else {
                    msgs_.error(w->line, w->col, "protocol: expected TCP, UDP or SCTP, got " + q(w->text));
                }
            } else if (kw == "persistence_timeout") {
                v_.once(b, seen);
                if (b.words.size() == 1)
                    svc.persistence = 360;  // keepalived: 6 minutes
                else if (auto v = v_.integer(b, 0, kMaxPersistenceS))
                    svc.persistence = v;
            } else {
                not_converted(b);
            }
        }
        if (opts.delay_loop) svc.delay_loop = opts.delay_loop;
        if (!kind_seen && ok && !dropped)
            msgs_.warn(s.line(), svc.head +
                                     ": no lb_kind, which keepalived takes as NAT; converted as DR (dplb "
                                     "forwards by Direct Routing only)");

        // Pass 2: the real servers.
        std::map<std::string, int> reals_seen;
        for (const Stmt& b : s.block) {
            if (b.kw().text != "real_server") continue;
            if (dropped || !ok) continue;
            OutReal r;
            if (!real_server(b, svc, opts, r)) continue;
            const std::string key = r.ip.str() + " " + std::to_string(r.port);
            auto [it, fresh] = reals_seen.emplace(key, b.line());
            if (!fresh) {
                msgs_.error(
                    b.line(), b.kw().col,
                    "real_server " + key + ": duplicate of the real_server at line " + std::to_string(it->second));
                continue;
            }
            svc.reals.push_back(std::move(r));
        }
        if (!ok || dropped) return;
        if (svc.reals.empty()) {
            msgs_.warn(s.line(), svc.head + ": not converted (it has no real_server, and dplb needs one)");
            return;
        }
        const std::string key =
            std::string(proto_name(svc.proto)) + " " + svc.vip.str() + " " + std::to_string(svc.port);
        auto [it, fresh] = services_seen_.emplace(key, s.line());
        if (!fresh) {
            msgs_.error(s.line(), s.kw().col,
                        svc.head + ": duplicate of the virtual_server at line " + std::to_string(it->second));
            return;
        }
        service_vips_.insert(svc.vip);
        services_.push_back(std::move(svc));
    }

    bool real_server(const Stmt& s, const OutService& svc, const CheckOpts& vs_opts, OutReal& r) {
        r.line = s.line();
        if (!address_and_port(s, svc.port == 0, r.ip, r.port)) return false;
        if (r.ip.family != svc.vip.family) {
            msgs_.error(s.words[1].line, s.words[1].col,
                        std::string("real_server: expected an ") + (svc.vip.is_v4() ? "IPv4" : "IPv6") +
                            " address like the virtual_server, got " + q(s.words[1].text));
            return false;
        }
        if (std::string why = real_address_problem(r.ip); !why.empty()) {
            msgs_.error(s.words[1].line, s.words[1].col,
                        "real_server: expected a unicast address, got " + q(s.words[1].text) + " (" + why + ")");
            return false;
        }
        r.ip_col = s.words[1].col;
        CheckOpts opts = vs_opts;
        CheckOpts own;
        std::map<std::string, int> seen;
        std::vector<const Stmt*> checkers;
        std::vector<const Stmt*> other_checkers;
        for (const Stmt& b : s.block) {
            const std::string& kw = b.kw().text;
            if (check_opt(b, own, seen)) continue;
            if (kw == "weight") {
                v_.once(b, seen);
                if (auto w = v_.integer(b, 0, 65535)) r.weight = w;
            } else if (kw == "lvs_method") {
                v_.once(b, seen);
                forwarding(b);
            } else if (kw == "TCP_CHECK" || kw == "HTTP_GET" || kw == "SSL_GET" || kw == "MISC_CHECK") {
                checkers.push_back(&b);
            } else if (kw.size() > 6 && kw.compare(kw.size() - 6, 6, "_CHECK") == 0) {
                other_checkers.push_back(&b);
            } else {
                not_converted(b);
            }
        }
        // A real whose checks all go is not checked at all: say so where it happens.
        for (const Stmt* c : other_checkers)
            not_converted(*c, std::string(reason_for(c->kw().text)) +
                                  (checkers.empty() ? "; the real server is left without a check (always up)" : ""));
        opts.overlay(own);
        r.inhibit_on_failure = opts.inhibit_on_failure;
        const uint32_t delay_loop = svc.delay_loop.value_or(kDefaultDelayLoopS);
        if (own.delay_loop && *own.delay_loop != delay_loop) warn_delay_loop(own, delay_loop);
        for (size_t i = 0; i < checkers.size(); i++) {
            if (i == 0) {
                r.check = checker(*checkers[0], r, opts, delay_loop);
            } else {
                msgs_.warn(checkers[i]->line(), checkers[i]->kw().text +
                                                    ": not converted (dplb runs one check per "
                                                    "real server; the " +
                                                    checkers[0]->kw().text + " at line " +
                                                    std::to_string(checkers[0]->line()) + " is used)");
            }
        }
        return true;
    }

    void warn_delay_loop(const CheckOpts& o, uint32_t service_delay_loop) {
        msgs_.warn(o.delay_loop_line, "delay_loop " + std::to_string(*o.delay_loop) +
                                          ": not converted (dplb checks every real server of a service at the "
                                          "service's delay_loop, " +
                                          std::to_string(service_delay_loop) + ")");
    }

    std::optional<OutCheck> checker(const Stmt& s, const OutReal& r, const CheckOpts& inherited, uint32_t delay_loop) {
        const std::string& kw = s.kw().text;
        if (!need_block(s, kw)) return std::nullopt;
        OutCheck c;
        c.line = s.line();
        c.keyword = kw;
        c.type = kw == "HTTP_GET" ? CheckType::http : kw == "MISC_CHECK" ? CheckType::misc : CheckType::tcp;
        if (kw == "SSL_GET")
            msgs_.warn(s.line(),
                       "SSL_GET: converted as a TCP check of the same port (dplb has no TLS check); its "
                       "urls are not checked");
        CheckOpts own;
        std::map<std::string, int> seen;
        std::vector<const Stmt*> urls;
        bool ok = true;
        for (const Stmt& b : s.block) {
            const std::string& k = b.kw().text;
            if (k == "inhibit_on_failure") {
                not_converted(b, " (it belongs to the real server)");
            } else if (check_opt(b, own, seen)) {
                continue;
            } else if (k == "connect_port" && kw != "MISC_CHECK") {
                v_.once(b, seen);
                if (auto p = v_.integer(b, 1, 65535))
                    c.connect_port = static_cast<uint16_t>(*p);
                else
                    ok = false;
            } else if (k == "url" && (kw == "HTTP_GET" || kw == "SSL_GET")) {
                urls.push_back(&b);
            } else if (k == "misc_path" && kw == "MISC_CHECK") {
                v_.once(b, seen);
                if (b.words.size() < 2) {
                    msgs_.error(b.line(), b.kw().col, "misc_path: missing value");
                    ok = false;
                } else {
                    std::string cmd;
                    for (size_t i = 1; i < b.words.size(); i++) cmd += (i > 1 ? " " : "") + b.words[i].text;
                    c.script = cmd;
                }
            } else if (k == "misc_timeout" && kw == "MISC_CHECK") {
                v_.once(b, seen);
                if (auto t = v_.seconds(b, 1, kMaxCheckS))
                    c.timeout = t;
                else
                    ok = false;
            } else if (k == "misc_dynamic" && kw == "MISC_CHECK") {
                v_.once(b, seen);
                if (auto d = v_.flag(b)) c.dynamic = *d;
            } else {
                not_converted(b);
            }
        }
        c.opts = inherited;
        c.opts.overlay(own);
        if (own.delay_loop && *own.delay_loop != delay_loop) warn_delay_loop(own, delay_loop);
        if (c.type == CheckType::http) {
            if (urls.empty()) {
                msgs_.error(s.line(), s.kw().col, "HTTP_GET: no url (expected \"url { path /PATH }\")");
                ok = false;
            }
            for (size_t i = 0; i < urls.size(); i++) {
                if (i == 0) {
                    ok = url(*urls[0], c) && ok;
                } else {
                    msgs_.warn(urls[i]->line(),
                               "url: not converted (dplb checks one URL per real server; the one at "
                               "line " +
                                   std::to_string(urls[0]->line()) + " is used)");
                }
            }
        }
        if (c.type == CheckType::misc) {
            if (c.script.empty() && ok) {
                msgs_.error(s.line(), s.kw().col, "MISC_CHECK: misc_path missing");
                ok = false;
            }
            // keepalived's MISC_CHECK defaults differ from dplb's misc ones: write them out.
            if (!c.opts.retry) c.opts.retry = 0;
            if (!c.opts.delay_before_retry) c.opts.delay_before_retry = 1;
            if (!c.timeout) c.timeout = delay_loop;
        }
        if (c.type != CheckType::misc && !c.connect_port && r.port == 0) {
            msgs_.error(s.line(), s.kw().col, kw + ": connect_port missing (the real server has no port to check)");
            ok = false;
        }
        if (!ok) return std::nullopt;
        return c;
    }

    bool url(const Stmt& u, OutCheck& c) {
        if (!need_block(u, "url")) return false;
        bool ok = true;
        bool path_seen = false;
        std::map<std::string, int> seen;
        for (const Stmt& b : u.block) {
            const std::string& k = b.kw().text;
            if (k == "path") {
                v_.once(b, seen);
                const Word* w = v_.one(b);
                if (!w) {
                    ok = false;
                } else if (w->text[0] != '/') {
                    msgs_.error(w->line, w->col, "path: expected a path starting with \"/\", got " + q(w->text));
                    ok = false;
                } else {
                    c.path = w->text;
                    path_seen = true;
                }
            } else if (k == "digest") {
                v_.once(b, seen);
                const Word* w = v_.one(b);
                if (w && w->text.size() == 32 &&
                    w->text.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos) {
                    c.digest = lower(w->text);
                } else {
                    if (w)
                        msgs_.error(w->line, w->col,
                                    "digest: expected an MD5 digest of 32 hex digits, got " + q(w->text));
                    ok = false;
                }
            } else if (k == "status_code") {
                v_.once(b, seen);
                c.status_codes.clear();
                if (b.words.size() < 2) {
                    msgs_.error(b.line(), b.kw().col, "status_code: missing value");
                    ok = false;
                }
                for (size_t i = 1; i < b.words.size(); i++) {
                    const Word& w = b.words[i];
                    if (status_item_ok(w.text)) {
                        c.status_codes.push_back(w.text);
                    } else {
                        msgs_.error(w.line, w.col,
                                    "status_code: expected a code 100..599 or a range like 200-299, got " + q(w.text));
                        ok = false;
                    }
                }
            } else {
                not_converted(b);
            }
        }
        if (!path_seen && ok) {
            msgs_.error(u.line(), u.kw().col, "url: path missing");
            ok = false;
        }
        // keepalived takes any 2xx when no status_code is given; dplb's default is 200 alone.
        if (c.status_codes.empty()) c.status_codes = {"200-299"};
        return ok;
    }

    static bool status_item_ok(const std::string& s) {
        auto code = [](const std::string& t) {
            return t.size() == 3 && t.find_first_not_of("0123456789") == std::string::npos && t >= "100" && t <= "599";
        };
        size_t dash = s.find('-');
        if (dash == std::string::npos) return code(s);
        return code(s.substr(0, dash)) && code(s.substr(dash + 1)) && s.substr(0, dash) <= s.substr(dash + 1);
    }

    // One line of virtual_ipaddress: IP[/LEN] [dev IF] [label L] [brd B] [scope S] ...
    void vip_line(const Stmt& l, OutVrrp& vi) {
        const Word& a = l.kw();
        const std::string addr = a.text.substr(0, a.text.find('/'));
        auto ip = IpAddr::parse(addr);
        if (!ip) {
            msgs_.error(a.line, a.col, "virtual_ipaddress: expected an IPv4 or IPv6 address, got " + q(a.text));
            return;
        }
        // Options of `ip address add` that only shape the kernel address keepalived would add.
        std::string dropped;
        for (size_t i = 1; i < l.words.size(); i++) {
            const std::string& opt = l.words[i].text;
            const bool takes_value = opt == "dev" || opt == "label" || opt == "brd" || opt == "scope" ||
                                     opt == "peer" || opt == "preferred_lft" || opt == "track_group";
            std::string val = takes_value && i + 1 < l.words.size() ? l.words[++i].text : "";
            if (opt == "dev" && val == vi.interface) continue;
            dropped += (dropped.empty() ? "" : ", ") + opt + (val.empty() ? "" : " " + val);
        }
        if (!service_vips_.count(*ip)) {
            msgs_.warn(l.line(), "virtual_ipaddress " + addr +
                                     ": not converted (no virtual_server has this address; dplb announces the "
                                     "vips of its services only)");
            return;
        }
        if (!dropped.empty())
            msgs_.warn(l.line(), "virtual_ipaddress " + addr + ": " + dropped +
                                     " not converted (dplb announces the address on the instance's interface and "
                                     "adds no kernel address)");
        auto owner = vip_owner_.find(ip->str());
        if (owner != vip_owner_.end()) {
            msgs_.warn(l.line(),
                       "virtual_ipaddress " + addr + ": not converted (already announced by " + owner->second + ")");
            return;
        }
        if (!vi.vip_set.insert(*ip).second) {
            msgs_.warn(l.line(), "virtual_ipaddress " + addr + ": given again; not converted twice");
            return;
        }
        vi.vips.push_back({*ip, l.line()});
    }

    void vrrp_instance(const Stmt& s) {
        if (s.words.size() < 2) {
            msgs_.error(s.line(), s.kw().col, "vrrp_instance: missing name (expected \"vrrp_instance NAME {\")");
            return;
        }
        if (!need_block(s, "vrrp_instance NAME")) return;
        OutVrrp vi;
        vi.line = s.line();
        vi.col = s.kw().col;
        vi.name = s.arg(1);
        const std::string label = "vrrp_instance " + vi.name;
        bool ok = name_ok(s.words[1], "vrrp_instance");
        std::map<std::string, int> seen;
        std::vector<const Stmt*> vip_blocks;
        // interface first: virtual_ipaddress lines compare their dev with it.
        for (const Stmt& b : s.block)
            if (b.kw().text == "interface") {
                v_.once(b, seen);
                if (const Word* w = v_.one(b); w && name_ok(*w, "interface")) {
                    vi.interface = w->text;
                    vi.interface_line = b.line();
                } else {
                    ok = false;
                }
            }
        for (const Stmt& b : s.block) {
            const std::string& kw = b.kw().text;
            if (kw == "interface") continue;
            if (kw == "state") {
                v_.once(b, seen);
                const Word* w = v_.one(b);
                if (!w) continue;
                const std::string st = lower(w->text);
                if (st == "master" || st == "backup")
                    vi.state = st == "master" ? "MASTER" : "BACKUP";
                else
                    msgs_.error(w->line, w->col, "state: expected MASTER or BACKUP, got " + q(w->text));
            } else if (kw == "virtual_router_id") {
                v_.once(b, seen);
                vi.vrid = v_.integer(b, 1, 255);
                vi.vrid_line = b.line();
                vi.vrid_col = b.kw().col;
                ok = ok && vi.vrid.has_value();
            } else if (kw == "priority") {
                v_.once(b, seen);
                if (auto p = v_.integer(b, 1, 255)) vi.priority = p;
            } else if (kw == "advert_int") {
                v_.once(b, seen);
                const Word* w = v_.one(b);
                if (!w) continue;
                auto us = parse_timer(w->text);
                if (!us || *us == 0 || *us > 255000000ull) {
                    msgs_.error(w->line, w->col, "advert_int: expected seconds 0.01..255, got " + q(w->text));
                    continue;
                }
                vi.advert_us = static_cast<uint32_t>(*us);
                vi.advert_line = b.line();
            } else if (kw == "version") {
                v_.once(b, seen);
                if (auto v = v_.integer(b, 2, 3)) {
                    vi.version = v;
                    vi.version_line = b.line();
                }
            } else if (kw == "nopreempt") {
                v_.once(b, seen);
                vi.preempt = false;
            } else if (kw == "preempt") {
                v_.once(b, seen);
                vi.preempt = true;
            } else if (kw == "preempt_delay") {
                v_.once(b, seen);
                if (auto d = v_.seconds(b, 0, kMaxPreemptDelayS)) vi.preempt_delay = d;
            } else if (kw == "garp_master_delay") {
                v_.once(b, seen);
                if (auto d = v_.seconds(b, 0, kMaxGarpDelayS)) vi.garp_delay = d;
            } else if (kw == "garp_master_repeat") {
                v_.once(b, seen);
                if (auto d = v_.integer(b, 1, 255)) vi.garp_repeat = d;
            } else if (kw == "authentication") {
                v_.once(b, seen);
                if (need_block(b, "authentication")) authentication(b, vi);
            } else if (kw == "virtual_ipaddress" || kw == "virtual_ipaddress_excluded") {
                if (!need_block(b, kw)) continue;
                if (kw == "virtual_ipaddress_excluded")
                    msgs_.warn(b.line(),
                               "virtual_ipaddress_excluded: converted into virtual_ipaddresses (dplb "
                               "lists every address in its adverts)");
                vip_blocks.push_back(&b);
            } else if (kw == "track_interface") {
                if (!need_block(b, kw)) continue;
                for (const Stmt& t : b.block) {
                    if (!name_ok(t.kw(), "track_interface")) {
                        ok = false;
                        continue;
                    }
                    vi.track.push_back({t.kw().text, t.line()});
                    // "eth1 weight -20": the same weight, keepalived's meaning (priority moves instead of FAULT)
                    if (t.words.size() == 3 && t.words[1].text == "weight") {
                        const std::string& w = t.words[2].text;
                        bool neg = !w.empty() && w[0] == '-';
                        std::string digits = neg ? w.substr(1) : w;
                        if (!digits.empty() && digits.size() <= 3 && digits[0] != '0' &&
                            digits.find_first_not_of("0123456789") == std::string::npos && std::stoi(digits) <= 253)
                            vi.track_weights[t.kw().text] = neg ? -std::stoi(digits) : std::stoi(digits);
                        else
                            msgs_.warn(t.line(), "track_interface " + t.head() + ": weight must be -253..-1 or "
                                                 "1..253; tracked without a weight (FAULT while down)");
                    } else if (t.words.size() > 1) {
                        msgs_.warn(t.line(), "track_interface " + t.head() + ": only \"weight N\" is understood; "
                                             "tracked without a weight (FAULT while down)");
                    }
                    if (t.has_block) not_converted(t);
                }
            } else {
                not_converted(b);
            }
        }
        if (vi.interface.empty() && ok) {
            msgs_.error(s.line(), s.kw().col, label + ": interface missing (dplb runs an instance on a port)");
            ok = false;
        }
        if (!vi.vrid && !seen.count("virtual_router_id")) {
            msgs_.error(s.line(), s.kw().col, label + ": virtual_router_id missing");
            ok = false;
        }
        if (names_seen_.count(vi.name)) {
            msgs_.error(s.line(), s.words[1].col,
                        label + ": duplicate name, first at line " + std::to_string(names_seen_[vi.name]));
            ok = false;
        }
        names_seen_.emplace(vi.name, s.line());
        for (const Stmt* vb : vip_blocks)
            for (const Stmt& l : vb->block) vip_line(l, vi);
        if (!ok) return;
        if (vi.vips.empty()) {
            msgs_.warn(s.line(), label +
                                     ": not converted (none of its virtual addresses is the vip of a "
                                     "converted virtual_server)");
            return;
        }
        finish_vrrp(vi, label);
    }

    void authentication(const Stmt& a, OutVrrp& vi) {
        std::map<std::string, int> seen;
        std::optional<std::string> type;
        std::optional<std::string> pass;
        int pass_line = a.line();
        for (const Stmt& b : a.block) {
            const std::string& kw = b.kw().text;
            if (kw == "auth_type") {
                v_.once(b, seen);
                if (const Word* w = v_.one(b)) {
                    const std::string t = lower(w->text);
                    if (t == "pass" || t == "ah")
                        type = t;
                    else
                        msgs_.error(w->line, w->col, "auth_type: expected PASS or AH, got " + q(w->text));
                }
            } else if (kw == "auth_pass") {
                v_.once(b, seen);
                if (b.words.size() < 2) {
                    msgs_.error(b.line(), b.kw().col, "auth_pass: missing value");
                } else {
                    pass = b.words[1].text;  // keepalived reads the first word
                    pass_line = b.line();
                    if (b.words.size() > 2) v_.one(b);
                }
            } else {
                not_converted(b);
            }
        }
        vi.auth_seen = true;
        vi.auth_line = a.line();
        if (type && *type == "ah") {
            msgs_.warn(a.line(),
                       "auth_type AH: not converted (dplb supports PASS only); the instance runs without "
                       "authentication");
            return;
        }
        if (!pass) {
            if (type) msgs_.error(a.line(), a.kw().col, "authentication: auth_pass missing");
            return;
        }
        if (pass->empty()) {
            msgs_.error(pass_line, a.kw().col, "auth_pass: empty password");
            return;
        }
        if (pass->size() > kMaxAuthPass)
            msgs_.warn(pass_line, "auth_pass: only its first 8 characters are used, as keepalived does");
        vi.auth_pass = *pass;
    }

    void finish_vrrp(OutVrrp& vi, const std::string& label) {
        // keepalived runs IPv6 instances as VRRPv3 whatever the version says.
        const bool v6 = std::all_of(vi.vips.begin(), vi.vips.end(), [](const auto& v) { return v.first.is_v6(); });
        uint32_t version = vi.version.value_or(vrrp_version_);
        if (v6 && version == 2) {
            if (vi.version)
                msgs_.warn(vi.version_line, "version 2: converted as 3 (IPv6 runs VRRPv3, as keepalived does)");
            version = 3;
        }
        vi.version = version;
        if (vi.advert_us) {
            const uint32_t us = *vi.advert_us;
            if (version == 2) {
                uint32_t s = (us + 999999) / 1000000;
                if (us % 1000000)
                    msgs_.warn(vi.advert_line, "advert_int " + format_centiseconds(us / 10000) + ": rounded up to " +
                                                   std::to_string(s) + " second" + (s == 1 ? "" : "s") +
                                                   " (VRRPv2 counts whole seconds)");
                vi.advert_us = s * 1000000;
            } else {
                uint32_t cs = (us + 9999) / 10000;
                if (us % 10000)
                    msgs_.warn(vi.advert_line,
                               "advert_int: rounded up to " + format_centiseconds(cs) + " seconds (VRRPv3 counts centiseconds)");
                if (cs > kMaxAdvertIntV3Cs) {
                    msgs_.error(vi.advert_line, 1,
                                "advert_int: at most " + format_centiseconds(kMaxAdvertIntV3Cs) + " seconds with VRRPv3, got " +
                                    format_centiseconds(cs));
                    return;
                }
                vi.advert_us = cs * 10000;
            }
        }
        if (vi.auth_seen && version == 3 && vi.auth_pass) {
            msgs_.warn(vi.auth_line, "authentication: not converted (VRRPv3 has no authentication)");
            vi.auth_pass.reset();
        }
        if (!vi.garp_delay) vi.garp_delay = garp_delay_;
        if (!vi.garp_repeat) vi.garp_repeat = garp_repeat_;
        // VRRP routers are told apart by interface, router id and family.
        std::set<uint8_t> families;
        for (const auto& v : vi.vips) families.insert(v.first.family);
        for (uint8_t fam : families) {
            const std::string key = vi.interface + " " + std::to_string(*vi.vrid) + (fam == 4 ? " IPv4" : " IPv6");
            auto [it, fresh] = vrids_seen_.emplace(key, label + " at line " + std::to_string(vi.line));
            if (!fresh) {
                msgs_.error(vi.vrid_line, vi.vrid_col,
                            "virtual_router_id " + std::to_string(*vi.vrid) + ": already used on " + vi.interface +
                                " for " + (fam == 4 ? "IPv4" : "IPv6") + " by " + it->second);
                return;
            }
        }
        for (const auto& v : vi.vips) vip_owner_.emplace(v.first.str(), label + " at line " + std::to_string(vi.line));
        instances_.push_back(std::move(vi));
    }

    // A real server is a host of its own, never the address of a virtual_server (a director answers
    // for that one).
    void check_real_addresses() {
        std::map<IpAddr, int> vip_line;  // vip -> line of the first virtual_server with it
        for (const OutService& svc : services_) vip_line.emplace(svc.vip, svc.line);
        for (const OutService& svc : services_)
            for (const OutReal& r : svc.reals) {
                const std::string got = "real_server: expected the real server's own address, got ";
                if (r.ip == svc.vip)
                    msgs_.error(r.line, r.ip_col,
                                got + "the virtual_server's address " + q(r.ip.str()) + " (" + kRealHoldsVip + ")");
                else if (auto v = vip_line.find(r.ip); v != vip_line.end())
                    msgs_.error(r.line, r.ip_col,
                                got + q(r.ip.str()) + ", the address of the virtual_server at line " +
                                    std::to_string(v->second) + " (a director answers for it)");
            }
    }

    void check_limits() {
        if (services_.size() > kMaxServices)
            msgs_.error(
                services_[kMaxServices].line, 1,
                services_[kMaxServices].head + ": dplb takes at most " + std::to_string(kMaxServices) + " services");
        size_t reals = 0;
        for (const OutService& s : services_)
            for (const OutReal& r : s.reals)
                if (++reals == kMaxDests + 1)
                    msgs_.error(r.line, 1,
                                "real_server " + r.ip.str() + ": dplb takes at most " + std::to_string(kMaxDests) +
                                    " real servers over all services");
    }

    Messages& msgs_;
    Values v_;
    std::string name_;
    uint32_t vrrp_version_ = 2;
    std::optional<uint32_t> garp_delay_, garp_repeat_;
    std::map<std::string, uint32_t> timeouts_;  // lvs_timeouts: tcp, tcpfin, udp
    std::vector<OutService> services_;
    std::set<IpAddr> service_vips_;  // the vips of services_
    std::map<std::string, int> services_seen_;
    std::vector<OutVrrp> instances_;
    std::map<std::string, int> names_seen_;
    std::map<std::string, std::string> vrids_seen_;
    std::map<std::string, std::string> vip_owner_;
    std::vector<std::pair<std::string, int>> ports_;  // interface, line of first use
};

void Importer::collect_ports() {
    for (const OutVrrp& vi : instances_) {
        std::vector<std::pair<std::string, int>> uses{{vi.interface, vi.interface_line}};
        uses.insert(uses.end(), vi.track.begin(), vi.track.end());
        for (const auto& [iface, line] : uses) {
            auto it = std::find_if(ports_.begin(), ports_.end(), [&](const auto& p) { return p.first == iface; });
            if (it == ports_.end())
                ports_.push_back({iface, line});
            else if (line < it->second)
                it->second = line;
        }
    }
    std::stable_sort(ports_.begin(), ports_.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    for (size_t i = 0; i < ports_.size(); i++) {
        const std::string dev = "net_af_packet" + std::to_string(i);
        msgs_.warn(ports_[i].second, "interface " + ports_[i].first + ": becomes port " + q(ports_[i].first) +
                                         " on device " + dev + "; run dplbd with --vdev " + dev +
                                         ",iface=" + ports_[i].first +
                                         " or set device to the NIC's PCI address, and list the director's own "
                                         "address on it under addresses");
    }
    if (ports_.empty())
        msgs_.warn_file(
            "no vrrp_instance names an interface: wrote port \"lan0\" on device net_af_packet0; set "
            "device to the NIC the virtual servers are reached on");
}

std::string Importer::yaml() const {
    std::string y = "# Converted from " + name_ + " by dplb's keepalived import. Read its warnings before use.\n";
    y += "ports:\n";
    if (ports_.empty()) {
        y += "  - name: lan0\n    device: net_af_packet0\n";
    } else {
        for (size_t i = 0; i < ports_.size(); i++)
            y += "  - name: " + ys(ports_[i].first) + "\n    device: net_af_packet" + std::to_string(i) + "\n";
    }
    y += "services:\n";
    auto num = [](uint32_t v) { return std::to_string(v); };
    for (const OutService& s : services_) {
        y += "  # " + name_ + ":" + std::to_string(s.line) + ": " + s.head + "\n";
        y += "  - vip: " + ys(s.vip.str()) + "\n";
        y += "    port: " + num(s.port) + "\n";
        y += std::string("    protocol: ") + (s.proto == kProtoUdp ? "udp" : "tcp") + "\n";
        if (s.scheduler) y += "    scheduler: " + *s.scheduler + "\n";
        if (s.persistence) y += "    persistence_timeout: " + num(*s.persistence) + "\n";
        if (s.delay_loop) y += "    delay_loop: " + num(*s.delay_loop) + "\n";
        std::vector<std::pair<std::string, uint32_t>> t;
        if (s.proto == kProtoTcp && timeouts_.count("tcp")) t.push_back({"established", timeouts_.at("tcp")});
        if (s.proto == kProtoTcp && timeouts_.count("tcpfin")) t.push_back({"fin_wait", timeouts_.at("tcpfin")});
        if (s.proto == kProtoUdp && timeouts_.count("udp")) t.push_back({"udp", timeouts_.at("udp")});
        if (!t.empty()) {
            y += "    timeouts:\n";
            for (const auto& [k, v] : t) y += "      " + k + ": " + num(v) + "\n";
        }
        y += "    real_servers:\n";
        for (const OutReal& r : s.reals) {
            y += "      - ip: " + ys(r.ip.str()) + "\n";
            if (r.port != s.port) y += "        port: " + num(r.port) + "\n";
            if (r.weight) y += "        weight: " + num(*r.weight) + "\n";
            if (r.inhibit_on_failure)
                y += std::string("        inhibit_on_failure: ") + (*r.inhibit_on_failure ? "true" : "false") + "\n";
            if (!r.check) continue;
            const OutCheck& c = *r.check;
            const std::string in = "          ";
            y += "        health_check:\n";
            y += in + "type: " +
                 (c.type == CheckType::http   ? "http"
                  : c.type == CheckType::misc ? "misc"
                                              : "tcp") +
                 "\n";
            if (c.opts.connect_timeout) y += in + "connect_timeout: " + num(*c.opts.connect_timeout) + "\n";
            if (c.opts.retry) y += in + "retry: " + num(*c.opts.retry) + "\n";
            if (c.opts.delay_before_retry) y += in + "delay_before_retry: " + num(*c.opts.delay_before_retry) + "\n";
            if (c.opts.warmup) y += in + "warmup: " + num(*c.opts.warmup) + "\n";
            if (c.opts.alpha) y += in + "alpha: " + (*c.opts.alpha ? "true" : "false") + "\n";
            if (c.connect_port) y += in + "connect_port: " + num(*c.connect_port) + "\n";
            if (c.type == CheckType::http) {
                y += in + "path: " + ys(c.path) + "\n";
                y += in + "status_codes: [";
                for (size_t i = 0; i < c.status_codes.size(); i++) y += (i ? ", " : "") + c.status_codes[i];
                y += "]\n";
                if (!c.digest.empty()) y += in + "digest: " + c.digest + "\n";
            }
            if (c.type == CheckType::misc) {
                y += in + "script: " + yq(c.script) + "\n";
                y += in + "timeout: " + num(*c.timeout) + "\n";
                if (c.dynamic) y += in + "dynamic: true\n";
            }
        }
    }
    if (!instances_.empty()) y += "vrrp_instances:\n";
    for (const OutVrrp& vi : instances_) {
        y += "  # " + name_ + ":" + std::to_string(vi.line) + ": vrrp_instance " + vi.name + "\n";
        y += "  - name: " + ys(vi.name) + "\n";
        y += "    interface: " + ys(vi.interface) + "\n";
        if (vi.state) y += "    state: " + *vi.state + "\n";
        y += "    virtual_router_id: " + num(*vi.vrid) + "\n";
        if (vi.priority) y += "    priority: " + num(*vi.priority) + "\n";
        if (vi.advert_us) y += "    advert_int: " + format_centiseconds(*vi.advert_us / 10000) + "\n";
        if (*vi.version != 2) y += "    version: " + num(*vi.version) + "\n";
        if (vi.preempt) y += std::string("    preempt: ") + (*vi.preempt ? "true" : "false") + "\n";
        if (vi.preempt_delay) y += "    preempt_delay: " + num(*vi.preempt_delay) + "\n";
        if (vi.auth_pass) y += "    authentication:\n      type: PASS\n      password: " + yq(*vi.auth_pass) + "\n";
        y += "    virtual_ipaddresses:\n";
        for (const auto& v : vi.vips) y += "      - " + ys(v.first.str()) + "\n";
        if (!vi.track.empty()) {
            y += "    track_interfaces:\n";
            std::set<std::string> done;
            for (const auto& t : vi.track) {
                if (!done.insert(t.first).second) continue;
                auto w = vi.track_weights.find(t.first);
                if (w == vi.track_weights.end()) y += "      - " + ys(t.first) + "\n";
                else y += "      - {name: " + ys(t.first) + ", weight: " + std::to_string(w->second) + "}\n";
            }
        }
        if (vi.garp_delay) y += "    garp_master_delay: " + num(*vi.garp_delay) + "\n";
        if (vi.garp_repeat) y += "    garp_master_repeat: " + num(*vi.garp_repeat) + "\n";
    }
    return y;
}

}  // namespace

ImportResult import_keepalived(const std::string& text, const std::string& name) {
    Messages msgs(name);
    Parser parser(msgs);
    lex(text, msgs, parser);
    const std::vector<Stmt> top = parser.finish();
    if (msgs.has_errors()) throw ConfigError(msgs.errors());
    Importer imp(msgs, name);
    imp.run(top);
    if (msgs.has_errors()) throw ConfigError(msgs.errors());
    if (!imp.has_services())
        throw ConfigError({name + ": no virtual_server could be converted, and dplb needs at least one"});
    imp.collect_ports();
    ImportResult out{imp.yaml(), msgs.warnings()};
    // The promise of this function; a failure here is a bug in the import, said as such.
    try {
        load_config_string(out.yaml, name + " (converted)");
    } catch (const ConfigError& e) {
        std::vector<std::string> errs{name + ": the converted configuration does not load (a bug in the import):"};
        errs.insert(errs.end(), e.errors.begin(), e.errors.end());
        throw ConfigError(errs);
    }
    return out;
}

}  // namespace dplb::config
