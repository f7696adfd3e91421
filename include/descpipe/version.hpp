#pragma once

namespace descpipe {
/// descpipe's version string (semantic versioning).
const char* Version();
/// Version of the DuckDB library descpipe runs with.
const char* DuckDbVersion();
}  // namespace descpipe
