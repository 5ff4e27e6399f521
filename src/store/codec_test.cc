#include "store/codec.h"

#include <gtest/gtest.h>

namespace baton::store {
namespace {

TEST(CodecTest, StepStatesRoundTripWithEveryField) {
  engine::StepStatus plain;
  engine::StepStatus full;
  full.state = engine::StepState::kPartial;
  full.job_id = 42;
  full.result = R"({"rows":3})";
  full.message = "one optional plugin failed";
  full.runs = 2;
  full.warning = true;
  full.plugin_of = 3;
  full.plugin_type = "notify.mail";
  full.plugin_mandatory = true;
  full.plugin_order = -5;
  const std::vector<engine::StepStatus> steps = {plain, full};
  Result<std::vector<engine::StepStatus>> back = DecodeSteps(EncodeSteps(steps), 7);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, steps);
  EXPECT_EQ(EncodeSteps({}), "[]");
  EXPECT_TRUE(DecodeSteps("[]", 7).value().empty());
}

TEST(CodecTest, UnreadableStepStatesAreDataLossNamingTheWorkflow) {
  for (const char* text : {"", "{}", "[1]", R"([{"state":"dancing"}])", R"([{"job":1}])",
                           R"([{"state":"waiting","plugin_of":1}])"}) {
    Result<std::vector<engine::StepStatus>> r = DecodeSteps(text, 7);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << text;
    EXPECT_EQ(r.status().message(), "workflow 7: unreadable step states") << text;
  }
}

}  // namespace
}  // namespace baton::store
