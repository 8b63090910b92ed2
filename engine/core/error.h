#pragma once
#include <stdexcept>
#include <string>

namespace basis {

// The one exception type for user-facing failures. what() is a complete one-line message that names
// the file (and tensor or key) involved, so callers can print it as is.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Raised when a long job notices its cancellation token.
class Cancelled : public Error {
public:
    Cancelled() : Error("cancelled") {}
};

} // namespace basis
