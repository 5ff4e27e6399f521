#include "common/json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace baton::json {
namespace {

TEST(JsonTest, StringArrayRoundTrips) {
  std::vector<std::string> tags = {"a", "with \"quote\"", "", "ünï"};
  auto decoded = DecodeStringArray(EncodeStringArray(tags), "tags");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, tags);
  EXPECT_EQ(EncodeStringArray({}), "[]");
}

TEST(JsonTest, DecodeRejectsWhatIsNotAStringArray) {
  EXPECT_EQ(DecodeStringArray("{}", "tags").status().message(), "tags: must be an array");
  EXPECT_EQ(DecodeStringArray("[1]", "tags").status().message(),
            "tags: every element must be a string");
  EXPECT_FALSE(DecodeStringArray("[", "tags").ok());
}

TEST(JsonTest, InvalidUtf8AtFindsTheFirstBadByte) {
  EXPECT_EQ(InvalidUtf8At("plain ascii"), std::string_view::npos);
  EXPECT_EQ(InvalidUtf8At("\u00e9t\u00e9 \u20ac \U0001F600"), std::string_view::npos);
  EXPECT_EQ(InvalidUtf8At("ab\xff"), 2u);            // never valid
  EXPECT_EQ(InvalidUtf8At("a\xc3"), 1u);             // cut short
  EXPECT_EQ(InvalidUtf8At("\xc0\xaf"), 0u);          // overlong '/'
  EXPECT_EQ(InvalidUtf8At("x\xed\xa0\x80"), 1u);     // a surrogate
  EXPECT_EQ(InvalidUtf8At("\xf4\x90\x80\x80"), 0u);  // past U+10FFFF
}

TEST(JsonTest, ValidUtf8ReplacesEachBadByteAndKeepsTheRest) {
  EXPECT_EQ(ValidUtf8("caf\u00e9"), "caf\u00e9");
  EXPECT_EQ(ValidUtf8("a\xff\xfe!"), "a\uFFFD\uFFFD!");
  EXPECT_EQ(ValidUtf8("\xc3"), "\uFFFD");
  // What comes out serializes to JSON that parses back.
  boost::json::object o;
  o["m"] = ValidUtf8("multipart/\xff\xff form");
  boost::system::error_code ec;
  boost::json::parse(boost::json::serialize(o), ec);
  EXPECT_FALSE(ec) << ec.message();
}

}  // namespace
}  // namespace baton::json
