// Everything public in one include.
#ifndef REFERKIT_REFERKIT_HPP
#define REFERKIT_REFERKIT_HPP

#include "referkit/attribution.hpp"
#include "referkit/events.hpp"
#include "referkit/links.hpp"
#include "referkit/status.hpp"
#include "referkit/spool.hpp"
#include "referkit/time.hpp"
#include "referkit/tracker.hpp"
#include "referkit/transport.hpp"
#include "referkit/version.hpp"
#include "referkit/webhooks.hpp"

#endif  // REFERKIT_REFERKIT_HPP
