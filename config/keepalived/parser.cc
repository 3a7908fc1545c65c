#include "keepalived/parser.h"

#include <utility>

namespace dplb::config::keepalived {

bool Parser::token(Tok kind, const Word& w) {
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

std::vector<Stmt> Parser::finish() {
    flush();
    if (stopped_) return {};
    if (!open_.empty()) {
        report_unclosed();
        ok_ = false;
    }
    if (!ok_) top_.clear();
    return std::move(top_);
}

void Parser::flush() {
    if (pending_.empty()) return;
    Stmt s;
    s.words = std::move(pending_);
    pending_.clear();
    level_.back()->push_back(std::move(s));
}

bool Parser::open_block(const Word& brace) {
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

void Parser::close_block(const Word& brace) {
    flush();
    if (open_.empty()) {
        // A "}" indented deeper than its block's keyword was probably the one too many. The search
        // resumes where the last one stopped, so that many "}"s cost one pass over closes_.
        while (hint_checked_ < closes_.size() && !deeper_than_keyword(closes_[hint_checked_])) hint_checked_++;
        std::string hint;
        if (hint_checked_ < closes_.size())
            hint = ", probably the one at " + msgs_.line_ref(closes_[hint_checked_].brace.line);
        msgs_.error(brace.line, brace.col, "\"}\" closes no block (one \"}\" too many" + hint + ")");
        ok_ = false;
        return;
    }
    closes_.push_back({open_.back()->head(), open_.back()->kw(), brace});
    open_.pop_back();
    level_.pop_back();
}

bool Parser::deeper_than_keyword(const Close& c) { return c.brace.first && c.brace.vcol > c.kw.vcol; }

void Parser::report_unclosed() {
    // Each missing "}" leaves one block open at the end, but it is seldom the block that lacks
    // it: the "}"s that follow close the wrong blocks one by one. A "}" indented less than the
    // keyword of the block it closes belongs to an outer block, so the block it closed is the
    // one without its own.
    size_t missing = open_.size();
    for (const Close& c : closes_) {
        if (missing == 0) break;
        if (!c.brace.first || c.brace.vcol >= c.kw.vcol) continue;
        msgs_.error(c.kw.line, c.kw.col,
                    c.head + ": \"{\" is never closed (missing \"}\", probably before " +
                        msgs_.line_ref(c.brace.line) + ")");
        missing--;
    }
    for (size_t k = 0; k < missing; k++) {
        const Stmt* s = open_[open_.size() - 1 - k];
        msgs_.error(s->line(), s->kw().col,
                    s->head() + ": \"{\" is never closed (missing \"}\" at the end of the file)");
    }
}

}  // namespace dplb::config::keepalived
