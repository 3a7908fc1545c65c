#include "log.h"

#include <sys/stat.h>

#include <cstdarg>
#include <cstdlib>
#include <string>

namespace dplb {

bool stream_is_journal(std::FILE* stream) {
    const char* env = std::getenv("JOURNAL_STREAM");
    if (!env || !*env) return false;
    unsigned long long dev = 0, ino = 0;
    char tail = 0;
    if (std::sscanf(env, "%llu:%llu%c", &dev, &ino, &tail) != 2) return false;
    struct stat st {};
    if (fstat(fileno(stream), &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

namespace {

// Writes `text` followed by a newline. With a prefix (the journal), every line of it starts with
// the prefix (a final newline of `text` ends its last line rather than adding an empty one).
void write_lines(std::FILE* stream, std::string text, const char* prefix) {
    if (!prefix) {
        text += '\n';
    } else {
        if (!text.empty() && text.back() == '\n') text.pop_back();
        std::string out;
        size_t start = 0;
        for (;;) {
            size_t nl = text.find('\n', start);
            out += prefix;
            out.append(text, start, nl == std::string::npos ? std::string::npos : nl - start);
            out += '\n';
            if (nl == std::string::npos) break;
            start = nl + 1;
        }
        text.swap(out);
    }
    std::fputs(text.c_str(), stream);
    std::fflush(stream);
}

}  // namespace

void log(LogLevel level, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = std::vsnprintf(nullptr, 0, fmt, ap);
    va_end(ap);
    std::string text;
    if (n > 0) {
        text.resize(static_cast<size_t>(n) + 1);
        std::vsnprintf(&text[0], text.size(), fmt, ap2);
        text.resize(static_cast<size_t>(n));
    }
    va_end(ap2);
    std::FILE* stream = level == LogLevel::err || level == LogLevel::warning ? stderr : stdout;
    char prefix[4] = {'<', static_cast<char>('0' + static_cast<int>(level)), '>', 0};
    if (stream == stderr) std::fflush(stdout);  // keep the order of lines on a shared file
    write_lines(stream, text, stream_is_journal(stream) ? prefix : nullptr);
}

void log_data(std::FILE* stream, const char* text) {
    if (!stream_is_journal(stream)) {
        std::fputs(text, stream);
        std::fflush(stream);
        return;
    }
    if (*text) write_lines(stream, text, "<6>");
}

}  // namespace dplb
