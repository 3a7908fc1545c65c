// Tokens -> the tree of statements and blocks: the second of the import's steps, where unbalanced braces
// are found.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "keepalived/lexer.h"
#include "keepalived/messages.h"

namespace dplb::config::keepalived {

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
class Parser : public TokenSink {
public:
    explicit Parser(Messages& msgs) : msgs_(msgs) {}

    // false once the parse has stopped (blocks nested too deep): the rest of the file is not read.
    bool token(Tok kind, const Word& w) override;
    // The tree; empty when the braces do not balance or nest too deep (reported).
    std::vector<Stmt> finish();

private:
    void flush();
    bool open_block(const Word& brace);
    void close_block(const Word& brace);
    static bool deeper_than_keyword(const Close& c);
    void report_unclosed();

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

}  // namespace dplb::config::keepalived
