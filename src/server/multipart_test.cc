#include "server/multipart.h"

#include <gtest/gtest.h>

namespace baton::server {
namespace {

constexpr std::string_view kType = "multipart/form-data; boundary=XyZ";

TEST(Multipart, SplitsFieldsAndFiles) {
  const std::string body =
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"service\"\r\n\r\n"
      "example\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"file\"; filename=\"run.sh\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n"
      "echo hi\r\n--X not the boundary\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\n"
      "\r\n"
      "--XyZ--\r\n";
  Result<std::vector<MultipartPart>> parts = ParseMultipart(kType, body, 10);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].name, "service");
  EXPECT_FALSE((*parts)[0].is_file);
  EXPECT_EQ((*parts)[0].data, "example");
  EXPECT_EQ((*parts)[1].name, "file");
  EXPECT_TRUE((*parts)[1].is_file);
  EXPECT_EQ((*parts)[1].filename, "run.sh");
  EXPECT_EQ((*parts)[1].data, "echo hi\r\n--X not the boundary");
  EXPECT_TRUE((*parts)[2].is_file);
  EXPECT_EQ((*parts)[2].filename, "");
  EXPECT_EQ((*parts)[2].data, "");
}

TEST(Multipart, BoundaryMayBeQuotedAndBinaryDataSurvives) {
  std::string data("a\0b\r\nc", 6);
  const std::string body =
      "preamble\r\n--b 1\r\ncontent-disposition: form-data; name=x\r\n\r\n" + data + "\r\n--b 1--";
  Result<std::vector<MultipartPart>> parts =
      ParseMultipart(R"(Multipart/Form-Data; charset=utf-8; boundary="b 1")", body, 10);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].data, data);
}

std::string ErrorOf(std::string_view type, const std::string& body, size_t parts_max = 10) {
  Result<std::vector<MultipartPart>> parts = ParseMultipart(type, body, parts_max);
  EXPECT_FALSE(parts.ok());
  EXPECT_EQ(parts.status().code(), StatusCode::kInvalidArgument);
  return parts.status().message();
}

TEST(Multipart, RefusesMalformedBodiesWithTheReason) {
  EXPECT_EQ(ErrorOf("application/json", "{}"),
            "Content-Type: expected multipart/form-data, got \"application/json\"");
  EXPECT_EQ(ErrorOf("multipart/form-data", ""),
            "Content-Type: multipart/form-data needs a boundary of 1 to 70 chars");
  EXPECT_EQ(ErrorOf(kType, "nothing here"),
            "multipart body: the boundary from Content-Type never appears");
  EXPECT_EQ(ErrorOf(kType, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nabc"),
            "multipart body: ends before its closing boundary");
  EXPECT_EQ(ErrorOf(kType, "--XyZ\r\nContent-Type: text/plain\r\n\r\nabc\r\n--XyZ--"),
            "multipart part 1: no Content-Disposition header");
  EXPECT_EQ(ErrorOf(kType, "--XyZ\r\nContent-Disposition: attachment\r\n\r\nabc\r\n--XyZ--"),
            "multipart part 1: Content-Disposition must be form-data with a name");
  EXPECT_EQ(ErrorOf(kType, "--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--XyZ--"),
            "Content-Disposition: an unclosed quote");
  EXPECT_EQ(ErrorOf(kType, "--XyZ\r\nno colon\r\n\r\nx\r\n--XyZ--"),
            "multipart part 1: a header line without \":\"");
  const std::string two =
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=b\r\n\r\n2\r\n--XyZ--";
  EXPECT_EQ(ErrorOf(kType, two, 1), "multipart body: more than 1 parts");
  EXPECT_TRUE(ParseMultipart(kType, two, 2).ok());
}

}  // namespace
}  // namespace baton::server
