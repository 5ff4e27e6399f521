#include "server/documents.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace baton::server {
namespace {

namespace json = boost::json;

json::value Read(std::string_view text, DocumentFormat f) {
  Result<std::string> r = DocumentToJson(text, f);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? json::parse(*r) : json::value();
}

TEST(DocumentsTest, YamlScalarsKeepTheirKinds) {
  EXPECT_EQ(Read(R"(
name: etl
steps:
  - name: a
    type: shell
    optional: true
    attempts_max: 3
    payload: {ratio: 0.5, quoted: "7", none: ~, word: yes, expr: steps.a.result.n > 5}
)",
                 DocumentFormat::kYaml),
            json::parse(R"({"name":"etl","steps":[{"name":"a","type":"shell","optional":true,
              "attempts_max":3,"payload":{"ratio":0.5,"quoted":"7","none":null,"word":"yes",
              "expr":"steps.a.result.n > 5"}}]})"));
}

TEST(DocumentsTest, TomlTablesAndArraysBecomeJson) {
  EXPECT_EQ(Read(R"(
[[types]]
name = "render"
timeout_ms = 60000
children_policy = { failures_max = 2 }
parameters.frame = { type = "integer", min = 0, max = 100.5 }
constraints = ["end > start"]
released = 2026-11-23T10:00:00Z
)",
                 DocumentFormat::kToml),
            json::parse(R"({"types":[{"name":"render","timeout_ms":60000,
              "children_policy":{"failures_max":2},
              "parameters":{"frame":{"type":"integer","min":0,"max":100.5}},
              "constraints":["end > start"],"released":"2026-11-23T10:00:00Z"}]})"));
}

TEST(DocumentsTest, SyntaxErrorsNameTheirLine) {
  Result<std::string> yaml = DocumentToJson("a: 1\nb: [unclosed\n", DocumentFormat::kYaml);
  ASSERT_FALSE(yaml.ok());
  EXPECT_EQ(yaml.status().message().rfind("YAML, line ", 0), 0u) << yaml.status().message();
  Result<std::string> toml = DocumentToJson("a = 1\nb = = 2\n", DocumentFormat::kToml);
  ASSERT_FALSE(toml.ok());
  EXPECT_EQ(toml.status().message().rfind("TOML, line 2: ", 0), 0u) << toml.status().message();
}

// Found by fuzz/documents_fuzz: yaml-cpp passed a stray byte into a string, and the JSON that
// came out could not be read. Every format is checked for UTF-8 first.
TEST(DocumentsTest, TextThatIsNotUtf8IsRefusedWithItsOffset) {
  for (DocumentFormat f : {DocumentFormat::kYaml, DocumentFormat::kToml, DocumentFormat::kJson}) {
    Result<std::string> r = DocumentToJson(
        "a: \"\xe7"
        "cho\"\n",
        f);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "the document is not valid UTF-8 (byte 4)");
  }
  // Overlong, surrogate, cut short, past U+10FFFF: refused. Two, three and four bytes: kept.
  for (std::string_view bad : {"\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80"}) {
    EXPECT_FALSE(DocumentToJson("a: " + std::string(bad), DocumentFormat::kYaml).ok()) << bad;
  }
  Result<std::string> ok =
      DocumentToJson("a: \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\xbc\"", DocumentFormat::kYaml);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\xbc\"}");
}

// Found by fuzz/documents_fuzz: aliases share nodes, so a short document can stand for an
// exponential one ("billion laughs"), and an anchor can hold its own alias. Both are refused
// with a clear error instead of exhausting memory or the stack.
TEST(DocumentsTest, AYamlDocumentThatExpandsWithoutBoundIsRefused) {
  std::string laughs = "a0: &a0 [\"" + std::string(1000, 'x') + "\"]\n";
  for (int i = 1; i <= 30; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    laughs +=
        "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev + ", " + prev + "]\n";
  }
  Result<std::string> r = DocumentToJson(laughs, DocumentFormat::kYaml);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "YAML: the document expands to more than 4 MiB of JSON (through its aliases?)");

  const std::string too_deep =
      "YAML: the document nests deeper than 128 levels (or an anchor holds its own alias)";
  Result<std::string> self = DocumentToJson("a: &x [1, *x]\n", DocumentFormat::kYaml);
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.status().message(), too_deep);
  std::string deep(200, '[');
  deep += std::string(200, ']');
  Result<std::string> nested = DocumentToJson(deep, DocumentFormat::kYaml);
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.status().message(), too_deep);
  std::string fine(100, '[');
  fine += std::string(100, ']');
  EXPECT_TRUE(DocumentToJson(fine, DocumentFormat::kYaml).ok());

  // A few aliases, well within the bound, are expanded as before.
  Result<std::string> ok = DocumentToJson("base: &b {x: 1}\nuse: *b\n", DocumentFormat::kYaml);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, "{\"base\":{\"x\":1},\"use\":{\"x\":1}}");
}

TEST(DocumentsTest, FormatsComeFromExtensionsAndContentTypes) {
  EXPECT_EQ(FormatOfPath("flow.yaml"), DocumentFormat::kYaml);
  EXPECT_EQ(FormatOfPath("flow.yml"), DocumentFormat::kYaml);
  EXPECT_EQ(FormatOfPath("types.toml"), DocumentFormat::kToml);
  EXPECT_EQ(FormatOfPath("types.json"), DocumentFormat::kJson);
  EXPECT_EQ(FormatOfContentType("Application/YAML; charset=utf-8"), DocumentFormat::kYaml);
  EXPECT_EQ(FormatOfContentType("text/yaml"), DocumentFormat::kYaml);
  EXPECT_EQ(FormatOfContentType("application/json"), DocumentFormat::kJson);
  EXPECT_EQ(FormatOfContentType(""), DocumentFormat::kJson);
}

}  // namespace
}  // namespace baton::server
