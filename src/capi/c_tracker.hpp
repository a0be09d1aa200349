// The C handles' layouts, shared by the files of src/capi/ (never by a caller: they are opaque).
#ifndef REFERKIT_SRC_CAPI_C_TRACKER_HPP
#define REFERKIT_SRC_CAPI_C_TRACKER_HPP

#include "referkit/tracker.hpp"

struct rk_tracker_options {
  referkit::TrackerOptions options;
};

struct rk_tracker {
  referkit::Tracker tracker;
  bool shared = false;  // opened by rk_tracker_open_shared: the library closes it at exit
};

#endif  // REFERKIT_SRC_CAPI_C_TRACKER_HPP
