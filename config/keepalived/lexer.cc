#include "keepalived/lexer.h"

namespace dplb::config::keepalived {

void lex(const std::string& text, Messages& msgs, TokenSink& sink) {
    bool stopped = false;
    auto emit = [&](Tok kind, const Word& w) { stopped = stopped || !sink.token(kind, w); };
    int lineno = 0;
    size_t pos = 0;
    while (pos <= text.size() && !stopped) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        lineno++;
        if (!line.empty() && line.back() == '\r') line.pop_back();
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

}  // namespace dplb::config::keepalived
