#include "customer_store.hpp"

#include <algorithm>
#include <cctype>

namespace referkit::shop {
namespace {

std::string normalize_email(std::string_view email) {
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.front()))) email.remove_prefix(1);
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.back()))) email.remove_suffix(1);
  std::string out(email);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::uint64_t seed_from_device() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) ^ device();
}

}  // namespace

CustomerStore::CustomerStore(std::string currency) : currency_(std::move(currency)), random_(seed_from_device()) {
  order_prefix_ = random_hex(4);
}

std::string CustomerStore::random_hex(std::size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto b = static_cast<unsigned>(random_() & 0xff);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

CustomerStore::SignUp CustomerStore::sign_up(std::string_view email, std::string_view name, TimePoint now) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string key = normalize_email(email);
  if (auto it = by_email_.find(key); it != by_email_.end()) return {customers_.at(it->second), false};
  CustomerRecord c;
  c.id = "cust-" + std::to_string(next_customer_++);
  c.name = std::string(name);
  c.email = key;
  c.created_at = now;
  by_email_.emplace(key, c.id);
  customers_.emplace(c.id, c);
  return {c, true};
}

void CustomerStore::set_share_code(const std::string& customer_id, std::string share_code) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = customers_.find(customer_id);
  if (it == customers_.end()) return;
  it->second.share_code = share_code;
  by_share_code_[std::move(share_code)] = customer_id;
}

std::optional<CustomerRecord> CustomerStore::find(std::string_view customer_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = customers_.find(customer_id);
  if (it == customers_.end()) return std::nullopt;
  return it->second;
}

std::optional<CustomerRecord> CustomerStore::find_by_share_code(std::string_view share_code) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = by_share_code_.find(share_code);
  if (it == by_share_code_.end()) return std::nullopt;
  return customers_.at(it->second);
}

std::string CustomerStore::open_session(const std::string& customer_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string token = random_hex(16);
  sessions_[token] = customer_id;
  return token;
}

std::optional<CustomerRecord> CustomerStore::session_customer(std::string_view token) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sessions_.find(token);
  if (it == sessions_.end()) return std::nullopt;
  return customers_.at(it->second);
}

std::uint64_t CustomerStore::record_order(const std::string& customer_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = customers_.find(customer_id);
  if (it == customers_.end()) return 0;
  return it->second.orders++;
}

std::string CustomerStore::next_order_id() {
  std::lock_guard<std::mutex> lock(mutex_);
  return "ord-" + order_prefix_ + "-" + std::to_string(next_order_++);
}

CreditOutcome CustomerStore::credit(std::string_view reward_id, std::string_view customer_id,
                                    const std::optional<Money>& amount) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = customers_.find(customer_id);
  if (it == customers_.end()) return CreditOutcome::kUnknownCustomer;
  if (amount && amount->currency != currency_) return CreditOutcome::kWrongCurrency;
  if (!credited_rewards_.emplace(reward_id).second) return CreditOutcome::kDuplicate;
  if (amount) it->second.credit_minor_units += amount->minor_units;
  return CreditOutcome::kCredited;
}

std::string CustomerStore::new_visitor_id() {
  std::lock_guard<std::mutex> lock(mutex_);
  return "v-" + random_hex(12);
}

}  // namespace referkit::shop
