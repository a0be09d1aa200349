// The example shop (referkit-shop) over HTTP, with real processes only: the shop delivering to
// referkit-ingest on loopback. Requests go through cpp-httplib's client with a small cookie jar,
// so each Visitor is one browser. The judge is what referkit-ingest stored: after the shop is
// stopped (SIGTERM, which drains its tracker) and the server too, the database is read directly.
#include <doctest/doctest.h>
#include <httplib.h>
#include <simdjson.h>
#include <sqlite3.h>

#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ingest_support.hpp"
#include "referkit/webhooks.hpp"
#include "support/process.hpp"

using namespace referkit::test;
using namespace referkit::test::ingest;
using namespace std::chrono_literals;

namespace {

constexpr const char* kWebhookSecret = "shop-test-webhook-secret-0123456789";
constexpr std::int64_t kMonth = 31 * 24 * 3600;

std::string write_keys(const TempDir& dir) {
  const std::string path = dir.file("link-keys");
  std::ofstream(path) << "k1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
  return path;
}

// referkit-shop on 127.0.0.1 with a free port, delivering to `ingest_url`.
class ShopServer {
 public:
  ShopServer(const TempDir& dir, const std::string& ingest_url, const std::string& spool,
             const std::vector<std::string>& extra = {})
      : process_([&] {
          std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--endpoint", ingest_url, "--write-key", "wk",
                                           "--spool", spool, "--keys", write_keys(dir),
                                           "--webhook-secret", kWebhookSecret};
          args.insert(args.end(), extra.begin(), extra.end());
          return Process::start(REFERKIT_SHOP_PATH, args);
        }()) {
    const auto line = process_.read_line(15s);
    REQUIRE_MESSAGE(line.has_value(), "referkit-shop printed nothing; stderr: " << process_.stderr_text());
    constexpr std::string_view prefix = "listening on http://127.0.0.1:";
    REQUIRE_MESSAGE(line->rfind(prefix, 0) == 0, "first line: " << *line);
    port_ = std::stoi(line->substr(prefix.size()));
  }
  int port() const { return port_; }
  // Whether the shop's stderr has `needle`, waiting up to 10 s: the pipe is drained by a
  // background thread, so a line the shop wrote a moment ago may not be read yet.
  bool logged(std::string_view needle) const {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (process_.stderr_text().find(needle) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }
  // SIGTERM: the shop stops serving and drains its tracker; it must exit 0.
  void stop() {
    const ExitStatus status = process_.terminate(20s);
    INFO(process_.stderr_text());
    CHECK(status.success());
  }

 private:
  mutable Process process_;
  int port_ = 0;
};

// One browser: a cookie jar over cpp-httplib's client (which does not follow redirects).
class Visitor {
 public:
  explicit Visitor(int port) : client_("127.0.0.1", port) {
    client_.set_connection_timeout(5s);
    client_.set_read_timeout(10s);
  }
  httplib::Result get(const std::string& path) { return keep(client_.Get(path.c_str(), cookie_header())); }
  httplib::Result post(const std::string& path, const httplib::Params& form) {
    return keep(client_.Post(path.c_str(), cookie_header(), form));
  }
  std::string cookie(const std::string& name) const {
    auto it = jar_.find(name);
    return it == jar_.end() ? std::string() : it->second;
  }
  void set_cookie(const std::string& name, std::string value) { jar_[name] = std::move(value); }

