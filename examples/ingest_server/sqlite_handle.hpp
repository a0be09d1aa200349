// Owning handles for SQLite connections and statements, so every exit path finalizes and closes.
#ifndef REFERKIT_INGEST_SQLITE_HANDLE_HPP
#define REFERKIT_INGEST_SQLITE_HANDLE_HPP

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>

namespace referkit::ingest {

struct StatementDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

// sqlite3_close_v2 defers the close until the last statement is finalized, so member order in
// the owner cannot make it fail with SQLITE_BUSY.
struct ConnectionDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionDeleter>;

// Binds text without copying: SQLite reads it during the step that follows.
inline int bind_text(sqlite3_stmt* s, int index, std::string_view text) {
  return sqlite3_bind_text64(s, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

// The first column of the first row of a query that returns one integer (PRAGMA page_size);
// -1 when it fails.
inline int query_int(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return -1;
  Statement query(raw);
  return sqlite3_step(raw) == SQLITE_ROW ? sqlite3_column_int(raw, 0) : -1;
}

inline std::string sqlite_error(sqlite3* db, std::string_view what) {
  return std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory");
}

}  // namespace referkit::ingest

#endif  // REFERKIT_INGEST_SQLITE_HANDLE_HPP
