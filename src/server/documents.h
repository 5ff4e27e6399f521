// Documents users write in YAML or TOML, read as the JSON the rest of Baton parses: workflow
// documents (JSON or YAML) and the job type registry (JSON or TOML). Scalars keep their kinds:
// YAML's unquoted true/false, null/~, integers and floats become JSON's; quoted scalars stay
// strings. TOML dates and times become RFC 3339 strings.
//
// Thread rules: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace baton::server {

enum class DocumentFormat { kJson, kYaml, kToml };

// By a file's extension (.yaml/.yml, .toml, anything else JSON) or a Content-Type
// (application/yaml, application/x-yaml, text/yaml; application/toml; anything else JSON).
DocumentFormat FormatOfPath(std::string_view path);
DocumentFormat FormatOfContentType(std::string_view content_type);

// The document as JSON text; JSON is returned as it is. A syntax error names its line.
Result<std::string> DocumentToJson(std::string_view text, DocumentFormat format);

}  // namespace baton::server
