// CaseWriter: a CaseSink that writes one case directory in the layout of FORMATS.md as the
// simulation produces it: data.csv (streamed row by row), logs.csv, traces.csv (three spans per
// request: nginx-proxy -> ray-head -> engine), and at Finish() logts.csv, tracets_lat.csv,
// tracets_err.csv and mpg.csv. It also keeps the values of a few columns (the SLI, the root
// cause) for the generator's effect check. inject_time.txt and case.json are the generator's.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "data/csv_writer.h"
#include "sim/simulator.h"

namespace llmrca::sim {

class CaseWriter final : public CaseSink {
 public:
  // `tracked`: column names whose values are kept (see Tracked()). `step_s` is the window of
  // the per-window files; `seed_quirks` writes tracets_lat.csv as the study did (counts of 2xx
  // spans), otherwise as mean span duration in ms.
  CaseWriter(std::filesystem::path dir, std::vector<std::string> tracked, double step_s,
             bool seed_quirks);

  // Creates the directory and opens the streamed files.
  Status Open();
  Status OnColumns(const std::vector<ColumnSpec>& columns) override;
  Status OnRow(double time, std::span<const double> numbers) override;
  Status OnRequest(const RequestRecord& request) override;
  Status OnLog(double time, const std::string& container, const std::string& message) override;
  // Writes the per-window files (one row per data row) and mpg.csv (the call graph among
  // `components` plus each container's edge to its node), then closes everything.
  Status Finish(const std::vector<std::string>& components);

  const std::vector<double>& row_times() const { return row_times_; }
  // The client-side end-to-end latency SLI per row: the p90 of requests that ended in the
  // `window_s` before each row time, a failed request counting as `failure_s`; NaN when none.
  std::vector<double> LatencySli(double window_s, double failure_s) const;
  // Values of a tracked column per row (NaN where missing); empty if not a column.
  const std::vector<double>& Tracked(const std::string& name) const;

 private:
  int64_t Window(double t) const;
  void AddSpan(double start, double end, const std::string& service, uint64_t trace,
               uint64_t span, uint64_t parent, int status);

  std::filesystem::path dir_;
  std::vector<std::string> tracked_names_;
  double step_s_;
  bool seed_quirks_;
  data::CsvWriter data_, logs_, traces_;
  std::vector<ColumnSpec> columns_;
  std::vector<int> tracked_index_;                   // numeric column index per tracked name
  std::vector<std::vector<double>> tracked_values_;
  std::vector<double> row_times_;
  // window -> container -> log lines
  std::map<int64_t, std::map<std::string, double>> log_counts_;
  // window -> "<service>_<operation>" -> (ok count, error count, duration sum ms)
  struct SpanAgg {
    double ok = 0, err = 0, ms = 0;
  };
  std::map<int64_t, std::map<std::string, SpanAgg>> span_counts_;
  std::vector<std::pair<double, double>> request_latency_;  // (end time, latency or -1 failed)
};

}  // namespace llmrca::sim
