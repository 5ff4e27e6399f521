// Text: a string in one pointer, for the fields of a job that are usually empty (its helpers'
// types, its idempotency key, its error, its worker...). An engine holds a million queued jobs;
// a std::string costs 32 bytes even when empty, a Text 8 (and one allocation when not empty).
// Read it as a std::string_view; str() copies it into a std::string.
//
// Thread rules: a value type, like std::string.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace baton {

class Text {
 public:
  Text() = default;
  Text(std::string_view s) { Assign(s); }                    // NOLINT: implicit, as std::string is
  Text(const std::string& s) : Text(std::string_view(s)) {}  // NOLINT
  Text(const char* s) : Text(std::string_view(s)) {}         // NOLINT
  Text(const Text& o) : Text(o.view()) {}
  Text(Text&& o) noexcept = default;
  Text& operator=(const Text& o) {
    if (this != &o) Assign(o.view());
    return *this;
  }
  Text& operator=(Text&& o) noexcept = default;
  Text& operator=(std::string_view s) {
    Assign(s);
    return *this;
  }
  Text& operator=(const std::string& s) { return *this = std::string_view(s); }
  Text& operator=(const char* s) { return *this = std::string_view(s); }

  operator std::string_view() const { return view(); }  // NOLINT: implicit by design
  operator std::string() const { return str(); }        // NOLINT: a copy, where one is needed
  // Never a null data pointer, also when empty (a C API may read null as "no value").
  std::string_view view() const { return std::string_view(data(), size()); }
  std::string str() const { return std::string(view()); }
  const char* data() const { return p_ ? p_.get() + sizeof(uint32_t) : ""; }
  const char* c_str() const { return data(); }
  size_t size() const {
    if (!p_) return 0;
    uint32_t n;
    std::memcpy(&n, p_.get(), sizeof n);
    return n;
  }
  bool empty() const { return !p_; }
  void clear() { p_.reset(); }
  const char* begin() const { return data(); }
  const char* end() const { return data() + size(); }

  friend bool operator==(const Text& a, const Text& b) { return a.view() == b.view(); }
  friend bool operator==(const Text& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(const Text& a, const std::string& b) { return a.view() == b; }
  friend bool operator==(const Text& a, const char* b) { return a.view() == b; }
  friend std::string operator+(const std::string& a, const Text& b) { return a + b.str(); }
  friend std::string operator+(std::string&& a, const Text& b) {
    a += b.view();
    return std::move(a);
  }
  friend std::string operator+(const Text& a, const std::string& b) { return a.str() + b; }
  friend std::string operator+(const char* a, const Text& b) { return a + b.str(); }
  friend std::string operator+(const Text& a, const char* b) { return a.str() + b; }
  friend std::string& operator+=(std::string& a, const Text& b) { return a += b.view(); }
  friend std::ostream& operator<<(std::ostream& os, const Text& t) { return os << t.view(); }

 private:
  void Assign(std::string_view s) {
    if (s.empty()) {
      p_.reset();
      return;
    }
    const auto n = static_cast<uint32_t>(s.size());
    std::unique_ptr<char[]> p(new char[sizeof n + s.size() + 1]);
    std::memcpy(p.get(), &n, sizeof n);
    std::memcpy(p.get() + sizeof n, s.data(), s.size());
    p[sizeof n + s.size()] = '\0';
    p_ = std::move(p);
  }

  std::unique_ptr<char[]> p_;  // [size: uint32][chars]['\0']; null when empty
};

}  // namespace baton
