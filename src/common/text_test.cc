#include "common/text.h"

#include <gtest/gtest.h>

#include <sstream>
#include <utility>

namespace baton {
namespace {

TEST(TextTest, HoldsWhatItWasGivenInOnePointer) {
  static_assert(sizeof(Text) == sizeof(void*));
  Text empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_NE(empty.data(), nullptr);  // "" rather than null, for C APIs
  EXPECT_EQ(empty.view(), "");
  Text t = std::string("worker-7");
  EXPECT_FALSE(t.empty());
  EXPECT_EQ(t.size(), 8u);
  EXPECT_EQ(t, "worker-7");
  EXPECT_STREQ(t.c_str(), "worker-7");
  const std::string nul("a\0b", 3);
  EXPECT_EQ(Text(nul).str(), nul);  // any bytes
}

TEST(TextTest, CopiesMovesAndAssignsAsAString) {
  Text a = "first";
  Text b = a;
  EXPECT_EQ(b, a);
  b = "second";
  EXPECT_EQ(a, "first");
  Text c = std::move(b);
  EXPECT_EQ(c, "second");
  c = c;  // self-assignment keeps it
  EXPECT_EQ(c, "second");
  c = std::string_view(c).substr(1);  // from its own bytes
  EXPECT_EQ(c, "econd");
  c = "";
  EXPECT_TRUE(c.empty());
  a.clear();
  EXPECT_TRUE(a.empty());
}

TEST(TextTest, MixesWithStrings) {
  const Text t = "key";
  EXPECT_EQ("job " + t, "job key");
  EXPECT_EQ(t + "=1", "key=1");
  EXPECT_EQ(std::string("a-") + t, "a-key");
  std::string s = "x";
  s += t;
  EXPECT_EQ(s, "xkey");
  const std::string& bound = t;  // a copy, where a std::string is asked for
  EXPECT_EQ(bound, "key");
  std::ostringstream out;
  out << t;
  EXPECT_EQ(out.str(), "key");
}

}  // namespace
}  // namespace baton
