// One failure type for everything the harness refuses: bad arguments, missing files, a malformed
// sim.txt, a protocol violation by the accelerator, a timeout. main() prints it as one line and exits 1.
#pragma once
#include <stdexcept>
#include <string>

struct HarnessError : std::runtime_error {
    explicit HarnessError(const std::string& what) : std::runtime_error(what) {}
};
