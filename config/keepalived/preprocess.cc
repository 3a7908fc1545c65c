#include "keepalived/preprocess.h"

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace dplb::config::keepalived {
namespace {

namespace fs = std::filesystem;

bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string trim(const std::string& s) {
    const size_t a = s.find_first_not_of(" \t");
    if (a == std::string::npos) return "";
    return s.substr(a, s.find_last_not_of(" \t") + 1 - a);
}

bool ends_continued(const std::string& s) {
    const std::string t = trim(s);
    return !t.empty() && t.back() == '\\';
}

std::string drop_continuation(const std::string& s) {
    std::string t = trim(s);
    t.pop_back();
    return trim(t);
}

// A decimal integer, maybe negative, for ~SEQ.
bool to_long(const std::string& s, long& out) {
    const std::string t = trim(s);
    size_t i = t.size() > 1 && t[0] == '-' ? 1 : 0;
    if (i == t.size() || t.size() > 10 || t.find_first_not_of("0123456789", i) != std::string::npos) return false;
    out = std::stol(t);
    return true;
}

struct File {
    int index;       // in Source::files
    fs::path dir;    // where its relative include paths resolve
    fs::path canon;  // to find a file that includes itself; empty when unknown
    int line = 0;
};

class Preprocessor {
public:
    Preprocessor(const KeepalivedImportOptions& o, Messages& m) : opts_(o), msgs_(m) {}

    Source run(const std::string& text, const std::string& name) {
        src_.files.push_back(name);
        main_dir_ = fs::path(opts_.base_dir);
        shown_dir_ = fs::path(name).parent_path();
        File f{0, main_dir_, {}, 0};
        std::error_code ec;
        const fs::path self = main_dir_ / fs::path(name).filename();
        if (fs::is_regular_file(self, ec)) f.canon = fs::weakly_canonical(self, ec);
        read(text, f, 0);
        return std::move(src_);
    }

private:
    void error(const File& f, int col, const std::string& msg) {
        msgs_.error_in(src_.files[f.index], f.line, col, order(), msg);
    }
    void warn(const File& f, const std::string& msg) { msgs_.warn_in(src_.files[f.index], f.line, order(), msg); }
    int order() const { return static_cast<int>(src_.lines.size()) + 1; }

    void read(const std::string& text, File& f, int depth) {
        open_.push_back(f.canon);
        std::string def;  // the name of a multi-line definition still open
        size_t pos = 0;
        while (pos <= text.size() && !full_) {
            size_t nl = text.find('\n', pos);
            if (nl == std::string::npos) nl = text.size();
            std::string line = text.substr(pos, nl - pos);
            pos = nl + 1;
            f.line++;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (!def.empty()) {
                const bool more = ends_continued(line);
                defs_[def] += "\n" + (more ? drop_continuation(line) : trim(line));
                if (!more) def.clear();
                continue;
            }
            def = statement(line, f, depth);
        }
        open_.pop_back();
    }

    // One line of a file. Returns the name of a definition that goes on at the next line.
    std::string statement(std::string line, File& f, int depth) {
        size_t start = line.find_first_not_of(" \t");
        if (start != std::string::npos && line[start] == '@') {
            if (!condition(line, start, f)) return "";
            start = line.find_first_not_of(" \t");
        }
        if (start == std::string::npos) {
            emit("", f);
            return "";
        }
        if (line[start] == '$') {
            size_t i = start + 1;
            while (i < line.size() && name_char(line[i])) i++;
            if (i > start + 1 && name_start(line[start + 1]) && i < line.size() && line[i] == '=') {
                const std::string name = line.substr(start + 1, i - start - 1);
                const std::string value = line.substr(i + 1);
                const bool more = ends_continued(value);
                defs_[name] = more ? drop_continuation(value) : trim(value);
                return more ? name : "";
            }
        }
        if (line[start] == '~') {
            sequence(line, start, f, depth);
            return "";
        }
        std::string out;
        if (!expand(line, f, {}, 0, out)) return "";
        std::istringstream parts(out);
        for (std::string part; std::getline(parts, part);) {
            if (!include(part, f, depth)) emit(part, f);
        }
        return "";
    }

    // "@ID line" / "@^ID line": false when the line is dropped, else `line` loses its condition.
    bool condition(std::string& line, size_t start, const File& f) {
        size_t end = line.find_first_of(" \t", start);
        if (end == std::string::npos) end = line.size();
        const bool negated = start + 1 < end && line[start + 1] == '^';
        const std::string id = line.substr(start + (negated ? 2 : 1), end - start - (negated ? 2 : 1));
        const std::string cond = line.substr(start, end - start);
        bool keep;
        if (opts_.config_id) {
            keep = negated ? id != *opts_.config_id : id == *opts_.config_id;
        } else {
            keep = negated;
            warn(f, "conditional line " + cond + ": " + (keep ? "kept" : "dropped") +
                        " (no --config-id given; keepalived keeps \"@ID\" lines and drops \"@^ID\" ones only on the "
                        "director started with -i ID or whose host name is ID)");
        }
        // Blanked rather than cut, so that columns in messages stay those of the file.
        if (keep) line.replace(start, end - start, std::string(end - start, ' '));
        return keep;
    }

    // $NAME and ${NAME} in `in`, outside comments, replaced by their definitions (which may hold more).
    // `using_` is the chain of names being replaced, to refuse one whose definition comes back to it.
    bool expand(const std::string& in, const File& f, std::vector<std::string> chain, int col, std::string& out) {
        char quote = 0;
        for (size_t i = 0; i < in.size(); i++) {
            const char c = in[i];
            if (quote) {
                if (c == quote) quote = 0;
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == '#' || c == '!') {
                out += in.substr(i);
                break;
            }
            if (c != '$') {
                out += c;
                continue;
            }
            size_t name_at = i + 1, name_end;
            const bool braced = name_at < in.size() && in[name_at] == '{';
            if (braced) name_at++;
            name_end = name_at;
            while (name_end < in.size() && name_char(in[name_end])) name_end++;
            if (name_end == name_at || !name_start(in[name_at]) || (braced && (name_end >= in.size() || in[name_end] != '}'))) {
                out += c;  // a "$" that starts no name, as in a script's "$1"
                continue;
            }
            const std::string name = in.substr(name_at, name_end - name_at);
            const int here = chain.empty() ? static_cast<int>(i) + 1 : col;
            auto def = defs_.find(name);
            if (def == defs_.end()) {
                error(f, here, "$" + name + ": not defined (keepalived's definitions are \"$" + name +
                                   "=VALUE\" lines before their use" +
                                   (chain.empty() ? std::string(")") : ", in the definition of $" + chain.back() + ")"));
                return false;
            }
            if (std::find(chain.begin(), chain.end(), name) != chain.end()) {
                std::string via;
                for (const std::string& n : chain) via += "$" + n + " -> ";
                error(f, here, "$" + name + ": its definition refers to itself (" + via + "$" + name + ")");
                return false;
            }
            if (static_cast<int>(chain.size()) >= kMaxDefinitionDepth) {
                error(f, here, "$" + name + ": definitions nested more than " + std::to_string(kMaxDefinitionDepth) +
                                   " deep");
                return false;
            }
            std::vector<std::string> deeper = chain;
            deeper.push_back(name);
            if (!expand(def->second, f, deeper, here, out)) return false;
            if (out.size() > kMaxLineBytes) {
                error(f, here, "$" + name + ": the line grows past " + std::to_string(kMaxLineBytes / 1024) +
                                   " KiB once its definitions are replaced");
                return false;
            }
            i = braced ? name_end : name_end - 1;
        }
        return true;
    }

    // ~SEQ(VAR, START, [STEP,] END) LINE: LINE once for each value, with $VAR set to it;
    // ~LST(VAR, A, B, ...) LINE: once for each item.
    void sequence(const std::string& line, size_t start, File& f, int depth) {
        const size_t open = line.find('(', start);
        const size_t close = line.find(')', start);
        const std::string kind = line.substr(start, std::min(open, line.find_first_of(" \t", start)) - start);
        if ((kind != "~SEQ" && kind != "~LST") || open == std::string::npos || close == std::string::npos ||
            close < open) {
            error(f, static_cast<int>(start) + 1,
                  kind + ": expected ~SEQ(VAR, START, [STEP,] END) LINE or ~LST(VAR, ITEM, ...) LINE");
            return;
        }
        std::vector<std::string> args;
        std::stringstream ss(line.substr(open + 1, close - open - 1));
        for (std::string a; std::getline(ss, a, ',');) args.push_back(trim(a));
        const std::string var = args.empty() ? "" : args[0];
        if (var.empty() || !name_start(var[0]) ||
            !std::all_of(var.begin(), var.end(), [](char c) { return name_char(c); })) {
            error(f, static_cast<int>(open) + 2, kind + ": expected a parameter name first, got \"" + var + "\"");
            return;
        }
        std::vector<std::string> values(args.begin() + 1, args.end());
        if (kind == "~SEQ") {
            long from = 0, step = 1, to = 0;
            const bool ok = (values.size() == 2 && to_long(values[0], from) && to_long(values[1], to)) ||
                            (values.size() == 3 && to_long(values[0], from) && to_long(values[1], step) &&
                             to_long(values[2], to) && step != 0);
            if (!ok) {
                error(f, static_cast<int>(open) + 2,
                      "~SEQ: expected (VAR, START, END) or (VAR, START, STEP, END) with integers and a STEP "
                      "other than 0");
                return;
            }
            values.clear();
            for (long v = from; step > 0 ? v <= to : v >= to; v += step) {
                if (values.size() == kMaxSeqCount) {
                    error(f, static_cast<int>(open) + 2,
                          "~SEQ: more than " + std::to_string(kMaxSeqCount) + " values");
                    return;
                }
                values.push_back(std::to_string(v));
            }
        }
        const std::string rest = line.substr(close + 1);
        auto saved = defs_.find(var) == defs_.end() ? std::optional<std::string>() : defs_[var];
        for (const std::string& v : values) {
            if (full_) break;
            defs_[var] = v;
            statement(rest, f, depth);
        }
        if (saved) defs_[var] = *saved;
        else defs_.erase(var);
    }

    // include / includer / includem / includew / includeb / includea FILE: true when `line` is one.
    bool include(const std::string& line, File& f, int depth) {
        std::istringstream words(line);
        std::string kw, pattern;
        words >> kw;
        if (kw.rfind("include", 0) != 0 || kw.size() > 8) return false;
        std::getline(words, pattern);
        pattern = trim(pattern.substr(0, pattern.find_first_of("#!")));
        if (pattern.size() >= 2 && (pattern[0] == '"' || pattern[0] == '\'') && pattern.back() == pattern[0])
            pattern = pattern.substr(1, pattern.size() - 2);
        if (pattern.empty()) {
            error(f, 1, kw + ": missing file name");
            return true;
        }
        if (opts_.base_dir.empty()) {
            error(f, 1, kw + " " + pattern +
                            ": not followed (the configuration was not read from a file, so there is no directory "
                            "to resolve it in; convert the file by its path)");
            return true;
        }
        const fs::path full = fs::path(pattern).is_absolute() ? fs::path(pattern) : f.dir / pattern;
        glob_t g{};
        const int rc = ::glob(full.c_str(), GLOB_BRACE, nullptr, &g);
        std::vector<std::string> matches;
        if (rc == 0)
            for (size_t i = 0; i < g.gl_pathc; i++) matches.push_back(g.gl_pathv[i]);
        ::globfree(&g);
        if (matches.empty()) {
            warn(f, kw + " " + pattern + ": no file matches (keepalived goes on without it too)");
            return true;
        }
        for (const std::string& m : matches) {
            std::error_code ec;
            const fs::path canon = fs::weakly_canonical(m, ec);
            if (std::find(open_.begin(), open_.end(), canon) != open_.end()) {
                error(f, 1, kw + " " + pattern + ": " + shown(m) +
                                " includes itself through this line (keepalived would read it forever)");
                continue;
            }
            if (depth + 1 > kMaxIncludeDepth) {
                error(f, 1, kw + " " + pattern + ": includes nest more than " + std::to_string(kMaxIncludeDepth) +
                                " deep");
                return true;
            }
            std::ifstream in(m, std::ios::binary);
            if (!in || !fs::is_regular_file(m, ec)) {
                error(f, 1, kw + " " + pattern + ": cannot read " + shown(m) + " (not a readable file)");
                continue;
            }
            if (fs::file_size(m, ec) > kMaxIncludeBytes) {
                error(f, 1, kw + " " + pattern + ": " + shown(m) + " is larger than " +
                                std::to_string(kMaxIncludeBytes >> 20) + " MiB");
                continue;
            }
            std::stringstream text;
            text << in.rdbuf();
            src_.files.push_back(shown(m));
            File sub{static_cast<int>(src_.files.size()) - 1, fs::path(m).parent_path(), canon, 0};
            read(text.str(), sub, depth + 1);
        }
        return true;
    }

    // An included file as messages name it: by its path from the main file's directory, written
    // the way the main file's name was.
    std::string shown(const fs::path& p) const {
        const fs::path rel = p.lexically_normal().lexically_relative(main_dir_.lexically_normal());
        if (rel.empty() || *rel.begin() == "..") return p.lexically_normal().string();
        return (shown_dir_ / rel).string();
    }

    void emit(const std::string& text, const File& f) {
        if (full_) return;
        if (src_.lines.size() == kMaxSourceLines) {
            error(f, 1, "the configuration grows past " + std::to_string(kMaxSourceLines) +
                            " lines once includes, definitions and ~SEQ are expanded");
            full_ = true;
            return;
        }
        src_.lines.push_back(text);
        src_.origins.push_back({f.index, f.line});
    }

    const KeepalivedImportOptions& opts_;
    Messages& msgs_;
    Source src_;
    fs::path main_dir_, shown_dir_;
    std::vector<fs::path> open_;  // the files being read, outermost first
    std::map<std::string, std::string> defs_;
    bool full_ = false;
};

}  // namespace

std::string Source::text() const {
    std::string out;
    for (size_t i = 0; i < lines.size(); i++) out += (i ? "\n" : "") + lines[i];
    return out;
}

Source preprocess(const std::string& text, const std::string& name, const KeepalivedImportOptions& opts,
                  Messages& msgs) {
    return Preprocessor(opts, msgs).run(text, name);
}

}  // namespace dplb::config::keepalived
