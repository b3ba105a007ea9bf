// libFuzzer target: arbitrary bytes through the Dockerfile parser, the stage builder (variable
// expansion, stage references) and both renderings. Any crash, sanitizer report or hang is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dockerfile/dockerfile.h"
#include "dockerfile/lexer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hull::dockerfile;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  ParseOptions options;
  options.build_platform = hull::oci::Platform{"amd64", "linux", "", "", {}};
  options.build_args = {{"A", "x y"}, {"HTTP_PROXY", "http://p"}};
  if (auto df = parse(text, options)) {
    (void)toJson(*df).dump(-1, ' ', false, hull::Json::error_handler_t::replace);
    (void)toText(*df);
  }

  // The word expander on its own, with both escape characters.
  const Env env = {{"A", "a"}, {"EMPTY", ""}, {"P", "/usr/lib/x.so.1"}};
  for (char escape : {'\\', '`'}) {
    LexOptions lex;
    lex.escape = escape;
    (void)Lexer(lex).processWord(text, env);
    (void)Lexer(lex).processWords(text, env);
  }
  return 0;
}
