#include "pages.hpp"

namespace referkit::shop {
namespace {

constexpr std::string_view kStyle =
    "body{font:15px/1.4 system-ui,sans-serif;margin:2em auto;max-width:44em;color:#222}"
    "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .5em;"
    "border-bottom:1px solid #ddd}input,select,button{font:inherit;margin:.2em 0}"
    "code{background:#f3f3f3;padding:.1em .3em}.muted{color:#777}";

std::string page(std::string_view title, const std::string& body) {
  std::string out = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>";
  out += html_escape(title);
  out += "</title><style>";
  out += kStyle;
  out += "</style></head><body>\n<p><a href=\"/\">Shop</a> &middot; <a href=\"/account\">Account</a></p>\n<h1>";
  out += html_escape(title);
  out += "</h1>\n";
  out += body;
  out += "</body></html>\n";
  return out;
}

}  // namespace

std::string money_text(const Money& money) {
  auto text = format_money(money);
  return (text ? *text : std::to_string(money.minor_units)) + " " + money.currency;
}

std::string product_page(const std::vector<Product>& products, const std::optional<CustomerRecord>& customer) {
  std::string body;
  if (!customer) {
    body += "<h2>Sign up</h2>\n<form method=\"post\" action=\"/signup\" id=\"signup\">"
            "<label>Email <input type=\"email\" name=\"email\" required></label><br>"
            "<label>Name <input type=\"text\" name=\"name\" required></label><br>"
            "<button type=\"submit\">Sign up</button></form>\n"
            "<p class=\"muted\">Sign up to buy.</p>\n";
  } else {
    body += "<p>Signed in as <b>" + html_escape(customer->name) + "</b> (" + html_escape(customer->email) + ").</p>\n";
  }
  body += "<h2>Products</h2>\n<form method=\"post\" action=\"/checkout\" id=\"buy\">\n"
          "<table><tr><th>Product</th><th>Price</th><th>Quantity</th></tr>\n";
  for (const Product& p : products) {
    body += "<tr><td>" + html_escape(p.name) + "</td><td>" + html_escape(money_text(p.price)) +
            "</td><td><input type=\"hidden\" name=\"sku\" value=\"" + html_escape(p.sku) +
            "\"><input type=\"number\" name=\"qty\" min=\"0\" max=\"99\" value=\"0\" data-sku=\"" +
            html_escape(p.sku) + "\"></td></tr>\n";
  }
  body += "</table>\n";
  if (customer) body += "<button type=\"submit\">Buy</button>\n";
  body += "</form>\n";
  return page("referkit example shop", body);
}

std::string account_page(const CustomerRecord& customer, const std::string& link_url, const std::string& share_code,
                         const std::string& currency, std::string_view notice) {
  std::string body;
  if (!notice.empty()) body += "<p><b>" + html_escape(notice) + "</b></p>\n";
  body += "<p>Customer <code id=\"customer-id\">" + html_escape(customer.id) + "</code>: " +
          html_escape(customer.name) + " (" + html_escape(customer.email) + ")</p>\n";
  body += "<p>Store credit: <b id=\"credit\">" +
          html_escape(money_text(Money{customer.credit_minor_units, currency})) + "</b></p>\n";
  body += "<h2>Invite friends</h2>\n<p>Your link: <a id=\"referral-link\" href=\"" + html_escape(link_url) + "\">" +
          html_escape(link_url) + "</a></p>\n<p>Your share code: <code id=\"share-code\">" +
          html_escape(share_code) + "</code></p>\n";
  body += "<form method=\"post\" action=\"/share\" id=\"share\"><select name=\"channel\">"
          "<option value=\"copy_link\">Copy link</option><option value=\"email\">Email</option>"
          "<option value=\"whatsapp\">WhatsApp</option></select> <button type=\"submit\">Share</button></form>\n";
  return page("Your account", body);
}

std::string order_page(const std::string& order_id, const std::vector<OrderLine>& lines, const Money& total,
                       const AttributionOutcome& attribution) {
  std::string body = "<p>Order <code id=\"order-id\">" + html_escape(order_id) + "</code></p>\n<table>"
                     "<tr><th>Product</th><th>Quantity</th><th>Price</th></tr>\n";
  for (const OrderLine& line : lines) {
    body += "<tr><td>" + html_escape(line.product->name) + "</td><td>" + std::to_string(line.quantity) +
            "</td><td>" + html_escape(money_text(line.product->price)) + "</td></tr>\n";
  }
  body += "</table>\n<p>Total: <b id=\"total\">" + html_escape(money_text(total)) + "</b></p>\n";
  body += "<p class=\"muted\" id=\"attribution\" data-state=\"" + html_escape(attribution.state) + "\">";
  if (attribution.state == "referred") {
    body += "Referred with code " + html_escape(attribution.referral_code) + ".";
  } else if (attribution.state == "self-referral") {
    body += "Bought through your own referral link: no referral credit.";
  } else {
    body += "No referral.";
  }
  body += "</p>\n";
  return page("Thank you", body);
}

std::string message_page(std::string_view title, std::string_view text) {
  return page(title, "<p>" + html_escape(text) + "</p>\n");
}

}  // namespace referkit::shop
