// keepalived.conf as words with their positions: the first of the import's steps.
#pragma once

#include <string>

#include "keepalived/messages.h"

namespace dplb::config::keepalived {

struct Word {
    std::string text;
    int line = 0;
    int col = 0;         // 1-based byte column, for messages
    int vcol = 0;        // visual column with tabs every 8, for comparing indentation
    bool first = false;  // the first token on its line
};

enum class Tok { word, open, close, eol };

// Where the lexer's tokens go, one at a time.
class TokenSink {
public:
    // false: stop, the rest of the text is not wanted.
    virtual bool token(Tok kind, const Word& w) = 0;

protected:
    ~TokenSink() = default;
};

// keepalived's lexical rules: '#' and '!' start a comment anywhere outside quotes; '{' and '}' are
// tokens of their own; "..." and '...' keep spaces and lose their quotes, also in the middle of a word.
// `text` is what preprocess() made of the files (no conditions, definitions or includes left). Every token
// goes to `sink` as it is found, each line ending with Tok::eol; the lexer stops when the sink does.
void lex(const std::string& text, Messages& msgs, TokenSink& sink);

}  // namespace dplb::config::keepalived
