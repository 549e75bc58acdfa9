// SPDX-License-Identifier: Apache-2.0
//
// Reports: the text report shows the configuration and the numbers (percentiles in microseconds,
// floors and their ratio, batching, elections, violations); the JSON report is valid JSON (checked
// by a small recursive-descent validator below), escapes strings and uses null for what was not
// measured; the SVG is well formed (tags balanced, title escaped).

#include "bench/support/report.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace rlog::bench {
namespace {

// A strict JSON syntax checker (RFC 8259), enough to prove the writer's output parses.
class JsonValidator {
  public:
    explicit JsonValidator(std::string_view text) : s_(text) {}

    bool valid() {
        skip_ws();
        if (!value()) {
            return false;
        }
        skip_ws();
        return i_ == s_.size();
    }

  private:
    bool value() {
        skip_ws();
        if (i_ >= s_.size()) {
            return false;
        }
        const char c = s_[i_];
        if (c == '{') {
            return object();
        }
        if (c == '[') {
            return array();
        }
        if (c == '"') {
            return string();
        }
        if (literal("true") || literal("false") || literal("null")) {
            return true;
        }
        return number();
    }
    bool object() {
        i_++;
        skip_ws();
        if (peek('}')) {
            i_++;
            return true;
        }
        while (true) {
            skip_ws();
            if (!string()) {
                return false;
            }
            skip_ws();
            if (!peek(':')) {
                return false;
            }
            i_++;
            if (!value()) {
                return false;
            }
            skip_ws();
            if (peek('}')) {
                i_++;
                return true;
            }
            if (!peek(',')) {
                return false;
            }
            i_++;
        }
    }
    bool array() {
        i_++;
        skip_ws();
        if (peek(']')) {
            i_++;
            return true;
        }
        while (true) {
            if (!value()) {
                return false;
            }
            skip_ws();
            if (peek(']')) {
                i_++;
                return true;
            }
            if (!peek(',')) {
                return false;
            }
            i_++;
        }
    }
    bool string() {
        if (!peek('"')) {
            return false;
        }
        i_++;
        while (i_ < s_.size()) {
            const auto c = static_cast<unsigned char>(s_[i_++]);
            if (c == '"') {
                return true;
            }
            if (c < 0x20) {
                return false;
            }
            if (c == '\\') {
                if (i_ >= s_.size()) {
                    return false;
                }
                const char e = s_[i_++];
                if (e == 'u') {
                    for (int k = 0; k < 4; k++) {
                        if (i_ >= s_.size() ||
                            !std::isxdigit(static_cast<unsigned char>(s_[i_++]))) {
                            return false;
                        }
                    }
                } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
                    return false;
                }
            }
        }
        return false;
    }
    bool number() {
        const size_t start = i_;
        if (peek('-')) {
            i_++;
        }
        if (peek('0')) {
            i_++;
        } else if (!digits()) {
            return false;
        }
        if (peek('.')) {
            i_++;
            if (!digits()) {
                return false;
            }
        }
        if (peek('e') || peek('E')) {
            i_++;
            if (peek('+') || peek('-')) {
                i_++;
            }
            if (!digits()) {
                return false;
            }
        }
        return i_ > start;
    }
    bool digits() {
        const size_t start = i_;
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
            i_++;
        }
        return i_ > start;
    }
    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) == word) {
            i_ += word.size();
            return true;
        }
        return false;
    }
    bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
    void skip_ws() {
        while (i_ < s_.size() &&
               (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) {
            i_++;
        }
    }

    std::string_view s_;
    size_t i_ = 0;
};

TEST(JsonValidatorTest, RejectsBrokenJson) {
    EXPECT_TRUE(JsonValidator(R"({"a":[1,2.5,-3e2,true,null,"x\"\u00e9"]})").valid());
    EXPECT_FALSE(JsonValidator(R"({"a":1,})").valid());
    EXPECT_FALSE(JsonValidator(R"({"a":nan})").valid());
    EXPECT_FALSE(JsonValidator("{\"a\":\"line\nbreak\"}").valid());
    EXPECT_FALSE(JsonValidator(R"({"a":1}{)").valid());
}

