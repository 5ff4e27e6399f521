#include "common/json.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace baton::json