 private:
  httplib::Headers cookie_header() const {
    std::string value;
    for (const auto& [name, v] : jar_) value += (value.empty() ? "" : "; ") + name + "=" + v;
    if (value.empty()) return {};
    return {{"Cookie", value}};
  }
  httplib::Result keep(httplib::Result result) {
    REQUIRE_MESSAGE(result, "request failed: " << httplib::to_string(result.error()));
    const std::size_t n = result->get_header_value_count("Set-Cookie");
    for (std::size_t i = 0; i < n; ++i) {
      const std::string header = result->get_header_value("Set-Cookie", i);
      const std::string pair = header.substr(0, header.find(';'));
      const std::size_t eq = pair.find('=');
      if (eq != std::string::npos) jar_[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
    return result;
  }
  httplib::Client client_;
  std::map<std::string, std::string> jar_;
};

// The text of the element with id="<id>" (a <code>, <b> or <a> with no children).
std::string element_text(const std::string& html, const std::string& id) {
  const std::size_t at = html.find("id=\"" + id + "\"");
  if (at == std::string::npos) return {};
  const std::size_t open_end = html.find('>', at);
  return html.substr(open_end + 1, html.find('<', open_end) - open_end - 1);
}
std::string element_href(const std::string& html, const std::string& id) {
  const std::size_t at = html.find("id=\"" + id + "\" href=\"");
  if (at == std::string::npos) return {};
  const std::size_t start = at + id.size() + 12;
  return html.substr(start, html.find('"', start) - start);
}

struct Referrer {
  std::string customer_id;
  std::string link_path;  // "/r/<token>"
  std::string token;
  std::string share_code;
};

// Signs up and reads the account page.
Referrer sign_up_referrer(Visitor& browser, const std::string& email, const std::string& name) {
  auto signup = browser.post("/signup", {{"email", email}, {"name", name}});
  CHECK(signup->status == 303);
  auto account = browser.get("/account");
  REQUIRE(account->status == 200);
  Referrer r;
  r.customer_id = element_text(account->body, "customer-id");
  const std::string url = element_href(account->body, "referral-link");
  r.link_path = url.substr(url.find("/r/"));
  r.token = r.link_path.substr(3);
  r.share_code = element_text(account->body, "share-code");
  REQUIRE(!r.customer_id.empty());
  REQUIRE(!r.token.empty());
  REQUIRE(!r.share_code.empty());
  return r;
}

// A stored event: its name, userId and the properties we check.
struct StoredEvent {
  std::string name;
  std::string user_id;
  std::string referral_code;  // empty when absent
  bool self_referral = false;
  std::string json;  // as stored
};

std::vector<StoredEvent> stored_events(const std::string& db_path) {
  std::vector<StoredEvent> out;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT json FROM events ORDER BY received_at, rowid", -1, &s, nullptr) == SQLITE_OK);
  simdjson::dom::parser parser;
  while (sqlite3_step(s) == SQLITE_ROW) {
    const std::string json(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)),
                           static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
    simdjson::dom::element e;
    REQUIRE(parser.parse(json).get(e) == simdjson::SUCCESS);
    StoredEvent event;
    std::string_view text;
    if (!e["event"].get(text)) event.name = text;
    if (!e["userId"].get(text)) event.user_id = text;
    if (!e["properties"]["referral_code"].get(text)) event.referral_code = text;
    bool flag = false;
    if (!e["properties"]["self_referral"].get(flag)) event.self_referral = flag;
    event.json = json;
    out.push_back(std::move(event));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

std::vector<StoredEvent> named(const std::vector<StoredEvent>& events, const std::string& name) {
  std::vector<StoredEvent> out;
  for (const auto& e : events) {
    if (e.name == name) out.push_back(e);
  }
  return out;
}

// One ingest server and one shop in a fresh directory; read() stops both and returns what was stored.
struct Rig {
  TempDir dir;
  std::string db = dir.file("ingest.db");
  IngestServer ingest{db};
  std::vector<std::unique_ptr<ShopServer>> shops;

  explicit Rig(const std::vector<std::string>& shop_flags = {}) { add_shop(shop_flags); }
  ShopServer& add_shop(const std::vector<std::string>& flags) {
    shops.push_back(std::make_unique<ShopServer>(dir, ingest.url(), dir.file("spool-" + std::to_string(shops.size())),
                                                 flags));
    return *shops.back();
  }
  ShopServer& shop() { return *shops.front(); }
  std::vector<StoredEvent> read() {
    for (auto& s : shops) s->stop();
    CHECK(ingest.stop().success());
    return stored_events(db);
  }
};

std::string sign_now(const std::string& body) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  return referkit::sign_payload(kWebhookSecret, now, body);
}

}  // namespace

TEST_SUITE("shop") {

TEST_CASE("shop: a referred visitor lands then signs up and buys and ingest holds the three events with the referrer's code") {
  Rig rig;
  Visitor jane(rig.shop().port());
  const Referrer referrer = sign_up_referrer(jane, "jane@example.com", "Jane");

  // Bob lands on Jane's link; Carol types Jane's share code (?ref=).
  Visitor bob(rig.shop().port());
  auto landed = bob.get(referrer.link_path);
  CHECK(landed->status == 302);
  CHECK(landed->get_header_value("Location") == "/");
  CHECK(landed->get_header_value("Set-Cookie").find("Secure; HttpOnly; SameSite=Lax") != std::string::npos);
  CHECK(!bob.cookie("rk_ref").empty());
  CHECK(bob.post("/signup", {{"email", "bob@example.com"}, {"name", "Bob"}})->get_header_value("X-Shop-Attribution") ==
        "referred");
  auto order = bob.post("/checkout", {{"sku", "tee-classic"}, {"qty", "2"}, {"sku", "mug-enamel"}, {"qty", "1"}});
  CHECK(order->status == 200);
  CHECK(order->get_header_value("X-Shop-Attribution") == "referred");
  CHECK(element_text(order->body, "total") == "64.50 EUR");

  Visitor carol(rig.shop().port());
  CHECK(carol.get("/?ref=" + referrer.share_code)->status == 302);
  CHECK(carol.post("/signup", {{"email", "carol@example.com"}, {"name", "Carol"}})->status == 303);
  CHECK(carol.post("/checkout", {{"sku", "tote-canvas"}, {"qty", "1"}})->get_header_value("X-Shop-Attribution") ==
        "referred");

  const auto events = rig.read();
  const auto clicked = named(events, "Referral Link Clicked");
  const auto signed_up = named(events, "Referee Signed Up");
  const auto orders = named(events, "Order Completed");
  REQUIRE(clicked.size() == 2);
  REQUIRE(signed_up.size() == 2);
  REQUIRE(orders.size() == 2);
  CHECK(clicked[0].referral_code == referrer.token);
  CHECK(clicked[1].referral_code == referrer.share_code);
  CHECK(signed_up[0].referral_code == referrer.token);
  CHECK(signed_up[1].referral_code == referrer.share_code);
  CHECK(orders[0].referral_code == referrer.token);
  CHECK(orders[1].referral_code == referrer.share_code);
  CHECK(orders[0].user_id != referrer.customer_id);
  CHECK(orders[0].user_id == signed_up[0].user_id);
  // The order's lines as Segment's products array, and the request context with the client IP
  // truncated to its /24 by the tracker's default policy.
  CHECK(orders[0].json.find(R"("products":[{"sku":"tee-classic","name":"Classic tee","price":25.00,"quantity":2},)"
                            R"({"sku":"mug-enamel")") != std::string::npos);
  CHECK(orders[0].json.find(R"("context":{"ip":"127.0.0.0")") != std::string::npos);
  CHECK(orders[0].json.find(R"("page":{"url":")") != std::string::npos);
  CHECK(clicked[0].json.find(R"("context":{"ip":"127.0.0.0")") != std::string::npos);
}

TEST_CASE("shop: a bad link changes no cookie and still lands on the shop") {
  Rig rig;
  Visitor eve(rig.shop().port());
  auto landed = eve.get("/r/not-a-referral-link");
  CHECK(landed->status == 302);
  CHECK(landed->get_header_value_count("Set-Cookie") == 0);
  CHECK(eve.cookie("rk_ref").empty());
  const auto events = rig.read();
  CHECK(named(events, "Referral Link Clicked").empty());
  CHECK(rig.shop().logged("referral link ignored"));
}

TEST_CASE("shop: a tampered attribution cookie is ignored") {
  Rig rig;
  Visitor jane(rig.shop().port());
  const Referrer referrer = sign_up_referrer(jane, "jane@example.com", "Jane");
  Visitor bob(rig.shop().port());
  bob.get(referrer.link_path);
  std::string cookie = bob.cookie("rk_ref");
  REQUIRE(cookie.size() > 20);
  cookie[10] = cookie[10] == 'A' ? 'B' : 'A';  // inside the payload, before the tag
  bob.set_cookie("rk_ref", cookie);
  CHECK(bob.post("/signup", {{"email", "bob@example.com"}, {"name", "Bob"}})->get_header_value("X-Shop-Attribution") ==
        "ignored:bad_signature");
  auto order = bob.post("/checkout", {{"sku", "tee-classic"}, {"qty", "1"}});
  CHECK(order->get_header_value("X-Shop-Attribution") == "ignored:bad_signature");

  const auto events = rig.read();
  CHECK(named(events, "Referral Link Clicked").size() == 1);
  CHECK(named(events, "Referee Signed Up").empty());
  const auto orders = named(events, "Order Completed");
  REQUIRE(orders.size() == 1);
  CHECK(orders[0].referral_code.empty());
}

TEST_CASE("shop: a cookie past its attribution window is ignored") {
  Rig rig;
  Visitor jane(rig.shop().port());
  const Referrer referrer = sign_up_referrer(jane, "jane@example.com", "Jane");
  Visitor bob(rig.shop().port());
  bob.get(referrer.link_path);
  REQUIRE(!bob.cookie("rk_ref").empty());
  // The same shop (same keys) a month later: --now-offset shifts the attribution clock only.
  ShopServer& later = rig.add_shop({"--now-offset", std::to_string(kMonth)});
  Visitor bob_later(later.port());
  bob_later.set_cookie("rk_ref", bob.cookie("rk_ref"));
  CHECK(bob_later.post("/signup", {{"email", "bob@example.com"}, {"name", "Bob"}})
            ->get_header_value("X-Shop-Attribution") == "ignored:expired");
  CHECK(bob_later.post("/checkout", {{"sku", "mug-enamel"}, {"qty", "1"}})->get_header_value("X-Shop-Attribution") ==
        "ignored:expired");
  // The window is fixed in the cookie at landing: a shop with --attribution-window 3600 (1 hour)
  // sets cookies that a shop two hours later refuses.
  ShopServer& short_window = rig.add_shop({"--attribution-window", "3600"});
  Visitor dan(short_window.port());
  dan.get(referrer.link_path);
  REQUIRE(!dan.cookie("rk_ref").empty());
  ShopServer& two_hours_later = rig.add_shop({"--attribution-window", "3600", "--now-offset", "7200"});
  Visitor dan_later(two_hours_later.port());
  dan_later.set_cookie("rk_ref", dan.cookie("rk_ref"));
  dan_later.post("/signup", {{"email", "dan@example.com"}, {"name", "Dan"}});
  CHECK(dan_later.post("/checkout", {{"sku", "mug-enamel"}, {"qty", "1"}})->get_header_value("X-Shop-Attribution") ==
        "ignored:expired");

  const auto events = rig.read();
  CHECK(named(events, "Referral Link Clicked").size() == 2);
  CHECK(named(events, "Referee Signed Up").empty());
  const auto orders = named(events, "Order Completed");
  REQUIRE(orders.size() == 2);
  for (const auto& o : orders) CHECK(o.referral_code.empty());
}

TEST_CASE("shop: a self-referral is not attributed by link (referrer id) or by share code (email)") {
  Rig rig;
  Visitor jane(rig.shop().port());
  const Referrer referrer = sign_up_referrer(jane, "jane@example.com", "Jane");
  jane.get(referrer.link_path);
  auto by_link = jane.post("/checkout", {{"sku", "tee-classic"}, {"qty", "1"}});
  CHECK(by_link->get_header_value("X-Shop-Attribution") == "self-referral");
  CHECK(element_text(by_link->body, "attribution").find("own referral link") != std::string::npos);
  jane.get("/r/" + referrer.share_code);
  CHECK(jane.post("/checkout", {{"sku", "tee-classic"}, {"qty", "1"}})->get_header_value("X-Shop-Attribution") ==
        "self-referral");

  const auto events = rig.read();
  const auto orders = named(events, "Order Completed");
  REQUIRE(orders.size() == 2);
  for (const auto& o : orders) {
    CHECK(o.user_id == referrer.customer_id);
    CHECK(o.referral_code.empty());
    CHECK(o.self_referral);
  }
  CHECK(rig.shop().logged("self-referral by " + referrer.customer_id));
}

TEST_CASE("shop: a reward webhook credits once and a replay does not credit twice and a bad signature gets 401") {
  Rig rig;
  Visitor jane(rig.shop().port());
  const Referrer referrer = sign_up_referrer(jane, "jane@example.com", "Jane");
  const std::string body = R"({"type":"reward.issued","id":"evt_1","data":{"reward_id":"rw-1","user_id":")" +
                           referrer.customer_id +
                           R"(","reward_type":"credit","amount":{"minor_units":1000,"currency":"EUR"}}})";
  httplib::Client platform("127.0.0.1", rig.shop().port());
  auto post = [&](const std::string& payload, const std::string& signature) {
    auto r = platform.Post("/webhooks/referkit", {{std::string(referkit::kSignatureHeader), signature}}, payload,
                           "application/json");
    REQUIRE(r);
    return r;
  };

