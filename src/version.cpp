#include "descpipe/version.hpp"

#include <duckdb.h>

namespace descpipe {

const char* Version() { return DESCPIPE_VERSION; }

const char* DuckDbVersion() { return duckdb_library_version(); }

}  // namespace descpipe
