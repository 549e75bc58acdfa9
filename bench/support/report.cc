// SPDX-License-Identifier: Apache-2.0

#include "bench/support/report.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <string_view>

#include "common/assert.h"

namespace rlog::bench {
namespace {

// Percentiles shown in every report, with their labels.
struct NamedPercentile {
    const char* text_label;
    const char* json_key;
    double p;
};
constexpr NamedPercentile kPercentiles[] = {
        {"p50", "p50", 50.0}, {"p90", "p90", 90.0}, {"p99", "p99", 99.0}, {"p99.9", "p99_9", 99.9}};

__attribute__((format(printf, 1, 2))) std::string sprintf_string(const char* fmt, ...) {
    char buf[512];
    va_list args;
    va_start(args, fmt);
    const int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);
    RLOG_ASSERT(n >= 0);
    RLOG_ASSERT(static_cast<size_t>(n) < sizeof(buf));
    return std::string(buf, static_cast<size_t>(n));
}

double to_us(uint64_t ns) {
    return static_cast<double>(ns) / 1000.0;
}

// "12.3 us", "4.56 ms", "1.20 s": three significant digits in a fitting unit.
std::string format_duration_us(double us) {
    if (us < 1000.0) {
        return sprintf_string("%.3g us", us);
    }
    if (us < 1e6) {
        return sprintf_string("%.3g ms", us / 1e3);
    }
    return sprintf_string("%.3g s", us / 1e6);
}

// A label padded to a fixed width, then the value.
std::string row(std::string_view label, const std::string& value) {
    std::string out = "  ";
    out += label;
    out.append(label.size() < 30 ? 30 - label.size() : 1, ' ');
    out += value;
    out += '\n';
    return out;
}

std::string histogram_row_us(const LatencyHistogram& h) {
    std::string out;
    for (const NamedPercentile& np : kPercentiles) {
        out += sprintf_string("%s %.1f  ", np.text_label, to_us(h.percentile(np.p)));
    }
    out += sprintf_string("max %.1f  (n=%llu)", to_us(h.max()),
                          static_cast<unsigned long long>(h.count()));
    return out;
}

// Minimal JSON writer: the caller emits keys and values in order; commas are inserted here.
class JsonWriter {
  public:
    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }
    void key(std::string_view k) {
        separate();
        string_literal(k);
        out_ += ':';
        after_key_ = true;
    }
    void value(std::string_view s) {
        separate();
        string_literal(s);
    }
    void value(const char* s) { value(std::string_view(s)); }
    void value(uint64_t v) {
        separate();
        out_ += std::to_string(v);
    }
    void value(double v) {
        separate();
        if (!std::isfinite(v)) {
            out_ += "null";
            return;
        }
        out_ += sprintf_string("%.12g", v);
    }
    void value(bool v) {
        separate();
        out_ += v ? "true" : "false";
    }
    void null() {
        separate();
        out_ += "null";
    }
    std::string take() {
        RLOG_ASSERT(depth_ == 0);
        out_ += '\n';
        return std::move(out_);
    }

  private:
    void open(char c) {
        separate();
        out_ += c;
        depth_++;
        first_ = true;
    }
    void close(char c) {
        RLOG_ASSERT(depth_ > 0);
        out_ += c;
        depth_--;
        first_ = false;
    }
    // Writes the comma before a value unless it follows a key or opens a container.
    void separate() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (!first_) {
            out_ += ',';
        }
        first_ = false;
    }
    void string_literal(std::string_view s) {
        out_ += '"';
        for (const char c : s) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\') {
                out_ += '\\';
                out_ += c;
            } else if (c == '\n') {
                out_ += "\\n";
            } else if (c == '\t') {
                out_ += "\\t";
            } else if (u < 0x20 || u == 0x7f) {
                out_ += sprintf_string("\\u%04x", u);
            } else {
                out_ += c;  // UTF-8 passes through unchanged.
            }
        }
        out_ += '"';
    }

    std::string out_;
    int depth_ = 0;
    bool first_ = true;
    bool after_key_ = false;
};

void json_histogram_us(JsonWriter* w, const LatencyHistogram& h) {
    if (h.count() == 0) {
        w->null();
        return;
    }
    w->begin_object();
    w->key("count");
    w->value(h.count());
    w->key("min");
    w->value(to_us(h.min()));
    w->key("mean");
    w->value(h.mean() / 1000.0);
    for (const NamedPercentile& np : kPercentiles) {
        w->key(np.json_key);
        w->value(to_us(h.percentile(np.p)));
    }
    w->key("max");
    w->value(to_us(h.max()));
    w->key("clamped");
    w->value(h.clamped_count());
    w->end_object();
}

std::string xml_escape(std::string_view s) {
    std::string out;
    for (const char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                // XML 1.0 forbids most control characters even when escaped.
                out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
        }
    }
    return out;
}

}  // namespace