// Tag names in document order: "<svg ...>" pushes, "</svg>" pops, "<x/>" does both.
bool tags_balanced(std::string_view svg, std::string* why) {
    std::vector<std::string> stack;
    size_t i = 0;
    while ((i = svg.find('<', i)) != std::string_view::npos) {
        const size_t end = svg.find('>', i);
        if (end == std::string_view::npos) {
            *why = "unterminated tag";
            return false;
        }
        std::string_view tag = svg.substr(i + 1, end - i - 1);
        i = end + 1;
        if (tag.empty()) {
            *why = "empty tag";
            return false;
        }
        if (tag.front() == '/') {
            const std::string name(tag.substr(1));
            if (stack.empty() || stack.back() != name) {
                *why = "unexpected </" + name + ">";
                return false;
            }
            stack.pop_back();
            continue;
        }
        const std::string name(tag.substr(0, tag.find_first_of(" \n/")));
        if (tag.back() != '/') {
            stack.push_back(name);
        }
    }
    if (!stack.empty()) {
        *why = "unclosed <" + stack.back() + ">";
        return false;
    }
    return true;
}

BenchResult sample_result() {
    BenchResult r;
    r.messages_submitted = 100'000;
    r.messages_acked = 99'999;
    r.duration_s = 2.5;
    r.throughput_msgs_per_s = 123456.0;
    for (int i = 0; i < 99; i++) {
        r.commit_latency.record(100'000);  // 100 us
    }
    r.commit_latency.record(5'000'000);  // 5 ms
    for (int i = 0; i < 10; i++) {
        r.disk_floor.record(50'000);
        r.net_floor.record(30'000);
    }
    r.entries_per_fsync = 42.5;
    r.fsync_count = 2353;
    r.entries_per_append = 7.25;
    r.elections = 1;
    r.checks_passed = 3;
    return r;
}

BenchConfig sample_config() {
    BenchConfig c;
    c.add("replicas", "3");
    c.add("fsync", "on");
    c.add("workload", "synthetic seed=1");
    return c;
}

TEST(ReportTest, FloorRatioUsesMedians) {
    const BenchResult r = sample_result();
    // Percentiles are reported at the top of their bucket, so the ratio is within 1% of 100 / 80.
    EXPECT_NEAR(r.floor_ratio_p50(), 100.0 / 80.0, 0.0125);
    const double exact =
            static_cast<double>(r.commit_latency.percentile(50)) /
            static_cast<double>(r.disk_floor.percentile(50) + r.net_floor.percentile(50));
    EXPECT_DOUBLE_EQ(r.floor_ratio_p50(), exact);
    BenchResult no_floor;
    no_floor.commit_latency.record(1000);
    EXPECT_EQ(no_floor.floor_ratio_p50(), 0.0);
}

// The p50 as the reports print it: microseconds, one decimal.
std::string p50_us(const BenchResult& r) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f",
                  static_cast<double>(r.commit_latency.percentile(50)) / 1000.0);
    return buf;
}

TEST(ReportTest, TextReportContainsTheNumbers) {
    const BenchResult r = sample_result();
    const std::string text = format_text_report(sample_config(), r);
    ASSERT_NEAR(std::stod(p50_us(r)), 100.0, 1.0);
    EXPECT_NE(text.find("  p50                           " + p50_us(r) + "\n"), std::string::npos)
            << text;
    for (const char* needle :
         {"replicas", "synthetic seed=1", "99999 of 100000 submitted", "2.50 s", "123456 msgs/s",
          "p99.9                         5000.0\n", "max                           5000.0\n",
          "1.25x", "42.5  (2353 fsyncs)", "AppendEntries     7.2",
          "elections                     1\n", "p50 50.0", "p50 30.0", "result: PASS"}) {
        EXPECT_NE(text.find(needle), std::string::npos) << "missing '" << needle << "' in\n"
                                                        << text;
    }
    EXPECT_EQ(text.back(), '\n');
}

TEST(ReportTest, TextReportListsViolationsAndFails) {
    BenchResult r = sample_result();
    r.violations.push_back("seq 17 missing on replica 2");
    const std::string text = format_text_report(sample_config(), r);
    EXPECT_NE(text.find("VIOLATION: seq 17 missing on replica 2"), std::string::npos) << text;
    EXPECT_NE(text.find("result: FAIL"), std::string::npos) << text;
}

TEST(ReportTest, TextReportSaysWhatWasNotMeasured) {
    const std::string text = format_text_report(BenchConfig{}, BenchResult{});
    EXPECT_NE(text.find("no samples"), std::string::npos) << text;
    EXPECT_NE(text.find("not measured"), std::string::npos) << text;
    EXPECT_NE(text.find("n/a"), std::string::npos) << text;
}

TEST(ReportTest, JsonReportIsValidAndHasKeys) {
    BenchResult r = sample_result();
    r.violations.push_back("acked seq 5 twice");
    const std::string json = format_json_report(sample_config(), r);
    EXPECT_TRUE(JsonValidator(json).valid()) << json;
    for (const char* needle :
         {R"("config":{"replicas":"3","fsync":"on","workload":"synthetic seed=1"})",
          R"("messages_acked":99999)", R"("duration_s":2.5)", R"("throughput_msgs_per_s":123456)",
          R"("commit_latency_us":{"count":100)", R"("p99_9":5000,)", R"("max":5000,)",
          R"("disk_floor_us":{"count":10)", R"("floor_ratio_p50":1.25)",
          R"("entries_per_fsync":42.5)", R"("entries_per_append":7.25)", R"("elections":1)",
          R"("checks_passed":3)", R"("violations":["acked seq 5 twice"])", R"("passed":false)",
          R"("commit_latency_buckets_ns":[[)"}) {
        EXPECT_NE(json.find(needle), std::string::npos) << "missing " << needle << " in\n" << json;
    }
    const std::string p50 =
            R"("p50":)" +
            std::to_string(static_cast<double>(r.commit_latency.percentile(50)) / 1000.0);
    EXPECT_NE(json.find(p50.substr(0, p50.find('.') + 2)), std::string::npos) << p50 << " in\n"
                                                                              << json;
}

TEST(ReportTest, JsonReportUsesNullForUnmeasured) {
    const std::string json = format_json_report(BenchConfig{}, BenchResult{});
    EXPECT_TRUE(JsonValidator(json).valid()) << json;
    EXPECT_NE(json.find(R"("config":{})"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("commit_latency_us":null)"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("disk_floor_us":null)"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("floor_ratio_p50":null)"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("violations":[])"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("commit_latency_buckets_ns":[])"), std::string::npos) << json;
}

TEST(ReportTest, JsonEscapesStringsAndNonFiniteNumbers) {
    BenchConfig c;
    c.add("path \"quoted\"", std::string("back\\slash\nnew\tline\x01\x7f end"));
    BenchResult r;
    r.duration_s = 0.0;
    r.throughput_msgs_per_s = 1.0 / r.duration_s;  // inf
    r.entries_per_fsync = std::nan("");
    const std::string json = format_json_report(c, r);
    EXPECT_TRUE(JsonValidator(json).valid()) << json;
    EXPECT_NE(json.find(R"("path \"quoted\"":"back\\slash\nnew\tline\u0001\u007f end")"),
              std::string::npos)
            << json;
    EXPECT_NE(json.find(R"("throughput_msgs_per_s":null)"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("entries_per_fsync":null)"), std::string::npos) << json;
}

TEST(ReportTest, SvgIsWellFormedWithTitle) {
    LatencyHistogram h;
    for (uint64_t v = 1; v <= 100'000; v++) {
        h.record(20'000 + v * 3);
    }
    h.record(40'000'000);
    const std::string svg = render_latency_svg(h, "commit latency <3 replicas & fsync>");
    EXPECT_EQ(svg.rfind("<svg", 0), 0u) << svg.substr(0, 80);
    EXPECT_NE(svg.find("commit latency &lt;3 replicas &amp; fsync&gt;"), std::string::npos);
    EXPECT_EQ(svg.find("<3 replicas"), std::string::npos) << "title not escaped";
    std::string why;
    EXPECT_TRUE(tags_balanced(svg, &why)) << why;
    for (const char* needle : {"percentile", "99.999", "99.9", "10 us", "100 ms", "<path"}) {
        EXPECT_NE(svg.find(needle), std::string::npos) << "missing " << needle;
    }
    EXPECT_EQ(svg.find("nan"), std::string::npos);
    EXPECT_EQ(svg.find("inf"), std::string::npos);
}

TEST(ReportTest, SvgOfEmptyHistogramSaysNoSamples) {
    const std::string svg = render_latency_svg(LatencyHistogram{}, "empty");
    EXPECT_EQ(svg.rfind("<svg", 0), 0u);
    EXPECT_NE(svg.find("no samples"), std::string::npos);
    std::string why;
    EXPECT_TRUE(tags_balanced(svg, &why)) << why;
}

TEST(ReportTest, SvgOfSingleValueIsWellFormed) {
    LatencyHistogram h;
    h.record(0);
    const std::string svg = render_latency_svg(h, "zero");
    std::string why;
    EXPECT_TRUE(tags_balanced(svg, &why)) << why;
    EXPECT_EQ(svg.find("nan"), std::string::npos);
    EXPECT_EQ(svg.find("inf"), std::string::npos);
}

}  // namespace
}  // namespace rlog::bench
