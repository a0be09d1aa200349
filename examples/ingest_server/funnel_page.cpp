#include "funnel_page.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>

namespace referkit::ingest {
namespace {

// The journey in order; each step's conversion is shown against the one before it.
constexpr std::array<std::string_view, 4> kFunnel = {"Referral Link Shared", "Referral Link Clicked",
                                                     "Referee Signed Up", "Order Completed"};
// Outcomes after the order: shown with the funnel, but not as a conversion step.
constexpr std::array<std::string_view, 2> kOutcomes = {"Order Refunded", "Reward Issued"};

constexpr std::string_view kStyle =
    "body{font:15px/1.4 system-ui,sans-serif;margin:2em auto;max-width:52em;color:#222}"
    "table{border-collapse:collapse;width:100%;margin-bottom:2em}"
    "th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #ddd}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".bar{background:#3b82f6;height:.9em;min-width:1px}.muted{color:#777}";

std::uint64_t count_of(const StoredCounts& stored, std::string_view name) {
  for (const auto& [n, c] : stored.by_event) {
    if (n == name) return c;
  }
  return 0;
}

// "42.5%" from a ratio of counts, in integers (no locale, no floating point).
std::string percent(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return "-";
  const std::uint64_t permille = part * 1000 / whole;
  return fmt::format("{}.{}%", permille / 10, permille % 10);
}

void row(std::string& out, std::string_view label, std::uint64_t count, const std::string& ratio,
         std::uint64_t scale) {
  const std::uint64_t width = scale == 0 ? 0 : count * 100 / scale;
  fmt::format_to(std::back_inserter(out),
                 "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                 "<td style=\"width:40%\"><div class=\"bar\" style=\"width:{}%\"></div></td></tr>\n",
                 html_escape(label), count, html_escape(ratio), width);
}

void counter_row(std::string& out, std::string_view label, std::uint64_t value) {
  fmt::format_to(std::back_inserter(out), "<tr><td>{}</td><td class=\"n\">{}</td></tr>\n", html_escape(label), value);
}

}  // namespace

std::string render_funnel_page(const CounterSnapshot& c, const StoredCounts& stored) {
  std::string out;
  out.reserve(8192);
  out += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta http-equiv=\"refresh\" content=\"5\"><title>referkit-ingest</title><style>";
  out += kStyle;
  out += "</style></head><body>\n<h1>Referral funnel</h1>\n";

  std::uint64_t scale = 0;
  for (auto name : kFunnel) scale = std::max(scale, count_of(stored, name));
  for (auto name : kOutcomes) scale = std::max(scale, count_of(stored, name));
  out += "<table><tr><th>Step</th><th>Events</th><th>From previous step</th><th></th></tr>\n";
  std::uint64_t previous = 0;
  for (std::size_t i = 0; i < kFunnel.size(); ++i) {
    const std::uint64_t n = count_of(stored, kFunnel[i]);
    row(out, kFunnel[i], n, i == 0 ? std::string("-") : percent(n, previous), scale);
    previous = n;
  }
  const std::uint64_t orders = count_of(stored, "Order Completed");
  for (auto name : kOutcomes) {
    const std::uint64_t n = count_of(stored, name);
    row(out, name, n, fmt::format("{} of orders", percent(n, orders)), scale);
  }
  out += "</table>\n<h2>Delivery</h2>\n<table>\n";
  counter_row(out, "Events stored", stored.events);
  counter_row(out, "Batch requests", c.requests);
  counter_row(out, "Batches stored", c.batches);
  counter_row(out, "Duplicate events (redeliveries)", c.duplicates);
  counter_row(out, "Events rejected", c.rejected);
  counter_row(out, "Batches refused (4xx)", c.bad_requests);
  counter_row(out, "Authentication failures", c.auth_failures);
  counter_row(out, "Faults injected: 503", c.fail_faults);
  counter_row(out, "Faults injected: dropped connections", c.drop_faults);
  counter_row(out, "Faults injected: 429", c.throttle_faults);
  out += "</table>\n";

  std::string others;
  for (const auto& [name, count] : stored.by_event) {
    const bool shown = std::find(kFunnel.begin(), kFunnel.end(), name) != kFunnel.end() ||
                       std::find(kOutcomes.begin(), kOutcomes.end(), name) != kOutcomes.end();
    if (!shown) counter_row(others, name, count);
  }
  if (!others.empty()) fmt::format_to(std::back_inserter(out), "<h2>Other events</h2>\n<table>\n{}</table>\n", others);
  out += "<p class=\"muted\">Counts of stored events, deduplicated by messageId. Delivery counters are "
         "since the server started. As JSON: <a href=\"/v1/stats\">/v1/stats</a>. This page refreshes "
         "every 5 seconds.</p>\n</body></html>\n";
  return out;
}

}  // namespace referkit::ingest
