// TrackerOptions' checks, run by Tracker::open(): kInvalidArgument naming the first bad option.
#ifndef REFERKIT_SRC_TRACKING_OPTIONS_CHECK_HPP
#define REFERKIT_SRC_TRACKING_OPTIONS_CHECK_HPP

#include "referkit/tracker.hpp"

namespace referkit::detail {

[[nodiscard]] Status check_options(const TrackerOptions& options);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_TRACKING_OPTIONS_CHECK_HPP
