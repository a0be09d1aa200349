// The shop's own state, in memory: customers, their sessions, their store credit and the rewards
// already credited. A real backend keeps this in its database; the referral pieces only need the
// customer id, email and creation time (to re-mint the customer's link) from it.
//
// Thread-safety: every method takes the store's mutex; records are returned by value.
#ifndef REFERKIT_EXAMPLES_MERCHANT_BACKEND_CUSTOMER_STORE_HPP
#define REFERKIT_EXAMPLES_MERCHANT_BACKEND_CUSTOMER_STORE_HPP

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>

#include "referkit/events.hpp"
#include "referkit/time.hpp"

namespace referkit::shop {

struct CustomerRecord {
  std::string id;  // "cust-<n>"
  std::string name;
  std::string email;
  TimePoint created_at{};   // also the issue time of the customer's referral link
  std::string share_code;   // the customer's own code, so a landing code maps back to them
  std::int64_t credit_minor_units = 0;  // store credit, in the shop's currency
  std::uint64_t orders = 0;
};

enum class CreditOutcome {
  kCredited,
  kDuplicate,        // this reward id was credited before: a replayed webhook
  kUnknownCustomer,
  kWrongCurrency,    // the shop keeps credit in one currency
};

class CustomerStore {
 public:
  explicit CustomerStore(std::string currency);

  // Creates a customer, or returns the existing one with this email (then `created` is false:
  // signing up twice is signing in, and is not a new referral).
  struct SignUp {
    CustomerRecord customer;
    bool created = false;
  };
  SignUp sign_up(std::string_view email, std::string_view name, TimePoint now);
  void set_share_code(const std::string& customer_id, std::string share_code);

  std::optional<CustomerRecord> find(std::string_view customer_id) const;
  std::optional<CustomerRecord> find_by_share_code(std::string_view share_code) const;

  // Sessions are random tokens mapped to a customer id, so a session cookie cannot be forged by
  // guessing customer ids.
  std::string open_session(const std::string& customer_id);
  std::optional<CustomerRecord> session_customer(std::string_view token) const;

  // Counts an order and returns how many the customer had before it; a fresh order id.
  std::uint64_t record_order(const std::string& customer_id);
  std::string next_order_id();

  // Records a reward once per reward id, whatever the number of deliveries; adds `amount` (store
  // credit) to the balance when there is one.
  CreditOutcome credit(std::string_view reward_id, std::string_view customer_id, const std::optional<Money>& amount);
  // An anonymous id for a visitor who has none yet.
  std::string new_visitor_id();

  const std::string& currency() const { return currency_; }

 private:
  std::string random_hex(std::size_t bytes);  // callers hold mutex_

  const std::string currency_;
  mutable std::mutex mutex_;
  std::mt19937_64 random_;  // seeded from std::random_device; session tokens and order ids
  std::uint64_t next_customer_ = 1;
  std::uint64_t next_order_ = 1;
  std::string order_prefix_;  // random per process, so order ids stay unique across restarts
  std::map<std::string, CustomerRecord, std::less<>> customers_;  // by id
  std::map<std::string, std::string, std::less<>> by_email_;      // normalized email -> id
  std::map<std::string, std::string, std::less<>> by_share_code_; // share code -> id
  std::map<std::string, std::string, std::less<>> sessions_;      // token -> id
  std::set<std::string, std::less<>> credited_rewards_;
};

}  // namespace referkit::shop

#endif  // REFERKIT_EXAMPLES_MERCHANT_BACKEND_CUSTOMER_STORE_HPP
