// What keepalived does to its configuration before parsing it, line by line: the first of the
// import's steps. "@ID" conditional lines, "$NAME=value" definitions and their uses ($NAME, ${NAME}),
// ~SEQ and ~LST lines, and include files (globs, relative to the including file's directory).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "keepalived/messages.h"
#include "keepalived_import.h"

namespace dplb::config::keepalived {

// The text keepalived's parser would read, and where each of its lines came from.
struct Source {
    std::vector<std::string> files;  // files[0] is the main one; names as messages print them
    std::vector<std::string> lines;
    std::vector<Origin> origins;  // one per line
    std::string text() const;     // the lines joined, for the lexer
};

// Include files nest at most this deep (keepalived's own configurations nest 2 or 3 deep).
constexpr int kMaxIncludeDepth = 8;
// Limits that keep a hostile file from growing without bound through definitions and ~SEQ.
constexpr size_t kMaxSourceLines = 1000000;
constexpr size_t kMaxLineBytes = 64 * 1024;
constexpr size_t kMaxSeqCount = 10000;
constexpr int kMaxDefinitionDepth = 16;
constexpr uintmax_t kMaxIncludeBytes = 16u << 20;

// `text` is the main file, printed as `name`. Problems go to `msgs` with their file and line;
// the lines found so far are returned whatever happens.
Source preprocess(const std::string& text, const std::string& name, const KeepalivedImportOptions& opts,
                  Messages& msgs);

}  // namespace dplb::config::keepalived
