// descpipe._descpipe: the C++ library seen from Python (pybind11). Thin: the Python package
// (python/descpipe) turns DataFrames into columns, keywords into options and outputs into pandas
// objects; this file only runs the library, releases the GIL while it computes, stops it on
// Ctrl-C and turns descpipe::Error into the package's exceptions (docs/PYTHON.md).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "descpipe/config.hpp"
#include "descpipe/error.hpp"
#include "descpipe/lineage.hpp"
#include "descpipe/pipeline.hpp"
#include "descpipe/report.hpp"
#include "descpipe/version.hpp"

namespace py = pybind11;

namespace {

/// The package's exception for a descpipe::Error (descpipe/errors.py defines the classes).
void RaiseAsPython(const descpipe::Error& error) {
  const py::module_ errors = py::module_::import("descpipe.errors");
  const char* name = "Error";
  if (dynamic_cast<const descpipe::InvalidInput*>(&error) != nullptr) {
    name = "InvalidInputError";
  } else if (dynamic_cast<const descpipe::IoError*>(&error) != nullptr) {
    name = "IoError";
  } else if (dynamic_cast<const descpipe::NumericalError*>(&error) != nullptr) {
    name = "NumericalError";
  } else if (dynamic_cast<const descpipe::CudaError*>(&error) != nullptr) {
    name = "CudaError";
  } else if (dynamic_cast<const descpipe::InternalError*>(&error) != nullptr) {
    name = "InternalError";
  }
  PyErr_SetString(errors.attr(name).ptr(), error.what());
}

descpipe::MemoryType MemoryTypeOf(const py::array& array, const std::string& column) {
  using descpipe::MemoryType;
  struct NumpyType {
    char kind;  ///< NumPy's dtype.kind
    py::ssize_t size;
    MemoryType type;
  };
  static constexpr NumpyType kTypes[] = {
      {'f', 8, MemoryType::kFloat64}, {'f', 4, MemoryType::kFloat32}, {'b', 1, MemoryType::kBool},
      {'i', 8, MemoryType::kInt64},   {'i', 4, MemoryType::kInt32},   {'i', 2, MemoryType::kInt16},
      {'i', 1, MemoryType::kInt8},    {'u', 8, MemoryType::kUInt64},  {'u', 4, MemoryType::kUInt32},
      {'u', 2, MemoryType::kUInt16},  {'u', 1, MemoryType::kUInt8}};
  for (const NumpyType& numpy : kTypes) {
    if (numpy.kind == array.dtype().kind() && numpy.size == array.itemsize()) return numpy.type;
  }
  throw descpipe::InvalidInput(
      fmt::format("column \"{}\" has NumPy dtype {}: descriptors must be float, integer or bool",
                  column, py::str(array.dtype()).cast<std::string>()));
}

/// A table given by Python: columns as (name, values, missing) where values is a 1-D NumPy array
/// (read where it lies, strides included) or a list of str (metadata), and missing a uint8 array
/// or None. The arrays stay referenced by the caller's frame for the whole run.
struct PythonTable {
  descpipe::MemoryTable table;
  std::vector<py::array> arrays;  ///< keeps every buffer referenced (released with the GIL held)
  std::shared_ptr<std::vector<std::vector<std::string>>> texts =
      std::make_shared<std::vector<std::vector<std::string>>>();
};

std::unique_ptr<PythonTable> ReadColumns(const std::string& name, std::size_t n_rows,
                                         const py::list& columns) {
  auto result = std::make_unique<PythonTable>();
  result->table.name = name;
  result->table.n_rows = n_rows;
  result->texts->reserve(columns.size());
  for (const py::handle item : columns) {
    const auto entry = item.cast<py::tuple>();
    descpipe::MemoryColumn column;
    column.name = entry[0].cast<std::string>();
    const py::object values = entry[1];
    if (py::isinstance<py::list>(values)) {
      auto& texts = result->texts->emplace_back(values.cast<std::vector<std::string>>());
      DESCPIPE_EXPECTS(texts.size() == n_rows, "column \"{}\" has {} values, the table {} rows",
                       column.name, texts.size(), n_rows);
      column.type = descpipe::MemoryType::kText;
      column.data = texts.data();
    } else {
      const auto array = py::reinterpret_borrow<py::array>(values);
      DESCPIPE_EXPECTS(array.ndim() == 1 && static_cast<std::size_t>(array.shape(0)) == n_rows,
                       "column \"{}\" must be a 1-D array of {} values", column.name, n_rows);
      DESCPIPE_EXPECTS(array.strides(0) > 0, "column \"{}\" has a negative stride: copy it",
                       column.name);
      column.type = MemoryTypeOf(array, column.name);
      column.data = array.data();
      column.stride = static_cast<std::size_t>(array.strides(0));
      result->arrays.push_back(array);
    }
    if (!entry[2].is_none()) {
      const auto missing = py::reinterpret_borrow<py::array>(entry[2]);
      DESCPIPE_EXPECTS(missing.ndim() == 1 && missing.itemsize() == 1 &&
                           static_cast<std::size_t>(missing.shape(0)) == n_rows &&
                           missing.strides(0) == 1,
                       "the missing-value mask of column \"{}\" must be {} contiguous bytes",
                       column.name, n_rows);
      column.is_null = static_cast<const std::uint8_t*>(missing.data());
      result->arrays.push_back(missing);
    }
    result->table.columns.push_back(column);
  }
  result->table.owner = result->texts;
  return result;
}

/// One progress report: a pass's name, units done, total (<= 0: unknown).
struct ProgressValue {
  std::string pass;
  std::uint64_t done = 0;
  std::int64_t total = 0;
};

/// The progress for the Python thread to show, every 100 ms: the latest value, and the last value
/// of each pass that ended in between (a pass shorter than 100 ms is still seen, with its final
/// count). At most one entry per pass is queued.
struct ProgressState {
  std::mutex mutex;
  std::vector<ProgressValue> ended;
  ProgressValue latest;
  bool changed = false;
};

py::dict RunResultDict(const descpipe::RunResult& run) {
  py::list passes;
  for (const auto& pass : run.passes) {
    py::dict entry;
    entry["name"] = pass.name;
    entry["columns_in"] = pass.columns_in;
    entry["columns_out"] = pass.columns_out;
    entry["seconds"] = pass.seconds;
    entry["peak_rss_bytes"] = pass.peak_rss_bytes;
    entry["reused"] = pass.reused;
    passes.append(entry);
  }
  py::dict result;
  result["passes"] = passes;
  result["final"] = run.final_columns;
  return result;
}

/// Runs the pipeline on `inputs` (files) or on `columns` (a table in memory) in a worker thread,
/// the GIL released. Every 100 ms the calling thread takes the GIL back to check for signals
/// (Ctrl-C: the run is asked to stop, then KeyboardInterrupt is raised once it has) and to pass
/// the latest progress to `progress` (a callable (pass, done, total), or None).
py::dict Run(const std::vector<std::string>& inputs, const std::optional<py::list>& columns,
             const std::string& table_name, std::size_t n_rows, const std::string& config_file,
             const std::vector<std::string>& overrides, const std::string& out,
             const std::string& until, bool resume, bool wait, const std::string& log_level,
             const std::string& progress_style, const py::object& progress) {
  descpipe::Config config;
  if (!config_file.empty()) config = descpipe::LoadConfigFile(config_file, config);
  for (const auto& assignment : overrides) {
    descpipe::ApplyOverride(config, assignment, "a keyword argument");
  }
  if (!inputs.empty()) config.inputs = inputs;
  if (!out.empty()) config.output_dir = out;
  if (columns.has_value()) config.inputs.clear();
  descpipe::Context ctx = descpipe::MakeContext(config);
  ctx.set_progress_style(progress_style == "live"  ? descpipe::ProgressStyle::kLive
                         : progress_style == "log" ? descpipe::ProgressStyle::kLog
                                                   : descpipe::ProgressStyle::kNone);
  spdlog::set_level(spdlog::level::from_str(log_level));
  std::atomic<bool> stop{false};
  ctx.set_stop_flag(&stop);

  descpipe::RunOptions options;
  options.until = until.empty() ? descpipe::LastImplementedStage() : descpipe::ParseStage(until);
  options.quiet = log_level == "warning" || log_level == "error";
  options.resume = resume;
  options.wait = wait;
  ProgressState state;
  if (!progress.is_none()) {
    options.on_progress = [&state](const std::string& pass, std::uint64_t done,
                                   std::int64_t total) {
      const std::lock_guard<std::mutex> lock(state.mutex);
      if (state.changed && state.latest.pass != pass) state.ended.push_back(state.latest);
      state.latest = {pass, done, total};
      state.changed = true;
    };
  }

  std::unique_ptr<PythonTable> table;
  if (columns.has_value()) table = ReadColumns(table_name, n_rows, *columns);

  descpipe::RunResult result;
  std::exception_ptr failure;
  std::optional<py::error_already_set> python_error;
  std::mutex mutex;
  std::condition_variable finished_cv;
  bool finished = false;
  {
    py::gil_scoped_release release;
    std::thread worker([&] {
      try {
        if (table != nullptr) {
          const descpipe::Table memory =
              descpipe::Table::FromMemory(table->table, config.ToInputSpec(), ctx);
          result = descpipe::RunPipeline(memory, config, options, ctx);
        } else {
          result = descpipe::RunPipeline(config, options, ctx);
        }
      } catch (...) {
        failure = std::current_exception();
      }
      const std::lock_guard<std::mutex> lock(mutex);
      finished = true;
      finished_cv.notify_all();
    });
    auto report = [&] {  // with the GIL held
      if (progress.is_none() || python_error) return;
      std::vector<ProgressValue> values;
      {
        const std::lock_guard<std::mutex> lock(state.mutex);
        if (!state.changed) return;
        state.changed = false;
        values.swap(state.ended);
        values.push_back(state.latest);
      }
      for (const ProgressValue& value : values) {
        try {
          progress(value.pass, value.done, value.total);
        } catch (py::error_already_set& e) {  // the callback's exception stops the run
          python_error.emplace(std::move(e));
          stop = true;
          return;
        }
      }
    };
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        if (finished_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return finished; }))
          break;
      }
      const py::gil_scoped_acquire acquire;
      if (!python_error && PyErr_CheckSignals() != 0) {  // Ctrl-C: KeyboardInterrupt is pending
        python_error.emplace();
        stop = true;
      }
      report();
    }
    worker.join();
    const py::gil_scoped_acquire acquire;
    report();  // the last value a pass reported
  }
  table.reset();  // releases the arrays, with the GIL held
  if (python_error) throw std::move(*python_error);
  if (failure) std::rethrow_exception(failure);
  py::dict summary = RunResultDict(result);
  summary["out"] = config.output_dir;
  return summary;
}

