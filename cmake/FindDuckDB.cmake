# Finds the DuckDB C library (libduckdb.so + duckdb.h).
# Search order: -DDUCKDB_ROOT=..., $ENV{DUCKDB_ROOT}, third_party/duckdb (made by scripts/bootstrap.sh),
# then the system paths. Defines the imported target DuckDB::duckdb.
set(_duckdb_hints)
if(DUCKDB_ROOT)
  list(APPEND _duckdb_hints "${DUCKDB_ROOT}")
endif()
if(DEFINED ENV{DUCKDB_ROOT})
  list(APPEND _duckdb_hints "$ENV{DUCKDB_ROOT}")
endif()
list(APPEND _duckdb_hints "${PROJECT_SOURCE_DIR}/third_party/duckdb")

find_path(DuckDB_INCLUDE_DIR duckdb.h HINTS ${_duckdb_hints} PATH_SUFFIXES include)
find_library(DuckDB_LIBRARY duckdb HINTS ${_duckdb_hints} PATH_SUFFIXES lib lib64)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(DuckDB
  REQUIRED_VARS DuckDB_LIBRARY DuckDB_INCLUDE_DIR
  FAIL_MESSAGE "DuckDB not found: run scripts/bootstrap.sh (fetches DuckDB 1.4.4 from npm into third_party/duckdb) or pass -DDUCKDB_ROOT=/path/to/duckdb")

if(DuckDB_FOUND AND NOT TARGET DuckDB::duckdb)
  add_library(DuckDB::duckdb SHARED IMPORTED)
  set_target_properties(DuckDB::duckdb PROPERTIES
    IMPORTED_LOCATION "${DuckDB_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${DuckDB_INCLUDE_DIR}")
endif()