  auto first = post(body, sign_now(body));
  CHECK(first->status == 200);
  CHECK(first->body.find("credited") != std::string::npos);
  auto replay = post(body, sign_now(body));
  CHECK(replay->status == 200);
  CHECK(replay->body.find("duplicate") != std::string::npos);
  CHECK(element_text(jane.get("/account")->body, "credit") == "10.00 EUR");

  std::string tampered = body;
  tampered.replace(tampered.find("1000"), 4, "9000");
  CHECK(post(tampered, sign_now(body))->status == 401);
  CHECK(post(body, "t=1,v1=00")->status == 401);
  CHECK(post(body, "")->status == 401);
  const std::string other = R"({"type":"referral.created","id":"evt_2","data":{}})";
  auto ignored = post(other, sign_now(other));
  CHECK(ignored->status == 200);
  CHECK(ignored->body.find("ignored") != std::string::npos);
  CHECK(element_text(jane.get("/account")->body, "credit") == "10.00 EUR");
  // Signed, but not something the shop can act on: refused without a credit.
  const std::string stranger = R"({"type":"reward.issued","id":"evt_3","data":{"reward_id":"rw-2","user_id":"cust-999","reward_type":"credit","amount":{"minor_units":500,"currency":"EUR"}}})";
  CHECK(post(stranger, sign_now(stranger))->status == 404);
  const std::string broken = R"({"type":"reward.issued","data":{"reward_id":"rw-3"}})";
  CHECK(post(broken, sign_now(broken))->status == 400);
  CHECK(post("not json", sign_now("not json"))->status == 400);