double BenchResult::floor_ratio_p50() const {
    if (disk_floor.count() == 0 || net_floor.count() == 0 || commit_latency.count() == 0) {
        return 0.0;
    }
    const uint64_t floor_ns = disk_floor.percentile(50) + net_floor.percentile(50);
    if (floor_ns == 0) {
        return 0.0;
    }
    return static_cast<double>(commit_latency.percentile(50)) / static_cast<double>(floor_ns);
}

std::string format_text_report(const BenchConfig& config, const BenchResult& result) {
    std::string out = "rlog bench\n\nconfiguration\n";
    for (const auto& [key, value] : config.entries) {
        out += row(key, value);
    }
    out += "\nthroughput\n";
    out += row("messages acked",
               sprintf_string("%llu of %llu submitted",
                              static_cast<unsigned long long>(result.messages_acked),
                              static_cast<unsigned long long>(result.messages_submitted)));
    out += row("duration", sprintf_string("%.2f s", result.duration_s));
    out += row("throughput", sprintf_string("%.0f msgs/s", result.throughput_msgs_per_s));

    const LatencyHistogram& lat = result.commit_latency;
    out += "\ncommit latency (us)\n";
    if (lat.count() == 0) {
        out += "  no samples\n";
    } else {
        for (const NamedPercentile& np : kPercentiles) {
            out += row(np.text_label, sprintf_string("%.1f", to_us(lat.percentile(np.p))));
        }
        out += row("max", sprintf_string("%.1f", to_us(lat.max())));
        out += row("mean", sprintf_string("%.1f", lat.mean() / 1000.0));
        out += row("samples", std::to_string(lat.count()));
        if (lat.clamped_count() != 0) {
            out += row("above 100 s", std::to_string(lat.clamped_count()));
        }
    }

    out += "\nfloors (us)\n";
    out += row("disk (4 KiB write+fdatasync)", result.disk_floor.count() == 0
                                                       ? "not measured"
                                                       : histogram_row_us(result.disk_floor));
    out += row("network (UDP round trip)",
               result.net_floor.count() == 0 ? "not measured" : histogram_row_us(result.net_floor));
    const double ratio = result.floor_ratio_p50();
    out += row("p50 / (disk p50 + net p50)", ratio == 0.0 ? "n/a" : sprintf_string("%.2fx", ratio));

    out += "\nbatching\n";
    std::string per_fsync = sprintf_string("%.1f", result.entries_per_fsync);
    if (result.fsync_count != 0) {
        per_fsync += sprintf_string("  (%llu fsyncs)",
                                    static_cast<unsigned long long>(result.fsync_count));
    }
    out += row("entries per fsync", per_fsync);
    std::string per_append = sprintf_string("%.1f", result.entries_per_append);
    if (result.append_entries_count != 0) {
        per_append += sprintf_string("  (%llu requests)",
                                     static_cast<unsigned long long>(result.append_entries_count));
    }
    out += row("entries per AppendEntries", per_append);
    out += row("elections", std::to_string(result.elections));

    out += "\nchecks\n";
    out += row("passed", std::to_string(result.checks_passed));
    out += row("violations", std::to_string(result.violations.size()));
    for (const std::string& v : result.violations) {
        out += "  VIOLATION: " + v + "\n";
    }
    out += result.passed() ? "\nresult: PASS\n" : "\nresult: FAIL\n";
    return out;
}

std::string format_json_report(const BenchConfig& config, const BenchResult& result) {
    JsonWriter w;
    w.begin_object();
    w.key("config");
    w.begin_object();
    for (const auto& [key, value] : config.entries) {
        w.key(key);
        w.value(value);
    }
    w.end_object();
    w.key("messages_submitted");
    w.value(result.messages_submitted);
    w.key("messages_acked");
    w.value(result.messages_acked);
    w.key("duration_s");
    w.value(result.duration_s);
    w.key("throughput_msgs_per_s");
    w.value(result.throughput_msgs_per_s);
    w.key("commit_latency_us");
    json_histogram_us(&w, result.commit_latency);
    w.key("disk_floor_us");
    json_histogram_us(&w, result.disk_floor);
    w.key("net_floor_us");
    json_histogram_us(&w, result.net_floor);
    w.key("floor_ratio_p50");
    const double ratio = result.floor_ratio_p50();
    if (ratio == 0.0) {
        w.null();
    } else {
        w.value(ratio);
    }
    w.key("entries_per_fsync");
    w.value(result.entries_per_fsync);
    w.key("entries_per_append");
    w.value(result.entries_per_append);
    w.key("fsync_count");
    w.value(result.fsync_count);
    w.key("append_entries_count");
    w.value(result.append_entries_count);
    w.key("elections");
    w.value(result.elections);
    w.key("checks_passed");
    w.value(result.checks_passed);
    w.key("violations");
    w.begin_array();
    for (const std::string& v : result.violations) {
        w.value(v);
    }
    w.end_array();
    w.key("passed");
    w.value(result.passed());
    // [low_ns, high_ns, count] per non-empty bucket, for plotting elsewhere.
    w.key("commit_latency_buckets_ns");
    w.begin_array();
    result.commit_latency.for_each_bucket([&w](const LatencyHistogram::Bucket& b) {
        w.begin_array();
        w.value(b.low_ns);
        w.value(b.high_ns);
        w.value(b.count);
        w.end_array();
    });
    w.end_array();
    w.end_object();
    return w.take();
}

