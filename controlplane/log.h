// dplbd's log lines. Informational lines go to stdout, warnings and errors to stderr, as plain text.
// When the stream is the systemd journal ($JOURNAL_STREAM names its device and inode), every line
// starts with the sd-daemon priority prefix ("<3>" error ... "<6>" info), so that the journal
// records each line's severity (`journalctl -p warning`).
#pragma once

#include <cstdio>

namespace dplb {

enum class LogLevel { err = 3, warning = 4, notice = 5, info = 6 };

// printf-style; a trailing newline is added. Each line of a multi-line message gets the prefix.
// err and warning go to stderr, notice and info to stdout; the stream is flushed.
void log(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Text that is data rather than a log line (the connection table): written to `stream` as it is,
// each line prefixed with "<6>" when the stream is the journal.
void log_data(std::FILE* stream, const char* text);

// Whether `stream` is connected to the journal ($JOURNAL_STREAM="DEV:INO" matches its fstat).
bool stream_is_journal(std::FILE* stream);

}  // namespace dplb
