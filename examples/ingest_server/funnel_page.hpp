// GET /: one self-contained HTML page (no scripts, no external assets) with the referral funnel
// and the delivery counters, for people who would rather look than read JSON.
#ifndef REFERKIT_INGEST_FUNNEL_PAGE_HPP
#define REFERKIT_INGEST_FUNNEL_PAGE_HPP

#include <string>
#include <string_view>

#include "event_store.hpp"
#include "ingest_stats.hpp"
#include "shared/html.hpp"

namespace referkit::ingest {

using examples::html_escape;

std::string render_funnel_page(const CounterSnapshot& counters, const StoredCounts& stored);

}  // namespace referkit::ingest

#endif  // REFERKIT_INGEST_FUNNEL_PAGE_HPP