std::string render_latency_svg(const LatencyHistogram& hist, const std::string& title) {
    constexpr int kWidth = 800;
    constexpr int kHeight = 480;
    constexpr double kLeft = 90;
    constexpr double kRight = 770;
    constexpr double kTop = 60;
    constexpr double kBottom = 410;
    constexpr double kNinesMax = 5.0;  // x axis ends at 99.999th percentile: five nines.

    std::string out = sprintf_string(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d "
            "%d\" font-family=\"sans-serif\" font-size=\"12\">\n",
            kWidth, kHeight, kWidth, kHeight);
    out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    out += sprintf_string("<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">",
                          kWidth / 2) +
           xml_escape(title) + "</text>\n";
    if (hist.count() == 0) {
        out += sprintf_string("<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no samples</text>\n",
                              kWidth / 2, kHeight / 2);
        out += "</svg>\n";
        return out;
    }
    out += "<text x=\"400\" y=\"44\" text-anchor=\"middle\" fill=\"#555\">" +
           xml_escape(sprintf_string("p50 %s   p99 %s   p99.9 %s   max %s   (n=%llu)",
                                     format_duration_us(to_us(hist.percentile(50))).c_str(),
                                     format_duration_us(to_us(hist.percentile(99))).c_str(),
                                     format_duration_us(to_us(hist.percentile(99.9))).c_str(),
                                     format_duration_us(to_us(hist.max())).c_str(),
                                     static_cast<unsigned long long>(hist.count()))) +
           "</text>\n";

    // y: log10 of latency in microseconds, from the decade below min to the decade above max.
    const double min_us = std::max(to_us(hist.min()), 0.001);
    const double max_us = std::max(to_us(hist.max()), min_us);
    const int decade_lo = static_cast<int>(std::floor(std::log10(min_us)));
    int decade_hi = static_cast<int>(std::ceil(std::log10(max_us)));
    if (decade_hi <= decade_lo) {
        decade_hi = decade_lo + 1;
    }
    const auto y_of = [&](double us) {
        const double f = (std::log10(std::max(us, 0.001)) - decade_lo) / (decade_hi - decade_lo);
        return kBottom - f * (kBottom - kTop);
    };
    const auto x_of = [&](double nines) { return kLeft + nines / kNinesMax * (kRight - kLeft); };

    // Grid, then the axes on top of it.
    for (int d = decade_lo; d <= decade_hi; d++) {
        const double y = y_of(std::pow(10.0, d));
        out += sprintf_string(
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", kLeft,
                y, kRight, y);
        out += sprintf_string("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                              kLeft - 6, y + 4, format_duration_us(std::pow(10.0, d)).c_str());
    }
    static const char* const kXLabels[] = {"0", "90", "99", "99.9", "99.99", "99.999"};
    for (int n = 0; n <= static_cast<int>(kNinesMax); n++) {
        const double x = x_of(n);
        out += sprintf_string(
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x,
                kTop, x, kBottom);
        out += sprintf_string("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x,
                              kBottom + 18, kXLabels[n]);
    }
    out += sprintf_string("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">percentile</text>\n",
                          (kLeft + kRight) / 2, kBottom + 44);
    out += sprintf_string(
            "<text x=\"20\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 20 "
            "%.1f)\">commit latency "
            "(log scale)</text>\n",
            (kTop + kBottom) / 2, (kTop + kBottom) / 2);

    out += sprintf_string("<path d=\"M%.1f %.1fV%.1fH%.1f\" fill=\"none\" stroke=\"black\"/>\n",
                          kLeft, kTop, kBottom, kRight);
    // The curve: percentile(100 * (1 - 10^-nines)) at evenly spaced nines.
    constexpr int kPoints = 400;
    out += "<path fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" d=\"";
    for (int i = 0; i <= kPoints; i++) {
        const double nines = kNinesMax * i / kPoints;
        const double p = std::clamp(100.0 * (1.0 - std::pow(10.0, -nines)), 0.0, 100.0);
        out += sprintf_string("%c%.1f %.1f", i == 0 ? 'M' : 'L', x_of(nines),
                              y_of(to_us(hist.percentile(p))));
    }
    out += "\"/>\n</svg>\n";
    return out;
}

}  // namespace rlog::bench