std::vector<py::dict> Options() {
  std::vector<py::dict> options;
  for (const descpipe::OptionSpec& spec : descpipe::OptionSpecs()) {
    py::dict entry;
    entry["name"] = spec.name;
    entry["group"] = static_cast<int>(spec.group);
    entry["default"] = spec.default_text;
    entry["doc"] = spec.doc;
    entry["note"] = spec.note;
    entry["alias"] =
        spec.alias != nullptr ? py::object(py::str(spec.alias)) : py::object(py::none());
    options.push_back(entry);
  }
  return options;
}

}  // namespace

PYBIND11_MODULE(_descpipe, m) {
  m.doc() = "descpipe's C++ library (the Python API is the descpipe package)";
  // Messages go to stderr as the CLI's do: "[12:00:00] info pass1: ...".
  if (spdlog::get("descpipe") == nullptr) {
    auto logger = spdlog::stderr_color_mt("descpipe");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");
  }
  py::register_exception_translator([](std::exception_ptr pointer) {
    try {
      if (pointer) std::rethrow_exception(pointer);
    } catch (const descpipe::Error& error) {
      RaiseAsPython(error);
    }
  });
  m.def("version", [] { return std::string(descpipe::Version()); });
  m.def("duckdb_version", [] { return std::string(descpipe::DuckDbVersion()); });
  m.def("options", &Options, "Every option of the registry: name, group, default, doc, note");
  m.def("stage_names", &descpipe::StageNames);
  m.def("stderr_is_terminal", [] { return ::isatty(STDERR_FILENO) != 0; });
  m.def("run", &Run, py::arg("inputs"), py::arg("columns"), py::arg("table_name"),
        py::arg("n_rows"), py::arg("config_file"), py::arg("overrides"), py::arg("out"),
        py::arg("until"), py::arg("resume"), py::arg("wait"), py::arg("log_level"),
        py::arg("progress_style"), py::arg("progress"));
  m.def(
      "explain",
      [](const std::string& out_dir, const std::string& name, bool wait) {
        return descpipe::ExplainDescriptor(out_dir, name, wait);
      },
      py::arg("out_dir"), py::arg("name"), py::arg("wait") = false);
  m.def(
      "write_report",
      [](const std::string& out_dir, const std::string& output, bool wait) {
        return descpipe::WriteReport(out_dir, output, wait);
      },
      py::arg("out_dir"), py::arg("output"), py::arg("wait") = false,
      py::call_guard<py::gil_scoped_release>());
  m.def(
      "config_yaml",
      [](const std::string& config_file, const std::vector<std::string>& overrides) {
        descpipe::Config config;
        if (!config_file.empty()) config = descpipe::LoadConfigFile(config_file, config);
        for (const auto& assignment : overrides) {
          descpipe::ApplyOverride(config, assignment, "a keyword argument");
        }
        config.Validate();
        return descpipe::ConfigYaml(config);
      },
      py::arg("config_file"), py::arg("overrides"));
}
