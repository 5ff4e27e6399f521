// The fuzz targets' one entry point, as libFuzzer calls it. Each target feeds the bytes to one
// parser of outside input and checks what a parser promises: no crash, no undefined behaviour, no
// leak (the sanitizers), and an answer that is either a value or an error with a message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Aborts (a finding) when `ok` is false: a property every input must keep.
#define FUZZ_CHECK(ok)                                                              \
  do {                                                                              \
    if (!(ok)) {                                                                    \
      __builtin_printf("fuzz check failed: %s (%s:%d)\n", #ok, __FILE__, __LINE__); \
      __builtin_abort();                                                            \
    }                                                                               \
  } while (0)