  const auto events = rig.read();
  const auto rewards = named(events, "Reward Issued");
  REQUIRE(rewards.size() == 1);
  CHECK(rewards[0].user_id == referrer.customer_id);
  CHECK(rig.shop().logged("already credited"));
}

TEST_CASE("shop: the account page re-mints the same link and sharing tracks Referral Link Shared") {
  Rig rig;
  Visitor jane(rig.shop().port());
  const Referrer first = sign_up_referrer(jane, "jane@example.com", "Jane");
  auto again = jane.get("/account");
  CHECK(element_text(again->body, "share-code") == first.share_code);
  CHECK(jane.post("/share", {{"channel", "email"}})->status == 200);
  CHECK(jane.post("/share", {{"channel", "carrier-pigeon"}})->status == 400);
  const auto shared = named(rig.read(), "Referral Link Shared");
  REQUIRE(shared.size() == 1);
  CHECK(shared[0].referral_code == first.share_code);
}

TEST_CASE("shop: events tracked while the platform is down survive a restart of the shop (durable mode)") {
  TempDir dir;
  const std::string db = dir.file("ingest.db");
  const std::string spool = dir.file("spool");
  std::string down_url;
  {
    IngestServer gone(dir.file("gone.db"));
    down_url = gone.url();
    CHECK(gone.stop().success());
  }
  std::string token;
  {
    ShopServer shop(dir, down_url, spool, {"--shutdown-timeout", "1"});
    Visitor jane(shop.port());
    token = sign_up_referrer(jane, "jane@example.com", "Jane").token;
    Visitor bob(shop.port());
    bob.get("/r/" + token);
    bob.post("/signup", {{"email", "bob@example.com"}, {"name", "Bob"}});
    CHECK(bob.post("/checkout", {{"sku", "tee-classic"}, {"qty", "1"}})->status == 200);
    shop.stop();
    CHECK(shop.logged("kept in the spool"));
  }
  {
    IngestServer ingest(db);
    ShopServer restarted(dir, ingest.url(), spool);
    restarted.stop();
    CHECK(ingest.stop().success());
  }
  const auto events = stored_events(db);
  for (const char* name : {"Referral Link Clicked", "Referee Signed Up", "Order Completed"}) {
    const auto matching = named(events, name);
    REQUIRE_MESSAGE(matching.size() == 1, name);
    CHECK(matching[0].referral_code == token);
  }
}

}  // TEST_SUITE
