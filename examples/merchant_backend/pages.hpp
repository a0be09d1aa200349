// The shop's HTML: plain server-rendered pages with forms, no scripts. Everything that comes from
// a customer or a link goes through html_escape().
#ifndef REFERKIT_EXAMPLES_MERCHANT_BACKEND_PAGES_HPP
#define REFERKIT_EXAMPLES_MERCHANT_BACKEND_PAGES_HPP

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "customer_store.hpp"
#include "referkit/events.hpp"
#include "shared/html.hpp"

namespace referkit::shop {

using examples::html_escape;

struct Product {
  std::string sku;
  std::string name;
  Money price;
};

// What became of the referral at signup or checkout, shown to the customer and sent back in the
// X-Shop-Attribution header (the tests read it; a real shop would not expose it).
struct AttributionOutcome {
  std::string state;          // "referred", "self-referral", "none" or "ignored:<reason>"
  std::string referral_code;  // when referred
};

// "12.50 EUR"; the raw minor units if the currency is unknown.
std::string money_text(const Money& money);

std::string product_page(const std::vector<Product>& products, const std::optional<CustomerRecord>& customer);
std::string account_page(const CustomerRecord& customer, const std::string& link_url, const std::string& share_code,
                         const std::string& currency, std::string_view notice);
struct OrderLine {
  const Product* product = nullptr;
  std::int64_t quantity = 0;
};
std::string order_page(const std::string& order_id, const std::vector<OrderLine>& lines, const Money& total,
                       const AttributionOutcome& attribution);
std::string message_page(std::string_view title, std::string_view text);

}  // namespace referkit::shop

#endif  // REFERKIT_EXAMPLES_MERCHANT_BACKEND_PAGES_HPP
